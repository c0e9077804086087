package runtimeapi

import (
	"context"
	"testing"

	"github.com/streamstrap/streamstrap/internal/runtimeapitest"
)

// BenchmarkNext is one /next call over loopback on a kept-alive connection.
func BenchmarkNext(b *testing.B) {
	answers := make([]string, b.N+1)
	for i := range answers {
		answers[i] = runtimeapitest.NextAnswer
	}
	c := NewClient(runtimeapitest.RawAnswers(b, answers...), "streamstrap/bench", 1)
	defer c.CloseIdle()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Next(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
