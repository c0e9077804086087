package keepalive

import (
	"io"
	"sync"

	"github.com/streamstrap/streamstrap/internal/httpwire"
)

// Response is an answer: its head, and its body unread.
type Response struct {
	*httpwire.Response
	// Body is the answer's body; the caller closes it, which returns the
	// connection to the pool when it was read to its end.
	Body io.ReadCloser
}

// body is an answer's body. Close returns the connection to the pool when
// the body was read to its end and the peer keeps the connection.
type body struct {
	*httpwire.Body
	c    *conn
	w    *Client
	stop func() bool // the call's context watch
	once sync.Once
}

// Close ends the call: the connection goes back to the pool if the body
// was read to its end, else it is closed.
func (b *body) Close() error {
	b.once.Do(func() {
		watched := b.stop()
		if b.Done() && b.KeepsAlive() && watched {
			b.w.put(b.c)
			return
		}
		_ = b.c.nc.Close()
	})
	return nil
}
