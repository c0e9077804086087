package serve

import (
	"context"
	"os"

	"github.com/streamstrap/streamstrap/internal/invoke"
	"github.com/streamstrap/streamstrap/internal/localapi"
	"github.com/streamstrap/streamstrap/internal/loop"
	"github.com/streamstrap/streamstrap/internal/runtimeapi"
)

// Loops returns the Config.Runtime that runs c.Concurrency of the
// bootstrap's own loops, configured by lc, against the embedded Runtime
// API: each handler gets this process's environment and the function's
// (functionEnv), its stderr lines go to lc.HandlerLog and to the
// invocation's log tail (X-Amz-Log-Result), and its peak memory to REPORT.
func (c Config) Loops(lc loop.Config, userAgent string) func(context.Context, *localapi.Server) error {
	env := append(os.Environ(), c.functionEnv()...)
	return func(ctx context.Context, api *localapi.Server) error {
		client := runtimeapi.NewClient(api.Addr(), userAgent, c.Concurrency)
		defer client.CloseIdle()
		lc := lc
		lc.API, lc.Env = client, env
		log := lc.HandlerLog
		lc.HandlerLog = func(requestID string, line []byte) {
			if log != nil {
				log(requestID, line)
			}
			api.HandlerLine(requestID, line) // for X-Amz-Log-Result
		}
		lc.HandlerExited = func(requestID string, res invoke.Result) {
			api.HandlerExited(requestID, res.PeakRSS) // REPORT's Max Memory Used
		}
		return loop.RunN(ctx, lc, c.Concurrency)
	}
}
