//go:build !linux

package chunked

import "io"

// autoSplice reports whether SpliceAuto means SpliceOn here: splice(2) is
// Linux's.
func autoSplice() bool { return false }

// spliceFrom never splices off Linux; ReadFrom copies.
func (s *Stream) spliceFrom(r io.Reader, buf []byte) (int64, bool, error) { return 0, false, nil }
