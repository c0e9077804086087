package chunked

import (
	"fmt"
	"strconv"
)

// SpliceMode says whether ReadFrom moves the body with splice(2).
type SpliceMode int

// The splice modes. The zero value is SpliceOff.
const (
	// SpliceOff copies through a user-space buffer: one read and one writev
	// per chunk. It is the zero value.
	SpliceOff SpliceMode = iota
	// SpliceOn moves each chunk's bytes from a pipe to the socket inside the
	// kernel (Linux splice(2)), where the reader is a pipe and the
	// connection a socket; anything else is copied as with SpliceOff.
	SpliceOn
	// SpliceAuto is SpliceOn where splice was measured to cost less CPU
	// than the copy; so far nowhere (see BENCHMARKS.md), so it copies.
	SpliceAuto
)

// String returns the flag spelling: "off", "on" or "auto".
func (m SpliceMode) String() string {
	switch m {
	case SpliceOff:
		return "off"
	case SpliceOn:
		return "on"
	case SpliceAuto:
		return "auto"
	}
	return "SpliceMode(" + strconv.Itoa(int(m)) + ")"
}

// ParseSpliceMode parses "auto", "on" or "off".
func ParseSpliceMode(s string) (SpliceMode, error) {
	switch s {
	case "off":
		return SpliceOff, nil
	case "on":
		return SpliceOn, nil
	case "auto":
		return SpliceAuto, nil
	}
	return SpliceOff, fmt.Errorf("chunked: splice mode %q: want auto, on or off", s)
}

// Resolve turns SpliceAuto into SpliceOn or SpliceOff for this system.
func (m SpliceMode) Resolve() SpliceMode {
	if m != SpliceAuto {
		return m
	}
	if autoSplice() {
		return SpliceOn
	}
	return SpliceOff
}
