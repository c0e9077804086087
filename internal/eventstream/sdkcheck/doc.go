// Package sdkcheck holds tests only: they check package eventstream
// against the official AWS SDK for Go v2 (its event-stream codec and the
// Lambda client's InvokeWithResponseStream). It is a separate module so
// that the SDK stays out of the product's go.mod.
package sdkcheck
