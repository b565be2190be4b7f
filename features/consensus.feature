Feature: Stableset consensus
  Nodes of the implementation under test form one stableset from a single bootstrap peer, decide
  joins and leaves by a strict majority of their elders within 24 frames among the elders, and
  remove an elder that dies. Every check goes through the admin API (SPEC.md §8).

  @cluster @ST-1 @ST-4 @ST-5 @ST-6 @ST-8 @ADM-3 @must
  Scenario: A cluster forms from one bootstrap and converges to one stableset id
    Given a cluster of 8 nodes under test started from one bootstrap
    Then within 30 seconds every live node is a member of one stableset of 8 members
    And every node's elders are the first 4 members in (ordinal, name) order

  @cluster @ST-2 @ST-3 @ST-7 @ST-9 @ST-10 @ST-12 @ADM-8 @must
  Scenario Outline: Join and leave decisions stay within 24 frames among the elders
    Given a cluster of <size> nodes under test started from one bootstrap
    And within <seconds> seconds every live node is a member of one stableset of <size> members
    When a new node under test joins through the first node
    Then within 15 seconds every live node is a member of one stableset of <joined> members
    When the youngest member leaves through POST /v1/leave
    Then within 15 seconds every live node is a member of one stableset of <size> members
    And the left node is a member nowhere
    And every decision cost at most 24 frames among the elders, by their own counts
    And the node that joined and left holds its own join in its decision log, applied no earlier than it started [ST-12]

    Examples:
      | size | joined | seconds |
      | 4    | 5      | 20      |
      | 8    | 9      | 30      |
      | 16   | 17     | 60      |

  @cluster @ST-7 @ST-4 @ST-9 @must
  Scenario: Killing an elder removes it and promotes the next eldest
    Given a cluster of 8 nodes under test started from one bootstrap
    And within 30 seconds every live node is a member of one stableset of 8 members
    When the eldest elder is killed
    Then within 20 seconds every live node is a member of one stableset of 7 members
    And the killed node is a member nowhere and the next eldest member is an elder everywhere
    And every node's elders are the first 4 members in (ordinal, name) order
    And every decision cost at most 24 frames among the elders, by their own counts

  @cluster @faults @ST-3 @ST-7 @ST-8 @ST-11 @ST-13 @must
  Scenario: A partition decides only on the side with a majority of the elders, and heals to one id
    Given a cluster of 8 nodes under test started from one bootstrap
    And within 30 seconds every live node is a member of one stableset of 8 members
    When the network splits 3 elders and 2 other members from 1 elder and 2 other members
    Then within 20 seconds every node on the majority side is a member of one stableset of 5 members
    And the minority side still holds the stableset from before the split, and applied no decision during it
    When the network heals
    Then within 40 seconds every live node is a member of one stableset of 8 members
    And every node's elders are the first 4 members in (ordinal, name) order
    And within 6 seconds no live node holds a pending change

  @cluster @mixed @ST-9 @ST-12 @must
  Scenario: In a mixed cluster, the node under test keeps the budget by what reference nodes saw it send
    Given a cluster of 3 reference nodes started from one bootstrap, and the node under test joined as the fourth elder
    And within 20 seconds every live node is a member of one stableset of 4 members
    When a reference node joins through the node under test
    Then within 15 seconds every live node is a member of one stableset of 5 members
    When the youngest member leaves through POST /v1/leave
    Then within 15 seconds every live node is a member of one stableset of 4 members
    And every decision cost at most 24 frames among the elders, counting the node under test's frames as the reference elders received them
