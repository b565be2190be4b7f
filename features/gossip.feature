Feature: Neighborhood gossip
  Scripted peers become neighbors of the node under test and send it honest or deceptive gossip;
  the node must take the honest gossip in, ban every malefactor for good and show the ban from
  outside: a closed connection, a refused handshake, gossip without the link, and its admin API.
  A withdrawal must reach the remaining neighbors when it happens: "within N seconds" counts from
  the scenario's When step, and N stays below the 10 s of periodic gossip (NB-14), which would
  carry the same record later.
  Clusters of nodes under test debut through one node and must build one neighborhood with
  routes of 3 hops (SPEC.md §9).

  @NB-2 @NB-5 @NB-12 @ADM-9 @must
  Scenario: A node lists its debutants, counts each change in its version and withdraws a closed link
    Given a node under test
    And scripted peer "olivia" is a full neighbor of the node
    Then the node lists 1 full neighbors and is at version 2
    And scripted peer "oscar" is a full neighbor of the node
    And the node lists 2 full neighbors and is at version 3
    When peer "olivia" closes its connection with code 0x00
    Then the node lists 1 full neighbors and is at version 4
    And peer "oscar" receives within 3 seconds gossip in which the node's next version no longer lists "olivia"

  @NB-5 @must
  Scenario: The first debutant gets a debut back
    Given a node under test
    When scripted peer "olivia" debuts to the node
    Then peer "olivia" receives a debut back: the node's record alone, with its address, listing "olivia"

  @ADM-12 @should
  Scenario: The neighborhood says when it last changed
    Given a node under test
    And the node's neighborhood says when it last changed, a time that stays put while nothing changes
    When scripted peer "olivia" debuts to the node
    Then peer "olivia" receives a debut back: the node's record alone, with its address, listing "olivia"
    And the node's neighborhood last changed after the debut began, and stays put again

  @NB-5 @NB-8 @must
  Scenario: At the degree limit a debutant is passed to a neighbor
    Given a node under test
    And scripted peers "p1, p2, p3, p4, p5" are full neighbors of the node
    And the debutants the node placed while its neighbors joined no longer count
    When scripted peer "p6" debuts to the node
    Then peer "p6" receives a Pass naming the least-connected of the node's neighbors, the lowest name among equals, with its address
    And the node lists 5 full neighbors and is at version 6

  @NB-5 @must
  Scenario: Debutants that arrive one after another at the degree limit are passed to different neighbors: one sent on counts towards its neighbor's degree
    Given a node under test
    And scripted peers "p1, p2, p3, p4, p5" are full neighbors of the node
    And the debutants the node placed while its neighbors joined no longer count
    When scripted peer "p6" debuts to the node
    Then peer "p6" receives a Pass naming "the lower of p1, p2, p3, p4, p5", with its address
    When scripted peer "p7" debuts to the node
    Then peer "p7" receives a Pass naming "the second lowest of p1, p2, p3, p4, p5", with its address

  @NB-5 @NB-8 @must
  Scenario: At the degree limit with nobody to pass to, the debutant gets a GOSSIP_FAILURE
    Given a node under test
    And scripted peers "p1, p2, p3, p4, p5" are full neighbors of the node that accept no connections
    When scripted peer "p6" debuts to the node
    Then peer "p6" receives a GOSSIP_FAILURE with reason NO_SUITABLE_NEIGHBORS
    And the node lists 5 full neighbors and is at version 6

  @NB-3 @NB-4 @NB-7 @NB-10 @must
  Scenario: Honest gossip is taken in and never banned
    Given a node under test
    And scripted peers "olivia, oscar" are full neighbors of the node
    When peer "oscar" sends gossip holding a newer record of its own and "olivia"'s record
    Then the node holds version 3 of "olivia"'s record
    And the node holds version 3 of "oscar"'s record
    When peer "oscar" sends gossip holding its current record again
    Then the node has banned no one and lists "olivia, oscar" as full neighbors
    And peer "olivia" never receives its own record from the node
    And peer "oscar" never receives its own record from the node

  @NB-10 @NB-11 @ADM-9 @must
  Scenario Outline: A malefactor is banned: <gossip>
    Given a node under test
    And scripted peers "olivia, mallory" are full neighbors of the node
    When peer "mallory" sends gossip holding <gossip>
    Then the node closes peer "mallory"'s connection with PROTOCOL_VIOLATION
    And the node lists "mallory" among its bans
    And peer "olivia" receives within 3 seconds gossip in which the node's next version no longer lists "mallory"
    And peer "mallory" is refused when it connects to the node again
    And the node has banned no one else: "olivia" is still a full neighbor

    Examples: valid gossip that breaks a rule of NB-10
      | gossip                                               |
      | its own record with a bad signature                  |
      | "olivia"'s record tampered with                      |
      | the node's own record                                |
      | its own record with another address                  |
      | its own record at a lower version than it sent before |
      | a record claiming the node's address                 |
      | two records claiming one address                     |
      | a Pass without an address                            |

    @NB-1
    Examples: bytes that are not valid gossip (NB-1)
      | gossip                                               |
      | bytes that are not gossip                            |
      | records out of name order                            |
      | its own record followed by other bytes               |

  @NB-10 @must
  Scenario: A sender's own record below the version it sent on another connection is no reason for a ban
    Given a node under test
    And scripted peers "olivia, mallory" are full neighbors of the node
    # Frames of two connections between one pair are read side by side and may arrive in either
    # order (TRN-3), so NB-10 compares versions within one connection only.
    When scripted peer "mallory" connects to the node again
    And peer "mallory" sends gossip holding its own record at a lower version than it sent before
    Then the node has banned no one and lists "olivia, mallory" as full neighbors

  @NB-10 @NB-11 @must
  Scenario Outline: A debutant that lies is banned: <lie>
    Given a node under test
    And scripted peer "olivia" is a full neighbor of the node
    When scripted peer "eve" debuts to the node with <lie>
    Then the node closes peer "eve"'s connection with PROTOCOL_VIOLATION
    And the node lists "eve" among its bans
    And peer "eve" is refused when it connects to the node again
    And the node has banned no one else: "olivia" is still a full neighbor

    Examples:
      | lie                                          |
      | a record giving an address on another IP     |
      | an address while accepting no connections    |

  @NB-2 @NB-11 @ADM-10 @must
  Scenario: Bans and the version survive a restart, and a banned name is never dialed
    Given a node under test
    And scripted peers "olivia, mallory" are full neighbors of the node
    When peer "mallory" sends gossip holding its own record with a bad signature
    Then the node lists "mallory" among its bans
    When the node is restarted
    Then the node's version is one above what it was before the restart
    And the node lists "mallory" among its bans
    And peer "mallory" is refused when it connects to the node again
    And POST /v1/debut naming peer "mallory" answers 409 with code "banned"

  @MSG-6 @WIRE-6 @must
  Scenario Outline: A GOSSIP_FAILURE with reason <reason> is malformed
    Given a node under test
    And scripted peer "olivia" connects to the node
    When peer "olivia" sends a GOSSIP_FAILURE with reason <reason>
    Then the node closes peer "olivia"'s connection with MALFORMED

    Examples:
      | reason |
      | 0      |
      | 5      |

  @NB-13 @ADM-11 @must
  Scenario: A node without a route of 3 hops says why
    Given a node under test
    And scripted peer "olivia" is a full neighbor of the node
    Then GET /v1/route to peer "olivia" answers 404 with code "no_route" and a reason

  @cluster @NB-8 @NB-9 @NB-13 @ADM-11 @must
  Scenario: Twelve nodes debuting through one build one neighborhood with 3-hop routes
    Given 12 nodes under test debut in sequence through the first one
    Then within 60 seconds every node has degree at most 5, only full links, and every other node's current record
    And every two nodes at least 3 hops apart have a route, and every route a node gives keeps NB-13
