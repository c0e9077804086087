package loop

import (
	"context"
	"errors"
	"sync"
)

// RunN runs n Loops for cfg, all sharing cfg.API, until ctx is cancelled
// (then it returns nil once every invocation in flight has finished) or one
// of them fails fatally: the first fatal error cancels the others, and the
// errors are returned joined. n below 1 runs one loop.
func RunN(ctx context.Context, cfg Config, n int) error {
	n = max(n, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if errs[i] = New(cfg).Run(ctx); errs[i] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
