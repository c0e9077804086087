// Package functionurl is the HTTP side of a Lambda Function URL (auth type
// NONE, invoke mode RESPONSE_STREAM), for a local server that fronts a
// function: [Event] turns an incoming request into the payload 2.0 event a
// Function URL hands the function, and [Writer] turns the function's
// streamed response back into an HTTP response.
//
// The package knows nothing of how the function runs: Event returns bytes,
// and a Writer is fed the response body as it arrives.
//
// # Request event
//
// The event is the payload format version 2.0 as the Lambda developer guide
// documents it ("Invoking Lambda function URLs", request payload): version
// "2.0", routeKey "$default", rawPath, rawQueryString, cookies, headers,
// queryStringParameters, requestContext and body/isBase64Encoded. Details
// that the documentation leaves open, and what this package chose:
//
//   - headers: names lower-cased, repeated headers joined with ","
//     (as the documented example "value1,value2"), no "cookie" entry (the
//     cookies array carries it), "host" from the request's Host, and
//     x-forwarded-for / x-forwarded-proto / x-forwarded-port added as the
//     Function URL front does.
//   - cookies: every Cookie header split on ";" with spaces trimmed;
//     absent when there is none.
//   - queryStringParameters: names and values decoded, repeats joined
//     with ","; absent when the query is empty.
//   - requestContext.http.path is the same as rawPath (the path as sent).
//   - body: absent when the request has none. It is sent as text, with
//     isBase64Encoded false, when the Content-Type is text-like and the
//     body is valid UTF-8; otherwise base64 with isBase64Encoded true
//     (text in another encoding would not survive a JSON string). Text-like
//     is: text/*, application/json, application/xml,
//     application/javascript, application/x-www-form-urlencoded, and any
//     type with a +json or +xml suffix. A body without a Content-Type is
//     binary.
//   - The encoded event may be at most [MaxEventSize] bytes (the 6 MB
//     synchronous invocation payload quota); a larger one is a
//     [*TooLargeError], which a Function URL answers with 413.
//
// # Response
//
// A function whose response has the content type [IntegrationContentType]
// starts its body with a prelude: a JSON object {"statusCode", "headers",
// "cookies"} followed by 8 NUL bytes. The Writer reads it (however the body
// is split into writes), sends that status and those headers, each cookie as
// its own Set-Cookie, and passes the rest of the body through, flushing
// after every write so the client sees each piece as it arrives. Any other
// response is a 200 with the response's Content-Type.
//
// A prelude that is not valid JSON, has a status outside 200–599 or a
// header name that is not an HTTP token, or is not ended by the NUL
// delimiter within [MaxPrelude] bytes (the limit of API Gateway's streaming
// integration; Function URLs do not document theirs), is a 502 with the
// body "Internal Server Error", and a [*PreludeError] for the caller to log.
// Hop-by-hop headers and Content-Length in the prelude are dropped: the body
// is streamed, so the server chooses the framing.
package functionurl
