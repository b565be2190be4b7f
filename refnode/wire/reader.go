package wire

import (
	"encoding/binary"
	"errors"
	"io"

	"github.com/stableset/sskit/refnode/mutant"
)

// FrameReader reads frames from a stream into one buffer it owns; each frame read is valid
// until the next call to Next.
type FrameReader struct {
	r      io.Reader
	prefix [LengthPrefixSize]byte
	buf    []byte
}

// NewFrameReader returns a reader whose buffer holds the largest allowed frame.
func NewFrameReader(r io.Reader) *FrameReader {
	return &FrameReader{r: r, buf: make([]byte, MaxFrameSize)}
}

// Next reads one frame. It returns io.EOF when the stream ends cleanly between frames, a *Error
// for a frame the codec rejects, or the stream's own error. Oversize frames are rejected from
// their length prefix before any of their body is read.
func (fr *FrameReader) Next() (Header, []byte, error) {
	if _, err := io.ReadFull(fr.r, fr.prefix[:]); err != nil {
		return Header{}, nil, truncated(err)
	}
	n := binary.BigEndian.Uint32(fr.prefix[:])
	if mutant.Is("oversize-accepted") && n > MaxFrameSize && n <= 1<<20 {
		fr.buf = make([]byte, n) // read the whole frame, then let DecodeHeader reject it
	} else if n > MaxFrameSize {
		return Header{}, nil, ErrFrameTooLarge
	}
	if n < HeaderSize {
		return Header{}, nil, ErrShortFrame
	}
	frame := fr.buf[:n]
	if _, err := io.ReadFull(fr.r, frame); err != nil {
		if err == io.EOF { // the prefix was read, so the frame is incomplete
			err = io.ErrUnexpectedEOF
		}
		return Header{}, nil, truncated(err)
	}
	return DecodeHeader(frame)
}

// truncated maps an end of stream inside a frame to ErrFrameTruncated and leaves others alone.
func truncated(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		if mutant.Is("truncated-as-malformed") {
			return ErrBodyLength
		}
		return ErrFrameTruncated
	}
	return err
}
