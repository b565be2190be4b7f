Feature: Identity — a node's name is its ed25519 key, proven in every QUIC handshake
  SPEC.md §1. The harness derives every node's key from a seed it chooses, so it knows each name
  before the node starts, and scripted peers check what the node proves in the handshake.

  Background:
    Given a node under test

  @ID-1 @ID-2 @ID-3 @NC-1 @NC-2 @must
  Scenario: The node has the name its seed gives and listens where it was told
    Then the node reports the name its seed gives, as 64 lowercase hex characters
    And the node reports the QUIC address it was given

  @ID-4 @ID-7 @TRN-1 @must
  Scenario: The node proves its name with one self-signed certificate
    When scripted peer "alice" connects to the node
    Then peer "alice" was shown one self-signed ed25519 certificate holding the node's name
    And peer "alice" negotiated ALPN "stableset/0" with TLS 1.3 over QUIC version 1

  @ID-5 @must
  Scenario: A node that dials refuses a peer proving another name than the one it expects
    Given scripted peer "mallory" listens for connections
    When a second node starts with bootstrap peer "mallory" under another name
    Then the second node counts a failed handshake
    And peer "mallory" has received no frame

  @ID-8 @should
  Scenario: A name mismatch is counted as such
    Given scripted peer "mallory" listens for connections
    When a second node starts with bootstrap peer "mallory" under another name
    Then the second node counts 1 name mismatch

  @ID-6 @must
  Scenario Outline: The node refuses a client certificate that is not one ed25519 certificate with a valid self-signature
    When scripted peer "eve" connects to the node with <certificate>
    Then the node fails the handshake of peer "eve" with the TLS alert bad_certificate
    And the node answers a PING from a new peer

    Examples:
      | certificate                         |
      | a certificate signed by another key |
      | a chain of two certificates         |

  @ID-7 @must
  Scenario: The node refuses a peer that offers another application protocol
    When scripted peer "eve" connects to the node offering ALPN "h3"
    Then the handshake of peer "eve" fails
    And the node answers a PING from a new peer

  @ID-1 @must
  Scenario: A name given in uppercase is accepted
    When a second node starts with the node as bootstrap peer, its name in uppercase
    Then the node counts a PING from the second node
