package functionurl

import (
	"bytes"
	"net/http/httptest"
	"testing"
)

// FuzzWriter feeds arbitrary responses, cut at an arbitrary point, to a
// Writer: it must not panic, must answer either the prelude's status or
// 502, and must pass the body after a good prelude through unchanged.
func FuzzWriter(f *testing.F) {
	f.Add([]byte(`{"statusCode":201,"cookies":["a=1"]}`+nul8+"body"), 3)
	f.Add([]byte(`{}`+nul8), 0)
	f.Add([]byte(`not json`+nul8+"x"), 5)
	f.Add([]byte(`{"statusCode":200`), 1)
	f.Fuzz(func(t *testing.T, resp []byte, cut int) {
		if cut < 0 || cut > len(resp) {
			cut = len(resp) / 2
		}
		rec := httptest.NewRecorder()
		w := NewWriter(rec, IntegrationContentType)
		_, err := w.Write(resp[:cut])
		if err == nil {
			_, err = w.Write(resp[cut:])
		}
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			if rec.Code != 502 {
				t.Fatalf("error %v with status %d", err, rec.Code)
			}
			return
		}
		i := bytes.Index(resp, []byte(nul8))
		if i < 0 {
			t.Fatal("no delimiter, no error")
		}
		if got, want := rec.Body.Bytes(), resp[i+len(nul8):]; !bytes.Equal(got, want) {
			t.Fatalf("body %q, want %q", got, want)
		}
	})
}
