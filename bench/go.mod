module github.com/streamstrap/streamstrap/bench

go 1.26.0

replace github.com/streamstrap/streamstrap => ../

require (
	github.com/aws/aws-lambda-go v1.55.1
	github.com/spf13/cobra v1.10.2
	github.com/streamstrap/streamstrap v0.0.0
	github.com/valyala/bytebufferpool v1.0.0
	go.uber.org/zap v1.28.0
	golang.org/x/image v0.48.0
)

require (
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	go.uber.org/multierr v1.10.0 // indirect
)
