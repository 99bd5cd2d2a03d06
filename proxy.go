package frontdoor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
)

// Failure classes of one forwarding attempt. A *[BackendError] wraps exactly
// one of them, so errors.Is(err, ErrNotSent) and friends tell what happened.
var (
	// ErrNotSent: the request never reached the backend (dial refused or
	// failed, or a reused connection died before a byte was written). Safe
	// to retry on another backend for any method.
	ErrNotSent = errors.New("frontdoor: request not sent to backend")
	// ErrTimeout: the backend sent no response headers in time.
	ErrTimeout = errors.New("frontdoor: backend timed out")
	// ErrBroken: the exchange failed after the request had left.
	ErrBroken = errors.New("frontdoor: backend connection broken")
	// ErrClientGone: the client canceled the request. Never counted against
	// the backend; logged at Debug and reported as status 499.
	ErrClientGone = errors.New("frontdoor: client went away")
	// ErrNoBackend: no backend was available to try.
	ErrNoBackend = errors.New("frontdoor: no backend available")
	// ErrClientBody: the client's request body could not be read while the
	// client was still connected: it broke off, was malformed, or went over
	// an [net/http.MaxBytesReader] limit (then the *[net/http.MaxBytesError]
	// is in the chain). Answered 413 for the limit, else 400. Like
	// ErrClientGone it is the client's doing, so errors.Is(err,
	// ErrClientGone) also holds: the attempt is never retried nor counted
	// against the backend. Test for ErrClientBody first to tell them apart.
	ErrClientBody error = clientBodyError{}
)

// clientBodyError is the type of ErrClientBody: a client-side failure that
// also matches ErrClientGone.
type clientBodyError struct{}

func (clientBodyError) Error() string        { return "frontdoor: client request body unreadable" }
func (clientBodyError) Is(target error) bool { return target == ErrClientGone }

// StatusClientClosedRequest is the status logged and passed to hooks for a
// request whose client went away ([ErrClientGone]), after nginx's 499. It
// is not a registered HTTP status; the client never sees it.
const StatusClientClosedRequest = 499

// BackendError is the error of one failed forwarding attempt.
type BackendError struct {
	Backend string // the backend's URL, without user info
	Class   error  // ErrNotSent, ErrTimeout, ErrBroken, ErrClientBody or ErrClientGone
	Err     error  // the underlying error

	// responded reports that response headers had been written to the
	// client before the failure, so nobody may write another response.
	responded bool
	// abort reports that the response was cut short on a connection forward
	// could not close (HTTP/2): the caller must panic with
	// http.ErrAbortHandler so that the client sees the truncation.
	abort bool
}

func (e *BackendError) Error() string {
	return fmt.Sprintf("%v: %s: %v", e.Class, e.Backend, e.Err)
}

// Unwrap returns the class and the underlying error.
func (e *BackendError) Unwrap() []error { return []error{e.Class, e.Err} }

// errResponseCut is the Err of a failure while the response body was being
// copied; ReverseProxy does not tell which read or write failed.
var errResponseCut = errors.New("frontdoor: response body cut short")

// load holds the counters a forwarder keeps for its backend. Strategies read
// them through Backend.
type load struct {
	inflight atomic.Int64 // requests being forwarded (not upgraded)
	streams  atomic.Int64 // open upgraded (WebSocket) streams
}

// forwarder sends requests to one backend through an
// [httputil.ReverseProxy] with a Rewrite hook. Its configuration is fixed
// at construction; forward may be called concurrently.
type forwarder struct {
	target  *url.URL
	cfg     *proxyConfig
	load    *load
	logger  *slog.Logger
	rp      *httputil.ReverseProxy
	client  *backendClient      // the HTTP/1.1 client, unless kt or a custom RoundTripper
	kt      *keepAliveTransport // net/http's Transport, when HTTP/2 is enabled
	name    string              // target.Redacted(), for errors
	pool    sync.Pool           // of *attemptWriter
	counted bool                // connections are proxyConns (own transport)
	tls     bool                // https backend

	mu      sync.Mutex // guards streams
	streams map[*streamConn]struct{}
}

// newForwarder returns a forwarder to target that counts its work in ld.
// cfg must have been validated (proxyConfig.validate, which NewBalancer
// calls once) and must outlive the forwarder.
func newForwarder(target *url.URL, cfg *proxyConfig, ld *load, logger *slog.Logger) (*forwarder, error) {
	if target == nil || target.Host == "" || (target.Scheme != "http" && target.Scheme != "https") {
		return nil, errors.New("frontdoor: backend URL must be absolute http or https")
	}
	logger = defaultLogger(logger)
	f := &forwarder{
		target:  target,
		cfg:     cfg,
		load:    ld,
		logger:  logger,
		name:    target.Redacted(),
		streams: make(map[*streamConn]struct{}),
	}
	f.pool.New = func() any { return newAttemptWriter(f) }
	var rt http.RoundTripper = cfg.transport
	switch {
	case rt != nil:
	case cfg.http1Only():
		c, err := newBackendClient(target, cfg, logger)
		if err != nil {
			return nil, err
		}
		f.client, rt = c, c
	default:
		f.kt = newKeepAliveTransport(cfg.newTransport())
		f.counted = true
		f.tls = target.Scheme == "https"
		rt = f.kt
	}
	f.rp = &httputil.ReverseProxy{
		Rewrite:        f.rewrite,
		Transport:      rt,
		FlushInterval:  cfg.flushInterval,
		ErrorLog:       errorLog(logger),
		BufferPool:     cfg.buffers,
		ModifyResponse: modifyProxyResponse,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			if aw, ok := w.(*attemptWriter); ok {
				aw.err = err
			}
		},
	}
	return f, nil
}

// forward proxies r to the backend and writes the response to w. It returns
// nil on success, else a *BackendError. When the error's responded flag is
// false no response headers have been written to w (a 1xx interim response
// may have been), so the caller may retry the request elsewhere or answer
// with writeError. forward neither closes r.Body nor reads it beyond what
// the transport sends. It never panics with [http.ErrAbortHandler].
//
// When the response body breaks after headers went out, the client must see
// the truncation: forward hijacks and closes an HTTP/1 connection itself;
// when w cannot be hijacked (HTTP/2) it sets the error's abort flag, and the
// caller, once done with the error, must panic with [http.ErrAbortHandler],
// which the server turns into a stream reset.
//
// Callers must refuse CONNECT requests (Balancer.ServeHTTP does): forward
// would pass them on.
func (f *forwarder) forward(w http.ResponseWriter, r *http.Request) error {
	_, err := f.forwardTap(w, r, attemptTap{})
	return err
}

// forwardTap is forward for a Balancer attempt: tap (see attemptTap) is told
// of the response headers as they go out, and returned with their status
// (zero when none went through forward).
func (f *forwarder) forwardTap(w http.ResponseWriter, r *http.Request, tap attemptTap) (res attemptTap, err error) {
	f.load.inflight.Add(1)
	aw := f.pool.Get().(*attemptWriter)
	aw.ResponseWriter = w
	aw.tap = tap
	aw.noInterim = !r.ProtoAtLeast(1, 1)
	defer func() {
		if !aw.upgraded {
			f.load.inflight.Add(-1)
		}
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				aw.reset()
				f.pool.Put(aw)
				panic(p)
			}
			err = f.cut(aw, r)
		}
		res = aw.tap
		aw.reset()
		f.pool.Put(aw)
	}()

	out := r
	var body *proxyBody
	hasBody := r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
	if hasBody && r.ContentLength < 0 && r.Trailer == nil {
		// A chunked body may end with trailers the client did not
		// declare; the server fills a Trailer map that exists, and
		// rewrite hands that map to the outbound request.
		r.Trailer = make(http.Header)
	}
	if f.counted && (hasBody || f.tls) {
		// With net/http's Transport, trace which connection the attempt
		// used, to tell later whether it wrote anything. A bodiless
		// request to an http:// backend needs no trace: the transport
		// itself retries it when a reused connection fails before
		// writing, and its only errors before a connection is had are
		// dial errors. Skipping the trace saves two allocations.
		aw.traced = true
		aw.trace = httptrace.ClientTrace{GotConn: aw.gotConnHook}
		out = r.WithContext(httptrace.WithClientTrace(r.Context(), &aw.trace))
	}
	if hasBody {
		if out == r {
			out = r.WithContext(r.Context()) // a shallow copy
		}
		body = &proxyBody{rc: r.Body}
		out.Body = body
	}
	f.rp.ServeHTTP(aw, out)
	if aw.err == nil {
		return aw.tap, nil
	}
	return aw.tap, f.classify(aw, r, body)
}

// classify turns the error ReverseProxy reported for one attempt into a
// *BackendError.
func (f *forwarder) classify(aw *attemptWriter, r *http.Request, body *proxyBody) error {
	err := aw.err
	ctxErr := r.Context().Err()
	var class error
	switch {
	case errors.Is(ctxErr, context.Canceled), aw.writeErr != nil:
		class = ErrClientGone
	case body != nil && body.failed.Load():
		// The client is still there (its context is live): its body was
		// bad or too large, which it should be told.
		class = ErrClientBody
	case errors.Is(ctxErr, context.DeadlineExceeded):
		class = ErrTimeout
	case !aw.responded && f.notSent(aw, err):
		class = ErrNotSent
	case isTimeoutError(err):
		class = ErrTimeout
	default:
		class = ErrBroken
	}
	return &BackendError{Backend: f.name, Class: class, Err: err, responded: aw.responded}
}

// notSent reports whether the failed attempt wrote nothing to the backend.
// The backend client says so itself (notSentError). With net/http's
// Transport every connection counts what it writes, so a connection that
// died before a byte went out (including a reused one whose backend had
// closed it) is told apart from one that failed later. With a custom
// transport, or without a trace, only dial errors are known not to have
// sent anything.
func (f *forwarder) notSent(aw *attemptWriter, err error) bool {
	if _, ok := errors.AsType[notSentError](err); ok {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	if !aw.traced {
		return false
	}
	if !aw.gotConn {
		return true
	}
	return aw.conn != nil && aw.conn.written.Load() == aw.connWritten
}

// isTimeoutError reports whether err is a timeout (net.Error's Timeout).
func isTimeoutError(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// cut handles a response body that broke after its headers were written:
// ReverseProxy panics with http.ErrAbortHandler then. It classifies the
// failure and aborts the client connection by hijacking and closing it;
// when hijacking is impossible it sets the error's abort flag instead.
//
// Closing the HTTP/1 connection here rather than panicking keeps handlers
// that wrap the Balancer (recovering middleware, loggers) from seeing a
// panic for what is a backend failure; the client sees the same thing.
func (f *forwarder) cut(aw *attemptWriter, r *http.Request) error {
	abort := false
	class := ErrBroken
	switch ctxErr := r.Context().Err(); {
	case errors.Is(ctxErr, context.DeadlineExceeded):
		class = ErrTimeout
	case ctxErr != nil, aw.writeErr != nil:
		class = ErrClientGone
	}
	if conn, _, herr := http.NewResponseController(aw.ResponseWriter).Hijack(); herr == nil {
		conn.Close()
	} else {
		abort = true
	}
	return &BackendError{Backend: f.name, Class: class, Err: errResponseCut, responded: true, abort: abort}
}

// closeIdle closes the forwarder's idle connections to the backend.
func (f *forwarder) closeIdle() {
	if f.client != nil {
		f.client.closeIdle()
		return
	}
	if f.kt != nil {
		f.kt.CloseIdleConnections()
		return
	}
	if c, ok := f.cfg.transport.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// closeStreams closes every open upgraded stream to the backend. The
// Balancer calls it on Close after a grace period, and when a removed
// backend's drain time is up.
func (f *forwarder) closeStreams() {
	f.mu.Lock()
	open := make([]*streamConn, 0, len(f.streams))
	for s := range f.streams {
		open = append(open, s)
	}
	f.mu.Unlock()
	for _, s := range open {
		s.Close()
	}
}

// writeError answers a request that could not be forwarded: 503 for
// ErrNoBackend, 504 for ErrTimeout, 413 for ErrClientBody wrapping a
// *http.MaxBytesError, 400 for any other ErrClientBody, 499 for
// ErrClientGone (the client is gone; the status is for logs, no body is
// written) and 502 otherwise, or calls the WithErrorHandler hook. The body
// never holds addresses or Go error text.
func (c *proxyConfig) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if c.errorHandler != nil {
		c.errorHandler(w, r, err)
		return
	}
	code := http.StatusBadGateway
	switch {
	case errors.Is(err, ErrNoBackend):
		code = http.StatusServiceUnavailable
	case errors.Is(err, ErrTimeout):
		code = http.StatusGatewayTimeout
	case errors.Is(err, ErrClientBody):
		code = http.StatusBadRequest
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			code = http.StatusRequestEntityTooLarge
		}
	case errors.Is(err, ErrClientGone):
		w.WriteHeader(StatusClientClosedRequest)
		return
	}
	writeProxyProblem(w, r, code)
}

// writeProxyProblem writes a short error response for code:
// application/problem+json (RFC 9457) when the client accepts JSON, else
// text/plain.
func writeProxyProblem(w http.ResponseWriter, r *http.Request, code int) {
	h := w.Header()
	h.Del("Content-Length")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	text := http.StatusText(code)
	if acceptsJSON(r) {
		h.Set("Content-Type", "application/problem+json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"type":"about:blank","title":%q,"status":%d}`+"\n", text, code)
		return
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	fmt.Fprintln(w, text)
}

// acceptsJSON reports whether r's Accept header names a JSON media type
// that it does not refuse with q=0.
func acceptsJSON(r *http.Request) bool {
	ok := false
	staticEachElem(r.Header["Accept"], func(mediaRange string, q int) {
		ok = ok || q > 0 && containsFold(mediaRange, "json")
	})
	return ok
}

// writeProxyMethodNotAllowed refuses a CONNECT request: this is a reverse
// proxy, not a tunnel to anywhere.
func writeProxyMethodNotAllowed(w http.ResponseWriter) {
	w.Header().Set("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusMethodNotAllowed)
	fmt.Fprintln(w, http.StatusText(http.StatusMethodNotAllowed))
}
