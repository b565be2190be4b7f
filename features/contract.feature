Feature: Node contract and admin API — how a harness starts, observes and stops any node
  SPEC.md §6 and §7.

  @NC-3 @ADM-1 @must
  Scenario: A node becomes ready and then accepts connections
    Given a node under test
    Then the node became ready within 10 seconds
    And GET /healthz answers 200 with status "ok"
    And the node answers a PING from a new peer

  @NC-4 @must
  Scenario: The node's log is kept
    Given a node under test
    Then the node's log has at least one line from the node

  @NC-6 @must
  Scenario Outline: A node started with settings it cannot use exits with code 2
    When a node is started with <setting> set to "<value>"
    Then it exits with code 2 before it is ready

    Examples:
      | setting   | value                 |
      | seed      | zz                    |
      | seed      | 1234                  |
      | listen    | localhost             |
      | admin     | 127.0.0.1             |
      | bootstrap | nobody                |

  @ADM-2 @must
  Scenario: GET /v1/node says who the node is
    Given a node under test
    Then GET /v1/node answers with the node's name, address, implementation, version and the version of this spec

  @ADM-3 @must
  Scenario: GET /v1/stableset shows a node alone
    Given a node under test
    Then GET /v1/stableset lists the node alone with ordinal 0, as its own elder, with nothing joining or leaving

  @ADM-4 @must
  Scenario: GET /v1/counters counts frames per type and per peer
    Given a node under test
    When scripted peer "alice" connects to the node
    And peer "alice" gets a PONG for a PING
    Then the node's counters show 1 PING received from peer "alice" and 1 PONG sent to it
    And the node's counters list every message type
    And GET /v1/counters?peer= for peer "alice" shows the same counts

  @ADM-5 @ADM-6 @must
  Scenario Outline: A bad admin request gets a JSON error and changes nothing
    Given a node under test
    When I send <method> <path> to the admin API
    Then the answer is <status> with error code "<code>"
    And the node's state is as it was before the request

    Examples:
      | method | path                         | status | code               |
      | GET    | /v1/nothing                  | 404    | not_found          |
      | POST   | /v1/node                     | 405    | method_not_allowed |
      | DELETE | /v1/counters                 | 405    | method_not_allowed |
      | GET    | /v1/counters?peer=xyz        | 400    | bad_request        |
      | GET    | /v1/counters?colour=red      | 400    | bad_request        |
      | GET    | /v1/counters?peer=2222222222222222222222222222222222222222222222222222222222222222 | 404 | not_found |

  @ADM-7 @NC-5 @must
  Scenario Outline: Every endpoint answers as its part says, and 501 for a part the node leaves out
    Given a node under test
    When I send <method> <path> to the admin API
    Then the answer is what the path's part says for the node's profile

    Examples: every endpoint of every part but core, with its method
      | method | path              |
      | GET    | /v1/stableset     |
      | GET    | /v1/decisions     |
      | POST   | /v1/leave         |
      | GET    | /v1/neighborhood  |
      | POST   | /v1/debut         |
      | GET    | /v1/route         |
      | GET    | /v1/sections      |

    Examples: a method no part gives these paths (405, or 501 when the part is left out)
      | method | path              |
      | PUT    | /v1/stableset     |
      | DELETE | /v1/neighborhood  |
      | PATCH  | /v1/sections      |

  @ADM-4 @must
  Scenario: Counters are kept for at most 1024 peers, the peer idle longest forgotten first, and the totals keep every frame
    Given a node under test
    When 1100 strangers each connect to the node, get a PONG for a PING and close, one after another
    Then the node's counters list 1024 peers and count 76 more forgotten peers
    And the first 64 strangers are not listed and the last 1000 are
    And the node's counters show every stranger's PING received
