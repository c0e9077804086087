// Package prelude turns the CGI-style header block that a handler prints at
// the start of its output (RFC 3875 §6) into the Lambda HTTP-integration
// prelude: a JSON object followed by 8 NUL bytes, which Function URLs
// (InvokeMode RESPONSE_STREAM) and API Gateway REST streaming integrations
// read before the response body.
//
// The package does no I/O: a [Parser] is fed the handler's output as it
// arrives, reports when the blank line ending the block has been seen and
// hands back the first body bytes, and [Encode] builds the prelude bytes from
// its [Parser.Response].
//
// # Header block syntax
//
// The block is a sequence of lines "Name: value", each ended by LF or CRLF
// (mixed endings are accepted), terminated by an empty line. Whitespace
// after the colon and at the end of the value is dropped. The following are
// errors, reported as a [*SyntaxError] that names the line:
//
//   - a line without a colon;
//   - a header name that is not an RFC 7230 token (so "Name : v" is an error);
//   - a line starting with a space or tab (obsolete line folding, RFC 7230 §3.2.4);
//   - a control character in a value (only HT is allowed), including a bare CR;
//   - an invalid Status value or a second Status line;
//   - a block larger than [MaxHeaderBlock], or output that ends before the blank line.
//
// An empty block (the output starts with a blank line) is valid: status 200,
// no headers.
//
// Values are passed through as bytes; because JSON strings are Unicode,
// encoding/json replaces invalid UTF-8 (for example Latin-1 obs-text) with
// U+FFFD.
//
// # Mapping
//
// Header names are lower-cased in the prelude: Function URLs already present
// headers in lower case and HTTP/2 requires it, so this keeps the response
// the same on every path and makes repeated names with different case merge.
//
//	| CGI header line          | FunctionURL target                        | RESTAPI target                                   |
//	|--------------------------|-------------------------------------------|--------------------------------------------------|
//	| Status: NNN [reason]     | statusCode = NNN (reason dropped)         | statusCode = NNN (reason dropped)                |
//	| (no Status, Location)    | statusCode = 302                          | statusCode = 302                                 |
//	| (no Status, no Location) | statusCode = 200                          | statusCode = 200                                 |
//	| Set-Cookie: v (repeated) | cookies = [v, ...] in order               | multiValueHeaders["set-cookie"] = [v, ...]       |
//	| Name: v (once)           | headers["name"] = "v"                     | multiValueHeaders["name"] = ["v"]                |
//	| Name: a / Name: b        | headers["name"] = "a, b"                  | multiValueHeaders["name"] = ["a", "b"]           |
//	| Transfer-Encoding, Content-Length, Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Upgrade | dropped | dropped |
//
// Empty fields are omitted from the JSON; statusCode is always present.
//
// The FunctionURL target never emits multiValueHeaders: Function URLs read
// only headers and cookies, and the .NET runtime reports that sending
// multiValueHeaders there causes a 500.
//
// The RESTAPI target emits only multiValueHeaders. API Gateway merges
// headers and multiValueHeaders with multiValueHeaders winning for the same
// key, so also sending headers would only repeat every value and halve the
// room left under the 16 KB limit; the .NET runtime does the same for REST.
// Set-Cookie goes into multiValueHeaders rather than cookies because
// multiValueHeaders is the REST (payload 1.0) way to send several
// Set-Cookie headers, cookies is a payload 2.0 field that the streaming
// documentation merely lists as accepted, and sending both would risk
// duplicate Set-Cookie headers.
//
// Framing and hop-by-hop headers are dropped because the integration frames
// the response itself: API Gateway adds Transfer-Encoding: chunked, and a
// Content-Length copied into the prelude can make it reject the response
// with a 502.
//
// # Limits
//
// API Gateway looks for the 8-NUL delimiter only within the first 16 KB of
// the stream. Whether that means 16000 or 16384 bytes is not documented, so
// the encoded prelude, delimiter included, is limited to [MaxPrelude] = 16000
// bytes, which satisfies both readings. The header block itself is limited to
// [MaxHeaderBlock] bytes so that a handler that never prints the blank line
// cannot make the bootstrap buffer without bound.
package prelude
