package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// needClient returns the path of a client tool the test drives, skipping the
// test when it is missing, except under CI=true where that is a failure.
func needClient(t *testing.T, path string) string {
	t.Helper()
	if _, err := exec.LookPath(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true: %v", path, err)
		}
		t.Skipf("%s is not installed (%v); .ci/run installs it", path, err)
	}
	return path
}

func toolCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestServeCurlN: curl -N prints the first line while the handler waits for
// the go-ahead, which the test gives only once it has read that line.
func TestServeCurlN(t *testing.T) {
	curl := needClient(t, "curl")
	_, base := serveHTTP(t)
	goFile := filepath.Join(t.TempDir(), "go")
	cmd := exec.CommandContext(toolCtx(t), curl, "-sSN", base+"/stream?go="+goFile)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(out)
	if l, err := r.ReadString('\n'); l != "first\n" || err != nil {
		t.Fatalf("first line %q, %v", l, err)
	}
	touch(t, goFile)
	if l, err := r.ReadString('\n'); l != "last\n" || err != nil {
		t.Fatalf("last line %q, %v", l, err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("curl: %v", err)
	}
}

// TestServeAWSCLI: Debian's AWS CLI v2 ($AWS_CLI, else /usr/bin/aws, not a pyenv shim)
// invokes the function with dummy credentials.
func TestServeAWSCLI(t *testing.T) {
	cli := os.Getenv("AWS_CLI") // .ci/run's choice; a pyenv shim may shadow /usr/bin/aws
	if cli == "" {
		cli = "/usr/bin/aws"
	}
	aws := needClient(t, cli)
	_, base := startServe(t, nil, "--function-name", "clifn", "--", "./serve-raw.sh")
	dir := t.TempDir()
	run := func(payload string) (map[string]any, string) {
		outFile := filepath.Join(dir, "out.json")
		cmd := exec.CommandContext(toolCtx(t), aws, "lambda", "invoke", "--endpoint-url", base, "--function-name", "clifn",
			"--cli-binary-format", "raw-in-base64-out", "--payload", payload, outFile)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDLOCAL", "AWS_SECRET_ACCESS_KEY=local",
			"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=")
		stdout, err := cmd.Output()
		if err != nil {
			t.Fatalf("aws lambda invoke %s: %v\n%s", payload, err, stdout)
		}
		var meta map[string]any
		if err := json.Unmarshal(stdout, &meta); err != nil {
			t.Fatalf("aws output %q: %v", stdout, err)
		}
		body, err := os.ReadFile(outFile)
		if err != nil {
			t.Fatal(err)
		}
		return meta, string(body)
	}
	meta, body := run(`"hello"`)
	if body != "hello\n" || meta["StatusCode"] != 200.0 || meta["ExecutedVersion"] != "$LATEST" || meta["FunctionError"] != nil {
		t.Errorf("hello: %v %q", meta, body)
	}
	meta, body = run(`"exit-before"`)
	if meta["FunctionError"] != "Unhandled" || !regexp.MustCompile(`"errorType":\s*"Runtime.ExitError"`).MatchString(body) {
		t.Errorf("failure: %v %q", meta, body)
	}
}

var partStamp = regexp.MustCompile(`id="part(\d+)">part \d+ of \d+, parsed at <span class="t">(\d+)</span>`)

// TestServeChromiumParsesThePageInParts: headless Chromium loads the
// streamed example page; each part's inline script stamped the time it was
// parsed, and the last stamp is well after the first — the browser parsed
// the first part long before the last one was even written (the handler
// sleeps PAGE_DELAY between parts). The bound is a lower one, so a slow
// machine cannot make it fail.
func TestServeChromiumParsesThePageInParts(t *testing.T) {
	chromium := needClient(t, "/usr/bin/chromium")
	page, err := filepath.Abs("../../examples/page/page.sh")
	if err != nil {
		t.Fatal(err)
	}
	_, base := startServe(t, []string{"PAGE_DELAY=1", "PAGE_PARTS=3"}, "--mode", "http", "--", page)
	cmd := exec.CommandContext(toolCtx(t), chromium, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--dump-dom", base+"/")
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, dom)
	}
	stamps := map[int]int{}
	for _, m := range partStamp.FindAllStringSubmatch(string(dom), -1) {
		i, _ := strconv.Atoi(m[1])
		ms, _ := strconv.Atoi(m[2])
		stamps[i] = ms
	}
	if len(stamps) != 3 {
		t.Fatalf("stamps %v in DOM:\n%s", stamps, dom)
	}
	if gap := stamps[3] - stamps[1]; gap < 1500 {
		t.Errorf("part 3 parsed %d ms after part 1; the parts were sent 2 s apart: %v", gap, stamps)
	}
	t.Logf("parse times (ms since navigation start): %v", stamps)
}
