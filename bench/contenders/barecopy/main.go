// Command barecopy is the floor of the benchmark's Runtime API contenders: a
// bootstrap with nothing but the work every streaming bootstrap must do. It
// keeps one connection for GET /next, starts the handler (its arguments)
// with the event on stdin, and copies the handler's stdout through a 256 KiB
// buffer into a chunked POST /response on a new connection, one chunk per
// read, then reads the answer and closes. No logging, no error reporting, no
// limits: any failure ends the process.
//
//	barecopy [-head=spawn|first-byte] handler [args...]
//
// With -head=spawn (the default) the POST head is written as soon as the
// handler is started; with -head=first-byte it goes out with the first
// chunk (or the last, if there is no output), as a bootstrap must send it
// when a failure before any output is to go to /error instead.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
)

const base = "/2018-06-01/runtime/invocation/"

func main() {
	head := flag.String("head", "spawn", "when the POST head is written: spawn (once the handler is started) or first-byte (with the first chunk)")
	flag.Parse()
	if flag.NArg() == 0 || (*head != "spawn" && *head != "first-byte") {
		fmt.Fprintln(os.Stderr, "usage: barecopy [-head=spawn|first-byte] handler [args...]")
		os.Exit(2)
	}
	if err := run(os.Getenv("AWS_LAMBDA_RUNTIME_API"), flag.Args(), *head == "first-byte"); err != nil {
		fmt.Fprintln(os.Stderr, "barecopy:", err)
		os.Exit(1)
	}
}

func run(addr string, argv []string, headFirst bool) error {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	br := bufio.NewReader(nc)
	buf := make([]byte, 256<<10)
	nextReq := []byte("GET " + base + "next HTTP/1.1\r\nHost: " + addr + "\r\n\r\n")
	for {
		if _, err := nc.Write(nextReq); err != nil {
			return err
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return err
		}
		ev, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/next: %d %v", resp.StatusCode, err)
		}
		if err := invoke(addr, resp.Header.Get("Lambda-Runtime-Aws-Request-Id"), ev, argv, buf, headFirst); err != nil {
			return err
		}
	}
}

// invoke runs one handler and streams its stdout to /response, the head
// written at once or, if headFirst, with the first chunk.
func invoke(addr, id string, ev []byte, argv []string, buf []byte, headFirst bool) error {
	inR, inW, err := os.Pipe()
	if err != nil {
		return err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	inR.Close()
	outW.Close()
	// Small events fit the pipe buffer; the handler may exit without
	// reading, so a write error is not ours to report.
	go func() { inW.Write(ev); inW.Close() }()

	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	head := []byte("POST " + base + id + "/response HTTP/1.1\r\nHost: " + addr +
		"\r\nLambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n" +
		"Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\r\n")
	if !headFirst {
		if _, err := c.Write(head); err != nil {
			return err
		}
		head = nil
	}
	var size []byte
	for {
		n, rerr := outR.Read(buf)
		if n > 0 {
			size = strconv.AppendInt(size[:0], int64(n), 16)
			size = append(size, '\r', '\n')
			bufs := net.Buffers{head, size, buf[:n], []byte("\r\n")}
			if _, err := bufs.WriteTo(c); err != nil {
				return err
			}
			head = nil
		}
		if rerr != nil {
			break
		}
	}
	outR.Close()
	if err := cmd.Wait(); err != nil {
		return err
	}
	last := net.Buffers{head, []byte("0\r\n\r\n")}
	if _, err := last.WriteTo(c); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("/response: %d", resp.StatusCode)
	}
	return nil
}
