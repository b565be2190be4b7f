Feature: Framing and messages — bad frames close one connection with a defined code
  SPEC.md §3 to §5. Scripted peers send frames no honest node would; the node must close only
  that connection, with the code the spec gives, and keep serving everyone else.

  Background:
    Given a node under test

  @WIRE-1 @WIRE-7 @MSG-1 @must
  Scenario: A PING is answered with a PONG carrying its id and its body
    When scripted peer "alice" connects to the node
    And peer "alice" sends a PING with id 77 and payload "stableset"
    Then peer "alice" receives a PONG with id 77 and payload "stableset"

  @WIRE-1 @must
  Scenario: Frames written back to back in one write are each answered
    When scripted peer "alice" connects to the node
    And peer "alice" sends 3 PINGs in one write
    Then peer "alice" receives 3 PONGs with their ids

  @WIRE-2 @MSG-1 @must
  Scenario: The largest frame allowed is accepted
    When scripted peer "alice" connects to the node
    And peer "alice" sends a PING with a payload of 65495 bytes
    Then peer "alice" receives a PONG with the same payload

  Scenario Outline: A bad frame closes the connection with its code, and the node serves others
    When scripted peer "mallory" connects to the node
    And peer "mallory" sends <frame>
    Then the node closes peer "mallory"'s connection with <code>
    And the node answers a PING from a new peer
    And the node counts 1 connection it closed with <code>

    @WIRE-2 @ERR-1 @WIRE-8 @TRN-4 @ADM-4 @must
    Examples: a length above the maximum
      | frame                           | code            |
      | a frame whose length is 65537   | FRAME_TOO_LARGE |
      | a frame whose length is 4294967295 | FRAME_TOO_LARGE |

    @WIRE-3 @ERR-1 @WIRE-8 @TRN-4 @must
    Examples: a frame shorter than its header
      | frame                        | code      |
      | a frame whose length is 40   | MALFORMED |
      | a frame whose length is 0    | MALFORMED |

    @WIRE-4 @ERR-1 @WIRE-8 @TRN-4 @must
    Examples: a stream that ends inside a frame
      | frame                                      | code            |
      | half a frame and then ends its stream      | FRAME_TRUNCATED |
      | two bytes of a length and then ends its stream | FRAME_TRUNCATED |

    @WIRE-5 @ERR-1 @WIRE-8 @TRN-4 @must
    Examples: a type not in the catalogue
      | frame                   | code         |
      | a frame of type 0x7f    | UNKNOWN_TYPE |
      | a frame of type 0x00    | UNKNOWN_TYPE |

    @WIRE-6 @MSG-3 @ERR-1 @WIRE-8 @TRN-4 @must
    Examples: an observation that breaks its layout
      | frame                                   | code      |
      | a WITNESS_REQUEST with a 58-byte body   | MALFORMED |
      | a WITNESS_REQUEST with a 60-byte body   | MALFORMED |
      | a WITNESS_REQUEST of kind 3             | MALFORMED |

    @WIRE-6 @MSG-2 @ERR-1 @must
    Examples: a member address that cannot be a node's
      | frame                                          | code      |
      | a WITNESS_REQUEST naming port 0                | MALFORMED |
      | a WITNESS_REQUEST naming address 0.0.0.0       | MALFORMED |
      | a WITNESS_REQUEST naming address ::            | MALFORMED |
      | a WITNESS_REQUEST naming address 224.0.0.1     | MALFORMED |

    # A Member carries an IPv4 address IPv4-mapped, so the rows above with IPv4 addresses already
    # send ::ffff:0.0.0.0 and ::ffff:224.0.0.1, which MSG-2 judges as the IPv4 address they hold.
    @WIRE-6 @MSG-2 @ERR-1 @must
    Examples: a multicast address, IPv6 or IPv4-mapped at the top of 224.0.0.0/4
      | frame                                                   | code      |
      | a WITNESS_REQUEST naming address ff02::1                | MALFORMED |
      | a WITNESS_REQUEST naming address ::ffff:239.255.255.255 | MALFORMED |

    # A frame with two faults gets the code of the first check that fails, in the order of
    # section 3: the length, then the whole frame, then the type, then the body (ERR-1).
    @WIRE-3 @ERR-1 @must
    Examples: a length below 41, and the stream ends right after it
      | frame                                               | code      |
      | a frame whose length is 30 and then ends its stream | MALFORMED |

    @WIRE-2 @ERR-1 @must
    Examples: a length above the maximum, and a type not in the catalogue
      | frame                                                | code            |
      | a frame whose length is 70000 and whose type is 0x7f | FRAME_TOO_LARGE |

    @WIRE-4 @ERR-1 @must
    Examples: a type not in the catalogue, and the stream ends inside the frame
      | frame                                              | code            |
      | half a frame of type 0x7f and then ends its stream | FRAME_TRUNCATED |

    @WIRE-6 @MSG-4 @ERR-1 @must
    Examples: a stableset that breaks its layout
      | frame                                              | code      |
      | a STABLESET whose counts do not match its body     | MALFORMED |
      | a STABLESET with two members out of order          | MALFORMED |
      | a STABLESET listing a member twice                 | MALFORMED |

    @WIRE-6 @MSG-7 @ERR-1 @must
    Examples: a SECTION_LIST or ELDER_LOSS body shorter than its fixed part (an empty body)
      | frame                   | code      |
      | a frame of type 0x30    | MALFORMED |
      | a frame of type 0x31    | MALFORMED |

  @WIRE-4 @MSG-1 @must
  Scenario: A stream that ends between frames still gets every answer, then the connection ends
    When scripted peer "alice" connects to the node
    And peer "alice" sends a PING with a payload of 30000 bytes and then ends its stream
    Then peer "alice" receives a PONG with the same payload
    And the connection of peer "alice" ends with NO_ERROR

  # ADM-4: a connection that ends with an application error code counts once, in the close
  # counter of the side that sent the CONNECTION_CLOSE, whenever it comes: before the node has
  # accepted the stream (the peer has sent nothing), or after an orderly end (WIRE-4), where the
  # side that ended its stream first closes the connection.
  @ADM-4 @must
  Scenario Outline: The end of a connection is counted once, under the side that closed it
    When scripted peer "alice" connects to the node
    And <the connection ends>
    Then the node counts the end of peer "alice"'s connection once, in the close counter of the side that sent the CONNECTION_CLOSE

    Examples:
      | the connection ends                                                                                               |
      | peer "alice" closes its connection with code 0x99 before sending anything, once the node lists it among its peers |
      | peer "alice" sends a PING with a payload of 100 bytes and then ends its stream                                    |

  @WIRE-9 @MSG-5 @must
  Scenario Outline: A well-formed frame the node has no use for is ignored
    When scripted peer "alice" connects to the node
    And peer "alice" sends a well-formed <type>
    Then peer "alice" gets a PONG for a PING
    And peer "alice" has received nothing but PONGs

    Examples:
      | type            |
      | WITNESS_REQUEST |
      | STABLESET       |

  @WIRE-10 @must
  Scenario: A node alone puts the hash of its own name at ordinal 0 in every frame's stableset field
    When scripted peer "alice" connects to the node
    Then peer "alice" gets a PONG for a PING
    And the stableset field of every frame peer "alice" received is the SHA-256 of the node's own name and ordinal 0

  @ADM-3 @must
  Scenario: The stableset id the node reports is the hash of its members, and its frames carry it
    When scripted peer "alice" connects to the node
    Then peer "alice" gets a PONG for a PING
    And the stableset field of every frame peer "alice" received is the id the node reports
    And the node's stableset id is the SHA-256 of its members' names and ordinals, in name order

  @WIRE-11 @must
  Scenario: A response to no request is ignored
    When scripted peer "alice" connects to the node
    And peer "alice" sends a PONG with id 999 that answers nothing
    Then peer "alice" gets a PONG for a PING

  @WIRE-11 @MSG-5 @ERR-1 @must
  Scenario: A response of the wrong type closes the connection
    Given scripted peer "bob" listens for connections
    When a second node starts with bootstrap peer "bob"
    And peer "bob" answers the PING of the second node with a WITNESS
    Then the second node closes peer "bob"'s connection with PROTOCOL_VIOLATION

  @ERR-2 @must
  Scenario: A close with a code the node does not know ends that connection only
    When scripted peer "alice" connects to the node
    And scripted peer "bob" connects to the node
    And peer "alice" closes its connection with code 0x99
    Then peer "bob" gets a PONG for a PING
    And scripted peer "alice" can connect to the node again

  # WIRE-12: the frame stops arriving and the stream does not end; the node's own keep-alives
  # (TRN-6) would keep such a connection open for ever. The node closes it once 5 s have passed
  # since the frame's first byte (a second of slack for a loaded machine), and not before.
  @WIRE-12 @must
  Scenario Outline: A frame that stops arriving closes the connection 5 s after its first byte
    When scripted peer "mallory" connects to the node
    And peer "mallory" sends <frame>
    Then the node closes peer "mallory"'s connection with FRAME_TRUNCATED 5 to 7 seconds after the frame began
    And the node answers a PING from a new peer
    And the node counts 1 connection it closed with FRAME_TRUNCATED

    Examples: a frame that stops arriving, in its length or in its body
      | frame                                       |
      | two bytes of a length and then stays silent |
      | half a frame and then stays silent          |

  @WIRE-12 @must
  Scenario: A connection with no frame in flight is not closed for its silence
    When scripted peer "alice" connects to the node
    Then peer "alice" gets a PONG for a PING
    And peer "alice" stays quiet for 7 seconds and its connection stays open
    And peer "alice" gets a PONG for a PING
