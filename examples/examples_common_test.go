// Package examples_test checks the example handlers: their files (mode,
// shebang, line endings, the buffering note, a valid sample event), each run
// directly with its event on stdin, and each run through the real bootstrap
// against the strict test Runtime API, as Lambda would run it.
package examples_test

import (
	"crypto/sha256"
	"fmt"
	"strings"
)

// example is one handler of examples/ as the SAM template deploys it.
type example struct {
	dir, handler, event string
	http                bool
	// prespawn runs it through the bootstrap with STREAMSTRAP_PRESPAWN=1.
	prespawn bool
	// minSpread is how long, at least, the output takes to arrive from the
	// first piece to the last: it shows the output streams as it is written.
	minSpreadMS int
	check       func(body, requestID string) error
}

var examples = []example{
	{dir: "shell", handler: "context.sh", event: "context.event.json", minSpreadMS: 400, check: checkContext},
	{dir: "shell", handler: "context.sh", event: "context.event.json", minSpreadMS: 400, check: checkContext, prespawn: true},
	{dir: "python", handler: "context.py", event: "context.event.json", minSpreadMS: 400, check: checkContext},
	{dir: "python", handler: "context.py", event: "context.event.json", minSpreadMS: 400, check: checkContext, prespawn: true},
	{dir: "node", handler: "context.mjs", event: "context.event.json", minSpreadMS: 400, check: checkContext},
	{dir: "node", handler: "context.mjs", event: "context.event.json", minSpreadMS: 400, check: checkContext, prespawn: true},
	{dir: "shell", handler: "countdown.sh", event: "countdown.event.json", minSpreadMS: 700, check: func(body, id string) error {
		want := "countdown from 5 for request " + id + "\n5...\n4...\n3...\n2...\n1...\nliftoff!\n"
		return equal(body, want)
	}},
	{dir: "python", handler: "report.py", event: "report.event.json", minSpreadMS: 800, check: func(body, id string) error {
		lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
		if len(lines) != 12 || lines[0] != "# Widget sales report" || lines[1] != "request "+id {
			return fmt.Errorf("unexpected report:\n%s", body)
		}
		return equal(lines[11], "total           1844    12632.61")
	}},
	{dir: "node", handler: "stream.mjs", event: "stream.event.json", minSpreadMS: 80, check: func(body, id string) error {
		if len(body) != 1<<20 {
			return fmt.Errorf("body is %d bytes, want %d", len(body), 1<<20)
		}
		if got, want := sha256.Sum256([]byte(body)), sha256.Sum256([]byte(generated(1<<20))); got != want {
			return fmt.Errorf("body is not the generated file; starts %q", body[:64])
		}
		return nil
	}},
	{dir: "shell", handler: "http-hello.sh", event: "http-hello.event.json", http: true, minSpreadMS: 400, check: func(body, id string) error {
		return contains(body, "Hello, Ada!\n", "still streaming (3/3)\n", "bye from request "+id+"\n")
	}},
	{dir: "python", handler: "http_page.py", event: "http_page.event.json", http: true, minSpreadMS: 600, check: func(body, id string) error {
		return contains(body, "<h1>Hello, Ada!</h1>", "<li>step 5 of 5</li>", "</html>\n", "request "+id)
	}},
	{dir: "node", handler: "http-sse.mjs", event: "http-sse.event.json", http: true, minSpreadMS: 700, check: func(body, id string) error {
		if n := strings.Count(body, "event: tick\n"); n != 5 {
			return fmt.Errorf("%d tick events, want 5:\n%s", n, body)
		}
		return contains(body, "id: 5\n", "event: done\ndata: {\"count\":5}\n\n", `"requestId":"`+id+`"`)
	}},
}

// httpHeaders is what each HTTP example's header block says.
var httpHeaders = map[string]struct {
	contentType string
	cookies     []string
}{
	"http-hello.sh": {"text/plain; charset=utf-8", []string{"greeted=Ada; Path=/; HttpOnly", "theme=plain; Path=/"}},
	"http_page.py":  {"text/html; charset=utf-8", []string{"visited=1; Path=/; Secure; HttpOnly", "lang=en; Path=/"}},
	"http-sse.mjs":  {"text/event-stream", nil}, // its cookie carries the request id
}

// generated is what stream.mjs sends: 64-byte numbered lines.
func generated(size int) string {
	var b strings.Builder
	filler := strings.Repeat("abcdefghijklmnopqrstuvwxyz0123456789", 2)
	for i := 0; b.Len() < size; i++ {
		head := fmt.Sprintf("%010d streamstrap ", i)
		b.WriteString(head + filler[:64-len(head)-1] + "\n")
	}
	return b.String()[:size]
}

func equal(got, want string) error {
	if got != want {
		return fmt.Errorf("got %q\nwant %q", got, want)
	}
	return nil
}

func contains(body string, parts ...string) error {
	for _, p := range parts {
		if !strings.Contains(body, p) {
			return fmt.Errorf("output lacks %q:\n%s", p, body)
		}
	}
	return nil
}

// checkContext checks the context examples: the request id they read, and
// the steps they stream.
func checkContext(body, id string) error {
	if !strings.HasPrefix(body, "request "+id+"\n") {
		return fmt.Errorf("the handler did not read its request id %q:\n%s", id, body)
	}
	return contains(body, "step 1 of 3\n", "step 3 of 3\n")
}
