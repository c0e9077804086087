package chunked

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// armWrite prepares one wait of a spliced write as writeBufs does: the
// write deadline is renewed, since the last call made progress, then the
// stream is checked, so an answer that came meanwhile is not missed.
func (s *Stream) armWrite() error {
	if err := s.conn.SetWriteDeadline(time.Now().Add(s.stall)); err != nil {
		return s.canceledOr(s.earlyErr(fmt.Errorf("chunked: write: %w", err)))
	}
	return s.usable()
}

// writeFailed turns a failed spliced write into the error writeBufs would
// return for it. progress says whether the failing call moved some bytes;
// a spliced write only waits, and so only meets its deadline, before it
// has moved any, so a passed deadline is a stall.
func (s *Stream) writeFailed(progress bool, err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		if err := s.usable(); err != nil {
			return err
		}
		if !progress {
			s.shut()
			return s.canceledOr(&StallError{Op: "write", Limit: s.stall})
		}
	}
	return s.canceledOr(s.earlyErr(fmt.Errorf("chunked: write: %w", err)))
}
