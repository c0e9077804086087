package httpwire

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Status codes and methods the clients name.
const (
	MethodGet  = "GET"
	MethodPost = "POST"

	StatusSwitchingProtocols = 101
	StatusOK                 = 200
	StatusAccepted           = 202
	StatusNoContent          = 204
	StatusNotModified        = 304
)

// Bounds of an answer's head: a peer that sends more is refused, not
// buffered.
const (
	MaxHeadBytes = 64 << 10
	MaxHeadLines = 128
)

// ErrHeadTooLarge is an answer head over MaxHeadBytes or MaxHeadLines, or a
// line longer than the reader's buffer.
var ErrHeadTooLarge = errors.New("the answer's header is too large")

// Response is the head of an answer: its status line and header fields.
type Response struct {
	// StatusCode is the status, 100-999.
	StatusCode int
	// ProtoMinor is the x of HTTP/1.x: 0 for an HTTP/1.0 answer, which does
	// not keep its connection.
	ProtoMinor int
	// Header holds the fields by canonical name; never nil.
	Header Header
}

// ReadResponse reads one answer's status line and header fields from br,
// and nothing of its body (see NewBody). Lines may end in CRLF or a bare LF;
// a line holding CR or NUL, an obsolete folded line, or a name with a space
// is refused. names are header names in canonical form that the answer is
// expected to carry: a field of one of them is keyed by that very string,
// without an allocation; nil interns only the common ones.
func ReadResponse(br *bufio.Reader, names map[string]string) (*Response, error) {
	total := 0
	line, err := readLine(br, &total)
	if err != nil {
		return nil, err
	}
	// HTTP/1.x SP 3DIGIT [SP reason]
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[7] < '0' || line[7] > '9' ||
		line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return nil, fmt.Errorf("malformed status line %.100q", line)
	}
	code := 0
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return nil, fmt.Errorf("malformed status line %.100q", line)
		}
		code = code*10 + int(d-'0')
	}
	if code < 100 {
		// RFC 9110 §15: a status code is 100-599 (3 digits, a class 1-5).
		return nil, fmt.Errorf("malformed status line %.100q", line)
	}
	resp := &Response{StatusCode: code, ProtoMinor: int(line[7] - '0')}
	// The values are gathered in one buffer and made one string at the
	// end, which the fields' values are slices of: an answer's head costs
	// a handful of allocations, not two per field (a /next answer has
	// seven or eight fields, at every invocation).
	var fieldArr [16]field
	var valueArr [512]byte
	fields, values := fieldArr[:0], valueArr[:0]
	for n := 0; ; n++ {
		line, err := readLine(br, &total)
		if err != nil {
			return nil, err
		}
		if len(line) == 0 {
			break
		}
		if n >= MaxHeadLines {
			return nil, ErrHeadTooLarge
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(name) == 0 || bytes.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("malformed header line %.100q", line)
		}
		start := len(values)
		values = append(values, bytes.Trim(value, " \t")...)
		fields = append(fields, field{key: headerKey(name, names), start: start, end: len(values)})
	}
	all := string(values)
	strs := make([]string, len(fields))
	resp.Header = make(Header, len(fields))
	for i, f := range fields {
		strs[i] = all[f.start:f.end]
		if vs, ok := resp.Header[f.key]; ok {
			resp.Header[f.key] = append(vs, strs[i])
			continue
		}
		// Capacity one: a later Add to this field copies instead of
		// writing over the next field's value.
		resp.Header[f.key] = strs[i : i+1 : i+1]
	}
	return resp, nil
}

// field is one header field while its head is read: its canonical name and
// where its value lies in the values buffer.
type field struct {
	key        string
	start, end int
}

// readLine reads one CRLF- (or LF-) terminated line without its end,
// counting it against the head's bound. The line is valid until the next
// read.
func readLine(br *bufio.Reader, total *int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	*total += len(line)
	if errors.Is(err, bufio.ErrBufferFull) || *total > MaxHeadBytes {
		return nil, ErrHeadTooLarge
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = bytes.TrimSuffix(line[:len(line)-1], []byte("\r"))
	if bytes.ContainsAny(line, "\r\x00") {
		return nil, fmt.Errorf("malformed line %.100q", line)
	}
	return line, nil
}

// headerKey returns the canonical form of a header name; the common names
// and the caller's own come back as constants, without an allocation.
func headerKey(name []byte, names map[string]string) string {
	switch string(name) {
	case "Content-Type":
		return "Content-Type"
	case "Content-Length":
		return "Content-Length"
	case "Date":
		return "Date"
	case "Transfer-Encoding":
		return "Transfer-Encoding"
	case "Connection":
		return "Connection"
	}
	if k, ok := names[string(name)]; ok {
		return k
	}
	return CanonicalKey(string(name))
}
