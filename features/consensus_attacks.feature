Feature: Stableset consensus against puppets
  The node under test founds a stableset, and puppets (scripted members the test controls, each
  with its own identity, over real QUIC) join it. Then the puppets send exactly the witnesses a
  case needs: repeated, from members that are not elders, from strangers, for instances that are
  not live, one short of a strict majority. Each script line is one frame the puppets send or one
  outcome the node must show, through GET /v1/stableset or the frames it sends the puppets
  (SPEC.md §8; the lines are explained in conformance/puppets.go). An honest cluster never sends
  such frames, so only these scenarios tell a node that counts witnesses carelessly from one that
  does not.

  @puppets @ADM-3 @must
  Scenario: The stableset id is over each member's name and ordinal
    Given the node under test founds a stableset that puppets p1, p2, p3 join, one at a time
    # The members hold ordinals 0 to 3: an id over names alone, or over ordinals taken as 0,
    # differs from this one.
    Then the node's stableset id is the SHA-256 of its members' names and ordinals, in name order

  @puppets @ST-2 @ST-3 @must
  Scenario: A repeated witness changes nothing; a strict majority of distinct elders applies the join
    Given the node under test founds a stableset that puppets p1, p2, p3 join, one at a time
    When the puppets play:
      """
      # p1 asks the node to witness the join of j: the node witnesses it too (ST-9), 2 of 4 elders.
      p1 asks join j@4
      node sends p1 WITNESS join j@4
      node holds pending join j@4 witnessed by node, p1
      # The same witness again, by request and by stableset, is still one witness.
      p1 asks join j@4
      node sends p1 WITNESS join j@4
      p1 sends stableset members node@0, p1@1, p2@2, p3@3 joining j@4
      node holds pending join j@4 witnessed by node, p1
      # A third elder makes 3 of 4.
      p2 asks join j@4
      node holds member j@4
      node holds elders node, p1, p2, p3
      """

  @puppets @ST-3 @must
  Scenario Outline: A change applies at a strict majority of the elders, not one witness before
    Given the node under test, with elder size <elders>, founds a stableset that puppets <puppets> join, one at a time
    When the puppets play:
      """
      j asks join j@0
      node sends j WITNESS join j@<ordinal>
      <one short>
      node holds pending join j@<ordinal> witnessed by <witnesses>
      <last>
      node holds member j@<ordinal>
      """

    Examples:
      | elders | puppets    | ordinal | one short                             | witnesses | last                |
      | 4      | p1, p2, p3 | 4       | p1 answers join j@4                   | node, p1  | p2 answers join j@4 |
      | 3      | p1, p2     | 3       | # the node's own witness is 1 of 3    | node      | p1 answers join j@3 |

  @puppets @ST-3 @must
  Scenario: Witnesses of members that are not elders are recorded but do not count
    Given the node under test founds a stableset that puppets p1, p2, p3, p4 join, one at a time
    When the puppets play:
      """
      # p4 has the fifth ordinal: a member, not one of the 4 elders.
      node holds elders node, p1, p2, p3
      j asks join j@0
      node sends j WITNESS join j@5
      p4 asks join j@5
      p1 answers join j@5
      node holds pending join j@5 witnessed by node, p1, p4
      p2 answers join j@5
      node holds member j@5
      """

  @puppets @ST-9 @must
  Scenario: A member that is not an elder cannot make the elders witness a join nobody asked for
    Given the node under test founds a stableset that puppets p1, p2, p3, p4 join, one at a time
    When the puppets play:
      """
      # x never connected. p4, a member but no elder, asks about its join: an elder witnesses a
      # join only when the joiner asks itself or another elder asks (ST-9), so x stays out.
      p4 asks join x@5
      node sends p4 no WITNESS join x@5 within 0.5s
      node sends p1 no WITNESS_REQUEST join x@5 within 0.5s
      node holds pending join x@5 witnessed by p4
      # An elder asking is another matter: the node witnesses it, 3 of 4 with p2's answer.
      p1 asks join x@5
      node sends p1 WITNESS join x@5
      p2 answers join x@5
      node holds member x@5
      """

  @puppets @ST-2 @must
  Scenario: Witnesses from a node that is not a member are not recorded
    Given the node under test founds a stableset that puppets p1, p2, p3 join, one at a time
    When the puppets play:
      """
      # x is no member: what it says it witnessed means nothing, whoever it names (MSG-5).
      x asks join j@4
      node sends x no WITNESS join j@4 within 0.5s
      node holds no j
      p1 asks join j@4
      x asks join j@4
      node holds pending join j@4 witnessed by node, p1
      p2 answers join j@4
      node holds member j@4
      """

  @puppets @ST-1 @ST-2 @must
  Scenario: Changes of an instance that is not live change nothing, whoever witnesses them
    Given the node under test founds a stableset that puppets p1, p2, p3 join, one at a time
    When the puppets play:
      """
      # p3 holds ordinal 3. A join of p3 with ordinal 2, and a leave of p3 with ordinal 1, are
      # older than what the node holds, so they are not live: 3 of 4 elders witnessing them
      # must not move p3 back or remove it.
      p1 asks join p3@2
      p2 asks join p3@2
      p1 asks leave p3@1
      p2 asks leave p3@1
      p3 asks leave p3@1
      node holds member p3@3
      node holds elders node, p1, p2, p3
      """

  @puppets @ST-9 @ST-7 @must
  Scenario: An elder witnesses a leave only when the member asked for it or is silent
    Given the node under test founds a stableset that puppets p1, p2, p3 join, one at a time
    When the puppets play:
      """
      # p2 answers every PING: it is not silent, and it did not ask to leave.
      p1 asks leave p2@2
      node sends p1 no WITNESS leave p2@2 within 0.5s
      node holds pending leave p2@2 witnessed by p1
      p3 asks leave p2@2
      node holds pending leave p2@2 witnessed by p1, p3
      # Now p2 asks for itself: the node witnesses it, 4 of 4.
      p2 asks leave p2@2
      node sends p2 WITNESS leave p2@2
      node holds no p2
      node holds elders node, p1, p3
      """

  @puppets @ST-5 @must
  Scenario: A joiner gets the ordinal one above every ordinal applied, including those that left
    Given the node under test founds a stableset that puppets p1, p2, p3 join, one at a time
    When the puppets play:
      """
      p3 asks leave p3@3
      p1 answers leave p3@3
      node holds no p3
      j asks join j@0
      node sends j WITNESS join j@4
      node holds pending join j@4 witnessed by node
      """

  @puppets @ST-5 @must
  Scenario: An elder takes up to 8 joins at once, each with its own ordinal, and takes a joiner it held as soon as one applies
    Given the node under test founds a stableset that puppets p1, p2, p3 join, one at a time
    When the puppets play:
      """
      # 4 members, as many as the elders: a join cannot change the elders, so the node takes 8 at
      # once, each one above every ordinal applied and every ordinal of the joins it took.
      j1 asks join j1@0
      node sends j1 WITNESS join j1@4
      j2 asks join j2@0
      node sends j2 WITNESS join j2@5
      j3 asks join j3@0
      node sends j3 WITNESS join j3@6
      j4 asks join j4@0
      node sends j4 WITNESS join j4@7
      j5 asks join j5@0
      node sends j5 WITNESS join j5@8
      j6 asks join j6@0
      node sends j6 WITNESS join j6@9
      j7 asks join j7@0
      node sends j7 WITNESS join j7@10
      j8 asks join j8@0
      node sends j8 WITNESS join j8@11
      # A ninth joiner waits for one of the 8 to apply.
      k asks join k@0
      node sends k no WITNESS within 0.5s
      node holds no k
      p1 answers join j1@4
      p2 answers join j1@4
      node holds member j1@4
      # k asked once: the node held its request, and takes it up now, without waiting for k to
      # ask again (a joiner asks every second). Its ordinal is above j8's, still pending.
      node sends k WITNESS join k@12 within 0.5s
      node sends p1 WITNESS_REQUEST join k@12 within 0.5s
      """

  @puppets @ST-5 @must
  Scenario: An elder of a stableset with fewer members than elder size takes one join at a time
    Given the node under test founds a stableset that puppets p1 join, one at a time
    When the puppets play:
      """
      # 2 members of 4 elders: each join makes its joiner an elder, so the next waits for it.
      j asks join j@0
      node sends j WITNESS join j@2
      k asks join k@0
      node sends k no WITNESS within 0.5s
      node holds no k
      p1 answers join j@2
      node holds member j@2
      node sends k WITNESS join k@3 within 0.5s
      """

  @puppets @ST-5 @must
  Scenario: An elder in a network of sections takes joins at once too
    Given the node under test, with section bits 1, founds a stableset that puppets p1, p2, p3 join, one at a time
    When the puppets play:
      """
      # 4 members, as many as the elders: a join cannot change the elders, and every change
      # raises the section's age (section 10), so sections take joins at once as well.
      j asks join j@0
      node sends j WITNESS join j@4
      k asks join k@0
      node sends k WITNESS join k@5
      # The later one may apply first.
      p1 answers join k@5
      p2 answers join k@5
      node holds member k@5
      p1 answers join j@4
      p2 answers join j@4
      node holds member j@4
      """

  @puppets @ST-10 @must
  Scenario: An elder that applies a change sends its stableset to the subject and to every member that is not an elder
    Given the node under test founds a stableset that puppets p1, p2, p3, p4 join, one at a time
    When the puppets play:
      """
      j asks join j@0
      node sends j WITNESS join j@5
      p1 answers join j@5
      p2 answers join j@5
      node holds member j@5
      node sends j STABLESET with member j@5
      node sends p4 STABLESET with member j@5
      """

  @puppets @ST-10 @must
  Scenario: An elder sends the subject its stableset within 200 ms, also a subject that never spoke to it
    Given the node under test founds a stableset that puppets p1, p2, p3 join, one at a time
    When the puppets play:
      """
      # j asked p1, not the node: the node may wait for j to speak to it, but not past 200 ms.
      # j answers no PING either, so only the bound gets it the stableset.
      j falls silent
      p1 asks join j@4
      p2 asks join j@4
      node holds member j@4
      node sends j STABLESET with member j@4 within 0.5s
      """

  @puppets @ST-10 @must
  Scenario: An elder may hold its announcements while changes it witnessed are pending, but not past 200 ms
    Given the node under test founds a stableset that puppets p1, p2, p3, p4 join, one at a time
    When the puppets play:
      """
      # 5 members: the node takes j1 and j2 at once (ST-5), and only j1 gets a majority.
      j1 asks join j1@0
      node sends j1 WITNESS join j1@5
      j2 asks join j2@0
      node sends j2 WITNESS join j2@6
      p1 answers join j1@5
      p2 answers join j1@5
      # The subject hears at once; p4 may wait while j2 is pending, but no longer than 200 ms.
      node sends j1 STABLESET with member j1@5 within 0.5s
      node sends p4 STABLESET with member j1@5 within 0.5s
      node holds member j1@5
      node holds pending join j2@6 witnessed by node
      """

  @puppets @ST-8 @must
  Scenario: A member answers a stableset that lacks what it applied with its own
    Given the node under test founds a stableset that puppets p1, p2, p3 join, one at a time
    When the puppets play:
      """
      # Held for 250 ms: what a node applied within 200 ms it need not answer for yet (ST-8).
      node holds member p3@3
      # p1 claims a stableset without p3, as a node that fell behind would.
      p1 sends stableset members node@0, p1@1, p2@2
      node sends p1 STABLESET with member p3@3
      node holds member p3@3
      # p1 claims j is a member: only p1's own witness of that join counts.
      p1 sends stableset members node@0, p1@1, p2@2, p3@3, j@4
      node holds pending join j@4 witnessed by node, p1
      """

  @puppets @ST-9 @ST-12 @must
  Scenario: The frames of a decision, counted by the puppets, keep ST-9 and match the node's own log
    Given the node under test founds a stableset that puppets p1, p2, p3 join, one at a time
    When the puppets play:
      """
      j asks join j@0
      node sends j WITNESS join j@4
      p1 answers join j@4
      p2 asks join j@4
      node sends p2 WITNESS join j@4
      node holds member j@4
      # One frame to each other elder: a WITNESS_REQUEST, or the WITNESS answering its request.
      node sent each elder one frame of join j@4
      node counts the frames of join j@4 as the puppets saw them
      """

  @puppets @ST-6 @must
  Scenario: A stableset lists only what its sender witnessed itself
    Given the node under test founds a stableset that puppets p1, p2, p3 join, one at a time
    When the puppets play:
      """
      # p1 and p3 ask for the leave of p2, which is alive and did not ask: the node does not
      # witness it, so its STABLESET must not list it as leaving.
      p1 asks leave p2@2
      p3 asks leave p2@2
      node holds pending leave p2@2 witnessed by p1, p3
      # A stableset lacking p3 draws the node's own (ST-8).
      p1 sends stableset members node@0, p1@1, p2@2
      node sends p1 STABLESET without leaving p2@2
      # A join the node witnessed itself is listed as joining. (The node need not answer a
      # second lacking stableset within 200 ms of the first: waiting for the steady pending join
      # takes longer.)
      j asks join j@0
      node sends j WITNESS join j@4
      node holds pending join j@4 witnessed by node
      p1 sends stableset members node@0, p1@1, p2@2
      node sends p1 STABLESET with joining j@4
      """

  @puppets @ST-4 @ST-3 @must
  Scenario: When an elder leaves, the next eldest member is an elder at once and its witness counts
    Given the node under test founds a stableset that puppets p1, p2, p3, p4 join, one at a time
    When the puppets play:
      """
      node holds elders node, p1, p2, p3
      p1 asks leave p1@1
      node sends p1 WITNESS leave p1@1
      p2 answers leave p1@1
      node holds no p1
      node holds elders node, p2, p3, p4
      # p4 is an elder now: the node asks it, and its witness counts towards 3 of 4.
      j asks join j@0
      node sends j WITNESS join j@5
      p4 answers join j@5
      node holds pending join j@5 witnessed by node, p4
      p2 answers join j@5
      node holds member j@5
      """

  @puppets @ST-11 @ST-3 @must
  Scenario: A member removed by a strict majority of the elders joins again as a new instance
    Given the node under test founds a stableset that puppets p1, p2, p3 join, one at a time
    When the puppets play:
      """
      # The elders p1, p2 and p3 removed the node while, say, it could not be heard.
      p1 sends stableset members p1@1, p2@2, p3@3 leaving node@0
      node sends p1 no WITNESS_REQUEST join node@0 within 0.5s
      node holds member node@0
      p2 sends stableset members p1@1, p2@2, p3@3 leaving node@0
      p3 sends stableset members p1@1, p2@2, p3@3 leaving node@0
      # 3 of 4 elders: the node starts again alone and asks to join as a new instance (ST-5).
      node sends p1 WITNESS_REQUEST join node@0
      """

  @puppets @ST-5 @ST-9 @must
  Scenario: A joiner is in only once a strict majority of the elders sent it the same stableset that lists it
    Given the node under test joins a stableset of puppets p1, p2, p3, p4 through p1
    When the puppets play:
      """
      node sends p1 WITNESS_REQUEST join node@0
      # It asks again every second until it is in (ST-5), not at every turn of its loop.
      node sends p1 no WITNESS_REQUEST join node@0 within 0.5s
      node sends p1 WITNESS_REQUEST join node@0 within 2s
      p1 sends stableset members p1@1, p2@2, p3@3, p4@4, node@5
      p2 sends stableset members p1@1, p2@2, p3@3, p4@4, node@5
      node is joining
      # A third elder's stableset lists it too, but it is another stableset (it has x as well).
      p3 sends stableset members p1@1, p2@2, p3@3, p4@4, node@5, x@6
      node is joining
      p4 sends stableset members p1@1, p2@2, p3@3, p4@4, node@5
      node is a member
      node holds member node@5
      node holds elders p1, p2, p3, p4
      # The node is no elder: an elder asking it about a join gets its witness recorded, nothing more.
      p1 asks join z@6
      node sends p1 no WITNESS join z@6 within 0.5s
      node holds pending join z@6 witnessed by p1
      """

  @puppets @ST-5 @must
  Scenario: A joiner counts two stablesets that hold one name at two ordinals as two
    Given the node under test joins a stableset of puppets p1, p2, p3, p4 through p1
    When the puppets play:
      """
      node sends p1 WITNESS_REQUEST join node@0
      p1 sends stableset members p1@1, p2@2, p3@3, p4@4, x@5, node@6
      p2 sends stableset members p1@1, p2@2, p3@3, p4@4, x@5, node@6
      node is joining
      # p3 lists x at another ordinal: the same names, but another stableset with another id
      # (WIRE-10), as when two elders each gave x an ordinal and both joins were decided.
      p3 sends stableset members p1@1, p2@2, p3@3, p4@4, node@6, x@7
      node is joining
      p4 sends stableset members p1@1, p2@2, p3@3, p4@4, x@5, node@6
      node is a member
      node holds member x@5
      node holds member node@6
      """

  @puppets @ST-5 @must
  Scenario: A joiner takes no direction from a stableset of its sender alone
    Given the node under test joins a stableset of puppets p1, p2, p3, p4 through p1
    When the puppets play:
      """
      node sends p1 WITNESS_REQUEST join node@0
      # k is alone, as a joiner waiting for its own elders is: it is no member that could point
      # the node to elders, so the node goes on asking p1.
      k sends stableset members k@0
      node sends k no WITNESS_REQUEST join node@0 within 1.5s
      node sends p1 WITNESS_REQUEST join node@0 within 1s
      """

  @puppets @ST-7 @must
  Scenario: An elder witnesses the leave of a member that falls silent
    Given the node under test founds a stableset that puppets p1, p2, p3, p4 join, one at a time
    When the puppets play:
      """
      # p4 answers no PING from now on: after the peer timeout the node witnesses its leave.
      p4 falls silent
      node sends p3 WITNESS_REQUEST leave p4@4 within 8s
      node holds pending leave p4@4 witnessed by node
      p1 answers leave p4@4
      p2 answers leave p4@4
      node holds no p4
      node holds elders node, p1, p2, p3
      """

  @puppets @ST-7 @ST-9 @ST-13 @must
  Scenario: Once a member is heard again, no witness of its silence is left to count towards removing it
    Given the node under test founds a stableset that puppets p1, p2, p3, p4 join, one at a time
    When the puppets play:
      """
      # p4, a member but no elder, answers no PING: after the peer timeout the node witnesses its
      # leave, and p1 agrees. 2 of 4 elders: one short.
      p4 falls silent
      node sends p1 WITNESS_REQUEST leave p4@4 within 8s
      p1 answers leave p4@4
      node holds pending leave p4@4 witnessed by node, p1
      # While the leave is pending the node says it again to every other elder, p1 included,
      # although p1 witnessed it, so that p1's record of the node's witness does not lapse.
      node sends p1 WITNESS_REQUEST leave p4@4 within 3s [ST-9]
      # p4 speaks again: the node's witness rested on p4's silence, so it is withdrawn.
      p4 speaks again
      node holds pending leave p4@4 witnessed by p1 [ST-7]
      # p1 does not say it again: its witness lapses 5 s after p1 said it.
      node holds nothing pending within 5s [ST-13]
      # So a later witness finds nothing to add to (before the lapse, it would have made 3 of 4
      # and removed p4, a healthy member).
      p2 asks leave p4@4
      node holds pending leave p4@4 witnessed by p2 [ST-13]
      node holds member p4@4 [ST-13]
      """

  @puppets @ST-13 @must
  Scenario: One member listing made-up joins is recorded for at most members + 16 of them, and they lapse
    Given the node under test founds a stableset that puppets p1, p2, p3, p4 join, one at a time
    When the puppets play:
      """
      # p4, a member, lists 300 joins of names that never connected: 5 members + 16 are recorded.
      p4 sends stableset members node@0, p1@1, p2@2, p3@3, p4@4 joining 300 made-up members
      node holds 21 pending changes witnessed by p4
      node counts 279 dropped witnesses
      # The same list again renews the 21 and drops the other 279 again.
      p4 sends stableset members node@0, p1@1, p2@2, p3@3, p4@4 joining 300 made-up members
      node counts 558 dropped witnesses
      # An honest join still goes through meanwhile.
      j asks join j@0
      node sends j WITNESS join j@5
      p1 answers join j@5
      p2 answers join j@5
      node holds member j@5
      # p4 says none of it again: it all lapses.
      node holds nothing pending within 8s
      """
