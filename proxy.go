package frontdoor

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
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
)

// BackendError is the error of one failed forwarding attempt.
type BackendError struct {
	Backend string // the backend's URL, without user info
	Class   error  // ErrNotSent, ErrTimeout, ErrBroken or ErrClientGone
	Err     error  // the underlying error

	// responded reports that response headers had been written to the
	// client before the failure, so nobody may write another response.
	responded bool
}

func (e *BackendError) Error() string {
	return fmt.Sprintf("%v: %s: %v", e.Class, e.Backend, e.Err)
}

// Unwrap returns the class and the underlying error.
func (e *BackendError) Unwrap() []error { return []error{e.Class, e.Err} }

// proxyConfig holds the forwarding settings shared by every backend of a
// Balancer. BalancerOptions set it through balancerConfig.proxy.
type proxyConfig struct {
	trustedCIDRs []string
}

// validate checks the proxy settings once, in NewBalancer, and returns an
// error naming the first bad value.
func (c *proxyConfig) validate() error {
	_, err := parseTrustedNets(c.trustedCIDRs)
	return err
}

// load holds the counters a forwarder keeps for its backend. Strategies read
// them through Backend.
type load struct {
	inflight atomic.Int64 // requests being forwarded (not upgraded)
	streams  atomic.Int64 // open upgraded (WebSocket) streams
}

// forwarder sends requests to one backend.
//
// SKELETON: issue 3 replaces this with the full implementation; the contract
// (newForwarder, forward, close, writeProxyError) stays.
type forwarder struct {
	target *url.URL
	rp     *httputil.ReverseProxy
	load   *load
	logger *slog.Logger
}

// attemptWriter carries the outcome of one attempt out of ReverseProxy's
// ErrorHandler.
type attemptWriter struct {
	http.ResponseWriter
	err error
}

func (aw *attemptWriter) Unwrap() http.ResponseWriter { return aw.ResponseWriter }

// newForwarder returns a forwarder to target that counts its work in ld.
func newForwarder(target *url.URL, cfg *proxyConfig, ld *load, logger *slog.Logger) (*forwarder, error) {
	f := &forwarder{target: target, load: ld, logger: logger}
	f.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = target.Host
			pr.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if aw, ok := w.(*attemptWriter); ok {
				aw.err = err
			}
		},
	}
	return f, nil
}

// forward proxies r to the backend and writes the response to w. It returns
// nil on success, else a *BackendError. When the error's responded flag is
// false nothing has been written to w, so the caller may retry the request
// elsewhere or write an error response with writeProxyError.
func (f *forwarder) forward(w http.ResponseWriter, r *http.Request) error {
	f.load.inflight.Add(1)
	defer f.load.inflight.Add(-1)
	aw := &attemptWriter{ResponseWriter: w}
	f.rp.ServeHTTP(aw, r)
	if aw.err == nil {
		return nil
	}
	class := ErrBroken
	var op *net.OpError
	if errors.As(aw.err, &op) && op.Op == "dial" {
		class = ErrNotSent
	}
	return &BackendError{Backend: f.target.Redacted(), Class: class, Err: aw.err}
}

// closeIdle closes the forwarder's idle connections to the backend.
func (f *forwarder) closeIdle() {}

// closeStreams closes every open upgraded stream to the backend. The
// Balancer calls it on Close after a grace period, and when a removed
// backend's drain time is up.
func (f *forwarder) closeStreams() {}

// writeError answers a request that could not be forwarded: 503 for
// ErrNoBackend, 504 for ErrTimeout, 502 otherwise. The body never holds
// addresses or Go error text.
func (c *proxyConfig) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusBadGateway
	switch {
	case errors.Is(err, ErrNoBackend):
		code = http.StatusServiceUnavailable
	case errors.Is(err, ErrTimeout):
		code = http.StatusGatewayTimeout
	}
	http.Error(w, http.StatusText(code), code)
}
