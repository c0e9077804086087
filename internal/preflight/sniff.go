package preflight

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"syscall"
)

// notExecutable explains a file that is neither a #! script nor an ELF
// binary, which execve refuses with ENOEXEC.
func notExecutable(head []byte) *NotRunnableError {
	goos := "for Go: GOOS=linux GOARCH=" + runtime.GOARCH
	e := &NotRunnableError{Err: syscall.ENOEXEC}
	bom := []byte("\xef\xbb\xbf")
	switch {
	case len(head) == 0:
		e.Reason = "is empty (exec format error)"
		e.Hint = "check the build or copy that should have written it"
	case bytes.HasPrefix(head, append(bom, "#!"...)):
		e.Reason = "starts with a UTF-8 byte order mark before its #! line (as some Windows editors save files), so Linux does not see the #! (exec format error)"
		e.Hint = "save it as UTF-8 without a BOM"
	case bytes.HasPrefix(bytes.TrimLeft(bytes.TrimPrefix(head, bom), " \t\r\n"), []byte("#!")):
		e.Reason = "has blank space or empty lines before its #! line, so Linux does not see the #! (exec format error)"
		e.Hint = "make #! the first two bytes of the file"
	case hasMachOMagic(head):
		e.Reason = "is a macOS (Mach-O) binary, not a Linux one (exec format error)"
		e.Hint = "build it for Linux (" + goos + ")"
	case bytes.HasPrefix(head, []byte("MZ")):
		e.Reason = "is a Windows program, not a Linux one (exec format error)"
		e.Hint = "build it for Linux (" + goos + ")"
	default:
		e.Reason = "has no #! line and is not a binary (exec format error)"
		e.Hint = `start it with "#!/bin/sh" or the interpreter it needs`
	}
	return e
}

// hasMachOMagic reports whether head starts like a Mach-O binary, thin or
// universal. A universal binary shares its magic with Java class files;
// its second word, the number of architectures, tells them apart (a class
// file has its version there, 45 or more).
func hasMachOMagic(head []byte) bool {
	if len(head) < 8 {
		return false
	}
	switch binary.BigEndian.Uint32(head) {
	case 0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe:
		return true
	case 0xcafebabe:
		return binary.BigEndian.Uint32(head[4:]) < 45
	}
	return false
}
