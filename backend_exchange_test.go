package frontdoor

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// backendTestRawExchange sends a raw request to addr and returns all bytes
// of the answer, up to the server's close.
func backendTestRawExchange(t *testing.T, addr, request string) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(conn, request)
	require.NoError(t, err)
	b, _ := io.ReadAll(conn)
	return string(b)
}

func TestBackendExchangeEarlyHintsOnlyToHTTP11(t *testing.T) {
	backend := newProxyTestRawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for proxyTestReadRequest(br) == nil {
			io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"+
				"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	front, _ := newBackendTestFront(t, backend)
	addr := front.Listener.Addr().String()

	got := backendTestRawExchange(t, addr, "GET / HTTP/1.0\r\nHost: front\r\n\r\n")
	assert.True(t, strings.HasPrefix(got, "HTTP/1.0 200 OK\r\n"), "an HTTP/1.0 client gets no 1xx (RFC 9110 §15.2): %q", got)
	assert.NotContains(t, got, "103")

	got = backendTestRawExchange(t, addr, "GET / HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n")
	assert.True(t, strings.HasPrefix(got, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\n"),
		"an HTTP/1.1 client gets it: %q", got)
}

func TestBackendExchangeForwardsRequestTrailers(t *testing.T) {
	type seen struct {
		body    string
		trailer http.Header
	}
	got := make(chan seen, 1)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{string(b), r.Trailer.Clone()}
	}))
	t.Cleanup(backend.Close)
	front, _ := newBackendTestFront(t, backend.URL)
	res := backendTestRawExchange(t, front.Listener.Addr().String(),
		"POST /up HTTP/1.1\r\nHost: front\r\nConnection: close\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"+
			"5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-Undeclared: 1\r\nContent-Length: 99\r\n\r\n")
	assert.True(t, strings.HasPrefix(res, "HTTP/1.1 200 OK\r\n"), res)
	s := <-got
	assert.Equal(t, "hello", s.body)
	assert.Equal(t, "abc", s.trailer.Get("X-Checksum"), "declared trailer")
	assert.Equal(t, "1", s.trailer.Get("X-Undeclared"), "undeclared trailer")
	assert.Empty(t, s.trailer.Get("Content-Length"), "never a framing field")
}

func TestBackendExchangeExpectContinueRefused(t *testing.T) {
	// The backend refuses the upload before asking for it: the body is
	// never sent, and the connection, whose request is incomplete, is
	// closed.
	bodyBytes := make(chan int64, 1)
	backend := newProxyTestRawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n")
		n, _ := io.Copy(io.Discard, br) // until the proxy closes
		bodyBytes <- n
	})
	front, _ := newBackendTestFront(t, backend)
	req, _ := http.NewRequest(http.MethodPut, front.URL+"/up", strings.NewReader(strings.Repeat("x", 1000)))
	req.Header.Set("Expect", "100-continue")
	tr := &http.Transport{ExpectContinueTimeout: 5 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	res, err := tr.RoundTrip(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusExpectationFailed, res.StatusCode)
	select {
	case n := <-bodyBytes:
		assert.Zero(t, n, "no body byte reached the backend")
	case <-time.After(5 * time.Second):
		t.Fatal("the connection was kept")
	}
}

// backendTestArmConn fails its writes before writing a byte once armed, as
// a reused connection the backend has reset does.
type backendTestArmConn struct {
	net.Conn
	armed atomic.Bool
}

func (c *backendTestArmConn) Write(p []byte) (int, error) {
	if c.armed.Load() {
		return 0, &net.OpError{Op: "write", Net: "tcp", Err: io.ErrClosedPipe}
	}
	return c.Conn.Write(p)
}

func TestBackendExchangeRetriesDeadReusedConnection(t *testing.T) {
	backend, seen := newProxyTestRecorder(t)
	var mu sync.Mutex
	var conns []*backendTestArmConn
	var bc balancerConfig
	bc.proxy.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		ac := &backendTestArmConn{Conn: c}
		mu.Lock()
		conns = append(conns, ac)
		mu.Unlock()
		return ac, nil
	}
	env := newProxyTestEnvFromConfig(t, backend.URL, &bc)
	res, _ := env.get(t, "/")
	require.Equal(t, http.StatusOK, res.StatusCode)
	proxyTestNext(t, seen)
	require.NoError(t, env.lastErr(t))

	mu.Lock()
	conns[0].armed.Store(true)
	mu.Unlock()
	res, body := env.get(t, "/again")
	assert.Equal(t, http.StatusOK, res.StatusCode, "a bodiless request goes again on a new connection")
	assert.Equal(t, "ok", body)
	assert.NoError(t, env.lastErr(t))
	assert.Equal(t, "/again", proxyTestNext(t, seen).requestURI)
	mu.Lock()
	assert.Len(t, conns, 2)
	conns[1].armed.Store(true)
	mu.Unlock()

	// A request with a body whose head never went out left the body
	// unread: it goes again on a new connection too, not back to the
	// Balancer as not sent (which would count against a live backend).
	req, err := http.NewRequest(http.MethodPost, env.front.URL+"/post", strings.NewReader("payload"))
	require.NoError(t, err)
	res, body = env.do(t, req)
	assert.Equal(t, http.StatusOK, res.StatusCode, "a POST whose head was not written goes again")
	assert.Equal(t, "ok", body)
	assert.NoError(t, env.lastErr(t))
	got := proxyTestNext(t, seen)
	assert.Equal(t, "/post", got.requestURI)
	assert.Equal(t, "payload", got.body)
	mu.Lock()
	assert.Len(t, conns, 3)
	mu.Unlock()
}

func TestBackendExchangeRetriesIdempotentOnSilentClose(t *testing.T) {
	// The backend takes the second request on a connection and closes it
	// without a byte of answer, as a server closing an idle connection
	// at that moment does.
	var requests atomic.Int32
	backend := newProxyTestRawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for n := 0; ; n++ {
			if proxyTestReadRequest(br) != nil {
				return
			}
			requests.Add(1)
			if n == 1 {
				return // closes
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	env := newProxyTestEnv(t, backend)
	res, _ := env.get(t, "/")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.NoError(t, env.lastErr(t))

	res, body := env.get(t, "/")
	assert.Equal(t, http.StatusOK, res.StatusCode, "a GET is sent again on a new connection")
	assert.Equal(t, "ok", body)
	assert.NoError(t, env.lastErr(t))
	assert.Equal(t, int32(3), requests.Load())

	req, _ := http.NewRequest(http.MethodPost, env.front.URL+"/", nil)
	res, _ = env.do(t, req)
	assert.Equal(t, http.StatusBadGateway, res.StatusCode, "a POST is not")
	assert.ErrorIs(t, env.lastErr(t), ErrBroken)
}

// backendTestRecorder is a raw backend that records each request as the
// bytes of its head and its decoded body, and answers 200 "ok".
func backendTestRecorder(t *testing.T) (string, chan [2]string) {
	t.Helper()
	seen := make(chan [2]string, 16)
	url := newProxyTestRawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			var head bytes.Buffer
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				head.WriteString(line)
				if line == "\r\n" {
					break
				}
			}
			req, err := http.ReadRequest(bufio.NewReader(io.MultiReader(bytes.NewReader(head.Bytes()), br)))
			if err != nil {
				return
			}
			body, _ := io.ReadAll(req.Body)
			if len(req.Trailer) > 0 {
				body = append(body, fmt.Sprintf(" trailer %v", req.Trailer)...)
			}
			seen <- [2]string{head.String(), string(body)}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	return url, seen
}

func TestBackendExchangeWritesWhatTransportWrites(t *testing.T) {
	// The backend sees the same bytes from the backend client as from
	// net/http's Transport under the same ReverseProxy: same fields, same
	// order. Bodies are compared decoded, since chunk sizes follow reads.
	backend, seen := backendTestRecorder(t)
	ours, _ := newBackendTestFront(t, backend)
	tr := &http.Transport{DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	theirs, _ := newBackendTestFront(t, backend, WithTransport(tr))
	requests := []string{
		"GET /a%2Fb/c?x=1&y=%zz HTTP/1.1\r\nHost: site\r\nAccept: */*\r\nX-Multi: 1\r\nX-Multi: 2\r\nUser-Agent: curl/8\r\n\r\n",
		"GET /p? HTTP/1.1\r\nHost: site\r\nCookie: a=1\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nTE: trailers\r\n\r\n",
		"HEAD / HTTP/1.1\r\nHost: site\r\n\r\n",
		"DELETE /d HTTP/1.1\r\nHost: site\r\n\r\n",
		"POST /empty HTTP/1.1\r\nHost: site\r\nContent-Length: 0\r\n\r\n",
		"PUT /up HTTP/1.1\r\nHost: site\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
		"POST /chunks HTTP/1.1\r\nHost: site\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n" +
			"3\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 5\r\n\r\n",
		"GET /old HTTP/1.0\r\nHost: site\r\n\r\n",
	}
	for _, raw := range requests {
		var got [2][2]string
		for i, front := range []*httptest.Server{ours, theirs} {
			conn, err := net.Dial("tcp", front.Listener.Addr().String())
			require.NoError(t, err)
			require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
			_, err = io.WriteString(conn, raw)
			require.NoError(t, err)
			method, _, _ := strings.Cut(raw, " ")
			res, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
			require.NoError(t, err, raw)
			res.Body.Close()
			conn.Close()
			assert.Equal(t, http.StatusOK, res.StatusCode, raw)
			select {
			case got[i] = <-seen:
			case <-time.After(5 * time.Second):
				t.Fatalf("backend saw nothing of %q", raw)
			}
		}
		assert.Equal(t, got[1], got[0], "request %q", raw)
	}
}

func TestBackendExchangeHeaderTimeoutCountsFromBodyEnd(t *testing.T) {
	// The wait for response headers starts once the body went out: a slow
	// upload is not a slow backend, a backend silent after it is.
	backend := newProxyTestRawBackend(t, func(c net.Conn) {
		proxyTestReadRequest(bufio.NewReader(c))
		io.Copy(io.Discard, c) // never answers
	})
	env := newProxyTestEnv(t, backend, WithResponseHeaderTimeout(300*time.Millisecond))
	pr, pw := io.Pipe()
	go func() {
		for range 4 { // 600 ms of upload, twice the timeout
			time.Sleep(150 * time.Millisecond)
			pw.Write([]byte("part"))
		}
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, env.front.URL+"/", pr)
	start := time.Now()
	res, _ := env.do(t, req)
	assert.Equal(t, http.StatusGatewayTimeout, res.StatusCode)
	assert.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond, "upload plus timeout")
	assert.ErrorIs(t, env.lastErr(t), ErrTimeout)
}
