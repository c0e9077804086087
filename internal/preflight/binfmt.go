package preflight

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// binfmtMiscTakes reports whether a binfmt_misc handler registered with the
// kernel (by magic bytes or file name extension) runs the file at path,
// such as qemu-user for binaries of another machine. Only asked about files
// that would otherwise be reported, so it costs nothing when all is well.
func (c *checker) binfmtMiscTakes(path string, head []byte) bool {
	if c.binfmtMisc == "" {
		return false
	}
	status, err := os.ReadFile(filepath.Join(c.binfmtMisc, "status"))
	if err != nil || strings.TrimSpace(string(status)) != "enabled" {
		return false
	}
	entries, err := os.ReadDir(c.binfmtMisc)
	if err != nil {
		return false
	}
	var buf [binprmBufSize]byte // what the kernel matches against: zero-padded
	copy(buf[:], head)
	for _, ent := range entries {
		if name := ent.Name(); name == "status" || name == "register" {
			continue
		}
		text, err := os.ReadFile(filepath.Join(c.binfmtMisc, ent.Name()))
		if err != nil {
			continue
		}
		if binfmtMiscMatches(string(text), path, buf[:]) {
			return true
		}
	}
	return false
}

// binfmtMiscMatches reports whether the binfmt_misc entry described by
// text (as the kernel shows it in /proc/sys/fs/binfmt_misc/NAME) is enabled
// and matches the file at path whose first bytes are buf.
func binfmtMiscMatches(text, path string, buf []byte) bool {
	lines := strings.Split(text, "\n")
	if lines[0] != "enabled" {
		return false
	}
	offset := 0
	var magic, mask []byte
	for _, line := range lines[1:] {
		key, value, _ := strings.Cut(line, " ")
		var err error
		switch key {
		case "extension":
			// The kernel compares with what follows the last '.' of the
			// whole path.
			ext, ok := strings.CutPrefix(value, ".")
			dot := strings.LastIndexByte(path, '.')
			return ok && dot >= 0 && path[dot+1:] == ext
		case "offset":
			offset, err = strconv.Atoi(value)
		case "magic":
			magic, err = hex.DecodeString(value)
		case "mask":
			mask, err = hex.DecodeString(value)
		}
		if err != nil {
			return false
		}
	}
	if len(magic) == 0 || offset < 0 || offset+len(magic) > len(buf) || (mask != nil && len(mask) != len(magic)) {
		return false
	}
	for i, m := range magic {
		b := buf[offset+i]
		if mask != nil {
			b, m = b&mask[i], m&mask[i]
		}
		if b != m {
			return false
		}
	}
	return true
}
