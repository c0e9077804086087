package chunked

import "fmt"

// armWrite prepares one wait of a spliced write: the same checks writeBufs
// makes before it writes, so a stream whose server has answered or that was
// aborted stops before it blocks.
func (s *Stream) armWrite() error { return s.usable() }

// writeFailed turns a failed spliced write into the error writeBufs would
// return for it. progress says whether the failing call moved some bytes.
func (s *Stream) writeFailed(progress bool, err error) error {
	_ = progress
	return s.earlyErr(fmt.Errorf("chunked: write: %w", err))
}
