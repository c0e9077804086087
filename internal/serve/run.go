package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/streamstrap/streamstrap/internal/localapi"
	"github.com/streamstrap/streamstrap/internal/logging"
)

// Defaults of Config.
const (
	DefaultListen       = "127.0.0.1:9000"
	DefaultFunctionName = "function"
	DefaultRegion       = "us-east-1"
	DefaultMemoryMB     = 128
	// AccountID is the account of every local function's ARN.
	AccountID = "000000000000"
	// ReadHeaderTimeout bounds how long a client may take to send its
	// request headers, against slow clients holding connections.
	ReadHeaderTimeout = 10 * time.Second
	// ShutdownGrace bounds how long Run waits, after the runtime stopped,
	// for the responses still being written.
	ShutdownGrace = 5 * time.Second
)

// Config configures Run. The zero value of each field means its default.
type Config struct {
	// Listen is the host:port of the HTTP front. Empty means
	// DefaultListen.
	Listen string
	// FunctionName is the function's name. Empty means
	// DefaultFunctionName.
	FunctionName string
	// Region is the function's region, in its ARN and AWS_REGION. Empty
	// means DefaultRegion.
	Region string
	// Concurrency is the number of workers, each running one invocation at
	// a time. Zero means 1.
	Concurrency int
	// Timeout is the function timeout. Zero means 30s.
	Timeout time.Duration
	// MemoryMB is the function's memory size, for the REPORT lines. Zero
	// means DefaultMemoryMB.
	MemoryMB int
	// Log receives the platform's START, END and REPORT lines. Nil means
	// they are not written.
	Log io.Writer
	// JSONLog writes them as platform.* JSON records.
	JSONLog bool
	// Logger receives the server's own records. Nil means none.
	Logger *logging.Logger
	// Banner receives the lines that say where the server listens. Nil
	// means they are not written.
	Banner io.Writer
	// Runtime runs Concurrency workers against api (its Addr is the
	// AWS_LAMBDA_RUNTIME_API) until ctx is cancelled, then returns nil
	// once the invocations in flight have ended; an error means the
	// runtime failed. The workers should pass the handlers' stderr lines
	// to api.HandlerLine and their peak memory to api.HandlerExited.
	Runtime func(ctx context.Context, api *localapi.Server) error
	// Ready, if set, is called with the front's address once it listens.
	Ready func(addr net.Addr)
}

func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.FunctionName == "" {
		c.FunctionName = DefaultFunctionName
	}
	if c.Region == "" {
		c.Region = DefaultRegion
	}
	c.Concurrency = max(c.Concurrency, 1)
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.MemoryMB <= 0 {
		c.MemoryMB = DefaultMemoryMB
	}
	if c.Logger == nil {
		c.Logger = logging.Nop()
	}
	return c
}

// FunctionARN is the function's ARN.
func (c Config) FunctionARN() string {
	c = c.withDefaults()
	return "arn:aws:lambda:" + c.Region + ":" + AccountID + ":function:" + c.FunctionName
}

// functionEnv is the function's environment variables as Lambda sets them,
// for the workers to add to the handlers' environment.
func (c Config) functionEnv() []string {
	c = c.withDefaults()
	return []string{
		"AWS_LAMBDA_FUNCTION_NAME=" + c.FunctionName,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(c.MemoryMB),
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + c.FunctionName,
		"AWS_LAMBDA_LOG_STREAM_NAME=" + time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + newID()[:8] + "streamstrap",
		"AWS_REGION=" + c.Region,
		"AWS_DEFAULT_REGION=" + c.Region,
		"AWS_EXECUTION_ENV=AWS_Lambda_provided.al2023",
	}
}

// ListenError is Run's failure to listen on the front's address.
type ListenError struct {
	Addr string
	Err  error
}

func (e *ListenError) Error() string { return "serve: listen on " + e.Addr + ": " + e.Err.Error() }

func (e *ListenError) Unwrap() error { return e.Err }

// Run starts the Runtime API, the workers and the HTTP front, and serves
// until ctx is cancelled: then it stops taking requests, has the workers end
// the invocations in flight (their clients get them as failures), and
// returns nil once every response is written. It returns an error when it
// cannot listen or when the runtime fails.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Runtime == nil {
		return errors.New("serve: no runtime")
	}
	cfg = cfg.withDefaults()
	log := cfg.Logger
	api, err := localapi.StartWith(localapi.Options{FunctionARN: cfg.FunctionARN(), Log: cfg.Log, JSONLog: cfg.JSONLog, MemoryMB: cfg.MemoryMB})
	if err != nil {
		return err
	}
	defer api.Close()

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return &ListenError{Addr: cfg.Listen, Err: err}
	}
	if host, _, _ := net.SplitHostPort(cfg.Listen); !isLoopback(host) {
		log.Warn("listening beyond this machine: serve has no authentication, anyone who can reach the address can run the function",
			logging.String("listen", ln.Addr().String()))
	}

	// run outlives the requests: it ends only once the runtime has
	// stopped, so no client is cut off while its invocation still runs.
	run, endRun := context.WithCancel(context.WithoutCancel(ctx))
	defer endRun()
	front := NewFront(run, FrontConfig{API: api, FunctionName: cfg.FunctionName, FunctionARN: cfg.FunctionARN(),
		Concurrency: cfg.Concurrency, Timeout: cfg.Timeout, Logger: log})
	srv := &http.Server{Handler: front, ReadHeaderTimeout: ReadHeaderTimeout, MaxHeaderBytes: MaxHeaderBytes,
		ErrorLog: log.StdLog(zapcore.InfoLevel)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	rtCtx, stopRuntime := context.WithCancel(ctx)
	defer stopRuntime()
	ranOut := make(chan error, 1)
	go func() { ranOut <- cfg.Runtime(rtCtx, api) }()

	if cfg.Ready != nil {
		cfg.Ready(ln.Addr())
	}
	if cfg.Banner != nil {
		printBanner(cfg.Banner, cfg, ln.Addr().String())
	}

	var runtimeErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down: no new requests; invocations in flight end as failures")
	case runtimeErr = <-ranOut:
		ranOut <- runtimeErr
		if runtimeErr == nil {
			runtimeErr = errors.New("serve: the runtime stopped")
		}
		log.Error("the runtime stopped; shutting down", logging.Error(runtimeErr))
	case err := <-served:
		runtimeErr = fmt.Errorf("serve: %w", err)
	}

	// Stop taking requests; Shutdown waits for the handlers in flight.
	front.StopWaiting()
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.WithoutCancel(ctx)) }()
	stopRuntime()
	if err := <-ranOut; err != nil && runtimeErr == nil {
		runtimeErr = err
	}
	// The workers are gone: an invocation still waiting for one will
	// never get one.
	endRun()
	front.Wait()
	select {
	case <-shut:
	case <-time.After(ShutdownGrace):
		_ = srv.Close()
	}
	return runtimeErr
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func printBanner(w io.Writer, cfg Config, addr string) {
	url := "http://" + addr
	fmt.Fprintf(w, "streamstrap serve: function %q, %d worker(s), timeout %s, memory %d MB\n",
		cfg.FunctionName, cfg.Concurrency, cfg.Timeout, cfg.MemoryMB)
	fmt.Fprintf(w, "  Function URL:             %s/\n", url)
	fmt.Fprintf(w, "  Invoke:                   POST %s/2015-03-31/functions/%s/invocations\n", url, cfg.FunctionName)
	fmt.Fprintf(w, "  InvokeWithResponseStream: POST %s/2021-11-15/functions/%s/response-streaming-invocations\n", url, cfg.FunctionName)
	fmt.Fprintf(w, "Try:  curl -N %s/\n", url)
	fmt.Fprintf(w, "      aws lambda invoke --endpoint-url %s --function-name %s --payload '{}' --cli-binary-format raw-in-base64-out out.json\n", url, cfg.FunctionName)
	fmt.Fprintln(w, "Ctrl-C stops.")
}
