//go:build cardpkgs

package main

// Built with -tags cardpkgs, the bare copy also links the packages the
// design card gives the bootstrap, so their package initialisation runs at
// every start: "floor: bare copy + cobra, zap" in the benchmark, the part
// of the time to the first /next that no bootstrap using them can avoid.
// Of go.uber.org/zap it links zapcore, as the bootstrap does: package zap
// itself imports net/http, whose initialisation (crypto/tls and the rest)
// the bootstrap no longer pays for (internal/logging.Logger).
import (
	_ "github.com/spf13/cobra"
	_ "github.com/valyala/bytebufferpool"
	_ "go.uber.org/zap/zapcore"
)
