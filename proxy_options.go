package frontdoor

import (
	"context"
	"crypto/tls"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Forwarding defaults. They suit backends on a LAN or in the same cluster.
const (
	defaultDialTimeout           = 5 * time.Second
	defaultResponseHeaderTimeout = 60 * time.Second
	// defaultIdleConnTimeout is shorter than the keep-alive of common
	// backends (Node.js and Apache close idle connections after 5 s), so we
	// close a connection before the backend does and never race its FIN.
	defaultIdleConnTimeout     = 4 * time.Second
	defaultMaxIdleConnsPerHost = 128
)

// proxyConfig holds the forwarding settings shared by every backend of a
// Balancer. BalancerOptions set it through balancerConfig.proxy; validate
// fills the derived fields. Forwarders keep a pointer to it, so it must not
// change once they exist.
type proxyConfig struct {
	trustedCIDRs          []string
	transport             http.RoundTripper
	errorHandler          func(http.ResponseWriter, *http.Request, error)
	forwarded             bool
	preserveHost          bool
	requestID             bool
	upgrades              []string
	dialTimeout           time.Duration
	responseHeaderTimeout time.Duration
	idleConnTimeout       time.Duration
	maxIdleConnsPerHost   int
	flushInterval         time.Duration
	protocols             *http.Protocols
	tlsConfig             *tls.Config

	// dial replaces the TCP dialer of the default transport; tests use it
	// to hand out connections that fail on cue.
	dial func(ctx context.Context, network, addr string) (net.Conn, error)

	// Derived by validate.
	trusted trustedNets
	buffers *proxyBufferPool
}

// validate checks the proxy settings once, in NewBalancer, fills in the
// defaults and returns an error naming the first bad value.
func (c *proxyConfig) validate() error {
	trusted, err := parseTrustedNets(c.trustedCIDRs)
	if err != nil {
		return fmt.Errorf("frontdoor: WithTrustedProxies: %w", err)
	}
	c.trusted = trusted
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"WithDialTimeout", &c.dialTimeout, defaultDialTimeout},
		{"WithResponseHeaderTimeout", &c.responseHeaderTimeout, defaultResponseHeaderTimeout},
		{"WithIdleConnTimeout", &c.idleConnTimeout, defaultIdleConnTimeout},
	} {
		if *d.v < 0 {
			return fmt.Errorf("frontdoor: %s: negative duration %v", d.name, *d.v)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if c.maxIdleConnsPerHost < 0 {
		return fmt.Errorf("frontdoor: WithMaxIdleConnsPerHost: negative value %d", c.maxIdleConnsPerHost)
	}
	if c.maxIdleConnsPerHost == 0 {
		c.maxIdleConnsPerHost = defaultMaxIdleConnsPerHost
	}
	for _, u := range c.upgrades {
		if u == "" || strings.ContainsAny(u, " ,\t") {
			return fmt.Errorf("frontdoor: WithUpgrades: bad protocol %q", u)
		}
	}
	c.buffers = &proxyBufferPool{}
	return nil
}

// newTransport builds the tuned transport of one backend. Its dialer counts
// the bytes written on every connection, which is how a failed attempt is
// known to have sent nothing.
func (c *proxyConfig) newTransport() *http.Transport {
	dial := (&net.Dialer{Timeout: c.dialTimeout, KeepAlive: 30 * time.Second}).DialContext
	if c.dial != nil {
		dial = c.dial
	}
	t := &http.Transport{
		Proxy: nil, // never an environment proxy between us and a backend
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dial(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &proxyConn{Conn: conn}, nil
		},
		MaxIdleConnsPerHost:   c.maxIdleConnsPerHost,
		IdleConnTimeout:       c.idleConnTimeout,
		ResponseHeaderTimeout: c.responseHeaderTimeout,
		TLSHandshakeTimeout:   c.dialTimeout,
		ExpectContinueTimeout: time.Second,
		// A proxy passes bodies as they are: no transparent gzip.
		DisableCompression: true,
	}
	if c.protocols != nil {
		p := *c.protocols
		t.Protocols = &p
	}
	if c.tlsConfig != nil {
		t.TLSClientConfig = c.tlsConfig.Clone()
	}
	return t
}

// http1Only reports whether backends are spoken to in HTTP/1.1 only, by
// the backend client; WithProtocols enabling HTTP/2 keeps net/http's
// Transport.
func (c *proxyConfig) http1Only() bool {
	p := c.protocols
	return p == nil || p.HTTP1() && !p.HTTP2() && !p.UnencryptedHTTP2()
}

// errorLog returns the *log.Logger that ReverseProxy writes its own
// complaints to: Debug records of logger, since they are per-request.
func errorLog(logger *slog.Logger) *log.Logger {
	return slog.NewLogLogger(logger.Handler(), slog.LevelDebug)
}

// proxyBufferPool recycles the 32 KiB buffers ReverseProxy copies response
// bodies with. It stores array pointers so that Put does not allocate.
type proxyBufferPool struct{ p sync.Pool }

const proxyBufferSize = 32 << 10

func (bp *proxyBufferPool) Get() []byte {
	if b, ok := bp.p.Get().(*[proxyBufferSize]byte); ok {
		return b[:]
	}
	return new([proxyBufferSize]byte)[:]
}

func (bp *proxyBufferPool) Put(b []byte) {
	if cap(b) >= proxyBufferSize {
		bp.p.Put((*[proxyBufferSize]byte)(b[:proxyBufferSize]))
	}
}

// WithTransport sets the [net/http.RoundTripper] that carries requests to
// every backend, in place of the Balancer's own HTTP/1.1 client per backend.
// A custom RoundTripper does not get that client's protection: a backend
// that sends more than its response's framing says can have the extra
// bytes read as another client's response by a RoundTripper that reuses
// connections, as net/http's Transport does (the package documentation's
// Security section says more). With a
// custom transport the dial, timeout, idle, protocol and TLS options are
// ignored, and a failed attempt counts as not sent only when the error is
// a dial error. Nil, the default, means the Balancer's own client. rt must
// be safe for concurrent use.
func WithTransport(rt http.RoundTripper) BalancerOption {
	return balancerOptionFunc(func(c *balancerConfig) { c.proxy.transport = rt })
}

// WithErrorHandler sets the function that answers a request the Balancer
// could not forward, with [net/http/httputil.ReverseProxy]'s ErrorHandler
// signature. err wraps [ErrNoBackend], or is a *[BackendError] whose Class is
// [ErrNotSent], [ErrTimeout], [ErrBroken], [ErrClientBody] or
// [ErrClientGone]. It is never called once response headers have reached
// the client. Nil, the default, answers 503 for ErrNoBackend, 504 for
// ErrTimeout, 413 for ErrClientBody over a [net/http.MaxBytesReader] limit,
// 400 for other ErrClientBody, 499 (nothing the client will see) for
// ErrClientGone and 502 otherwise, with a short
// application/problem+json or text/plain body that holds no addresses or Go
// error text. It may be called concurrently.
func WithErrorHandler(h func(http.ResponseWriter, *http.Request, error)) BalancerOption {
	return balancerOptionFunc(func(c *balancerConfig) { c.proxy.errorHandler = h })
}

// WithForwardedHeader adds the RFC 7239 Forwarded header
// (for=client;host=host;proto=scheme) to forwarded requests when on. Like
// X-Forwarded-For, an inbound Forwarded header is appended to only when the
// peer is trusted (see [WithTrustedProxies]) and is replaced otherwise. The
// default is off: only X-Forwarded-For, X-Forwarded-Host,
// X-Forwarded-Proto and X-Real-IP are sent.
func WithForwardedHeader(on bool) BalancerOption {
	return balancerOptionFunc(func(c *balancerConfig) { c.proxy.forwarded = on })
}

// WithPreserveHost sends the client's Host header to the backend when on.
// The default, off, sends the backend's own host (as nginx does with
// proxy_pass), which is what virtual-hosted backends and TLS backends
// expect; the client's host is always in X-Forwarded-Host.
func WithPreserveHost(on bool) BalancerOption {
	return balancerOptionFunc(func(c *balancerConfig) { c.proxy.preserveHost = on })
}

// WithRequestID makes sure every forwarded request has an X-Request-ID
// header when on: a client's value is kept if it is 1 to 128 printable
// ASCII characters, otherwise a random 26-character ID replaces it. The
// default, off, forwards the header as the client sent it, if at all.
func WithRequestID(on bool) BalancerOption {
	return balancerOptionFunc(func(c *balancerConfig) { c.proxy.requestID = on })
}

// WithUpgrades names the protocols, besides "websocket", that a client may
// switch to through the Upgrade header (compared case-insensitively). By
// default only WebSocket upgrades are forwarded; any other Upgrade header,
// "h2c" in particular (request smuggling past the proxy), is removed, so the
// backend answers the plain request. Upgrades are only forwarded for
// HTTP/1.x clients.
func WithUpgrades(protocols ...string) BalancerOption {
	return balancerOptionFunc(func(c *balancerConfig) { c.proxy.upgrades = append(c.proxy.upgrades, protocols...) })
}

// WithDialTimeout bounds connecting to a backend (TCP and TLS handshake).
// A backend that cannot be reached in time fails with [ErrNotSent]. Zero
// means the default, 5 s; a negative value makes [NewBalancer] fail.
func WithDialTimeout(d time.Duration) BalancerOption {
	return balancerOptionFunc(func(c *balancerConfig) { c.proxy.dialTimeout = d })
}

// WithResponseHeaderTimeout bounds the wait for a backend's response
// headers once the request, body included, has been sent. A backend that
// takes longer fails with [ErrTimeout] and the client gets 504. The body of
// the response is not bounded, so streams are unaffected. Zero means the
// default, 60 s; a negative value makes [NewBalancer] fail.
func WithResponseHeaderTimeout(d time.Duration) BalancerOption {
	return balancerOptionFunc(func(c *balancerConfig) { c.proxy.responseHeaderTimeout = d })
}

// WithIdleConnTimeout sets how long an idle keep-alive connection to a
// backend is kept. It should be shorter than the backends' own idle timeout
// so that we never reuse a connection the backend is closing; a backend that
// announces a shorter one with "Keep-Alive: timeout=N" is honoured. Zero
// means the default, 4 s; a negative value makes [NewBalancer] fail.
func WithIdleConnTimeout(d time.Duration) BalancerOption {
	return balancerOptionFunc(func(c *balancerConfig) { c.proxy.idleConnTimeout = d })
}

// WithMaxIdleConnsPerHost sets how many idle keep-alive connections are kept
// per backend. It should be near the number of concurrent requests a
// backend serves: Go's default of 2 makes busy proxies open and close a
// connection per request. Zero means the default, 128; a negative value
// makes [NewBalancer] fail.
func WithMaxIdleConnsPerHost(n int) BalancerOption {
	return balancerOptionFunc(func(c *balancerConfig) { c.proxy.maxIdleConnsPerHost = n })
}

// WithFlushInterval sets how often a response body is flushed to the client
// while it is copied, as [net/http/httputil.ReverseProxy.FlushInterval]. A
// negative value flushes after every write. Whatever the value,
// text/event-stream responses, responses of unknown length and responses
// carrying "X-Accel-Buffering: no" are flushed after every write. Zero, the
// default, flushes only those.
func WithFlushInterval(d time.Duration) BalancerOption {
	return balancerOptionFunc(func(c *balancerConfig) { c.proxy.flushInterval = d })
}

// WithProtocols sets the protocols spoken to backends, as
// [net/http.Transport.Protocols]: SetHTTP2(true) enables HTTP/2 over TLS
// (negotiated with ALPN), and a set holding UnencryptedHTTP2 but not HTTP1
// speaks h2c (prior knowledge) to http:// backends. Nil, the default, is
// HTTP/1.1 only, as nginx speaks to upstreams, through the Balancer's own
// client. A set that enables HTTP/2 is served by net/http's Transport,
// which speaks HTTP/1.1 too when a backend declines HTTP/2, without the
// own client's refusal to reuse a connection holding stray bytes (see
// [WithTransport]). Ignored with [WithTransport].
func WithProtocols(p *http.Protocols) BalancerOption {
	return balancerOptionFunc(func(c *balancerConfig) {
		if p == nil {
			c.proxy.protocols = nil
			return
		}
		cp := *p
		c.proxy.protocols = &cp
	})
}

// WithTLSClientConfig sets the TLS settings used with https:// backends (a
// private CA in RootCAs, a client certificate for mutual TLS). The config is
// cloned; ALPN offers only "http/1.1" unless [WithProtocols] enables
// HTTP/2, and ServerName defaults to the backend's host. Nil, the default,
// verifies backends against the system roots. Ignored with
// [WithTransport].
func WithTLSClientConfig(c *tls.Config) BalancerOption {
	return balancerOptionFunc(func(bc *balancerConfig) { bc.proxy.tlsConfig = c })
}
