Feature: Sections
  With section bits B above 0, a node's section is the first B bits of its name, and each section
  is a stableset of its own. The elders of a section send its top-20 list to the other sections,
  which take a list only from a strict majority of its elders and never an older one. A node that
  joins through another section lands in its own; the first node of a section founds it; a
  section that loses all its elders at once replaces them with the other sections' help. Every
  check goes through the admin API: GET /v1/stableset and GET /v1/sections (SPEC.md §10).
  Section 0 holds the names whose first bit is 0, section 1 the others.

  @SEC-7 @must
  Scenario: With section bits 0 there is one section and no other to list
    Given a node under test
    Then GET /v1/sections answers section bits 0, prefix "" and no other section

  @cluster @SEC-1 @SEC-2 @SEC-5 @SEC-6 @SEC-7 @must
  Scenario: Two sections learn each other
    Given section 0 of 8 nodes under test with section bits 1, started from one bootstrap
    And within 30 seconds the nodes of section 0 are the members of one stableset of 8 members
    When the first node of section 1 starts with a node of section 0 as bootstrap peer
    Then within 20 seconds it founds section 1: it is a member of a stableset of one, itself with ordinal 0
    And within 30 seconds every node of section 0 lists section 1 in GET /v1/sections as that section's nodes report it
    When 7 more nodes of section 1 start, each with a node of section 0 as bootstrap peer
    Then within 60 seconds the nodes of section 1 are the members of one stableset of 8 members
    And within 5 seconds the nodes of section 0 are the members of one stableset of 8 members
    And every node's stableset holds only names of its own section
    And within 30 seconds every node lists every other section in GET /v1/sections as that section's nodes report it

  @cluster @SEC-2 @SEC-4 @SEC-5 @SEC-8 @SEC-9 @must
  Scenario: All elders of a section die at once
    Given a network of 2 sections of 8 nodes under test with section bits 1, the second founded and joined through the first
    When the 4 elders of section 1 are killed at once
    Then within 40 seconds the nodes of section 1 are the members of one stableset of 4 members
    And no killed elder is a member anywhere, and the elders of section 1 are its 4 eldest survivors
    And within 20 seconds every node of section 0 lists section 1 in GET /v1/sections as that section's nodes report it
    And every node of section 0 holds a newer list of section 1 than before the loss, and no node's list of another section ever went backwards
    When a new node under test whose name is in section 1 joins through a node of section 0
    Then within 20 seconds the nodes of section 1 are the members of one stableset of 5 members
    And the stableset of section 0 is the one it was before the loss
    And within 20 seconds every node lists every other section in GET /v1/sections as that section's nodes report it

  @cluster @SEC-3 @must
  Scenario: A forged top-20 list changes nothing
    Given a network of 2 sections of 4 nodes under test with section bits 1, the second founded and joined through the first
    And scripted peer "forger" whose name is in section 1 connects to the youngest node of section 0
    When peer "forger" sends the node a SECTION_LIST of section 1 of a greater age naming itself as its only member
    And peer "forger" sends the node a SECTION_LIST of section 1 of a greater age naming itself as an elder among its members
    And peer "forger" sends the node a SECTION_LIST of section 1 of a greater age listing its members under another stableset id
    Then the node counts 3 SECTION_LIST frames received from peer "forger"
    And the node's GET /v1/sections is as it was before peer "forger" sent anything
    And peer "forger" gets a PONG for a PING
