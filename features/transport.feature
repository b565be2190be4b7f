Feature: Transport — one QUIC connection and one stream per pair of nodes
  SPEC.md §2.

  Background:
    Given a node under test

  @TRN-2 @must
  Scenario: The node allows a peer that dials it one bidirectional stream
    When scripted peer "alice" connects to the node
    Then peer "alice" cannot open a second stream
    And peer "alice" gets a PONG for a PING

  @TRN-2 @must
  Scenario: A node that dials opens one stream, sends on it and allows the other side none
    Given scripted peer "bob" listens for connections
    When a second node starts with bootstrap peer "bob"
    Then peer "bob" receives a PING on the stream the second node opened
    And peer "bob" cannot open a stream towards the second node

  @TRN-3 @must
  Scenario: Of connections dialed by both ends, the one dialed by the lower name is kept
    Given scripted peer "bob" with a name lower than the second node's listens for connections
    When a second node starts with bootstrap peer "bob"
    And peer "bob" answers the PING of the second node
    And peer "bob" connects to the second node
    Then the second node closes the connection it dialed with DUPLICATE_CONNECTION
    And peer "bob" gets a PONG for a PING

  @TRN-3 @must
  Scenario: Of connections dialed by both ends, the one dialed by the higher name is closed
    Given scripted peer "bob" with a name higher than the second node's listens for connections
    When a second node starts with bootstrap peer "bob"
    And peer "bob" answers the PING of the second node
    And peer "bob" connects to the second node
    Then the second node closes the connection peer "bob" dialed with DUPLICATE_CONNECTION

  @TRN-3 @must
  Scenario: A peer that connects again replaces its older connection
    When scripted peer "alice" connects to the node
    And peer "alice" gets a PONG for a PING
    And scripted peer "alice" connects to the node again
    Then the node closes peer "alice"'s first connection with DUPLICATE_CONNECTION
    And peer "alice" gets a PONG for a PING

  @TRN-5 @NC-7 @must
  Scenario: SIGTERM closes every connection with SHUTDOWN and the node exits 0
    When scripted peer "alice" connects to the node
    And peer "alice" gets a PONG for a PING
    And the node is stopped with SIGTERM
    Then the node exits with code 0 within 5 seconds
    And the node closes peer "alice"'s connection with SHUTDOWN

  @TRN-6 @should
  Scenario: A silent connection is kept alive by the node
    When scripted peer "alice" connects to the node without keep-alives
    And peer "alice" gets a PONG for a PING
    Then once the connection is quiet, peer "alice" receives a packet from the node within 3 seconds

  @NC-8 @should
  Scenario: A node keeps contacting a bootstrap peer until it answers
    Given scripted peer "bob" has an address but does not listen yet
    When a second node starts with bootstrap peer "bob"
    And the second node counts a failed attempt to reach its bootstrap peer
    And scripted peer "bob" starts listening
    Then peer "bob" receives a PING on the stream the second node opened
