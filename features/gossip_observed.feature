@neighbors
Feature: Neighborhood gossip observed from scripted neighbors
  The node under test is surrounded by scripted peers, each with its own identity, record and
  listening address, over real QUIC. Every GOSSIP the node sends them is captured, decoded and
  compared with exactly what SPEC.md §9 allows that target: "holding exactly" names every record
  besides the node's own, each as its node last signed it, byte for byte. Scripted records build
  the neighborhoods whose routes the node must compute. After each scenario of this feature and
  of gossip.feature, one shared check reads every gossip the node sent once more: no target gets
  its own record, and no address reaches a target NB-4 does not allow. "Within N seconds" counts
  from the scenario's latest When step and stays below the 10 s of periodic gossip (NB-14).

  @NB-4 @must
  Scenario: Standard gossip carries to each target what it may have, an address only to nodes that list its node
    Given a node under test
    And scripted peers "ann, bob" are full neighbors of the node
    And scripted peer "cid" is a full neighbor of the node that accepts no connections
    When scripted peer "dee" debuts to the node
    Then "ann" receives within 3 seconds gossip holding exactly the node's record without its address and the records of "bob, cid"
    And "bob" receives within 3 seconds gossip holding exactly the node's record without its address and the records of "ann, cid"
    And "cid" receives within 3 seconds gossip holding exactly the node's record without its address and the records of "ann, bob"
    When peer "ann" sends its next record, listing the node and "dee"
    Then "ann" receives within 3 seconds gossip holding exactly the node's record without its address and the records of "bob, cid, dee"
    And "bob" receives within 3 seconds gossip holding exactly the node's record without its address and the records of "ann, cid"

  @NB-3 @NB-4 @must
  Scenario: A record is replaced only by a higher version, and relayed byte for byte
    Given a node under test
    And scripted peers "ann, bob" are full neighbors of the node
    When peer "ann" relays version 5 of "zoe"'s record, listing "ann"
    Then the node holds version 5 of "zoe"'s record, listing "ann"
    And "bob" receives within 3 seconds gossip holding exactly the node's record without its address and the records of "ann, zoe"
    When peer "ann" relays another version 5 of "zoe"'s record, listing "ann, bob"
    And peer "ann" relays version 4 of "zoe"'s record, listing "bob"
    Then the node sends no gossip for 1 second after the When step
    And the node holds version 5 of "zoe"'s record, listing "ann"

  @NB-4 @must
  Scenario: However the node paces its gossip, a change reaches its neighbors within 200 ms
    Given a node under test
    And scripted peers "ann, bob" are full neighbors of the node
    When peer "ann" relays version 5 of "zoe"'s record, listing "ann"
    Then "bob" receives within 0.5 seconds gossip holding exactly the node's record without its address and the records of "ann, zoe"
    # At once again: a node that paces its gossip holds this change back, but not past 200 ms.
    When peer "ann" relays version 6 of "zoe"'s record, listing "ann"
    Then "bob" receives within 0.5 seconds gossip holding exactly the node's record without its address and the records of "ann, zoe"

  @NB-7 @must
  Scenario: A stranger's record with an address is dropped unless the stranger sent it itself
    Given a node under test
    And scripted peers "ann, bob" are full neighbors of the node
    When peer "ann" relays "zed"'s record with its address and "yan"'s record without one
    Then the node holds a record of "yan" and none of "zed"
    And "bob" receives within 3 seconds gossip holding exactly the node's record without its address and the records of "ann, yan"

  @NB-7 @must
  Scenario: A debutant the node lists becomes a full neighbor once its record lists the node
    Given a node under test
    When scripted peer "eve" debuts to the node
    Then the node lists "eve" as a half neighbor
    When peer "eve" sends its next record, listing the node and "x1"
    Then the node lists "eve" as a full neighbor

  @NB-5 @must
  Scenario: Below the degree limit a debutant is passed to a better placed neighbor: degree 3 or more, below the node's own
    Given a node under test
    And scripted peers "ann, bob, cid, dee" are full neighbors of the node
    When peer "ann" sends its next record, listing the node, "x1" and "x2"
    And peer "bob" sends its next record, listing the node, "x1", "x2" and "x3"
    Then the node holds version 3 of "ann"'s record
    And the node holds version 3 of "bob"'s record
    When scripted peer "eve" debuts to the node
    Then peer "eve" receives a Pass naming "ann", with its address

  @NB-5 @must
  Scenario: A debutant is never passed to a node its record lists already
    Given a node under test
    And scripted peers "ann, bob, cid, dee" are full neighbors of the node
    When peer "ann" sends its next record, listing the node, "x1" and "x2"
    And peer "bob" sends its next record, listing the node, "x1" and "x2"
    Then the node holds version 3 of "ann"'s record
    And the node holds version 3 of "bob"'s record
    When scripted peer "eve" debuts to the node with a record listing "the lower of ann, bob"
    Then peer "eve" receives a Pass naming "the higher of ann, bob", with its address

  @NB-5 @must
  Scenario: Below the degree limit a debutant is introduced to the least-connected neighbor, the lowest name among equals
    Given a node under test
    And scripted peers "ann, bob, cid" are full neighbors of the node
    When peer "ann" sends its next record, listing the node and "x1"
    Then the node holds version 3 of "ann"'s record
    And the debutants the node placed while its neighbors joined no longer count
    When scripted peer "dee" debuts to the node
    Then peer "dee" receives an Introduction: the node's record with its address, listing "dee", and the addressed record of "the lower of bob, cid"

  @NB-5 @NB-4 @must
  Scenario: At the degree limit, with every neighbor at the limit too, the node splits a link: the debutant takes the place of the least-connected full neighbor the node holds a path around the link to, and is introduced to it
    Given a node under test
    And scripted peers "ann, bob, cid, dee, eve" are full neighbors of the node
    When peer "ann" sends its next record, listing the node, "bob", "eve", "x1" and "x2"
    And peer "bob" sends its next record, listing the node, "ann", "cid", "x1" and "x2"
    And peer "cid" sends its next record, listing the node, "bob", "dee", "x1" and "x2"
    And peer "dee" sends its next record, listing the node, "cid", "eve", "x1" and "x2"
    And peer "eve" sends its next record, listing the node, "dee", "ann", "x1" and "x2"
    Then the node holds version 3 of "ann"'s record
    And the node holds version 3 of "bob"'s record
    And the node holds version 3 of "cid"'s record
    And the node holds version 3 of "dee"'s record
    And the node holds version 3 of "eve"'s record
    When scripted peer "fay" debuts to the node
    Then peer "fay" receives an Introduction: the node's record with its address, listing "fay", and the addressed record of "the lower of ann, bob, cid, dee, eve"
    And peer "the lower of ann, bob, cid, dee, eve" receives within 3 seconds gossip in which the node's next version no longer lists "the lower of ann, bob, cid, dee, eve"

  @NB-5 @must
  Scenario: At the degree limit, where no neighbor lists another, the node splits a link that the records it holds show a longer path around
    Given a node under test
    And scripted peers "ann, bob, cid, dee, eve" are full neighbors of the node
    When peer "ann" relays the records of a neighborhood:
      """
      ann lists node, far, x1, x2, x3
      bob lists node, far, x4, x5, x6
      cid lists node, x7, x8, x9, y1
      dee lists node, y2, y3, y4, y5
      eve lists node, y6, y7, y8, y9
      far lists ann, bob
      """
    Then the node holds version 3 of "ann"'s record
    And the node holds version 3 of "bob"'s record
    And the node holds version 3 of "cid"'s record
    And the node holds version 3 of "dee"'s record
    And the node holds version 3 of "eve"'s record
    And the node holds version 1 of "far"'s record
    When scripted peer "fay" debuts to the node
    Then peer "fay" receives an Introduction: the node's record with its address, listing "fay", and the addressed record of "the lower of ann, bob"

  @NB-5 @must
  Scenario: At the degree limit, where the records the node holds show no path around any link, the node splits none and passes the debutant on
    Given a node under test
    And scripted peers "ann, bob, cid, dee, eve" are full neighbors of the node
    When peer "ann" relays the records of a neighborhood:
      """
      ann lists node, far, x1, x2, x3
      bob lists node, x4, x5, x6, x7
      cid lists node, x8, x9, y1, y2
      dee lists node, y3, y4, y5, y6
      eve lists node, y7, y8, y9, z1
      far lists ann, bob
      """
    Then the node holds version 3 of "ann"'s record
    And the node holds version 3 of "bob"'s record
    And the node holds version 3 of "cid"'s record
    And the node holds version 3 of "dee"'s record
    And the node holds version 3 of "eve"'s record
    And the node holds version 1 of "far"'s record
    When scripted peer "fay" debuts to the node
    Then peer "fay" receives a Pass naming "the lower of ann, bob, cid, dee, eve", with its address

  @NB-5 @must
  Scenario: A Debut is answered even when a neighbor has relayed the debutant's record first
    Given a node under test
    And scripted peers "ann, bob" are full neighbors of the node
    When peer "ann" relays "fay"'s record as its Debut will carry it, without the address
    Then the node holds version 1 of "fay"'s record
    When scripted peer "fay" debuts to the node
    Then peer "fay" receives an Introduction: the node's record with its address, listing "fay", and the addressed record of "bob"

  @NB-5 @must
  Scenario: A debutant whose record lists a neighbor already is listed and sent Standard gossip, not introduced
    Given a node under test
    And scripted peers "ann, bob" are full neighbors of the node
    When scripted peer "fay" debuts to the node with a record listing "x1"
    Then peer "fay" receives Standard gossip as the answer to its Debut: the node's record without its address, listing "fay", and no record with an address
    And the node lists "fay" as a half neighbor

  @NB-4 @NB-6 @must
  Scenario: An Introduction: the node lists the introducer, debuts to the introducee and stores nothing of it
    Given a node under test
    And scripted peer "ann" is a full neighbor of the node
    When scripted peer "ira" introduces "ivy" to the node
    Then peer "ivy" receives a Debut from the node: its record alone, with its address
    And the node lists "ira" as a full neighbor and holds no record of "ivy"
    And "ann" receives within 3 seconds gossip holding exactly the node's record without its address and no other record

  @NB-6 @ADM-9 @must
  Scenario: A Pass makes the node debut to the node it names, but not twice within 60 s
    Given a node under test
    And scripted peer "ann" is a full neighbor of the node
    When peer "ann" passes the node to "ivy"
    Then peer "ivy" receives a Debut from the node: its record alone, with its address
    When peer "ivy" answers the node's Debut with a GOSSIP_FAILURE NO_SUITABLE_NEIGHBORS
    Then the node's Debut to "ivy" is no longer pending
    When peer "ann" passes the node to "ivy" again
    Then peer "ivy" receives no other Debut from the node within 1 second

  @NB-16 @should
  Scenario: A node left with no neighbor after its Debut failed debuts again, sooner than the gossip interval, each time a little later
    Given a node under test
    When the node is told to debut to scripted peer "ann"
    Then peer "ann" receives a Debut from the node: its record alone, with its address
    When peer "ann" answers the node's Debut with a GOSSIP_FAILURE NO_SUITABLE_NEIGHBORS
    Then peer "ann" receives 2 Debuts from the node within 1 second [NB-16]
    When peer "ann" answers the node's Debut with a GOSSIP_FAILURE NO_SUITABLE_NEIGHBORS
    Then peer "ann" receives 3 Debuts from the node within 2 seconds [NB-16]

  @NB-16 @should
  Scenario: Debuting again starts a new walk of Passes: NB-6's guard no longer holds the node passed to before
    Given a node under test
    When the node is told to debut to scripted peer "ann"
    Then peer "ann" receives a Debut from the node: its record alone, with its address
    When peer "ann" passes the node to "ivy"
    Then peer "ivy" receives a Debut from the node: its record alone, with its address
    When peer "ivy" answers the node's Debut with a GOSSIP_FAILURE NO_SUITABLE_NEIGHBORS
    Then peer "ann" receives 2 Debuts from the node within 1 second [NB-16]
    When peer "ann" passes the node to "ivy" again
    Then peer "ivy" receives 2 Debuts from the node within 1 second [NB-16]

  @NB-4 @NB-13 @ADM-11 @must
  Scenario: Routes run over full links, through nodes that accept connections, to an exit that does not list the node; every record a held record lists is gossiped on, however far its node
    Given a node under test
    And scripted peer "ann" is a full neighbor of the node
    When peer "ann" relays the records of a neighborhood:
      """
      ann lists node, bob
      bob lists ann, cid, dan, fay
      cid lists bob, dan (accepts no connections)
      dan lists bob, eve
      eve lists dan, gus
      fay lists gus
      gus lists eve, node
      """
    Then the node's routes are:
      | to  | route   |
      | ann | none    |
      | bob | none    |
      | cid | none    |
      | dan | a route |
      | eve | a route |
      | fay | none    |
      | gus | none    |
    And "ann" receives within 3 seconds gossip holding exactly the node's record without its address and the records of "bob, cid, dan, eve, fay, gus"

  @NB-11 @NB-13 @must
  Scenario: A banned node is withdrawn to every remaining neighbor, its relayed records are ignored and no route runs through it
    Given a node under test
    And scripted peers "ann, bob, mallory" are full neighbors of the node
    When peer "mallory" sends gossip holding its own record with a bad signature
    Then the node lists "mallory" among its bans
    And peer "ann" receives within 3 seconds gossip in which the node's next version no longer lists "mallory"
    And peer "bob" receives within 3 seconds gossip in which the node's next version no longer lists "mallory"
    When peer "ann" relays the records of a neighborhood:
      """
      ann lists node, mallory, cid
      mallory lists ann, zed
      zed lists mallory, yan
      yan lists zed
      cid lists ann, dan
      dan lists cid
      """
    Then the node holds a record of "zed" and none of the banned "mallory"
    And the node's routes are:
      | to  | route   |
      | zed | none    |
      | yan | none    |
      | dan | a route |

  @NB-15 @must
  Scenario: A neighbor relaying made-up records fills the node up to 1000 records of other nodes and no further
    Given a node under test
    And scripted peers "ann, bob" are full neighbors of the node
    When peer "ann" relays the records of 1200 made-up nodes
    Then the node holds exactly 1000 records of other nodes and counts the other 202 in dropped_records
    And the node has banned no one and lists "ann, bob" as full neighbors
