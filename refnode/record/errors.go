package record

// Error is a reason a record is rejected. The package returns only the preallocated values
// below, so returning one allocates nothing; compare with errors.Is or ==.
type Error struct {
	Reason string
}

func (e *Error) Error() string { return "record: " + e.Reason }

// The errors of Decode, Verify and AppendSigned.
var (
	ErrTooShort         = &Error{"record ends before its layout does"}
	ErrTooLong          = &Error{"record has bytes after its signature"}
	ErrFormat           = &Error{"format byte is not 0x01"}
	ErrFlags            = &Error{"reserved flag bits are set"}
	ErrVersionZero      = &Error{"version is 0; versions start at 1"}
	ErrPortZero         = &Error{"address has port 0"}
	ErrAddress          = &Error{"address is invalid, zoned, unspecified or multicast"}
	ErrNeighborOrder    = &Error{"neighbors not in strictly increasing byte order (unsorted or repeated)"}
	ErrSelfNeighbor     = &Error{"record lists its own name as a neighbor"}
	ErrTooManyNeighbors = &Error{"more than 255 neighbors"}
	ErrSignature        = &Error{"signature does not verify with the record's name"}
	ErrKey              = &Error{"signing key is not the private key of the record's name"}
)
