package wire

// Code is a QUIC application error code, sent when a node closes a connection (SPEC.md ERR-*).
type Code uint64

// The application error codes of SPEC.md v0.
const (
	CodeNoError             Code = 0x00 // orderly close
	CodeFrameTooLarge       Code = 0x01 // length prefix above MaxFrameSize
	CodeFrameTruncated      Code = 0x02 // stream ended inside a frame
	CodeUnknownType         Code = 0x03 // type not in the catalogue
	CodeMalformed           Code = 0x04 // body does not match its type's layout, or frame shorter than a header
	CodeProtocolViolation   Code = 0x05 // well-formed frames used against the rules (e.g. a response of the wrong type)
	CodeDuplicateConnection Code = 0x06 // a second connection between the same pair; the other one is kept
	CodeShutdown            Code = 0x07 // the node is shutting down
	CodeInternal            Code = 0x08 // the node failed; not the peer's fault
)

// String returns the SPEC.md name of the code.
func (c Code) String() string {
	switch c {
	case CodeNoError:
		return "NO_ERROR"
	case CodeFrameTooLarge:
		return "FRAME_TOO_LARGE"
	case CodeFrameTruncated:
		return "FRAME_TRUNCATED"
	case CodeUnknownType:
		return "UNKNOWN_TYPE"
	case CodeMalformed:
		return "MALFORMED"
	case CodeProtocolViolation:
		return "PROTOCOL_VIOLATION"
	case CodeDuplicateConnection:
		return "DUPLICATE_CONNECTION"
	case CodeShutdown:
		return "SHUTDOWN"
	case CodeInternal:
		return "INTERNAL"
	}
	return "UNKNOWN_CODE"
}

// Error is a decoding or protocol error together with the code a node closes the connection with.
// The package returns only the preallocated values below, so returning one allocates nothing.
type Error struct {
	Code   Code
	Reason string
}

func (e *Error) Error() string { return "wire: " + e.Code.String() + ": " + e.Reason }

// The errors the codec returns. Compare with errors.Is or read Code via errors.As.
var (
	ErrFrameTooLarge    = &Error{CodeFrameTooLarge, "frame larger than 65536 bytes"}
	ErrFrameTruncated   = &Error{CodeFrameTruncated, "stream ended inside a frame"}
	ErrUnknownType      = &Error{CodeUnknownType, "message type not in the catalogue"}
	ErrShortFrame       = &Error{CodeMalformed, "frame shorter than the 41-byte header"}
	ErrBodyLength       = &Error{CodeMalformed, "body length does not match the message layout"}
	ErrChangeKind       = &Error{CodeMalformed, "change kind is neither JOIN (1) nor LEAVE (2)"}
	ErrPortZero         = &Error{CodeMalformed, "node address has port 0"}
	ErrAddressForm      = &Error{CodeMalformed, "node address is unspecified or multicast"}
	ErrStablesetOrder   = &Error{CodeMalformed, "stableset entries not in strictly increasing (ordinal, name) order"}
	ErrStablesetTooMany = &Error{CodeMalformed, "stableset entries do not fit in one frame"}
	ErrFailureReason    = &Error{CodeMalformed, "gossip failure reason is not 1 to 4"}
	ErrSectionPrefix    = &Error{CodeMalformed, "section prefix longer than 8 bits, with bits set past its length, or not shared by a listed member"}
	ErrSectionCount     = &Error{CodeMalformed, "section list holds no member or more than 20"}
)
