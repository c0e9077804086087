package runtimeapitest

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
)

// NextAnswer is a /next answer as the Runtime API sends it, byte for byte,
// for the wire client's own tests and benchmarks (RawAnswers).
const NextAnswer = "HTTP/1.1 200 OK\r\n" +
	"Content-Type: application/json\r\n" +
	"Lambda-Runtime-Aws-Request-Id: 8476a536-e9f4-11e8-9739-2dfe598c3fcd\r\n" +
	"Lambda-Runtime-Deadline-Ms: 1542409706888\r\n" +
	"Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-2:123456789012:function:custom-runtime\r\n" +
	"Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1\r\n" +
	"Date: Tue, 01 Dec 2026 20:00:00 GMT\r\n" +
	"Content-Length: 9\r\n\r\n" +
	`{"k":"v"}`

// ServeRaw accepts loopback connections until the test ends and hands each
// to serve, in a goroutine of its own; it returns the address. It is the
// peer for a test that needs exact bytes or a misbehaving socket, where
// Server's strictness is in the way.
func ServeRaw(t testing.TB, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return ln.Addr().String()
}

// RawAnswers answers every request on a connection with answers[i], in
// turn, until the list ends; then it closes the connection. It returns the
// address (see ServeRaw).
func RawAnswers(t testing.TB, answers ...string) string {
	t.Helper()
	return ServeRaw(t, func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		for _, a := range answers {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, req.Body)
			if _, err := io.WriteString(c, a); err != nil {
				return
			}
		}
	})
}
