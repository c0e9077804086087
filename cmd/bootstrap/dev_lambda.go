//go:build lambda

package main

import "github.com/spf13/cobra"

// devCommands is empty in the Lambda build: `local` (and every other
// development command) exists only in a build without -tags lambda.
func devCommands() []*cobra.Command { return nil }
