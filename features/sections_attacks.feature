Feature: Sections against puppets
  The node under test founds a section of a network with section bits 1, and puppets of the other
  section (scripted nodes the test controls, with names of that section's prefix) send it top-20
  lists and elder-loss votes: from too few elders, from nodes outside the list it holds, older
  than what it holds, differing byte for byte. Each script line is one frame the puppets send or
  one outcome the node must show, through GET /v1/sections or the frames it sends the puppets
  (SPEC.md §10; the lines are explained in conformance/puppets.go).

  @puppets @SEC-3 @must
  Scenario: A first list is taken only from a strict majority of its own elders, each counted once
    Given the node under test, with section bits 1, founds a stableset alone
    When the puppets play:
      """
      q1, q2, q3, q4 are of another section
      q1 sends section list age 4/0 members q1@1, q2@2, q3@3, q4@4
      q1 sends section list age 4/0 members q1@1, q2@2, q3@3, q4@4
      node holds no other section
      q2 sends section list age 4/0 members q1@1, q2@2, q3@3, q4@4
      node holds no other section
      q3 sends section list age 4/0 members q1@1, q2@2, q3@3, q4@4
      node holds section list age 4/0 members q1@1, q2@2, q3@3, q4@4 from q1, q2, q3
      """

  @puppets @SEC-3 @must
  Scenario: A newer list counts only senders in the held list, and only for the same bytes
    Given the node under test, with section bits 1, founds a stableset alone
    When the puppets play:
      """
      q1, q2, q3, q4, x, y, z are of another section
      q1 sends section list age 4/0 members q1@1, q2@2, q3@3, q4@4
      q2 sends section list age 4/0 members q1@1, q2@2, q3@3, q4@4
      q3 sends section list age 4/0 members q1@1, q2@2, q3@3, q4@4
      node holds section list age 4/0 members q1@1, q2@2, q3@3, q4@4 from q1, q2, q3
      # x, y and z have the section's prefix but are not in the held list: they count for nothing.
      x sends section list age 5/0 members q1@1, q2@2, q3@3, q4@4, x@5
      y sends section list age 5/0 members q1@1, q2@2, q3@3, q4@4, x@5
      z sends section list age 5/0 members q1@1, q2@2, q3@3, q4@4, x@5
      node holds section list age 4/0 members q1@1, q2@2, q3@3, q4@4 from q1, q2, q3
      # Two lists of one age that differ are two lists: 2 and 1 senders make no majority.
      q1 sends section list age 5/0 members q1@1, q2@2, q3@3, q4@4, x@5
      q2 sends section list age 5/0 members q1@1, q2@2, q3@3, q4@4, y@5
      q3 sends section list age 5/0 members q1@1, q2@2, q3@3, q4@4, x@5
      node holds section list age 4/0 members q1@1, q2@2, q3@3, q4@4 from q1, q2, q3
      q4 sends section list age 5/0 members q1@1, q2@2, q3@3, q4@4, x@5
      node holds section list age 5/0 members q1@1, q2@2, q3@3, q4@4, x@5 from q1, q3, q4
      """

  @puppets @SEC-4 @must
  Scenario: A list no newer than the held one changes nothing, whoever sends it
    Given the node under test, with section bits 1, founds a stableset alone
    When the puppets play:
      """
      q1, q2, q3, q4, y are of another section
      q1 sends section list age 4/0 members q1@1, q2@2, q3@3, q4@4
      q2 sends section list age 4/0 members q1@1, q2@2, q3@3, q4@4
      q3 sends section list age 4/0 members q1@1, q2@2, q3@3, q4@4
      node holds section list age 4/0 members q1@1, q2@2, q3@3, q4@4 from q1, q2, q3
      # The same age with other members, then an older age, each from all four elders.
      q1 sends section list age 4/0 members q1@1, q2@2, q3@3, y@4
      q2 sends section list age 4/0 members q1@1, q2@2, q3@3, y@4
      q3 sends section list age 4/0 members q1@1, q2@2, q3@3, y@4
      q4 sends section list age 4/0 members q1@1, q2@2, q3@3, y@4
      q1 sends section list age 3/0 members q1@1, q2@2, q3@3
      q2 sends section list age 3/0 members q1@1, q2@2, q3@3
      q3 sends section list age 3/0 members q1@1, q2@2, q3@3
      q4 sends section list age 3/0 members q1@1, q2@2, q3@3
      node holds section list age 4/0 members q1@1, q2@2, q3@3, q4@4 from q1, q2, q3
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
      q1 sends section list age 4/0 members q1@1, q2@2, q3@3, q4@4
      q2 sends section list age 4/0 members q1@1, q2@2, q3@3, q4@4
      q3 sends section list age 4/0 members q1@1, q2@2, q3@3, q4@4
      node holds section list age 4/0 members q1@1, q2@2, q3@3, q4@4 from q1, q2, q3
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
      node sends p1 no WITNESS join q9@2 within 1s
      node holds no q9
      node holds elders node, p1
      """

  @puppets @SEC-8 @must
  Scenario: An elder confirms another section's elder loss only when it cannot hear those elders either
    Given the node under test, with section bits 1, founds a stableset alone
    When the puppets play:
      """
      q1, q2, q3, q4, q5, q6, q7, q8, x are of another section
      q1 sends section list age 8/0 members q1@1, q2@2, q3@3, q4@4, q5@5, q6@6, q7@7, q8@8
      q2 sends section list age 8/0 members q1@1, q2@2, q3@3, q4@4, q5@5, q6@6, q7@7, q8@8
      q3 sends section list age 8/0 members q1@1, q2@2, q3@3, q4@4, q5@5, q6@6, q7@7, q8@8
      node holds section list age 8/0 members q1@1, q2@2, q3@3, q4@4, q5@5, q6@6, q7@7, q8@8 from q1, q2, q3
      # q5, an acting elder there, says q1 to q4 are lost, but they answer the node's PINGs.
      q5 sends elder loss of q1@1, q2@2, q3@3, q4@4
      node sends q5 no ELDER_LOSS within 1s
      q1 falls silent
      q2 falls silent
      q3 falls silent
      q4 falls silent
      # x is not in the list: its vote is never answered.
      x sends elder loss of q1@1, q2@2, q3@3, q4@4
      # After the elder-loss timeout (twice the peer timeout) the node confirms to q5.
      q5 sends elder loss of q1@1, q2@2, q3@3, q4@4 every 1s until the node answers within 12s
      node sends x no ELDER_LOSS within 1s
      """
