package frontdoor

// The backend client: how a Balancer speaks HTTP/1.1 to its backends.
//
// # Why not net/http's Transport
//
// A pooled backend connection carries the responses of different clients
// one after the other, so a proxy must never read one client's response
// from bytes the backend sent for another. net/http's Transport cannot
// promise that: it hands a connection back to its idle pool as soon as a
// response body has been read to its framed end, and only its connection's
// read loop, running later, notices bytes buffered beyond that end. If a
// backend sends more than its Content-Length or its last chunk says (a
// framing bug, or a response-splitting bug that makes it answer twice),
// the next request taken from the pool reads those bytes as its own
// response, and a different client gets them. With four concurrent
// clients it takes seconds; TestBackendClientNeverCrossesResponses shows
// it and fails with the Transport. Bytes that arrive on an idle
// connection are logged, once per connection, as "Unsolicited response
// received on idle HTTP channel" through the standard logger, which a
// hostile backend can flood. nginx closes an upstream connection that
// "sent more data than specified"; so do we.
//
// # What the client does
//
// backendClient is an [net/http.RoundTripper] for one backend, used under
// [net/http/httputil.ReverseProxy], for http:// backends and https:// ones
// spoken to in HTTP/1.1 (the default; [WithProtocols] enabling HTTP/2, and
// [WithTransport], keep net/http's Transport). One exchange at a time runs
// on a connection:
//
//   - A connection comes from the pool (backend_pool.go): most recently
//     used first, at most WithMaxIdleConnsPerHost, none idle longer than
//     WithIdleConnTimeout or the "Keep-Alive: timeout=N" the backend
//     announced. Before it is used it is peeked at without blocking (one
//     recv(MSG_PEEK) system call, backend_peek_unix.go): a connection with
//     any byte to read, or closed by the backend, is closed and the next
//     one is tried. Otherwise a new connection is dialled within
//     WithDialTimeout, with TLS (ALPN http/1.1) for https.
//   - The request head is written at once (backend_request.go); a body is
//     written by a goroutine of the exchange (backend_exchange.go), with a
//     Content-Length, or chunked and followed by the request's trailers, so
//     that a backend may answer before it read the whole body. "Expect: 100-continue" holds the body back until the
//     backend's 100, a final response (the body is then not sent and the
//     connection not reused) or one second.
//   - The response head must arrive within WithResponseHeaderTimeout of the
//     request's end. It is parsed strictly (backend_response.go): a status
//     line with a status in 100-599; header fields whose names are tokens
//     directly followed by the colon ("Content-Length : 2" is malformed,
//     RFC 9112 §5.1); no obs-fold; one Content-Length value; no transfer
//     coding but chunked; not both framings. Anything else is an error,
//     answered 502, and the connection is closed. 1xx responses are passed
//     to the request's httptrace Got1xxResponse hook (ReverseProxy forwards
//     them; the forwarder drops them for HTTP/1.0 clients). A 101 hands the
//     connection over as the response body, an io.ReadWriteCloser.
//   - The body is read as its framing says (backend_body.go): none for
//     HEAD, 1xx, 204 and 304; Content-Length bytes; chunks and a trailer
//     section (trailers go to Response.Trailer); or up to the backend's
//     close.
//   - When the body ended as framed, the connection goes back to the pool
//     only if nothing is left unread: no byte buffered past the response,
//     none inside the TLS layer (backendConn.tlsDrained), the whole request
//     written, and neither side said "Connection: close" (HTTP/1.0
//     responses close too). Otherwise it is closed; bytes past a response
//     are logged at Warn at most once a minute per backend, with a count.
//
// Bytes that arrive after a connection was peeked at and its next request
// written cannot be told from that request's response, in HTTP/1.1, by
// anyone; they make that response malformed or are found past its end.
//
// The forwarding itself (hop-by-hop headers, X-Forwarded-*, upgrades,
// flushing, announcing trailers) stays with ReverseProxy in proxy.go: the
// client only carries bytes. The parts work on raw bytes without an
// http.Response (readResponseHead, parseResponseHead, responseBody,
// backendPool, backendConn), so that a forwarding path that skips net/http
// can share them.
//
// # Failures
//
// An exchange that wrote no byte of its request fails with a
// notSentError, which the forwarder reports as [ErrNotSent], so the
// Balancer may retry it anywhere. A reused connection that fails before
// writing a byte of a request (whose body, then, was never read), or that closes without a byte of
// response to a bodiless idempotent request (the backend closed it while
// we were sending), is replaced by a new connection once, transparently,
// as net/http's Transport does; the peek before reuse makes both rare. The
// request's context ending closes the connection at once. A failed
// exchange waits for its body writer to stop, as the Transport does, so
// that whether the body was read is settled before the Balancer decides on
// a retry.
//
// # What it does not do
//
// No HTTP/2 (WithProtocols keeps the Transport for it), no proxies from the
// environment (the Transport was configured without them too), no
// transparent gzip (it was disabled), no connection coalescing or
// per-host dial limits (one client serves one backend, whose concurrency
// the Balancer bounds), no httptrace hooks but Got1xxResponse. Response
// heads and trailer sections are limited to 64 KiB (nginx: 4 or 8 KiB),
// where the Transport allowed 10 MB. A request body with a Content-Length
// carries no trailers (chunked ones do). On platforms without a
// non-blocking peek (backend_peek_other.go, Windows) idle connections are
// trusted as far as framing goes.

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// backendClient is the HTTP/1.1 client of one backend (see the top of this
// file). It is safe for concurrent use.
type backendClient struct {
	name          string // the backend's URL without user info, for logs
	addr          string // host:port dialled
	host          string // Host sent when the request sets none
	tlsConfig     *tls.Config
	dial          func(ctx context.Context, network, addr string) (net.Conn, error)
	dialTimeout   time.Duration
	headerTimeout time.Duration
	buffers       *proxyBufferPool
	pool          *backendPool
	logger        *slog.Logger
	strays        rate.Sometimes // throttles the log of stray bytes
	strayCount    atomic.Int64   // connections closed for stray bytes
}

var _ http.RoundTripper = (*backendClient)(nil)

// newBackendClient returns the client of the backend at target, an
// http or https URL with a host, configured by cfg (validated).
func newBackendClient(target *url.URL, cfg *proxyConfig, logger *slog.Logger) (*backendClient, error) {
	host := removeZone(target.Host)
	if !validRequestHost(host) {
		return nil, fmt.Errorf("frontdoor: backend %q: host must be ASCII (its punycode form)", target.Redacted())
	}
	port := target.Port()
	if port == "" {
		port = "80"
		if target.Scheme == "https" {
			port = "443"
		}
	}
	c := &backendClient{
		name:          target.Redacted(),
		addr:          net.JoinHostPort(target.Hostname(), port),
		host:          host,
		dial:          cfg.dial,
		dialTimeout:   cfg.dialTimeout,
		headerTimeout: cfg.responseHeaderTimeout,
		buffers:       cfg.buffers,
		pool:          newBackendPool(cfg.maxIdleConnsPerHost, cfg.idleConnTimeout),
		logger:        logger,
		strays:        rate.Sometimes{First: 1, Interval: time.Minute},
	}
	if c.dial == nil {
		c.dial = (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext
	}
	if target.Scheme == "https" {
		tc := &tls.Config{}
		if cfg.tlsConfig != nil {
			tc = cfg.tlsConfig.Clone()
		}
		if tc.ServerName == "" {
			tc.ServerName = target.Hostname()
		}
		tc.NextProtos = []string{"http/1.1"}
		c.tlsConfig = tc
	}
	return c, nil
}

// closeIdle closes the idle connections.
func (c *backendClient) closeIdle() { c.pool.closeIdle() }

// RoundTrip sends req to the backend and returns its response, whose Body
// must be read to its end or closed. The connection is the backend's,
// whatever req.URL names. req.Body is closed once written, or on error.
func (c *backendClient) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	bodyLen := requestBodyLen(req)
	if bodyLen == 0 && req.Body != nil {
		req.Body.Close()
	}
	for fresh := false; ; fresh = true {
		if err := ctx.Err(); err != nil {
			c.closeBody(req, bodyLen)
			return nil, err
		}
		conn, err := c.getConn(ctx, fresh)
		if err != nil {
			c.closeBody(req, bodyLen)
			return nil, err
		}
		x := &backendExchange{c: c, conn: conn, req: req, bodyLen: bodyLen}
		res, err := x.roundTrip(ctx)
		if err == nil {
			return res, nil
		}
		if !fresh && x.retryable(ctx, err) {
			continue
		}
		if x.bodyKept {
			c.closeBody(req, bodyLen)
		}
		return nil, err
	}
}

// closeBody closes a request body that no exchange will write.
func (c *backendClient) closeBody(req *http.Request, bodyLen int64) {
	if bodyLen != 0 {
		req.Body.Close()
	}
}

// getConn returns a clean idle connection or, if there is none or fresh
// is set, a new one.
func (c *backendClient) getConn(ctx context.Context, fresh bool) (*backendConn, error) {
	for !fresh {
		conn := c.pool.get(time.Now())
		if conn == nil {
			break
		}
		switch conn.idle() {
		case idleClean:
			return conn, nil
		case idleStray:
			c.stray()
		}
		conn.close()
	}
	return c.dialBackend(ctx)
}

// release ends an exchange on conn: back to the pool when reusable, else
// closed.
func (c *backendClient) release(conn *backendConn, reusable bool) {
	if reusable && !conn.tlsDrained() {
		c.stray()
		reusable = false
	}
	if reusable && c.pool.put(conn, time.Now()) {
		return
	}
	conn.abort()
}

// stray notes a connection closed because the backend sent bytes beyond a
// response, logging it at most once a minute.
func (c *backendClient) stray() {
	n := c.strayCount.Add(1)
	c.strays.Do(func() {
		c.logger.LogAttrs(context.Background(), slog.LevelWarn,
			"frontdoor: backend sent bytes beyond its response; connection closed",
			slog.String("backend", c.name), slog.Int64("count", n))
	})
}

// removeZone removes an IPv6 zone from a host[:port] ("[fe80::1%en0]:80"),
// which a Host header must not carry.
func removeZone(host string) string {
	if !strings.HasPrefix(host, "[") {
		return host
	}
	i := strings.LastIndex(host, "]")
	if i < 0 {
		return host
	}
	j := strings.LastIndex(host[:i], "%")
	if j < 0 {
		return host
	}
	return host[:j] + host[i:]
}
