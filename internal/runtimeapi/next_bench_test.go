package runtimeapi

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
)

// nextAnswer is a /next answer as the Runtime API sends it.
const nextAnswer = "HTTP/1.1 200 OK\r\n" +
	"Content-Type: application/json\r\n" +
	"Lambda-Runtime-Aws-Request-Id: 8476a536-e9f4-11e8-9739-2dfe598c3fcd\r\n" +
	"Lambda-Runtime-Deadline-Ms: 1542409706888\r\n" +
	"Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-2:123456789012:function:custom-runtime\r\n" +
	"Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1\r\n" +
	"Date: Tue, 01 Dec 2026 20:00:00 GMT\r\n" +
	"Content-Length: 9\r\n\r\n" +
	`{"k":"v"}`

// rawAnswers answers every request on a connection with answers[i], in
// turn, until the list ends; then it closes the connection.
func rawAnswers(t testing.TB, answers ...string) string {
	t.Helper()
	return listener(t, func(c net.Conn) {
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

// BenchmarkNext is one /next call over loopback on a kept-alive connection.
func BenchmarkNext(b *testing.B) {
	answers := make([]string, b.N+1)
	for i := range answers {
		answers[i] = nextAnswer
	}
	c := NewClient(rawAnswers(b, answers...), "streamstrap/bench", 1)
	defer c.CloseIdle()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Next(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
