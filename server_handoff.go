package frontdoor

import (
	"io"
	"net"
	"sync"
	"time"
)

// How the fast path hands a connection to the wrapped http.Server: through
// a listener whose Accept returns connections given to it, each replaying
// the bytes already read from it before reading on.

// handoffListener is the net.Listener the wrapped server serves.
type handoffListener struct {
	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
}

func newHandoffListener() *handoffListener {
	return &handoffListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

// give hands c to the wrapped server, or closes it if that one stopped
// accepting.
func (l *handoffListener) give(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}

// Accept returns the next connection handed over.
func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close makes Accept and give fail from now on.
func (l *handoffListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

// Addr returns a placeholder: the connections come from several listeners.
func (l *handoffListener) Addr() net.Addr { return handoffAddr{} }

type handoffAddr struct{}

func (handoffAddr) Network() string { return "tcp" }
func (handoffAddr) String() string  { return "frontdoor-handoff" }

// replayConn is a connection handed over after some bytes were read from
// it: Read returns those first.
type replayConn struct {
	net.Conn
	pending []byte

	// headerDeadline, when not zero, is when the header of the request
	// begun before the handover must have arrived. net/http's first
	// SetReadDeadline on a connection sets a header deadline counted
	// from then: it is kept no later than this one.
	headerDeadline time.Time
}

// SetReadDeadline sets the read deadline, the first one no later than
// headerDeadline.
func (c *replayConn) SetReadDeadline(t time.Time) error {
	if hdl := c.headerDeadline; !hdl.IsZero() {
		c.headerDeadline = time.Time{}
		if t.IsZero() || t.After(hdl) {
			t = hdl
		}
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// ReadFrom keeps the kernel's zero-copy path (sendfile) that net/http
// reaches through its connection's io.ReaderFrom.
func (c *replayConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

// CloseWrite lets net/http half-close the connection before closing it,
// as it does with a *net.TCPConn, so the client sees the last response.
func (c *replayConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
