// Package runtimeapi is the client side of the Lambda Runtime API and the
// Extensions API: the wire names (paths, headers, content types, error
// types) in one place, a Client for /next, the streamed /response and the
// /error and init/error reports, the error document those reports carry, and
// the no-op extension that --graceful-shutdown registers. It knows nothing of
// handler processes; internal/loop drives it, and internal/localapi serves the
// same names on loopback.
//
// The API is documented at
// https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html and
// https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html.
package runtimeapi

import "net/url"

// Runtime API paths.
const (
	// PathPrefix is the version prefix of every Runtime API path.
	PathPrefix = "/2018-06-01/runtime"
	// PathNext is the long poll for the next invocation (GET).
	PathNext = PathPrefix + "/invocation/next"
	// PathInitError reports a failure to start (POST).
	PathInitError = PathPrefix + "/init/error"
)

// PathResponse is where the response of invocation requestID is posted.
// The id is one escaped path segment (see invocationPath).
func PathResponse(requestID string) string { return invocationPath(requestID, "response") }

// PathError is where the failure of invocation requestID is posted.
func PathError(requestID string) string { return invocationPath(requestID, "error") }

// invocationPath is the path of a post about the invocation id. The id is
// one url.PathEscape'd segment, so that whatever it holds ("/", "..", "?",
// "#", "%", spaces) the post can only land on /invocation/<id>/<endpoint>.
// The ids a dot segment would resolve ("." and "..") never get here: Next
// refuses them.
func invocationPath(id, endpoint string) string {
	return PathPrefix + "/invocation/" + url.PathEscape(id) + "/" + endpoint
}

// Extensions API paths.
const (
	// ExtensionPathPrefix is the version prefix of every Extensions API path.
	ExtensionPathPrefix = "/2020-01-01/extension"
	// ExtensionPathRegister registers an extension (POST).
	ExtensionPathRegister = ExtensionPathPrefix + "/register"
	// ExtensionPathNext is an extension's long poll for its next event (GET).
	ExtensionPathNext = ExtensionPathPrefix + "/event/next"
)

// Headers of /next's answer: the invocation's context.
const (
	HeaderRequestID       = "Lambda-Runtime-Aws-Request-Id"
	HeaderDeadlineMs      = "Lambda-Runtime-Deadline-Ms"
	HeaderFunctionARN     = "Lambda-Runtime-Invoked-Function-Arn"
	HeaderTraceID         = "Lambda-Runtime-Trace-Id"
	HeaderClientContext   = "Lambda-Runtime-Client-Context"
	HeaderCognitoIdentity = "Lambda-Runtime-Cognito-Identity"
	HeaderTenantID        = "Lambda-Runtime-Aws-Tenant-Id"
)

// Headers the runtime sends.
const (
	// HeaderResponseMode marks a streamed response; its value must be exactly
	// ResponseModeStreaming, anything else is a 400.
	HeaderResponseMode = "Lambda-Runtime-Function-Response-Mode"
	// ResponseModeStreaming is the one value of HeaderResponseMode.
	ResponseModeStreaming = "streaming"
	// HeaderErrorType carries the error type, on /error and as a trailer.
	HeaderErrorType = "Lambda-Runtime-Function-Error-Type"
	// HeaderErrorBody is the trailer with the base64 JSON error document.
	HeaderErrorBody = "Lambda-Runtime-Function-Error-Body"
)

// Headers of the Extensions API.
const (
	HeaderExtensionName       = "Lambda-Extension-Name"
	HeaderExtensionIdentifier = "Lambda-Extension-Identifier"
)

// Content types.
const (
	// ContentTypeError is the Content-Type of an error document.
	ContentTypeError = "application/vnd.aws.lambda.error+json"
	// ContentTypePrelude is the response Content-Type that tells Lambda the
	// body starts with an HTTP-integration prelude (JSON, then 8 NUL bytes).
	ContentTypePrelude = "application/vnd.awslambda.http-integration-response"
)
