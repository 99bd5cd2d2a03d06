package frontdoor

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"
)

// attemptWriter is the ResponseWriter ReverseProxy writes one attempt to. It
// carries the attempt's state, so that nothing per request goes into a
// context: the ErrorHandler receives it back, and the GotConn trace hook,
// bound once per pooled writer, fills it. Pooled per forwarder; reset
// before reuse. Only hooks that run before RoundTrip returns touch it.
//
// It also notes the final response headers (status and time) in tap, for
// the Balancer's passive health and latency, which learns of them through
// tap as they go out rather than when the body ends.
type attemptWriter struct {
	http.ResponseWriter
	f *forwarder

	err       error // reported by ReverseProxy's ErrorHandler
	writeErr  error // first failed write to the client
	responded bool  // final response headers went to the client
	upgraded  bool  // the connection was hijacked for an upgrade
	noInterim bool  // the client speaks HTTP/1.0: no 1xx responses (RFC 9110 §15.2)
	tap       attemptTap

	traced      bool // the GotConn hook is installed
	gotConn     bool
	conn        *proxyConn // the backend connection, if ours
	connWritten int64      // conn.written when the attempt got it

	trace       httptrace.ClientTrace
	gotConnHook func(httptrace.GotConnInfo)
}

func newAttemptWriter(f *forwarder) *attemptWriter {
	aw := &attemptWriter{f: f}
	aw.gotConnHook = aw.onGotConn
	return aw
}

// reset clears everything but the forwarder and the bound hook.
func (aw *attemptWriter) reset() {
	*aw = attemptWriter{f: aw.f, gotConnHook: aw.gotConnHook}
}

// onGotConn records which connection the attempt uses and how much had been
// written on it. The transport calls it synchronously within RoundTrip,
// again if it retries on another connection.
func (aw *attemptWriter) onGotConn(info httptrace.GotConnInfo) {
	aw.gotConn = true
	aw.conn = nil
	c := info.Conn
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if pc, ok := c.(*proxyConn); ok {
		aw.conn = pc
		aw.connWritten = pc.written.Load()
	}
}

func (aw *attemptWriter) Unwrap() http.ResponseWriter { return aw.ResponseWriter }

// headersOut notes the final response headers, once.
func (aw *attemptWriter) headersOut(code int) {
	if aw.responded {
		return
	}
	aw.responded = true
	aw.tap.code = code
	if aw.tap.b != nil {
		aw.tap.b.headersOut(&aw.tap)
	}
}

func (aw *attemptWriter) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		aw.headersOut(code)
	} else if aw.noInterim {
		return
	}
	aw.ResponseWriter.WriteHeader(code)
}

func (aw *attemptWriter) Write(p []byte) (int, error) {
	aw.headersOut(http.StatusOK)
	n, err := aw.ResponseWriter.Write(p)
	if err != nil && aw.writeErr == nil {
		aw.writeErr = err
	}
	return n, err
}

// Hijack is how ReverseProxy takes over the client connection after a 101
// response. From here the request is an open stream, not in flight: the
// counters move, and the connection is registered so that closeStreams can
// end it.
func (aw *attemptWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(aw.ResponseWriter).Hijack()
	if err != nil {
		return conn, brw, err
	}
	aw.headersOut(http.StatusSwitchingProtocols)
	aw.upgraded = true
	f := aw.f
	s := &streamConn{Conn: conn, f: f}
	f.mu.Lock()
	f.streams[s] = struct{}{}
	f.mu.Unlock()
	f.load.streams.Add(1)
	f.load.inflight.Add(-1)
	return s, brw, nil
}

// streamConn is the client side of an upgraded stream. Closing it ends the
// stream (ReverseProxy then closes the backend side) and uncounts it once.
type streamConn struct {
	net.Conn
	f    *forwarder
	once sync.Once
}

func (s *streamConn) Close() error {
	err := s.Conn.Close()
	s.once.Do(func() {
		s.f.mu.Lock()
		delete(s.f.streams, s)
		s.f.mu.Unlock()
		s.f.load.streams.Add(-1)
	})
	return err
}

// proxyBody wraps the body sent to the backend to notice a client whose
// upload fails, which is not the backend's fault.
type proxyBody struct {
	rc     io.ReadCloser
	failed atomic.Bool
}

func (b *proxyBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		b.failed.Store(true)
	}
	return n, err
}

// Close does nothing: the request body belongs to the caller of forward.
func (b *proxyBody) Close() error { return nil }

// proxyConn is a backend connection that counts the bytes written to it.
type proxyConn struct {
	net.Conn
	written atomic.Int64
}

func (c *proxyConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.written.Add(int64(n))
	}
	return n, err
}

// keepAliveTransport is a backend's own Transport. When the backend
// announces an idle timeout ("Keep-Alive: timeout=N", as Apache and Node.js
// do) shorter than ours, it swaps in a clone of the Transport that closes
// idle connections a second earlier than the backend would, so that we never
// send a request on a connection the backend is closing.
type keepAliveTransport struct {
	cur atomic.Pointer[http.Transport]
	mu  sync.Mutex // serialises swaps
}

func newKeepAliveTransport(t *http.Transport) *keepAliveTransport {
	kt := &keepAliveTransport{}
	kt.cur.Store(t)
	return kt
}

func (kt *keepAliveTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t := kt.cur.Load()
	res, err := t.RoundTrip(r)
	if err == nil {
		if v := res.Header["Keep-Alive"]; len(v) > 0 {
			kt.learn(t, v[0])
		}
	}
	return res, err
}

func (kt *keepAliveTransport) CloseIdleConnections() { kt.cur.Load().CloseIdleConnections() }

// learn shortens the idle timeout to the one v announces, minus a second.
func (kt *keepAliveTransport) learn(t *http.Transport, v string) {
	n, ok := parseKeepAliveTimeout(v)
	if !ok {
		return
	}
	d := max(time.Duration(n)*time.Second-time.Second, minIdleConnTimeout)
	if d >= t.IdleConnTimeout {
		return
	}
	kt.mu.Lock()
	defer kt.mu.Unlock()
	if kt.cur.Load() != t {
		return
	}
	nt := t.Clone()
	nt.IdleConnTimeout = d
	kt.cur.Store(nt)
	t.CloseIdleConnections()
}
