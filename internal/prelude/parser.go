package prelude

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/streamstrap/streamstrap/internal/httpsyntax"
)

// maxQuoted is how many bytes of an offending line a SyntaxError keeps.
const maxQuoted = 80

// SyntaxError describes a malformed header block.
type SyntaxError struct {
	// Line is the 1-based line number, or 0 when no line is involved.
	Line int
	// Text is the start of the offending line (at most 80 bytes, without
	// its line ending).
	Text string
	// Msg says what is wrong.
	Msg string
	// Err is an underlying cause such as ErrTooLarge, or nil.
	Err error
}

// Error returns the message, naming the line and quoting its text.
func (e *SyntaxError) Error() string {
	s := "prelude: header block"
	if e.Line > 0 {
		s += " line " + strconv.Itoa(e.Line)
	}
	s += ": " + e.Msg
	if e.Text != "" {
		s += ": " + strconv.Quote(e.Text)
	}
	return s
}

// Unwrap returns the underlying cause, if any.
func (e *SyntaxError) Unwrap() error { return e.Err }

// errMisuse is returned by a Parser used out of order.
var errMisuse = errors.New("prelude: parser misuse")

// Parser consumes a handler's output incrementally up to the blank line
// that ends its header block. Use NewParser; a Parser is not safe for
// concurrent use.
type Parser struct {
	target Target
	// partial holds the bytes of the current line seen so far, because a
	// line may arrive over several Feeds.
	partial []byte
	// consumed counts the bytes of the complete lines parsed so far.
	consumed int
	// line is the number of complete lines parsed so far.
	line int
	// fed records whether any byte was fed, to word the Finish error.
	fed bool

	resp      Response
	hasStatus bool
	hasLoc    bool

	done    bool
	err     error
	prelude []byte
}

// NewParser returns a Parser that builds a prelude for target t.
func NewParser(t Target) *Parser {
	return &Parser{target: t}
}

// Feed consumes b. It returns done = true once the blank line ending the
// header block has been seen; rest is then the part of b after that line
// (the first body bytes, to be sent right away), sharing b's memory.
// Before done, all of b has been consumed. A malformed block gives a
// *SyntaxError. Feeding after done or after an error is an error.
func (p *Parser) Feed(b []byte) (rest []byte, done bool, err error) {
	if p.err != nil {
		return nil, false, fmt.Errorf("%w: Feed after an error: %w", errMisuse, p.err)
	}
	if p.done {
		return nil, true, fmt.Errorf("%w: Feed after the end of the header block", errMisuse)
	}
	if len(b) > 0 {
		p.fed = true
	}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			// No line end: everything belongs to the current line. Fail
			// before buffering so memory stays bounded by the limit plus
			// one Feed.
			if p.consumed+len(p.partial)+len(b) > MaxHeaderBlock {
				return nil, false, p.fail(tooLarge(p.line+1, p.partial, b))
			}
			p.partial = append(p.partial, b...)
			return nil, false, nil
		}
		n := len(p.partial) + i + 1
		if p.consumed+n > MaxHeaderBlock {
			return nil, false, p.fail(tooLarge(p.line+1, p.partial, b[:i]))
		}
		line := b[:i]
		if len(p.partial) > 0 {
			p.partial = append(p.partial, line...)
			line = p.partial
		}
		b = b[i+1:]
		p.consumed += n
		p.line++
		end, err := p.parseLine(line)
		p.partial = p.partial[:0]
		if err != nil {
			return nil, false, p.fail(err)
		}
		if end {
			p.done = true
			p.partial = nil
			if len(b) == 0 {
				b = nil
			}
			return b, true, nil
		}
	}
	return nil, false, nil
}

// Finish reports the end of the handler's output. Before the blank line
// ending the header block was seen it returns a *SyntaxError; after it, nil.
// After a Feed error it returns that error again.
func (p *Parser) Finish() error {
	switch {
	case p.err != nil:
		return p.err
	case p.done:
		return nil
	case !p.fed:
		return p.fail(&SyntaxError{Msg: "no header block: the handler wrote nothing"})
	}
	return p.fail(&SyntaxError{
		Line: p.line + 1,
		Text: quoteText(bytes.TrimSuffix(p.partial, []byte("\r"))),
		Msg:  "output ended before the blank line that ends the header block",
	})
}

// encoded returns the encoded prelude (JSON followed by 8 NUL bytes, at
// most MaxPrelude bytes) once the header block is complete; the tests use
// it to check the parser and Encode together.
func (p *Parser) encoded() ([]byte, error) {
	if p.err != nil {
		return nil, fmt.Errorf("%w: encoded after an error: %w", errMisuse, p.err)
	}
	if !p.done {
		return nil, fmt.Errorf("%w: encoded before the end of the header block", errMisuse)
	}
	if p.prelude == nil {
		b, err := Encode(p.Response(), p.target)
		if err != nil {
			return nil, err
		}
		p.prelude = b
	}
	return p.prelude, nil
}

// Response returns what was parsed so far: the full result once Feed
// reported done. The slices are shared with the Parser; don't modify them.
func (p *Parser) Response() Response {
	r := p.resp
	if !p.hasStatus {
		// RFC 3875 §6.2.3: a client redirect response (Location without
		// Status) is a 302.
		if p.hasLoc {
			r.StatusCode = 302
		} else {
			r.StatusCode = 200
		}
	}
	return r
}

// fail records err so that later calls report it, and returns it.
func (p *Parser) fail(err error) error {
	p.err = err
	p.partial = nil
	return err
}

// parseLine parses one line without its LF. It reports end = true for the
// blank line that ends the block.
func (p *Parser) parseLine(line []byte) (end bool, err error) {
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) == 0 {
		return true, nil
	}
	bad := func(msg string) error {
		return &SyntaxError{Line: p.line, Text: quoteText(line), Msg: msg}
	}
	if bytes.IndexByte(line, '\r') >= 0 {
		// Lines split on LF only, so a CR left inside the line is bare;
		// some HTTP stacks treat it as a line end, which invites smuggling.
		return false, bad("bare CR in line")
	}
	if line[0] == ' ' || line[0] == '\t' {
		return false, bad("line starts with whitespace (obsolete line folding is not supported)")
	}
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return false, bad(`line has no colon (want "Name: value")`)
	}
	name := string(line[:colon])
	if name == "" {
		return false, bad("empty header name")
	}
	for i := 0; i < len(name); i++ {
		if !httpsyntax.IsTokenChar(name[i]) {
			return false, bad(fmt.Sprintf("invalid character %q in header name (want an RFC 7230 token)", name[i:i+1]))
		}
	}
	value := string(trimOWS(line[colon+1:]))
	if i := invalidValueByte(value); i >= 0 {
		return false, bad(fmt.Sprintf("control character %#02x in header value", value[i]))
	}
	lower := strings.ToLower(name)
	switch {
	case lower == "status":
		if p.hasStatus {
			return false, bad("second Status line")
		}
		code, ok := parseStatus(value)
		if !ok {
			return false, bad(`invalid Status: want a 3-digit code 100-599, optionally followed by a space and a reason phrase`)
		}
		p.resp.StatusCode = code
		p.hasStatus = true
	case lower == "set-cookie":
		p.resp.Cookies = append(p.resp.Cookies, value)
	case isHopByHop(lower):
		p.resp.Dropped = append(p.resp.Dropped, lower)
	default:
		if lower == "location" {
			p.hasLoc = true
		}
		p.resp.Header = append(p.resp.Header, Field{Name: lower, Value: value})
	}
	return false, nil
}

// parseStatus parses "NNN" or "NNN reason".
func parseStatus(v string) (int, bool) {
	if len(v) < 3 || (len(v) > 3 && v[3] != ' ') {
		return 0, false
	}
	code := 0
	for i := 0; i < 3; i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 || code > 599 {
		return 0, false
	}
	return code, true
}

// tooLarge builds the error for a block over MaxHeaderBlock; the current
// line is head followed by tail.
func tooLarge(line int, head, tail []byte) error {
	// Copy only what the message keeps, not the whole (large) line.
	text := append([]byte(nil), head[:min(len(head), maxQuoted+1)]...)
	text = append(text, tail[:min(len(tail), maxQuoted+1-len(text))]...)
	return &SyntaxError{
		Line: line,
		Text: quoteText(text),
		Msg:  fmt.Sprintf("header block exceeds %d bytes (MaxHeaderBlock) without the blank line that ends it", MaxHeaderBlock),
		Err:  ErrTooLarge,
	}
}

// quoteText keeps at most maxQuoted bytes of a line for an error message.
func quoteText(b []byte) string {
	if len(b) > maxQuoted {
		return string(b[:maxQuoted]) + "..."
	}
	return string(b)
}

// trimOWS removes optional whitespace (SP, HT) at both ends.
func trimOWS(b []byte) []byte {
	return bytes.Trim(b, " \t")
}
