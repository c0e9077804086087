//go:build lambda

package main

import (
	"github.com/spf13/cobra"

	// One P from the start of package initialisation (see oneProc).
	_ "github.com/streamstrap/streamstrap/internal/earlyprocs"
)

// devCommands is empty in the Lambda build: `local` (and every other
// development command) exists only in a build without -tags lambda.
func devCommands() []*cobra.Command { return nil }
