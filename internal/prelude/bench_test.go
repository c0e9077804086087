package prelude

import "testing"

// BenchmarkEncode is the prelude encoder on a typical header block, once
// per HTTP-mode invocation (not per chunk).
func BenchmarkEncode(b *testing.B) {
	r := Response{StatusCode: 200, Header: []Field{
		{Name: "content-type", Value: "text/html; charset=utf-8"},
		{Name: "cache-control", Value: "no-cache"},
		{Name: "x-request-id", Value: "8476a536-e9f4-11e8-9739-2dfe598c3fcd"},
	}, Cookies: []string{"a=1; Path=/", "b=2; HttpOnly"}}
	for _, t := range []Target{FunctionURL, RESTAPI} {
		b.Run(t.String(), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := Encode(r, t); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
