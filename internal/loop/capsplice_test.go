package loop

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// TestCapReaderHandsOutThePipeOnlyWithoutACap: a zero-copy writer would
// bypass the count, so a capped body has no descriptor.
func TestCapReaderHandsOutThePipeOnlyWithoutACap(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	tests := []struct {
		name    string
		r       *capReader
		wantErr bool
	}{
		{name: "no cap, a pipe", r: &capReader{r: pr, n: -1, limit: -1}},
		{name: "a cap", r: &capReader{r: pr, n: 10, limit: 10}, wantErr: true},
		{name: "no cap, not a pipe", r: &capReader{r: strings.NewReader("x"), n: -1, limit: -1}, wantErr: true},
	}
	for _, tt := range tests {
		rc, err := tt.r.SyscallConn()
		if tt.wantErr != (err != nil) || (err == nil) != (rc != nil) {
			t.Errorf("%s: SyscallConn = %v, %v", tt.name, rc, err)
		}
		if err != nil && !errors.Is(err, errUncappable) {
			t.Errorf("%s: error %v", tt.name, err)
		}
	}
}
