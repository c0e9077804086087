package preflight

import (
	"debug/elf"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestCheckBinfmtMisc(t *testing.T) {
	if _, ok := nativeELF[runtime.GOARCH]; !ok {
		t.Skipf("no ELF machine known for %s", runtime.GOARCH)
	}
	fixture, err := filepath.Abs(filepath.Join("testdata", "binfmt_misc"))
	if err != nil {
		t.Fatal(err)
	}
	disabled := t.TempDir() // the same entries, with binfmt_misc disabled
	entries, err := os.ReadDir(fixture)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(fixture, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "status" {
			data = []byte("disabled\n")
		}
		writeExec(t, disabled, e.Name(), data, 0o644)
	}

	dir := t.TempDir()
	foreign := writeExec(t, dir, "foreign", makeELF(elfSpec{machine: otherMachine(), class: elf.ELFCLASS64}), 0o755)
	objectFile := writeExec(t, dir, "object", makeELF(elfSpec{machine: otherMachine(), class: elf.ELFCLASS64, typ: elf.ET_REL}), 0o755)
	mz := []byte("MZ\x90\x00")
	exe := writeExec(t, dir, "app.exe", mz, 0o755)
	noExt := writeExec(t, dir, "app", mz, 0o755)
	script := writeExec(t, dir, "wrapped.sh", []byte("#!"+foreign+"\n"), 0o755)

	tests := []struct {
		binfmt string
		path   string
		ok     bool
	}{
		{fixture, foreign, true},     // qemu runs it
		{fixture, objectFile, false}, // the mask lets only ET_EXEC and ET_DYN through
		{fixture, exe, true},         // by extension
		{fixture, noExt, false},      // the MZ magic entry is disabled
		{fixture, script, true},      // the interpreter runs under qemu
		{disabled, foreign, false},
		{disabled, exe, false},
		{filepath.Join(dir, "nowhere"), foreign, false},
		{"", foreign, false},
	}
	for _, tt := range tests {
		c := checker{dir: dir, goarch: runtime.GOARCH, binfmtMisc: tt.binfmt}
		if e := c.check(tt.path); (e == nil) != tt.ok {
			t.Errorf("binfmt_misc %s, check(%s) = %v, want ok %v", tt.binfmt, filepath.Base(tt.path), e, tt.ok)
		}
	}

	// The matcher on its own: magic at an offset, with and without mask.
	buf := make([]byte, binprmBufSize)
	copy(buf[4:], "\x01\x02\x03")
	for _, tt := range []struct {
		text string
		path string
		want bool
	}{
		{"enabled\noffset 4\nmagic 010203\n", "/x", true},
		{"enabled\noffset 4\nmagic 010213\nmask ffff0f\n", "/x", true},
		{"enabled\noffset 4\nmagic 010207\n", "/x", false},
		{"disabled\noffset 4\nmagic 010203\n", "/x", false},
		{"enabled\noffset 255\nmagic 0000\n", "/x", false}, // past the buffer
		{"enabled\noffset -1\nmagic 00\n", "/x", false},
		{"enabled\noffset 4\nmagic 0102zz\n", "/x", false},
		{"enabled\noffset 4\nmagic 010203\nmask ff\n", "/x", false},
		{"enabled\nmagic \n", "/x", false},
		{"enabled\nextension .jar\n", "/var/task/app.jar", true},
		{"enabled\nextension .jar\n", "/var/task/app.jar.txt", false},
		{"enabled\nextension .jar\n", "/var/task/app", false},
		{"", "/x", false},
	} {
		if got := binfmtMiscMatches(tt.text, tt.path, buf); got != tt.want {
			t.Errorf("binfmtMiscMatches(%q, %q) = %v, want %v", tt.text, tt.path, got, tt.want)
		}
	}
}
