package frontdoor

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"sync/atomic"
	"time"
)

// backendReadBufferSize is the size of a backend connection's read
// buffer: a response head that fits it is parsed in place.
const backendReadBufferSize = 4 << 10

// backendConn is one connection to a backend. It carries one exchange at a
// time, or lies idle in its client's pool; it is never shared.
type backendConn struct {
	// Conn is what requests are written to and responses read from (via
	// br): the TCP connection, or a *tls.Conn over it.
	net.Conn
	raw     net.Conn      // the TCP connection
	br      *bufio.Reader // reads Conn
	head    []byte        // storage for request heads, kept between exchanges
	fields  []headerField // storage for parsed response fields, likewise
	peeker  idlePeeker    // looks at raw while idle; nil when it cannot
	idleAt  time.Time     // when it last went idle
	reused  bool          // it carried an exchange before the current one
	written atomic.Int64  // request bytes written in the current exchange
}

// Write writes to the connection and counts what was written, which is how
// an exchange that failed is known to have sent nothing.
func (c *backendConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.written.Add(int64(n))
	}
	return n, err
}

// abort closes the TCP connection, which ends any read or write in
// progress on it at once. It is safe to call concurrently and more than
// once.
func (c *backendConn) abort() { c.raw.Close() }

// close closes an idle connection in an orderly way (a TLS connection says
// close_notify first).
func (c *backendConn) close() { c.Conn.Close() }

// idleState is what a look at an idle connection found.
type idleState uint8

const (
	idleClean  idleState = iota // nothing to read: the connection can be used
	idleStray                   // the backend sent bytes nobody asked for
	idleClosed                  // the backend closed the connection, or it failed
)

// idlePeeker looks, without blocking and without consuming anything,
// whether an idle connection has something to read.
type idlePeeker interface {
	peekIdle() idleState
}

// idle reports the state of c, which must be idle: nothing buffered in br
// (the pool takes no connection that has) and nothing waiting in the
// socket. A connection without a peeker is taken as clean.
func (c *backendConn) idle() idleState {
	if c.br.Buffered() > 0 {
		return idleStray
	}
	if c.peeker == nil {
		return idleClean
	}
	return c.peeker.peekIdle()
}

// tlsDrained reports whether a TLS connection holds no decrypted or
// undecrypted bytes that its reader has not taken: a record can carry the
// end of one response and the start of stray bytes, and those wait inside
// the *tls.Conn where neither br nor a peek at the socket sees them. A
// read with a deadline in the past takes only what is already there, and
// a timeout does not break the connection. Other connections are drained.
func (c *backendConn) tlsDrained() bool {
	tc, ok := c.Conn.(*tls.Conn)
	if !ok {
		return true
	}
	if err := tc.SetReadDeadline(aLongTimeAgo); err != nil {
		return false
	}
	var one [1]byte
	n, err := tc.Read(one[:])
	if n > 0 || !isTimeoutError(err) {
		return false
	}
	return tc.SetReadDeadline(time.Time{}) == nil
}

// aLongTimeAgo is a deadline that has passed.
var aLongTimeAgo = time.Unix(1, 0)

// dialBackend connects to the client's backend: TCP within the dial
// timeout, then the TLS handshake (HTTP/1.1 by ALPN) within another. A
// failure wraps the error as not sent.
func (bc *backendClient) dialBackend(ctx context.Context) (*backendConn, error) {
	dctx, cancel := context.WithTimeout(ctx, bc.dialTimeout)
	raw, err := bc.dial(dctx, "tcp", bc.addr)
	cancel()
	if err != nil {
		return nil, notSentError{err}
	}
	c := &backendConn{Conn: raw, raw: raw, peeker: newIdlePeeker(raw)}
	if bc.tlsConfig != nil {
		tc := tls.Client(raw, bc.tlsConfig)
		hctx, cancel := context.WithTimeout(ctx, bc.dialTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			raw.Close()
			return nil, notSentError{err}
		}
		c.Conn = tc
	}
	c.br = bufio.NewReaderSize(c.Conn, backendReadBufferSize)
	return c, nil
}

// notSentError marks the error of an exchange that wrote no byte of its
// request: the request can go to another backend, whatever its method.
type notSentError struct{ err error }

func (e notSentError) Error() string { return e.err.Error() }
func (e notSentError) Unwrap() error { return e.err }
