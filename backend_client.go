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
//   - The request head is written at once; a body is written by a
//     goroutine of the exchange (with a Content-Length, or chunked with the
//     request's trailers), so that a backend may answer before it read the
//     whole body. "Expect: 100-continue" holds the body back until the
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
// # Failures
//
// An exchange that wrote no byte of its request fails with a
// notSentError, which the forwarder reports as [ErrNotSent], so the
// Balancer may retry it anywhere. A reused connection that fails before
// writing a byte of a bodiless request, or that closes without a byte of
// response to a bodiless idempotent request (the backend closed it while
// we were sending), is replaced by a new connection once, transparently,
// as net/http's Transport does; the peek before reuse makes both rare. The
// request's context ending closes the connection at once.
//
// # What it does not do
//
// No HTTP/2 (WithProtocols keeps the Transport for it), no proxies from the
// environment (the Transport was configured without them too), no
// transparent gzip (it was disabled), no connection coalescing or
// per-host dial limits (one client serves one backend, whose concurrency
// the Balancer bounds), no httptrace hooks but Got1xxResponse. Response
// heads and trailer sections are limited to 64 KiB (nginx: 4 or 8 KiB),
// where the Transport allowed 10 MB.

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/time/rate"
)

// expectContinueTimeout is how long a body waits for the backend's
// "100 Continue", as the Transport waited.
const expectContinueTimeout = time.Second

// writeWaitBeforeReuse bounds the wait, once a response ended, for the
// request body's writer to report that the whole body went out; net/http
// waits as long.
const writeWaitBeforeReuse = 50 * time.Millisecond

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

// backendExchange is one request and its response on one connection. Once
// roundTrip returned a response, it is that response's Body.
type backendExchange struct {
	c       *backendClient
	conn    *backendConn
	req     *http.Request
	bodyLen int64 // see requestBodyLen
	res     http.Response
	head    responseHead
	body    responseBody
	stop    func() bool // stops the context watch; nil without one

	aborted    atomic.Bool // the context ended the exchange
	gotByte    bool        // some response byte arrived
	discard    int         // bytes of the final head still in conn.br
	released   bool        // the connection was released
	unwritable bool        // the request cannot be written at all

	// With a request body, which a goroutine writes:
	wdone    chan error // the writer's result
	werr     error      // the writer's result, once received
	wdoneSet bool       // werr holds it
	cont     chan bool  // tells a writer held by Expect: 100-continue to go on
	contSent bool       // cont was sent to
	mu       sync.Mutex // guards headDone against the writer
	headDone bool       // the final response head arrived
}

// roundTrip writes the request and reads the response head. On error the
// connection is closed.
func (x *backendExchange) roundTrip(ctx context.Context) (*http.Response, error) {
	conn := x.conn
	conn.written.Store(0)
	head, err := appendRequestHead(conn.head[:0], x.req, cmp.Or(x.req.Host, x.c.host), x.bodyLen)
	conn.head = head
	if err != nil {
		x.unwritable = true
		x.c.release(conn, true) // nothing was written on it
		x.c.closeBody(x.req, x.bodyLen)
		return nil, notSentError{err}
	}
	if ctx.Done() != nil {
		x.stop = context.AfterFunc(ctx, x.abort)
	}
	if x.bodyLen == 0 {
		if _, err := conn.Write(head); err != nil {
			return nil, x.fail(ctx, err)
		}
		conn.SetReadDeadline(time.Now().Add(x.c.headerTimeout))
	} else {
		x.wdone = make(chan error, 1)
		if expectsContinue(x.req.Header) {
			x.cont = make(chan bool, 1)
		}
		go x.write(head)
	}
	if err := x.readHead(ctx); err != nil {
		return nil, x.fail(ctx, err)
	}
	return x.response()
}

// write writes the request head and body; it runs in its own goroutine.
// On failure it closes the connection, which ends the exchange.
func (x *backendExchange) write(head []byte) {
	err := x.writeRequest(head)
	x.c.closeBody(x.req, x.bodyLen)
	if err == nil {
		x.mu.Lock()
		if !x.headDone {
			x.conn.SetReadDeadline(time.Now().Add(x.c.headerTimeout))
		}
		x.mu.Unlock()
	}
	x.wdone <- err // before abort, so that the reader it wakes finds it
	if err != nil {
		x.conn.abort()
	}
}

// errNoContinue is the writer's result when the backend answered before
// asking for the body, which then is not sent.
var errNoContinue = errors.New("frontdoor: backend answered without 100 Continue")

func (x *backendExchange) writeRequest(head []byte) error {
	if _, err := x.conn.Write(head); err != nil {
		return err
	}
	if x.cont != nil {
		t := time.NewTimer(expectContinueTimeout)
		select {
		case ok := <-x.cont:
			if !ok {
				t.Stop()
				return errNoContinue
			}
		case <-t.C:
		}
		t.Stop()
	}
	buf := x.c.buffers.Get()
	defer x.c.buffers.Put(buf)
	return writeRequestBody(x.conn, x.req.Body, x.bodyLen, x.req.Trailer, buf)
}

// expectsContinue reports whether h asks for "100-continue".
func expectsContinue(h http.Header) bool {
	for _, v := range h["Expect"] {
		if strings.EqualFold(strings.TrimSpace(v), "100-continue") {
			return true
		}
	}
	return false
}

// readHead reads response heads up to the final one, passing 1xx ones to
// the request's Got1xxResponse hook, and leaves it parsed in x.head.
func (x *backendExchange) readHead(ctx context.Context) error {
	conn := x.conn
	headReq := x.req.Method == http.MethodHead
	for n1xx := 0; ; n1xx++ {
		head, discard, read, err := readResponseHead(conn.br, nil)
		x.discard = discard
		x.gotByte = x.gotByte || read
		if err != nil {
			return err
		}
		x.head.fields = conn.fields
		err = parseResponseHead(head, headReq, &x.head)
		conn.fields = x.head.fields
		if err != nil {
			return err
		}
		if !x.head.interim() {
			x.mu.Lock()
			x.headDone = true
			conn.SetReadDeadline(time.Time{})
			x.mu.Unlock()
			x.signalContinue(x.head.status == http.StatusContinue)
			return nil
		}
		if n1xx == max1xxResponses {
			return errResponseTooMany1xx
		}
		if trace := httptrace.ContextClientTrace(ctx); trace != nil && trace.Got1xxResponse != nil {
			h := textproto.MIMEHeader(fieldsHeader(x.head.fields))
			if err := trace.Got1xxResponse(x.head.status, h); err != nil {
				return err
			}
		}
		conn.br.Discard(discard)
		if x.head.status == http.StatusContinue {
			x.signalContinue(true)
		}
	}
}

// signalContinue tells a writer held by Expect: 100-continue whether to
// send the body, once.
func (x *backendExchange) signalContinue(send bool) {
	if x.cont == nil || x.contSent {
		return
	}
	x.contSent = true
	x.cont <- send // buffered
}

// response builds the Response of the parsed final head, whose bytes are
// discarded from the reader after it.
func (x *backendExchange) response() (*http.Response, error) {
	h, res, conn := &x.head, &x.res, x.conn
	res.StatusCode = h.status
	res.Status = strconv.Itoa(h.status)
	if len(h.reason) > 0 {
		res.Status += " " + string(h.reason)
	}
	res.Proto, res.ProtoMajor, res.ProtoMinor = "HTTP/1.1", 1, h.minor
	if h.minor == 0 {
		res.Proto = "HTTP/1.0"
	}
	res.Header = fieldsHeader(h.fields)
	res.Request = x.req
	res.Close = h.close
	if h.chunked {
		delete(res.Header, "Transfer-Encoding")
	}
	if h.framing == framingChunked {
		res.TransferEncoding = []string{"chunked"}
		if v, ok := res.Header["Trailer"]; ok {
			res.Trailer = declaredTrailers(v)
			delete(res.Header, "Trailer")
		}
	}
	if v := res.Header["Keep-Alive"]; len(v) > 0 {
		x.c.pool.learnKeepAlive(v[0])
	}
	conn.br.Discard(x.discard)
	switch {
	case h.status == http.StatusSwitchingProtocols:
		if x.stop != nil {
			x.stop()
		}
		x.released = true
		res.ContentLength = -1
		res.Body = &upgradedBody{conn}
		return res, nil
	case h.framing == framingNone:
		res.ContentLength = 0
		if x.req.Method == http.MethodHead {
			res.ContentLength = h.length
		}
		res.Body = http.NoBody
		x.finish(true)
		return res, nil
	case h.framing == framingLength:
		res.ContentLength = h.length
	default:
		res.ContentLength = -1
	}
	x.body.reset(conn.br, h.framing, h.length)
	res.Body = x
	return res, nil
}

// fail ends an exchange that failed before its response head was had, and
// returns the error to report: the context's error if it ended the
// exchange, the writer's if it failed first (a client body that broke, a
// write the backend refused), wrapped as not sent if no byte of the
// request was written. Like net/http's Transport it waits for the writer
// to stop, so that whether the request body was read is settled when the
// caller decides on a retry.
func (x *backendExchange) fail(ctx context.Context, err error) error {
	if x.stop != nil {
		x.stop()
	}
	x.released = true
	x.signalContinue(false)
	if x.wdone != nil {
		select {
		case werr := <-x.wdone:
			if werr != nil {
				err = werr
			}
		default:
			x.conn.abort()
			<-x.wdone
		}
	}
	x.conn.abort()
	switch {
	case x.aborted.Load():
		return ctx.Err()
	case x.conn.written.Load() == 0:
		return notSentError{err}
	}
	return err
}

// retryable reports whether the exchange, which failed with err on a
// connection from the pool, may be tried again on a new connection: it
// wrote no byte of a bodiless request, or it wrote a bodiless idempotent
// request whose connection closed before any byte of response, which
// means the backend closed it while we were sending (as net/http's
// Transport judges).
func (x *backendExchange) retryable(ctx context.Context, err error) bool {
	if !x.conn.reused || x.bodyLen != 0 || x.unwritable || ctx.Err() != nil {
		return false
	}
	if _, ok := err.(notSentError); ok {
		return true
	}
	return !x.gotByte && isReplayable(x.req) &&
		(errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET))
}

// isReplayable reports whether req may be sent twice: an idempotent method,
// or an Idempotency-Key.
func isReplayable(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, ok := req.Header["Idempotency-Key"]
	return ok
}

// abort ends the exchange when its context ends: it runs in a goroutine of
// its own (context.AfterFunc).
func (x *backendExchange) abort() {
	x.aborted.Store(true)
	x.conn.abort()
}

// Read reads the response body. At its framed end the trailers go to
// Response.Trailer and the connection is released.
func (x *backendExchange) Read(p []byte) (int, error) {
	n, err := x.body.Read(p)
	switch {
	case err == nil:
	case err == io.EOF:
		if x.body.trailer != nil {
			if x.res.Trailer == nil {
				x.res.Trailer = make(http.Header, len(x.body.trailer))
			}
			for k, v := range x.body.trailer {
				x.res.Trailer[k] = v
			}
		}
		x.finish(true)
	default:
		x.finish(false)
		if x.aborted.Load() {
			if cerr := x.req.Context().Err(); cerr != nil {
				err = cerr
			}
		}
	}
	return n, err
}

// Close ends the exchange; before the body's end it closes the connection.
func (x *backendExchange) Close() error {
	x.finish(false)
	return nil
}

// finish releases the connection once the response ended, cleanly (its
// framing ended) or not. It is reused only if nothing is left unread, the
// whole request went out, and neither side asked to close.
func (x *backendExchange) finish(clean bool) {
	if x.released {
		return
	}
	x.released = true
	conn := x.conn
	reusable := clean && !x.head.close && !x.req.Close
	if x.stop != nil && !x.stop() {
		reusable = false // the context ended; abort is closing it
	}
	if clean && conn.br.Buffered() > 0 {
		x.c.stray()
		reusable = false
	}
	if reusable && x.wdone != nil {
		reusable = x.wroteAll()
	}
	x.c.release(conn, reusable)
}

// wroteAll reports whether the writer sent the whole request, waiting a
// little for it to say so: the backend can answer before the writer
// returned from its last write.
func (x *backendExchange) wroteAll() bool {
	if !x.wdoneSet {
		select {
		case x.werr = <-x.wdone:
		default:
			t := time.NewTimer(writeWaitBeforeReuse)
			select {
			case x.werr = <-x.wdone:
			case <-t.C:
				x.werr = errWriteUnfinished
			}
			t.Stop()
		}
		x.wdoneSet = true
	}
	return x.werr == nil
}

// errWriteUnfinished stands for the writer's result when it did not come in
// time.
var errWriteUnfinished = errors.New("frontdoor: request body still being written")

// upgradedBody is the body of a 101 response: the connection itself, which
// the caller now owns, reading first what was buffered.
type upgradedBody struct{ conn *backendConn }

func (u *upgradedBody) Read(p []byte) (int, error)  { return u.conn.br.Read(p) }
func (u *upgradedBody) Write(p []byte) (int, error) { return u.conn.Conn.Write(p) }
func (u *upgradedBody) Close() error                { u.conn.abort(); return nil }

// fieldsHeader returns the fields as an http.Header, with canonical keys
// and all values backed by one string.
func fieldsHeader(fields []headerField) http.Header {
	h := make(http.Header, len(fields))
	if len(fields) == 0 {
		return h
	}
	size := 0
	for _, f := range fields {
		size += len(f.value)
	}
	var sb strings.Builder
	sb.Grow(size)
	for _, f := range fields {
		sb.Write(f.value)
	}
	all := sb.String()
	vals := make([]string, len(fields))
	off := 0
	for i, f := range fields {
		vals[i] = all[off : off+len(f.value)]
		off += len(f.value)
		k := canonicalHeaderKey(f.name)
		if prev, ok := h[k]; ok {
			h[k] = append(prev, vals[i])
		} else {
			h[k] = vals[i : i+1 : i+1]
		}
	}
	return h
}

// declaredTrailers returns the trailers a Trailer field value declares,
// each with no value yet, leaving out those that may not be trailers.
func declaredTrailers(vals []string) http.Header {
	t := make(http.Header)
	for _, v := range vals {
		for name := range strings.SplitSeq(v, ",") {
			name = textproto.TrimString(name)
			if !isToken(name) {
				continue
			}
			if k := http.CanonicalHeaderKey(name); !forbiddenTrailers[k] {
				t[k] = nil
			}
		}
	}
	return t
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
