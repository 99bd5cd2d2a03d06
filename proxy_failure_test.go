package frontdoor

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newProxyTestRawBackend listens on 127.0.0.1 and runs handle on every
// accepted connection. Cleanup closes the listener and every connection and
// waits for the handlers.
func newProxyTestRawBackend(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				handle(c)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "http://" + ln.Addr().String()
}

// proxyTestReadRequest reads one request head and body from br.
func proxyTestReadRequest(br *bufio.Reader) error {
	req, err := http.ReadRequest(br)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, req.Body)
	return err
}

func TestProxyIdleClosingBackend(t *testing.T) {
	closed := make(chan struct{}, 8)
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	}))
	// The backend drops idle keep-alive connections long before our own
	// idle timeout (4 s) would.
	backend.Config.IdleTimeout = 300 * time.Millisecond
	backend.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed <- struct{}{}
		}
	}
	backend.Start()
	t.Cleanup(backend.Close)
	env := newProxyTestEnv(t, backend.URL)

	for i := range 3 {
		method := http.MethodGet
		var body io.Reader
		if i%2 == 1 {
			method, body = http.MethodPost, strings.NewReader("not replayable")
		}
		req, _ := http.NewRequest(method, env.front.URL+"/", body)
		res, got := env.do(t, req)
		assert.Equal(t, http.StatusOK, res.StatusCode, "request %d", i)
		assert.Equal(t, "ok", got)
		assert.NoError(t, env.lastErr(t))
		select {
		case <-closed: // the backend closed the idle connection
		case <-time.After(5 * time.Second):
			t.Fatal("backend kept the connection")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestProxyKeepAliveTimeoutHonoured(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Keep-Alive", "timeout=2, max=100")
		io.WriteString(w, "ok")
	}))
	t.Cleanup(backend.Close)
	env := newProxyTestEnv(t, backend.URL, WithIdleConnTimeout(time.Minute))
	res, _ := env.get(t, "/")
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Empty(t, res.Header.Get("Keep-Alive"), "hop-by-hop")
	assert.Equal(t, time.Second, env.f.client.pool.idleTimeout(), "closes before the backend's 2 s")
	res, _ = env.get(t, "/")
	assert.Equal(t, http.StatusOK, res.StatusCode)
}

func TestProxyLyingContentLength(t *testing.T) {
	t.Run("short body aborts the client response", func(t *testing.T) {
		backend := newProxyTestRawBackend(t, func(c net.Conn) {
			if proxyTestReadRequest(bufio.NewReader(c)) != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
		})
		env := newProxyTestEnv(t, backend)
		res, err := env.front.Client().Get(env.front.URL + "/")
		require.NoError(t, err)
		defer res.Body.Close()
		assert.Equal(t, http.StatusOK, res.StatusCode)
		_, err = io.ReadAll(res.Body)
		assert.Error(t, err, "client must see the truncation")
		err = env.lastErr(t)
		assert.ErrorIs(t, err, ErrBroken)
		var berr *BackendError
		require.ErrorAs(t, err, &berr)
		assert.True(t, berr.responded)
	})
	t.Run("long body is cut at Content-Length", func(t *testing.T) {
		var n atomic.Int32
		backend := newProxyTestRawBackend(t, func(c net.Conn) {
			br := bufio.NewReader(c)
			for proxyTestReadRequest(br) == nil {
				if n.Add(1) == 1 {
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA-GARBAGE")
					continue
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond")
			}
		})
		env := newProxyTestEnv(t, backend)
		res, body := env.get(t, "/")
		assert.Equal(t, http.StatusOK, res.StatusCode)
		assert.Equal(t, "hello", body)
		assert.NoError(t, env.lastErr(t))
		res, body = env.get(t, "/")
		assert.Equal(t, http.StatusOK, res.StatusCode, "the garbage does not poison the next request")
		assert.Equal(t, "second", body)
	})
}

func TestProxyBackendNeverAnswers(t *testing.T) {
	backend := newProxyTestRawBackend(t, func(c net.Conn) {
		proxyTestReadRequest(bufio.NewReader(c))
		io.Copy(io.Discard, c) // accept, read, never answer
	})
	env := newProxyTestEnv(t, backend, WithResponseHeaderTimeout(200*time.Millisecond))
	start := time.Now()
	res, body := env.get(t, "/")
	elapsed := time.Since(start)
	assert.Equal(t, http.StatusGatewayTimeout, res.StatusCode)
	assert.Equal(t, "Gateway Timeout\n", body)
	assert.Less(t, elapsed, 3*time.Second)
	assert.GreaterOrEqual(t, elapsed, 200*time.Millisecond)
	err := env.lastErr(t)
	assert.ErrorIs(t, err, ErrTimeout)
	assert.NotErrorIs(t, err, ErrNotSent)
}

func TestProxyBackendResetMidResponse(t *testing.T) {
	backend := newProxyTestRawBackend(t, func(c net.Conn) {
		if proxyTestReadRequest(bufio.NewReader(c)) != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
		time.Sleep(50 * time.Millisecond)
		c.(*net.TCPConn).SetLinger(0) // close with RST
	})
	env := newProxyTestEnv(t, backend)
	res, err := env.front.Client().Get(env.front.URL + "/")
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	assert.Error(t, err, "a chunked response must not end cleanly after a reset")
	assert.Equal(t, "first", string(b))
	err = env.lastErr(t)
	assert.ErrorIs(t, err, ErrBroken)
	assert.Equal(t, int64(0), env.ld.inflight.Load())
}

func TestProxyClientDisconnectMidResponse(t *testing.T) {
	backendGone := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		for {
			if _, err := io.WriteString(w, "tick\n"); err != nil {
				break
			}
			rc.Flush()
			select {
			case <-r.Context().Done():
				close(backendGone)
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}))
	t.Cleanup(backend.Close)
	env := newProxyTestEnv(t, backend.URL)

	conn, err := net.Dial("tcp", env.front.Listener.Addr().String())
	require.NoError(t, err)
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "tick\n", line)
	conn.Close()

	err = env.lastErr(t)
	assert.ErrorIs(t, err, ErrClientGone)
	select {
	case <-backendGone:
	case <-time.After(5 * time.Second):
		t.Fatal("backend request was not canceled")
	}
	assert.Equal(t, int64(0), env.ld.inflight.Load())
}

func TestProxyClientGoneBeforeHeaders(t *testing.T) {
	entered := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done()
	}))
	t.Cleanup(backend.Close)
	env := newProxyTestEnv(t, backend.URL)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, env.front.URL+"/", nil)
	go func() {
		<-entered
		cancel()
	}()
	_, err := env.front.Client().Do(req)
	require.Error(t, err)
	assert.ErrorIs(t, env.lastErr(t), ErrClientGone)
}

// proxyTestFlakyConn fails every write once armed, before writing a byte,
// as a reused connection the backend has already reset does.
type proxyTestFlakyConn struct {
	net.Conn
	armed *atomic.Bool
}

func (c *proxyTestFlakyConn) Write(p []byte) (int, error) {
	if c.armed.Load() {
		c.Conn.Close()
		return 0, &net.OpError{Op: "write", Net: "tcp", Err: syscall.EPIPE}
	}
	return c.Conn.Write(p)
}

func TestProxyReusedConnDeadBeforeWriteIsNotSent(t *testing.T) {
	backend, seen := newProxyTestRecorder(t)
	var armed atomic.Bool
	var dials atomic.Int32
	var bc balancerConfig
	bc.proxy.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &proxyTestFlakyConn{Conn: c, armed: &armed}, nil
	}
	env := newProxyTestEnvFromConfig(t, backend.URL, &bc)

	res, _ := env.get(t, "/")
	require.Equal(t, http.StatusOK, res.StatusCode)
	proxyTestNext(t, seen)
	require.NoError(t, env.lastErr(t))

	armed.Store(true)
	body := &proxyTestCountingBody{r: strings.NewReader("payload")}
	req, _ := http.NewRequest(http.MethodPost, env.front.URL+"/", body)
	req.ContentLength = -1
	res, _ = env.do(t, req)
	assert.Equal(t, http.StatusBadGateway, res.StatusCode)
	err := env.lastErr(t)
	assert.ErrorIs(t, err, ErrNotSent, "nothing reached the backend: safe to retry")
	assert.Len(t, seen, 0)
	assert.Equal(t, int32(2), dials.Load(), "the reused connection failed, then one new connection did")
}

// proxyTestCountingBody is a request body of unknown length.
type proxyTestCountingBody struct{ r io.Reader }

func (b *proxyTestCountingBody) Read(p []byte) (int, error) { return b.r.Read(p) }

// newProxyTestEnvFromConfig is newProxyTestEnv for a hand-built config.
func newProxyTestEnvFromConfig(t *testing.T, backend string, bc *balancerConfig) *proxyTestEnv {
	t.Helper()
	env := newProxyTestEnv(t, backend)
	require.NoError(t, bc.proxy.validate())
	f, err := newForwarder(env.f.target, &bc.proxy, env.ld, env.f.logger)
	require.NoError(t, err)
	t.Cleanup(f.closeIdle)
	env.f, env.cfg = f, &bc.proxy
	return env
}

func TestProxyLargeUploadStreams(t *testing.T) {
	const size = 100 << 20
	received := make(chan int64, 1)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		received <- n
	}))
	t.Cleanup(backend.Close)
	env := newProxyTestEnv(t, backend.URL)

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse

	pr, pw := io.Pipe()
	go func() {
		chunk := make([]byte, 64<<10)
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Close()
	}()
	stop := make(chan struct{})
	peak := make(chan uint64, 1)
	go func() {
		var top uint64
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			top = max(top, ms.HeapInuse)
			select {
			case <-stop:
				peak <- top
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	req, _ := http.NewRequest(http.MethodPut, env.front.URL+"/upload", pr)
	res, _ := env.do(t, req)
	close(stop)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, int64(size), <-received, "every byte arrived")
	grown := int64(<-peak) - int64(base)
	t.Logf("heap grew by %d bytes for a %d-byte upload", grown, size)
	assert.Less(t, grown, int64(10<<20), "heap grew by %d bytes for a %d-byte upload", grown, size)
}

func TestProxyRecoversOtherPanicsUntouched(t *testing.T) {
	var cfg proxyConfig
	require.NoError(t, cfg.validate())
	cfg.transport = proxyTestPanicTransport{}
	var ld load
	f, err := newForwarder(mustParseProxyTestURL(t, "http://backend.invalid"), &cfg, &ld, nil)
	require.NoError(t, err)
	assert.PanicsWithValue(t, "boom", func() {
		f.forward(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	})
	assert.Equal(t, int64(0), ld.inflight.Load())
}

// proxyTestPanicTransport panics with something other than
// http.ErrAbortHandler.
type proxyTestPanicTransport struct{}

func (proxyTestPanicTransport) RoundTrip(*http.Request) (*http.Response, error) { panic("boom") }

func mustParseProxyTestURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

func TestProxyTLSHandshakeFailureIsNotSent(t *testing.T) {
	backend := httptest.NewTLSServer(http.NotFoundHandler()) // a certificate we do not trust
	t.Cleanup(backend.Close)
	env := newProxyTestEnv(t, backend.URL)
	res, body := env.get(t, "/")
	assert.Equal(t, http.StatusBadGateway, res.StatusCode)
	assert.NotContains(t, body, "x509")
	assert.ErrorIs(t, env.lastErr(t), ErrNotSent)
}

func TestProxyResetMidResponseOverHTTP2Client(t *testing.T) {
	backend := newProxyTestRawBackend(t, func(c net.Conn) {
		if proxyTestReadRequest(bufio.NewReader(c)) != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
		time.Sleep(50 * time.Millisecond)
		c.(*net.TCPConn).SetLinger(0)
	})
	env := newProxyTestEnv(t, backend)
	// An HTTP/2 ResponseWriter cannot be hijacked: forward returns the
	// error with its abort flag set instead of panicking, and its caller
	// (the Balancer, here this handler) panics with http.ErrAbortHandler
	// once done with the error.
	errs := make(chan error, 1)
	front := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		assert.NotPanics(t, func() { err = env.f.forward(w, r) }, "forward never panics")
		errs <- err
		if berr, ok := errors.AsType[*BackendError](err); ok && berr.abort {
			panic(http.ErrAbortHandler)
		}
	}))
	front.EnableHTTP2 = true
	front.StartTLS()
	t.Cleanup(front.Close)
	res, err := front.Client().Get(front.URL + "/")
	require.NoError(t, err)
	defer res.Body.Close()
	assert.Equal(t, 2, res.ProtoMajor)
	_, err = io.ReadAll(res.Body)
	assert.Error(t, err, "the stream is reset, not ended cleanly")
	assert.Eventually(t, func() bool { return env.ld.inflight.Load() == 0 }, 5*time.Second, time.Millisecond)
	var ferr error
	select {
	case ferr = <-errs:
	case <-time.After(5 * time.Second):
		t.Fatal("forward did not return")
	}
	assert.ErrorIs(t, ferr, ErrBroken)
	assert.ErrorIs(t, ferr, errResponseCut)
	berr, ok := errors.AsType[*BackendError](ferr)
	require.True(t, ok, "a *BackendError")
	assert.True(t, berr.responded, "headers had gone out")
	assert.True(t, berr.abort, "an HTTP/2 stream cannot be hijacked: the caller must abort it")
}

func TestProxyRequestDeadlineIsTimeout(t *testing.T) {
	backend := newProxyTestRawBackend(t, func(c net.Conn) {
		proxyTestReadRequest(bufio.NewReader(c))
		io.Copy(io.Discard, c)
	})
	env := newProxyTestEnv(t, backend)
	// A per-attempt deadline, as a Balancer's retry policy may set, is a
	// timeout, not a gone client.
	inner := env.front.Config.Handler
	env.front.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 100*time.Millisecond)
		defer cancel()
		inner.ServeHTTP(w, r.WithContext(ctx))
	})
	res, _ := env.get(t, "/")
	assert.Equal(t, http.StatusGatewayTimeout, res.StatusCode)
	assert.ErrorIs(t, env.lastErr(t), ErrTimeout)
}

func TestProxyUnaskedUpgradeIsRefused(t *testing.T) {
	backendClosed := make(chan struct{})
	backend := newProxyTestRawBackend(t, func(c net.Conn) {
		if proxyTestReadRequest(bufio.NewReader(c)) != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
		c.Read(make([]byte, 1)) // returns once the proxy closes its side
		close(backendClosed)
	})
	env := newProxyTestEnv(t, backend)
	req, _ := http.NewRequest(http.MethodGet, env.front.URL+"/", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "h2c") // removed by the proxy: not allowed
	res, _ := env.do(t, req)
	assert.Equal(t, http.StatusBadGateway, res.StatusCode)
	assert.ErrorIs(t, env.lastErr(t), ErrBroken)
	select {
	case <-backendClosed:
	case <-time.After(5 * time.Second):
		t.Fatal("backend connection left open")
	}
	assert.Equal(t, int64(0), env.ld.streams.Load())
}
