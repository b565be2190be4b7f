Feature: Sections against puppets
  The node under test founds a section of a network with section bits 1, and puppets of the other
  section (scripted nodes the test controls, with names of that section's prefix) send it top-20
  lists and elder-loss votes: from too few elders, from nodes outside the list it holds, older
  than what it holds, differing byte for byte. Each script line is one frame the puppets send or
  one outcome the node must show, through GET /v1/sections or the frames it sends the puppets
  (SPEC.md §10; the lines are explained in conformance/puppets.go).

  @puppets @SEC-3 @SEC-7 @must
  Scenario: A first list is taken only from a strict majority of its own elders, each counted once
    Given the node under test, with section bits 1, founds a stableset alone
    When the puppets play:
      """
      q1, q2, q3, q4 are of another section
      q1 sends section list age 24 members q1@1, q2@2, q3@3, q4@4
      q1 sends section list age 24 members q1@1, q2@2, q3@3, q4@4
      node holds no other section
      q2 sends section list age 24 members q1@1, q2@2, q3@3, q4@4
      node holds no other section
      q3 sends section list age 24 members q1@1, q2@2, q3@3, q4@4
      node holds section list age 24 members q1@1, q2@2, q3@3, q4@4 from q1, q2, q3
      """

  @puppets @SEC-3 @must
  Scenario: A newer list counts only senders in the held list, and only for the same bytes
    Given the node under test, with section bits 1, founds a stableset alone
    When the puppets play:
      """
      q1, q2, q3, q4, x, y, z are of another section
      q1 sends section list age 24 members q1@1, q2@2, q3@3, q4@4
      q2 sends section list age 24 members q1@1, q2@2, q3@3, q4@4
      q3 sends section list age 24 members q1@1, q2@2, q3@3, q4@4
      node holds section list age 24 members q1@1, q2@2, q3@3, q4@4 from q1, q2, q3
      # x, y and z have the section's prefix but are not in the held list: they count for nothing.
      x sends section list age 35 members q1@1, q2@2, q3@3, q4@4, x@5
      y sends section list age 35 members q1@1, q2@2, q3@3, q4@4, x@5
      z sends section list age 35 members q1@1, q2@2, q3@3, q4@4, x@5
      node holds section list age 24 members q1@1, q2@2, q3@3, q4@4 from q1, q2, q3
      # Two lists of one age that differ are two lists: 2 and 1 senders make no majority.
      q1 sends section list age 35 members q1@1, q2@2, q3@3, q4@4, x@5
      q2 sends section list age 35 members q1@1, q2@2, q3@3, q4@4, y@5
      q3 sends section list age 35 members q1@1, q2@2, q3@3, q4@4, x@5
      node holds section list age 24 members q1@1, q2@2, q3@3, q4@4 from q1, q2, q3
      q4 sends section list age 35 members q1@1, q2@2, q3@3, q4@4, x@5
      node holds section list age 35 members q1@1, q2@2, q3@3, q4@4, x@5 from q1, q3, q4
      # Lists that differ in one member's ordinal only are two lists too.
      q1 sends section list age 50 members q1@1, q2@2, q3@3, q4@4, x@5, y@6
      q2 sends section list age 50 members q1@1, q2@2, q3@3, q4@4, x@5, y@7
      q3 sends section list age 50 members q1@1, q2@2, q3@3, q4@4, x@5, y@6
      node holds section list age 35 members q1@1, q2@2, q3@3, q4@4, x@5 from q1, q3, q4
      # And so are lists that differ in their age only.
      q4 sends section list age 51 members q1@1, q2@2, q3@3, q4@4, x@5, y@6
      node holds section list age 35 members q1@1, q2@2, q3@3, q4@4, x@5 from q1, q3, q4
      """

  @puppets @SEC-4 @must
  Scenario: A list no newer than the held one changes nothing, whoever sends it
    Given the node under test, with section bits 1, founds a stableset alone
    When the puppets play:
      """
      q1, q2, q3, q4, y are of another section
      q1 sends section list age 24 members q1@1, q2@2, q3@3, q4@4
      q2 sends section list age 24 members q1@1, q2@2, q3@3, q4@4
      q3 sends section list age 24 members q1@1, q2@2, q3@3, q4@4
      node holds section list age 24 members q1@1, q2@2, q3@3, q4@4 from q1, q2, q3
      # The same age with other members, then an older age, each from all four elders.
      q1 sends section list age 24 members q1@1, q2@2, q3@3, y@4
      q2 sends section list age 24 members q1@1, q2@2, q3@3, y@4
      q3 sends section list age 24 members q1@1, q2@2, q3@3, y@4
      q4 sends section list age 24 members q1@1, q2@2, q3@3, y@4
      q1 sends section list age 15 members q1@1, q2@2, q3@3
      q2 sends section list age 15 members q1@1, q2@2, q3@3
      q3 sends section list age 15 members q1@1, q2@2, q3@3
      q4 sends section list age 15 members q1@1, q2@2, q3@3
      node holds section list age 24 members q1@1, q2@2, q3@3, q4@4 from q1, q2, q3
      """

  @puppets @SEC-5 @must
  Scenario: A joiner of another section is answered with that section's list, or the node's own
    Given the node under test, with section bits 1, founds a stableset alone
    When the puppets play:
      """
      q1, q2, q3, q4, v, w are of another section
      # Nothing held for w's section yet: the node's own list answers.
      v asks join v@0
      node sends v SECTION_LIST with member node@0
      node holds no v
      q1 sends section list age 24 members q1@1, q2@2, q3@3, q4@4
      q2 sends section list age 24 members q1@1, q2@2, q3@3, q4@4
      q3 sends section list age 24 members q1@1, q2@2, q3@3, q4@4
      node holds section list age 24 members q1@1, q2@2, q3@3, q4@4 from q1, q2, q3
      w asks join w@0
      node sends w SECTION_LIST with member q1@1
      node holds no w
      """

  @puppets @SEC-1 @must
  Scenario: A stableset holds names of its own section only
    Given the node under test, with section bits 1, founds a stableset that puppets p1 join, one at a time
    When the puppets play:
      """
      q9 is of another section
      # p1, an elder, asks the node to witness the join of a name of the other section.
      p1 asks join q9@2
      node sends p1 no WITNESS join q9@2 within 0.5s
      node holds no q9
      node holds elders node, p1
      """

  @puppets @SEC-8 @SEC-9 @must
  Scenario: An elder confirms another section's elder loss only when it cannot hear those elders either
    Given the node under test, with section bits 1, founds a stableset alone
    When the puppets play:
      """
      q1, q2, q3, q4, q5, q6, q7, q8, x are of another section
      q1 sends section list age 80 members q1@1, q2@2, q3@3, q4@4, q5@5, q6@6, q7@7, q8@8
      q2 sends section list age 80 members q1@1, q2@2, q3@3, q4@4, q5@5, q6@6, q7@7, q8@8
      q3 sends section list age 80 members q1@1, q2@2, q3@3, q4@4, q5@5, q6@6, q7@7, q8@8
      node holds section list age 80 members q1@1, q2@2, q3@3, q4@4, q5@5, q6@6, q7@7, q8@8 from q1, q2, q3
      # q5, an acting elder there, says q1 to q4 are lost, but they answer the node's PINGs.
      q5 sends elder loss of q1@1, q2@2, q3@3, q4@4
      node sends q5 no ELDER_LOSS within 0.5s
      q1 falls silent
      q2 falls silent
      q3 falls silent
      q4 falls silent
      # x is not in the list: its vote is never answered.
      x sends elder loss of q1@1, q2@2, q3@3, q4@4
      # After the elder-loss timeout (twice the peer timeout) the node confirms to q5.
      q5 sends elder loss of q1@1, q2@2, q3@3, q4@4 every 1s until the node answers within 12s
      node sends x no ELDER_LOSS within 0.5s
      # That section applied the loss: its new elders, all in the held list, send their list, and
      # a strict majority of them is enough (SEC-9), though none was an elder before.
      q5 sends section list age 84 members q5@5, q6@6, q7@7, q8@8
      q6 sends section list age 84 members q5@5, q6@6, q7@7, q8@8
      node holds section list age 80 members q1@1, q2@2, q3@3, q4@4, q5@5, q6@6, q7@7, q8@8 from q1, q2, q3
      q7 sends section list age 84 members q5@5, q6@6, q7@7, q8@8
      node holds section list age 84 members q5@5, q6@6, q7@7, q8@8 from q5, q6, q7
      """

  @puppets @SEC-8 @SEC-2 @must
  Scenario: Acting elders that lose every elder vote, and apply the loss with the other section's confirmation
    Given the node under test, with section bits 1, joins a stableset of puppets p1, p2, p3, p4, p5, p6, p7, p9 through p1
    When the puppets play:
      """
      # The node joins as the eighth member: an acting elder, with p5, p6 and p7. p9, the ninth,
      # is neither an elder nor an acting elder.
      node sends p1 WITNESS_REQUEST join node@0
      p1 sends stableset members p1@1, p2@2, p3@3, p4@4, p5@5, p6@6, p7@7, node@8, p9@9
      p2 sends stableset members p1@1, p2@2, p3@3, p4@4, p5@5, p6@6, p7@7, node@8, p9@9
      p3 sends stableset members p1@1, p2@2, p3@3, p4@4, p5@5, p6@6, p7@7, node@8, p9@9
      node is a member
      q1, q2, q3, q4 are of another section
      q1 sends section list age 24 members q1@1, q2@2, q3@3, q4@4
      q2 sends section list age 24 members q1@1, q2@2, q3@3, q4@4
      q3 sends section list age 24 members q1@1, q2@2, q3@3, q4@4
      node holds section list age 24 members q1@1, q2@2, q3@3, q4@4 from q1, q2, q3
      # All four elders fall silent at once.
      p1 falls silent
      p2 falls silent
      p3 falls silent
      p4 falls silent
      node sends q1 ELDER_LOSS within 12s
      node sends p5 ELDER_LOSS
      # It needs 3 of the 4 acting elders (itself included) and 3 of the other section's 4
      # elders; p9's vote counts for nothing.
      p5 sends elder loss of p1@1, p2@2, p3@3, p4@4
      p9 sends elder loss of p1@1, p2@2, p3@3, p4@4
      q1 sends elder loss of p1@1, p2@2, p3@3, p4@4
      q2 sends elder loss of p1@1, p2@2, p3@3, p4@4
      q3 sends elder loss of p1@1, p2@2, p3@3, p4@4
      node holds member p1@1
      p6 sends elder loss of p1@1, p2@2, p3@3, p4@4
      node holds no p1
      node holds elders p5, p6, p7, node
      # A new elder sends its section's list to the other section (SEC-2, SEC-9).
      node sends q1 SECTION_LIST with member p5@5
      """

  @puppets @SEC-6 @SEC-5 @SEC-7 @must
  Scenario: A joiner founds its section only on the list of a peer it asked
    Given the node under test, with section bits 1, starts with puppet q1 of another section as its bootstrap peer
    When the puppets play:
      """
      q2, q3, q4, x are of another section
      node sends q1 WITNESS_REQUEST join node@0
      # x was not asked: its list of its own section changes nothing.
      x sends section list age 3 members x@1
      node is joining
      # q1 answers with its own section's list: nobody knows the node's section, so it founds it.
      q1 sends section list age 24 members q1@1, q2@2, q3@3, q4@4
      node is a member
      node holds member node@0
      node holds section list age 24 members q1@1, q2@2, q3@3, q4@4 from -
      node sends q1 SECTION_LIST with member node@0
      """

  @puppets @SEC-2 @must
  Scenario: A joiner takes the other sections' lists from the peer it asked, as a first contact
    Given the node under test, with section bits 1, joins a stableset of puppets p1, p2, p3 through p1
    When the puppets play:
      """
      q1, q2, q3 are of another section
      node sends p1 WITNESS_REQUEST join node@0
      # p1 passes on the list it holds of the other section, then the stableset that lists the node.
      p1 sends section list age 15 members q1@1, q2@2, q3@3
      p1 sends stableset members p1@1, p2@2, p3@3, node@4
      p2 sends stableset members p1@1, p2@2, p3@3, node@4
      node is a member
      node holds section list age 15 members q1@1, q2@2, q3@3 from -
      """

  @puppets @SEC-2 @SEC-3 @must
  Scenario: A member takes a first list of a section from one of its elders only
    Given the node under test, with section bits 1, founds a stableset that puppets p1, p2, p3, p4 join, one at a time
    When the puppets play:
      """
      q1, q2, q3 are of another section
      # p4 is a member but no elder: the list it passes on is nothing to go by.
      p4 sends section list age 15 members q1@1, q2@2, q3@3
      node holds no other section
      p1 sends section list age 15 members q1@1, q2@2, q3@3
      node holds section list age 15 members q1@1, q2@2, q3@3 from -
      """
