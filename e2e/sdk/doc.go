// Package sdk tests `bootstrap serve` with the official AWS SDK for Go v2's
// Lambda client (Invoke and InvokeWithResponseStream, base endpoint pointed
// at serve, static dummy credentials). It is a module of its own so that the
// SDK stays out of the product's go.mod; `make test` runs it.
package sdk
