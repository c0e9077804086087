package invoke

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: Wait
// promises that nothing of a Process outlives it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
