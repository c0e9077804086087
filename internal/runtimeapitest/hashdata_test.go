package runtimeapitest

import (
	"fmt"
	"strings"
	"testing"
)

// TestHashDataOff checks that with hashing off a /response still counts its
// bytes and chunks (and records them when asked), with BodySHA256 left zero,
// and that turning it back on hashes again.
func TestHashDataOff(t *testing.T) {
	for _, record := range []bool{false, true} {
		t.Run(fmt.Sprintf("record=%v", record), func(t *testing.T) {
			s := New(t, Options{})
			s.SetRecordData(record)
			s.SetHashData(false)
			id := handOut(t, s)
			r := dialRaw(t, s)
			r.write(streamHead(id))
			var all strings.Builder
			for i := range 30 {
				c := strings.Repeat(string(rune('a'+i%26)), 50_000+i) // past asyncHashAfter in total
				all.WriteString(c)
				r.write(chunk(c))
			}
			r.write("0\r\n\r\n")
			r.expectStatus(202)
			inv, _ := s.Wait(ctxT(t), id)
			if inv.BodySize != int64(all.Len()) || inv.BodySHA256 != ([32]byte{}) {
				t.Errorf("size %d (want %d), sha %x (want zero)", inv.BodySize, all.Len(), inv.BodySHA256)
			}
			if len(inv.Chunks) != 30 || inv.Chunks[29].Size != 50_029 || inv.Chunks[29].At.IsZero() {
				t.Errorf("%d chunks", len(inv.Chunks))
			}
			if record != (string(inv.Body) == all.String()) || (!record && inv.Body != nil) {
				t.Errorf("recorded body of %d bytes", len(inv.Body))
			}

			s.SetHashData(true)
			id = handOut(t, s)
			r = dialRaw(t, s)
			r.write(streamHead(id), chunk("hello"), "0\r\n\r\n")
			r.expectStatus(202)
			inv, _ = s.Wait(ctxT(t), id)
			if inv.BodySHA256 == ([32]byte{}) {
				t.Error("hashing did not come back on")
			}
		})
	}
}
