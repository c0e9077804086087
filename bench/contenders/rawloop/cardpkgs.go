//go:build cardpkgs

package main

// Built with -tags cardpkgs, the raw-syscalls floor also links the packages
// the design card gives the bootstrap (cobra, zap's zapcore, as the
// bootstrap links it, and bytebufferpool), so their package initialisation
// runs at every start: the time to the first /next that no bootstrap using
// them can go under. Unlike the bare copy's cardpkgs build, it links no
// net/http either, as the bootstrap does not.
import (
	_ "github.com/spf13/cobra"
	_ "github.com/valyala/bytebufferpool"
	_ "go.uber.org/zap/zapcore"
)
