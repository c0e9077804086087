package examples_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bufferingNote is a phrase each language's buffering note must have.
var bufferingNote = map[string][]string{
	"shell":  {"Buffering:", "stdbuf -oL"},
	"python": {"Buffering:", "PYTHONUNBUFFERED", "python3 -u", "flush=True"},
	"node":   {"Buffering:", "ASYNCHRONOUS when it is a pipe", "'drain'", "process.exit()"},
}

func TestExampleFiles(t *testing.T) {
	for _, ex := range examples {
		path := filepath.Join(ex.dir, ex.handler)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o111 != 0o111 {
			t.Errorf("%s: mode %v, want executable by all (0755 in git)", path, fi.Mode().Perm())
		}
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(src, []byte("#!/")) {
			t.Errorf("%s: no #! line", path)
		}
		if bytes.Contains(src, []byte("\r")) {
			t.Errorf("%s: has CR characters; want LF line endings", path)
		}
		if !bytes.HasSuffix(src, []byte("\n")) {
			t.Errorf("%s: does not end with a newline", path)
		}
		for _, p := range bufferingNote[ex.dir] {
			if !bytes.Contains(src, []byte(p)) {
				t.Errorf("%s: its buffering note lacks %q", path, p)
			}
		}
		ev, err := os.ReadFile(filepath.Join(ex.dir, ex.event))
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := json.Unmarshal(ev, &v); err != nil {
			t.Errorf("%s: not a JSON object: %v", ex.event, err)
		}
		if ex.http {
			rc, _ := v["requestContext"].(map[string]any)
			if v["version"] != "2.0" || rc == nil || rc["http"] == nil {
				t.Errorf("%s: not a Function URL (payload 2.0) event", ex.event)
			}
		}
	}
}

// TestHandlersDirect runs each handler as the bootstrap would (its directory
// as the working directory, the event on stdin, the request id in the
// environment), but without the bootstrap, and checks the output and that
// it arrives a piece at a time.
func TestHandlersDirect(t *testing.T) {
	for _, ex := range examples {
		t.Run(ex.handler, func(t *testing.T) {
			t.Parallel()
			const id = "direct-0000-1111"
			event, err := os.Open(filepath.Join(ex.dir, ex.event))
			if err != nil {
				t.Fatal(err)
			}
			defer event.Close()
			cmd := exec.Command("./" + ex.handler)
			cmd.Dir = ex.dir
			cmd.Stdin = event
			cmd.Env = append(os.Environ(), "AWS_LAMBDA_REQUEST_ID="+id, "TMPDIR="+t.TempDir())
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var body bytes.Buffer
			var first, last time.Time
			buf := make([]byte, 64<<10)
			for {
				n, err := out.Read(buf)
				if n > 0 {
					if first.IsZero() {
						first = time.Now()
					}
					last = time.Now()
					body.Write(buf[:n])
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("%s: %v\nstderr: %s", ex.handler, err, stderr.String())
			}
			if spread := last.Sub(first); spread < time.Duration(ex.minSpreadMS)*time.Millisecond {
				t.Errorf("output arrived within %v, want it spread over at least %dms (is it buffered?)", spread, ex.minSpreadMS)
			}
			got := body.String()
			if ex.http {
				head, rest, ok := cutHeaderBlock(got)
				if !ok {
					t.Fatalf("no CGI header block:\n%s", got)
				}
				h := httpHeaders[ex.handler]
				if head["status"][0] != "200" || head["content-type"][0] != h.contentType {
					t.Errorf("header block %v", head)
				}
				for _, c := range h.cookies {
					if !containsString(head["set-cookie"], c) {
						t.Errorf("no Set-Cookie %q in %v", c, head["set-cookie"])
					}
				}
				if len(head["set-cookie"]) == 0 {
					t.Error("no Set-Cookie header")
				}
				got = rest
			}
			if err := ex.check(got, id); err != nil {
				t.Error(err)
			}
			if stderr.Len() == 0 {
				t.Error("the handler logged nothing to stderr")
			}
		})
	}
}

// cutHeaderBlock splits CGI output into its header fields (lower-case
// names) and the body after the blank line. LF and CRLF line ends are both
// accepted.
func cutHeaderBlock(out string) (map[string][]string, string, bool) {
	head := map[string][]string{}
	r := bufio.NewReader(strings.NewReader(out))
	read := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, "", false
		}
		read += len(line)
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return head, out[read:], true
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, "", false
		}
		k = strings.ToLower(strings.TrimSpace(k))
		head[k] = append(head[k], strings.TrimSpace(v))
	}
}

func containsString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
