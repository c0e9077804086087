package invoke

import (
	"bytes"
	"os"
	"time"
	"unicode/utf8"

	"github.com/valyala/bytebufferpool"
)

// maxStderrLine is the longest stderr line delivered in one piece; longer
// lines are split, so a handler cannot make the reader buffer without bound.
const maxStderrLine = 64 << 10

// initialStderrBuf is the starting size of the line buffer; it grows up to
// maxStderrLine+1 only for handlers that write long lines.
const initialStderrBuf = 4 << 10

// stderrBuffers is a pool of its own: the default one also holds the loop's
// 256 KiB copy buffers, which a stderr reader must not take.
var stderrBuffers bytebufferpool.Pool

// lineSplitter splits what is read from a stderr pipe into lines and hands each to
// emit; a Process's own reader and a StderrPipe both use it.
type lineSplitter struct {
	bb *bytebufferpool.ByteBuffer
	// buf[start:end] is pending data; buf[start:scan] is known to hold no
	// newline, so each byte is searched once.
	buf              []byte
	start, scan, end int
}

// newLineSplitter takes a buffer from the pool; release gives it back.
func newLineSplitter() *lineSplitter {
	bb := stderrBuffers.Get()
	if cap(bb.B) < initialStderrBuf {
		bb.B = make([]byte, initialStderrBuf)
	}
	return &lineSplitter{bb: bb, buf: bb.B[:cap(bb.B)]}
}

func (l *lineSplitter) release() {
	l.bb.B = l.buf[:0]
	stderrBuffers.Put(l.bb)
	l.bb, l.buf = nil, nil
}

// space returns where the next read goes: never empty.
func (l *lineSplitter) space() []byte {
	if l.end == len(l.buf) {
		if l.start > 0 {
			copy(l.buf, l.buf[l.start:l.end])
			l.end -= l.start
			l.scan -= l.start
			l.start = 0
		} else {
			grown := make([]byte, min(2*len(l.buf), maxStderrLine+1))
			copy(grown, l.buf[:l.end])
			l.buf = grown
		}
	}
	return l.buf[l.end:]
}

// wrote takes n bytes read into space and emits every complete line, and a
// piece of an overlong one. A complete line is emitted without its "\n" and
// the "\r" of a CRLF ending; a piece is emitted as it is.
func (l *lineSplitter) wrote(n int, emit func(line []byte)) {
	l.end += n
	for {
		i := bytes.IndexByte(l.buf[l.scan:l.end], '\n')
		if i < 0 {
			l.scan = l.end
			break
		}
		nl := l.scan + i
		emit(trimCR(l.buf[l.start:nl]))
		l.start, l.scan = nl+1, nl+1
	}
	// One byte more than a full piece is buffered before splitting, so
	// that a line of exactly maxStderrLine bytes followed by its newline
	// stays one line.
	if l.end-l.start > maxStderrLine {
		cut := splitPoint(l.buf[l.start:l.end])
		emit(l.buf[l.start : l.start+cut])
		l.start += cut
	}
	if l.start == l.end {
		l.start, l.scan, l.end = 0, 0, 0
	}
}

// flush emits the unterminated rest, as the last line of its writer.
func (l *lineSplitter) flush(emit func(line []byte)) {
	if l.start < l.end {
		emit(trimCR(l.buf[l.start:l.end]))
	}
	l.start, l.scan, l.end = 0, 0, 0
}

// Without Options.StderrPipe a handler's stderr is a pipe of its own, read
// by a goroutine of its own; with it, the shared pipe's reader delivers the
// handler's lines while it is attached. The methods below are all that
// differs between the two, for Start and Wait.

// attachStderr readies the delivery of the handler's lines, before the
// fork: with a shared pipe from the handler's first line on.
func (p *Process) attachStderr() {
	if p.shared != nil {
		p.shared.attach(p)
		return
	}
	p.stderrDone = make(chan struct{})
}

// openStderr starts reading the handler's own pipe, whose parent end is
// fd, after the fork; with a shared pipe there is none.
func (p *Process) openStderr(fd int) {
	if p.shared != nil {
		return
	}
	p.stderr.f = os.NewFile(uintptr(fd), "|2")
	go p.readStderr()
}

// drainStderrBy bounds, once the handler has exited, how long its own pipe
// is read.
func (p *Process) drainStderrBy(t time.Time) {
	if p.shared == nil {
		_ = p.stderr.f.SetReadDeadline(t)
	}
}

// endStderr returns once every line of the handler is delivered: when its
// own pipe's reader is done, or, with a shared pipe, at the detach, which
// reads what the pipe still holds (the handler has exited and its group is
// killed, so that is all of it). held reports that its own pipe was still
// held open at the drain deadline.
func (p *Process) endStderr() (held bool) {
	if p.shared != nil {
		p.shared.detach(p)
		return false
	}
	<-p.stderrDone
	return p.stderr.drained()
}

// closeStderr closes the handler's own pipe.
func (p *Process) closeStderr() {
	if p.shared == nil {
		_ = p.stderr.f.Close()
	}
}

// readStderr runs on its own goroutine: it reads stderr until EOF or the
// drain deadline, splits it into lines and hands each to emitLine.
func (p *Process) readStderr() {
	defer close(p.stderrDone)
	// The buffer comes from a pool: one per invocation, and the lines
	// handed out are only valid during their callback (Options.Stderr).
	l := newLineSplitter()
	defer l.release()
	for {
		n, err := p.stderr.Read(l.space())
		if err != nil {
			// pipeReader returns data or an error, never both, so
			// everything complete has been delivered already.
			l.flush(p.emitLine)
			return
		}
		l.wrote(n, p.emitLine)
	}
}

// splitPoint is where an overlong line (more than maxStderrLine bytes of
// pending data) is cut: at maxStderrLine, moved back to the start of a UTF-8
// sequence so that no character is split between two pieces. Bytes that
// are not UTF-8 are cut at maxStderrLine.
func splitPoint(pending []byte) int {
	for cut := maxStderrLine; cut > maxStderrLine-utf8.UTFMax; cut-- {
		if utf8.RuneStart(pending[cut]) {
			return cut
		}
	}
	return maxStderrLine
}

// trimCR drops the "\r" of a CRLF line ending.
func trimCR(line []byte) []byte {
	if len(line) > 0 && line[len(line)-1] == '\r' {
		return line[:len(line)-1]
	}
	return line
}

// emitLine delivers one line (or a piece of an overlong one) to the Stderr
// callback and the tail.
func (p *Process) emitLine(line []byte) {
	if p.onStderr != nil {
		p.onStderr(line)
	}
	if p.tailMax <= 0 {
		return
	}
	// The tail is a ring of byte slices whose storage is reused, so that
	// keeping it costs no allocation per line once it is full.
	if len(p.tail) < p.tailMax {
		p.tail = append(p.tail, append([]byte(nil), line...))
		return
	}
	p.tail[p.tailNext] = append(p.tail[p.tailNext][:0], line...)
	p.tailNext = (p.tailNext + 1) % p.tailMax
}

// tailLines returns the kept stderr lines, oldest first, or nil if there are
// none. It is called once the stderr goroutine is done.
func (p *Process) tailLines() []string {
	if len(p.tail) == 0 {
		return nil
	}
	lines := make([]string, 0, len(p.tail))
	for i := range p.tail {
		lines = append(lines, string(p.tail[(p.tailNext+i)%len(p.tail)]))
	}
	return lines
}
