Feature: A flood from one member
  One member of a cluster of nodes under test sends the node under test, at full speed, every kind
  of frame a member may send: stablesets listing 1000 joins of names that never connected, witness
  requests about the joins of 5000 more, and about the leave of a healthy member. Meanwhile the
  harness watches every node from outside: its resident memory (VmRSS of its process), the size of
  its GET /v1/stableset answer, whether a made-up name ever becomes a member, and the PINGs of a
  stranger, answered every 10 ms. The scenario is tagged @alone: it runs after every other
  scenario, one at a time, so that the figures are the node's own. `make flood` runs it for 60 s.
  The scenario is tagged with ST-14, a SHOULD rule, alone: memory and latency bounds are advice to
  an implementation in any language; a made-up member still breaks ST-9, and anything pending after
  the flood ST-13, both MUST rules, whatever the scenario's tags.

  @alone @ST-14 @should
  Scenario: One member flooding a node makes no one a member, costs bounded memory and leaves nothing behind
    Given a cluster of 4 nodes under test started from one bootstrap
    And a member joins the stableset through the node under test, to flood it
    When the member floods the node under test at full speed for the flood time (8 s; SSKIT_FLOOD_SECONDS), while a stranger PINGs every node every 10 ms
    Then no made-up name was ever a member of any node
    And within 8 s after the flood the node under test holds nothing pending and the same members as the others
    And every node's resident memory stayed under 64 MiB
    And every node's GET /v1/stableset answer stayed under 64 KiB
    And every node answered the stranger's PINGs with a 99th percentile under 50 ms
