module github.com/streamstrap/streamstrap/bench

go 1.26.0

replace github.com/streamstrap/streamstrap => ../

require (
	github.com/aws/aws-lambda-go v1.55.1
	github.com/streamstrap/streamstrap v0.0.0
	golang.org/x/image v0.48.0
)

require go.uber.org/goleak v1.3.0 // indirect
