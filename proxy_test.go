package frontdoor

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// proxyTestEnv is a front server whose handler calls forward on one
// forwarder and, when forward fails before responding, writeError.
type proxyTestEnv struct {
	f     *forwarder
	cfg   *proxyConfig
	ld    *load
	front *httptest.Server
	errs  chan error
}

func newProxyTestEnv(t *testing.T, backend string, opts ...BalancerOption) *proxyTestEnv {
	t.Helper()
	var bc balancerConfig
	for _, o := range opts {
		o.applyBalancer(&bc)
	}
	require.NoError(t, bc.proxy.validate())
	u, err := url.Parse(backend)
	require.NoError(t, err)
	env := &proxyTestEnv{cfg: &bc.proxy, ld: &load{}, errs: make(chan error, 64)}
	env.f, err = newForwarder(u, env.cfg, env.ld, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	env.front = httptest.NewServer(http.HandlerFunc(env.serve))
	t.Cleanup(env.f.closeIdle)
	t.Cleanup(env.front.Close)
	t.Cleanup(env.f.closeStreams)
	return env
}

func (e *proxyTestEnv) serve(w http.ResponseWriter, r *http.Request) {
	err := e.f.forward(w, r)
	select {
	case e.errs <- err:
	default:
	}
	var berr *BackendError
	if err != nil && !(errors.As(err, &berr) && berr.responded) {
		e.cfg.writeError(w, r, err)
	}
}

// lastErr returns what forward returned for the next finished request.
func (e *proxyTestEnv) lastErr(t *testing.T) error {
	t.Helper()
	select {
	case err := <-e.errs:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("forward did not return")
		return nil
	}
}

// do sends req to the front server and returns the response with its body.
func (e *proxyTestEnv) do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	res, err := e.front.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(b)
}

func (e *proxyTestEnv) get(t *testing.T, target string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.front.URL+target, nil)
	require.NoError(t, err)
	return e.do(t, req)
}

// proxyTestSeen is what a recording backend saw of one request.
type proxyTestSeen struct {
	method, requestURI, host string
	header                   http.Header
	body                     string
	proto                    int
}

// newProxyTestRecorder starts a backend that records each request on the
// returned channel and answers 200 "ok".
func newProxyTestRecorder(t *testing.T) (*httptest.Server, chan proxyTestSeen) {
	t.Helper()
	seen := make(chan proxyTestSeen, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen <- proxyTestSeen{r.Method, r.RequestURI, r.Host, r.Header.Clone(), string(b), r.ProtoMajor}
		w.Header().Set("X-Backend", "yes")
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv, seen
}

func proxyTestNext(t *testing.T, seen chan proxyTestSeen) proxyTestSeen {
	t.Helper()
	select {
	case s := <-seen:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("backend saw no request")
		return proxyTestSeen{}
	}
}

func TestProxyForwardsRequestExactly(t *testing.T) {
	tests := []struct {
		name    string
		base    string
		opts    []BalancerOption
		give    string
		wantURI string
	}{
		{"plain", "", nil, "/a/b?x=1", "/a/b?x=1"},
		{"encoded slash stays encoded", "", nil, "/files/a%2Fb/c", "/files/a%2Fb/c"},
		{"query byte for byte", "", nil, "/q?b=2&a=1;c=%zz&d=+%20&&e", "/q?b=2&a=1;c=%zz&d=+%20&&e"},
		{"empty query kept", "", nil, "/p?", "/p?"},
		{"base path joined", "/base", nil, "/x/y?z", "/base/x/y?z"},
		{"base path with slash", "/base/", nil, "/x%2Fy", "/base/x%2Fy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			backend, seen := newProxyTestRecorder(t)
			env := newProxyTestEnv(t, backend.URL+tt.base, tt.opts...)
			req, err := http.NewRequest(http.MethodPatch, env.front.URL+tt.give, strings.NewReader("payload"))
			require.NoError(t, err)
			res, body := env.do(t, req)
			assert.Equal(t, http.StatusOK, res.StatusCode)
			assert.Equal(t, "ok", body)
			assert.Equal(t, "yes", res.Header.Get("X-Backend"))
			got := proxyTestNext(t, seen)
			assert.Equal(t, http.MethodPatch, got.method)
			assert.Equal(t, tt.wantURI, got.requestURI)
			assert.Equal(t, "payload", got.body)
			assert.NoError(t, env.lastErr(t))
		})
	}
}

func TestProxyForwardedHeaders(t *testing.T) {
	backend, seen := newProxyTestRecorder(t)
	spoof := func(r *http.Request) {
		r.Header.Set("X-Forwarded-For", "6.6.6.6")
		r.Header.Set("X-Forwarded-Host", "evil.example")
		r.Header.Set("X-Forwarded-Proto", "https")
		r.Header.Set("Forwarded", "for=6.6.6.6")
		r.Header.Set("X-Real-IP", "6.6.6.7")
	}
	t.Run("untrusted peer is replaced, never appended to", func(t *testing.T) {
		env := newProxyTestEnv(t, backend.URL)
		req, _ := http.NewRequest(http.MethodGet, env.front.URL+"/", nil)
		spoof(req)
		req.Host = "site.example"
		env.do(t, req)
		got := proxyTestNext(t, seen)
		assert.Equal(t, []string{"127.0.0.1"}, got.header["X-Forwarded-For"])
		assert.Equal(t, "site.example", got.header.Get("X-Forwarded-Host"))
		assert.Equal(t, "http", got.header.Get("X-Forwarded-Proto"))
		assert.Empty(t, got.header.Get("Forwarded"), "Forwarded is off by default and never passed through")
		assert.Equal(t, []string{"127.0.0.1"}, got.header["X-Real-Ip"])
	})
	t.Run("trusted peer is appended to", func(t *testing.T) {
		env := newProxyTestEnv(t, backend.URL, WithTrustedProxies("127.0.0.0/8"), WithForwardedHeader(true))
		req, _ := http.NewRequest(http.MethodGet, env.front.URL+"/", nil)
		spoof(req)
		env.do(t, req)
		got := proxyTestNext(t, seen)
		assert.Equal(t, "6.6.6.6, 127.0.0.1", got.header.Get("X-Forwarded-For"))
		assert.Equal(t, "evil.example", got.header.Get("X-Forwarded-Host"))
		assert.Equal(t, "https", got.header.Get("X-Forwarded-Proto"))
		assert.Equal(t, []string{"6.6.6.6"}, got.header["X-Real-Ip"],
			"the client its X-Forwarded-For names, never an X-Real-IP passed on")
		assert.Equal(t, `for=6.6.6.6, for=127.0.0.1;host="`+env.front.Listener.Addr().String()+`";proto=https`,
			got.header.Get("Forwarded"))
	})
	t.Run("trusted peer without X-Real-IP gets the client from X-Forwarded-For", func(t *testing.T) {
		env := newProxyTestEnv(t, backend.URL, WithTrustedProxies("127.0.0.0/8", "10.0.0.0/8"))
		req, _ := http.NewRequest(http.MethodGet, env.front.URL+"/", nil)
		req.Header.Set("X-Forwarded-For", "203.0.113.9, 10.1.2.3")
		env.do(t, req)
		got := proxyTestNext(t, seen)
		assert.Equal(t, []string{"203.0.113.9"}, got.header["X-Real-Ip"])
	})
	t.Run("proto is https behind TLS", func(t *testing.T) {
		env := newProxyTestEnv(t, backend.URL, WithForwardedHeader(true))
		front := httptest.NewTLSServer(http.HandlerFunc(env.serve))
		t.Cleanup(front.Close)
		res, err := front.Client().Get(front.URL + "/")
		require.NoError(t, err)
		res.Body.Close()
		got := proxyTestNext(t, seen)
		assert.Equal(t, "https", got.header.Get("X-Forwarded-Proto"))
		assert.Contains(t, got.header.Get("Forwarded"), "proto=https")
	})
	t.Run("rfc 7239 forwarded replaces untrusted", func(t *testing.T) {
		env := newProxyTestEnv(t, backend.URL, WithForwardedHeader(true))
		req, _ := http.NewRequest(http.MethodGet, env.front.URL+"/", nil)
		spoof(req)
		req.Host = "site.example"
		env.do(t, req)
		got := proxyTestNext(t, seen)
		assert.Equal(t, []string{"for=127.0.0.1;host=site.example;proto=http"}, got.header["Forwarded"])
	})
}

func TestProxyForwardedElement(t *testing.T) {
	assert.Equal(t, `for="[2001:db8::1]";host="a.example:8080";proto=https`,
		forwardedElement("2001:db8::1", "a.example:8080", "https"))
	assert.Equal(t, `proto=http`, forwardedElement("", "bad\"host", "http"))
}

func TestProxyHostPolicy(t *testing.T) {
	backend, seen := newProxyTestRecorder(t)
	backendHost := strings.TrimPrefix(backend.URL, "http://")
	for _, tt := range []struct {
		name string
		opts []BalancerOption
		want string
	}{
		{"backend host by default", nil, backendHost},
		{"client host with WithPreserveHost", []BalancerOption{WithPreserveHost(true)}, "site.example"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := newProxyTestEnv(t, backend.URL, tt.opts...)
			req, _ := http.NewRequest(http.MethodGet, env.front.URL+"/", nil)
			req.Host = "site.example"
			env.do(t, req)
			assert.Equal(t, tt.want, proxyTestNext(t, seen).host)
		})
	}
}

func TestProxyRequestID(t *testing.T) {
	backend, seen := newProxyTestRecorder(t)
	env := newProxyTestEnv(t, backend.URL, WithRequestID(true))
	env.get(t, "/")
	id := proxyTestNext(t, seen).header.Get("X-Request-Id")
	assert.Len(t, id, 26, "generated")
	env.get(t, "/")
	assert.NotEqual(t, id, proxyTestNext(t, seen).header.Get("X-Request-Id"), "unique")

	req, _ := http.NewRequest(http.MethodGet, env.front.URL+"/", nil)
	req.Header.Set("X-Request-ID", "abc-123")
	env.do(t, req)
	assert.Equal(t, "abc-123", proxyTestNext(t, seen).header.Get("X-Request-Id"), "kept")

	req, _ = http.NewRequest(http.MethodGet, env.front.URL+"/", nil)
	req.Header.Set("X-Request-ID", strings.Repeat("x", 129))
	env.do(t, req)
	assert.Len(t, proxyTestNext(t, seen).header.Get("X-Request-Id"), 26, "an oversized ID is replaced")

	off := newProxyTestEnv(t, backend.URL)
	off.get(t, "/")
	assert.Empty(t, proxyTestNext(t, seen).header.Get("X-Request-Id"), "off by default")
}

func TestProxyHopByHopHeaders(t *testing.T) {
	seen := make(chan http.Header, 1)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		h := w.Header()
		h.Set("Connection", "X-Internal, close-ish")
		h.Set("X-Internal", "secret")
		h.Set("Close-Ish", "1")
		h.Set("Keep-Alive", "timeout=99")
		h.Set("Proxy-Authenticate", "Basic")
		h.Set("X-Public", "yes")
	}))
	t.Cleanup(backend.Close)
	env := newProxyTestEnv(t, backend.URL)

	req, _ := http.NewRequest(http.MethodGet, env.front.URL+"/", nil)
	req.Header.Set("Connection", "X-Secret, X-Forwarded-For, Keep-Alive")
	req.Header.Set("X-Secret", "1")
	req.Header.Set("Keep-Alive", "300")
	req.Header.Set("Proxy-Connection", "keep-alive")
	req.Header.Set("Proxy-Authorization", "Basic Zm9vOmJhcg==")
	req.Header.Set("TE", "trailers")
	req.Header.Set("Upgrade", "h2c")
	req.Header.Set("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")
	req.Header.Set("X-Keep", "1")
	res, _ := env.do(t, req)

	got := <-seen
	for _, h := range []string{"X-Secret", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization", "Upgrade", "Connection"} {
		assert.Empty(t, got.Get(h), "request header %s", h)
	}
	assert.Equal(t, "trailers", got.Get("Te"), "TE: trailers is kept")
	assert.Equal(t, "1", got.Get("X-Keep"))
	assert.Equal(t, "127.0.0.1", got.Get("X-Forwarded-For"), "our header is added after Connection stripping")
	for _, h := range []string{"X-Internal", "Close-Ish", "Keep-Alive", "Proxy-Authenticate"} {
		assert.Empty(t, res.Header.Get(h), "response header %s", h)
	}
	assert.Equal(t, "yes", res.Header.Get("X-Public"))
}

func TestProxyUpgradePolicy(t *testing.T) {
	backend, seen := newProxyTestRecorder(t)
	for _, tt := range []struct {
		name    string
		opts    []BalancerOption
		upgrade string
		want    string
	}{
		{"websocket passes", nil, "websocket", "websocket"},
		{"h2c is removed", nil, "h2c", ""},
		{"other protocol is removed", nil, "foo/2", ""},
		{"allowed by option", []BalancerOption{WithUpgrades("foo/2")}, "FOO/2", "FOO/2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := newProxyTestEnv(t, backend.URL, tt.opts...)
			req, _ := http.NewRequest(http.MethodGet, env.front.URL+"/", nil)
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", tt.upgrade)
			env.do(t, req)
			got := proxyTestNext(t, seen)
			assert.Equal(t, tt.want, got.header.Get("Upgrade"))
			if tt.want == "" {
				assert.Empty(t, got.header.Get("Connection"))
			}
		})
	}
}

func TestProxyNotAnOpenProxy(t *testing.T) {
	backend, seen := newProxyTestRecorder(t)
	other, otherSeen := newProxyTestRecorder(t)
	env := newProxyTestEnv(t, backend.URL)
	otherHost := strings.TrimPrefix(other.URL, "http://")

	conn, err := net.Dial("tcp", env.front.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	br := bufio.NewReader(conn)

	io.WriteString(conn, "GET http://"+otherHost+"/steal?x=1 HTTP/1.1\r\nHost: "+otherHost+"\r\n\r\n")
	res, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	got := proxyTestNext(t, seen)
	assert.Equal(t, "/steal?x=1", got.requestURI, "absolute-form goes to our backend")
	assert.Len(t, otherSeen, 0, "never to the named host")

	// CONNECT is refused by the Balancer, before forward.
	bal := newBalTestBalancer(t, []string{backend.URL})
	balFront := httptest.NewServer(bal)
	t.Cleanup(balFront.Close)
	conn2, err := net.Dial("tcp", balFront.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { conn2.Close() })
	io.WriteString(conn2, "CONNECT "+otherHost+" HTTP/1.1\r\nHost: "+otherHost+"\r\n\r\n")
	res, err = http.ReadResponse(bufio.NewReader(conn2), nil)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)
	assert.Len(t, seen, 0)
	assert.Len(t, otherSeen, 0)
}

func TestProxyNotSentOnDialError(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	env := newProxyTestEnv(t, dead.URL)
	req, _ := http.NewRequest(http.MethodPost, env.front.URL+"/", strings.NewReader("body"))
	req.Header.Set("Accept", "application/json")
	res, body := env.do(t, req)
	assert.Equal(t, http.StatusBadGateway, res.StatusCode)
	assert.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
	assert.NotContains(t, body, "127.0.0.1")
	err := env.lastErr(t)
	assert.ErrorIs(t, err, ErrNotSent)
	var berr *BackendError
	require.ErrorAs(t, err, &berr)
	assert.False(t, berr.responded)
	assert.Equal(t, dead.URL, berr.Backend)
	assert.Equal(t, int64(0), env.ld.inflight.Load())
}

func TestProxyWriteError(t *testing.T) {
	for _, tt := range []struct {
		name     string
		err      error
		accept   string
		wantCode int
		wantCT   string
		wantBody string
	}{
		{"no backend", ErrNoBackend, "", 503, "text/plain; charset=utf-8", "Service Unavailable\n"},
		{"timeout", &BackendError{Backend: "http://10.0.0.1", Class: ErrTimeout, Err: context.DeadlineExceeded}, "", 504, "text/plain; charset=utf-8", "Gateway Timeout\n"},
		{"broken as json", &BackendError{Backend: "http://10.0.0.1", Class: ErrBroken, Err: io.ErrUnexpectedEOF}, "text/html, application/json;q=0.9", 502, "application/problem+json",
			`{"type":"about:blank","title":"Bad Gateway","status":502}` + "\n"},
		{"not sent", &BackendError{Backend: "http://10.0.0.1", Class: ErrNotSent, Err: errors.New("dial tcp 10.0.0.1:80: refused")}, "", 502, "text/plain; charset=utf-8", "Bad Gateway\n"},
		// Only a client whose context was canceled gets 499, with no body:
		// nobody is there to read it.
		{"client gone", &BackendError{Class: ErrClientGone, Err: context.Canceled}, "", StatusClientClosedRequest, "", ""},
		// A live client whose body failed is told why.
		{"body too large", &BackendError{Class: ErrClientBody, Err: &http.MaxBytesError{Limit: 10}}, "", 413, "text/plain; charset=utf-8", "Request Entity Too Large\n"},
		{"bad body", &BackendError{Class: ErrClientBody, Err: errors.New("malformed chunked encoding")}, "", 400, "text/plain; charset=utf-8", "Bad Request\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var cfg proxyConfig
			require.NoError(t, cfg.validate())
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.accept != "" {
				req.Header.Set("Accept", tt.accept)
			}
			rec := httptest.NewRecorder()
			cfg.writeError(rec, req, tt.err)
			assert.Equal(t, tt.wantCode, rec.Code)
			assert.Equal(t, tt.wantCT, rec.Header().Get("Content-Type"))
			assert.Equal(t, tt.wantBody, rec.Body.String())
			assert.NotContains(t, rec.Body.String(), "10.0.0.1")
		})
	}
	t.Run("hook", func(t *testing.T) {
		var bc balancerConfig
		var got error
		WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
			got = err
			w.WriteHeader(http.StatusTeapot)
		}).applyBalancer(&bc)
		require.NoError(t, bc.proxy.validate())
		rec := httptest.NewRecorder()
		bc.proxy.writeError(rec, httptest.NewRequest(http.MethodGet, "/", nil), ErrNoBackend)
		assert.Equal(t, http.StatusTeapot, rec.Code)
		assert.ErrorIs(t, got, ErrNoBackend)
	})
}

func TestProxyOptionsValidate(t *testing.T) {
	for _, tt := range []struct {
		opt  BalancerOption
		want string
	}{
		{WithDialTimeout(-1), "WithDialTimeout"},
		{WithResponseHeaderTimeout(-time.Second), "WithResponseHeaderTimeout"},
		{WithIdleConnTimeout(-1), "WithIdleConnTimeout"},
		{WithMaxIdleConnsPerHost(-3), "WithMaxIdleConnsPerHost"},
		{WithUpgrades(""), "WithUpgrades"},
		{WithTrustedProxies("nope"), "WithTrustedProxies"},
	} {
		var bc balancerConfig
		tt.opt.applyBalancer(&bc)
		err := bc.proxy.validate()
		require.Error(t, err, tt.want)
		assert.Contains(t, err.Error(), tt.want)
	}
}

func TestProxyTransportDefaults(t *testing.T) {
	backend, seen := newProxyTestRecorder(t)
	env := newProxyTestEnv(t, backend.URL)
	c := env.f.client
	require.NotNil(t, c, "HTTP/1.1 backends get the backend client")
	assert.Equal(t, defaultMaxIdleConnsPerHost, c.pool.max)
	assert.Equal(t, defaultIdleConnTimeout, c.pool.idleTimeout())
	assert.Equal(t, defaultResponseHeaderTimeout, c.headerTimeout)
	assert.Equal(t, defaultDialTimeout, c.dialTimeout)
	req, _ := http.NewRequest(http.MethodGet, env.front.URL+"/", nil)
	req.Header.Set("Accept-Encoding", "identity")
	env.do(t, req)
	assert.Equal(t, "identity", proxyTestNext(t, seen).header.Get("Accept-Encoding"), "no transparent gzip")

	tuned := newProxyTestEnv(t, backend.URL, WithMaxIdleConnsPerHost(7), WithIdleConnTimeout(time.Minute),
		WithResponseHeaderTimeout(time.Second), WithDialTimeout(time.Second))
	assert.Equal(t, 7, tuned.f.client.pool.max)
	assert.Equal(t, time.Minute, tuned.f.client.pool.idleTimeout())
	assert.Equal(t, time.Second, tuned.f.client.headerTimeout)
	assert.Equal(t, time.Second, tuned.f.client.dialTimeout)
}

// proxyTestRoundTripper is a custom transport for WithTransport.
type proxyTestRoundTripper struct {
	mu   sync.Mutex
	seen int
	err  error
}

func (rt *proxyTestRoundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.seen++
	if rt.err != nil {
		return nil, rt.err
	}
	return &http.Response{StatusCode: http.StatusTeapot, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
}

func TestProxyCustomTransport(t *testing.T) {
	rt := &proxyTestRoundTripper{}
	env := newProxyTestEnv(t, "http://backend.invalid", WithTransport(rt))
	assert.Nil(t, env.f.client)
	res, _ := env.get(t, "/")
	assert.Equal(t, http.StatusTeapot, res.StatusCode)

	// A custom transport's non-dial error may have sent the request.
	rt.mu.Lock()
	rt.err = errors.New("opaque failure")
	rt.mu.Unlock()
	<-env.errs
	res, _ = env.get(t, "/")
	assert.Equal(t, http.StatusBadGateway, res.StatusCode)
	assert.ErrorIs(t, env.lastErr(t), ErrBroken)
}

func TestProxyH2CToBackend(t *testing.T) {
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}))
	backend.Config.Protocols = new(http.Protocols)
	backend.Config.Protocols.SetHTTP1(true)
	backend.Config.Protocols.SetUnencryptedHTTP2(true)
	backend.Start()
	t.Cleanup(backend.Close)
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	env := newProxyTestEnv(t, backend.URL, WithProtocols(&p))
	_, body := env.get(t, "/")
	assert.Equal(t, "HTTP/2.0", body)
	plain := newProxyTestEnv(t, backend.URL)
	_, body = plain.get(t, "/")
	assert.Equal(t, "HTTP/1.1", body, "HTTP/1.1 by default")
}

func TestProxyHTTP2OverTLSToBackend(t *testing.T) {
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}))
	backend.EnableHTTP2 = true
	backend.StartTLS()
	t.Cleanup(backend.Close)
	tlsConf := backend.Client().Transport.(*http.Transport).TLSClientConfig
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetHTTP2(true)
	env := newProxyTestEnv(t, backend.URL, WithTLSClientConfig(tlsConf), WithProtocols(&p))
	_, body := env.get(t, "/")
	assert.Equal(t, "HTTP/2.0", body)
	assert.NoError(t, env.lastErr(t))

	h1 := newProxyTestEnv(t, backend.URL, WithTLSClientConfig(tlsConf))
	_, body = h1.get(t, "/")
	assert.Equal(t, "HTTP/1.1", body, "HTTP/1.1 unless enabled")
}

func TestProxyCloseIdle(t *testing.T) {
	closed := make(chan struct{}, 4)
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	backend.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed <- struct{}{}
		}
	}
	backend.Start()
	t.Cleanup(backend.Close)
	env := newProxyTestEnv(t, backend.URL, WithIdleConnTimeout(time.Hour))
	env.get(t, "/")
	assert.Len(t, closed, 0, "kept alive")
	env.f.closeIdle()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("idle connection not closed")
	}
}

func TestAcceptsJSON(t *testing.T) {
	for accept, want := range map[string]bool{
		"":                                     false,
		"application/json":                     true,
		"application/problem+json":             true,
		"text/html, application/json;q=0.5":    true,
		"application/json;q=0":                 false,
		"application/json; q=0.000, text/html": false,
		"text/html,*/*;q=0.8":                  false,
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		assert.Equal(t, want, acceptsJSON(r), "Accept: %q", accept)
	}
}
