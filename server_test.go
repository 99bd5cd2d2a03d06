package frontdoor

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// srvTest is a frontdoor.Server and a plain http.Server with the same
// handler (a Mux with a StaticFS at "/" and a Balancer at "/api"), each on
// its own 127.0.0.1 listener, to compare what they send byte for byte.
type srvTest struct {
	dir      string
	mux      *Mux
	fast     *Server
	fastAddr string
	std      *http.Server
	stdAddr  string
	handed   atomic.Int64 // connections the fast path handed over
}

// srvTestFiles is the site both servers serve.
var srvTestFiles = map[string]string{
	"index.html":         "<!doctype html><title>home</title>",
	"app.3f9a1c2b.js":    "console.log('fingerprinted')",
	"style.css":          "body{color:teal}",
	"data.json":          `{"ok":true}`,
	"noext":              "plain bytes",
	"app.js":             strings.Repeat("console.log('x');", 50),
	"app.js.br":          "fake-brotli-bytes",
	"app.js.gz":          "fake-gzip-bytes",
	"sub/index.html":     "<p>sub</p>",
	"sub/page.html":      "<p>page</p>",
	".secret":            "do not serve",
	".well-known/x.txt":  "well known",
	"mid.bin":            strings.Repeat("m", 40<<10),  // in memory, sent with writev
	"huge.bin":           strings.Repeat("h", 200<<10), // not in memory: net/http sends it
	"file with space.js": "spaced",
}

func newSrvTest(t testing.TB, configure func(*http.Server)) *srvTest {
	t.Helper()
	st := &srvTest{dir: t.TempDir()}
	for name, body := range srvTestFiles {
		p := filepath.Join(st.dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	fsys, err := OpenDir(st.dir)
	require.NoError(t, err)
	static, err := NewStaticFS(fsys)
	require.NoError(t, err)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/slow" {
			time.Sleep(300 * time.Millisecond)
		}
		io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Path", r.URL.RequestURI())
		io.WriteString(w, "api says hi")
	}))
	t.Cleanup(api.Close)
	bal, err := NewBalancer([]string{api.URL}, balTestQuiet)
	require.NoError(t, err)
	t.Cleanup(func() { bal.Close() })
	st.mux = NewMux()
	st.mux.Handle("/", static)
	st.mux.Handle("/api", bal)

	newHTTP := func() *http.Server {
		hs := &http.Server{Handler: st.mux, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 5 * time.Second}
		if configure != nil {
			configure(hs)
		}
		return hs
	}
	fastHTTP := newHTTP()
	fastHTTP.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		st.handed.Add(1)
		return ctx
	}
	st.fast, err = NewServer(fastHTTP)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	st.fastAddr = ln.Addr().String()
	fastDone := make(chan error, 1)
	go func() { fastDone <- st.fast.Serve(ln) }()

	st.std = newHTTP()
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	st.stdAddr = ln2.Addr().String()
	stdDone := make(chan error, 1)
	go func() { stdDone <- st.std.Serve(ln2) }()

	t.Cleanup(func() {
		st.fast.Close()
		st.std.Close()
		assert.ErrorIs(t, <-fastDone, http.ErrServerClosed)
		assert.ErrorIs(t, <-stdDone, http.ErrServerClosed)
	})
	return st
}

// srvTestDate matches the Date field, the one part of a response that may
// differ between the two servers.
var srvTestDate = regexp.MustCompile(`(?m)^Date: [^\r]*\r\n`)

// exchange sends raw on a new connection to addr and returns every byte
// received for the responses to the requests in raw (methods lists their
// methods, to frame HEAD answers), Date fields removed. It stops early
// when the server closes the connection.
func srvTestExchange(t testing.TB, addr, raw string) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(conn, raw)
	require.NoError(t, err)
	var got bytes.Buffer
	br := bufio.NewReader(io.TeeReader(conn, &got))
	for _, method := range srvTestMethods(raw) {
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			break // the server closed the connection after a 400
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.Close {
			break
		}
	}
	// Nothing may follow the last response; what bufio read ahead is in
	// got too, so an extra byte would show as a difference.
	return srvTestDate.ReplaceAllString(got.String(), "")
}

// srvTestMethods returns the method of each request in raw, as far as a
// line following an empty line (or the start) names one.
func srvTestMethods(raw string) []string {
	var methods []string
	for _, part := range strings.Split(raw, "\r\n\r\n") {
		method, _, ok := strings.Cut(part, " ")
		if ok && method != "" && !strings.ContainsAny(method, "\r\n:") {
			methods = append(methods, method)
		}
	}
	return methods
}

// compare sends raw to both servers and requires the same bytes back. It
// reports how many connections the fast path handed over meanwhile.
func (st *srvTest) compare(t testing.TB, raw string) (got string, handedOver int64) {
	t.Helper()
	before := st.handed.Load()
	got = srvTestExchange(t, st.fastAddr, raw)
	want := srvTestExchange(t, st.stdAddr, raw)
	require.Equal(t, want, got, "frontdoor.Server and http.Server differ on %q", raw)
	return got, st.handed.Load() - before
}

func TestServerAnswersLikeNetHTTP(t *testing.T) {
	st := newSrvTest(t, nil)
	get := func(target string, fields ...string) string {
		return "GET " + target + " HTTP/1.1\r\nHost: front\r\n" + strings.Join(fields, "") + "\r\n"
	}
	cases := []struct {
		name string
		raw  string
		fast bool   // the fast path answers it all
		want string // a part of the response
	}{
		{"root index", get("/"), true, "<title>home"},
		{"file", get("/style.css"), true, "text/css; charset=utf-8"},
		{"fingerprinted", get("/app.3f9a1c2b.js"), true, "immutable"},
		{"json", get("/data.json"), true, `{"ok":true}`},
		{"sniffed", get("/noext"), true, "plain bytes"},
		{"query ignored", get("/style.css?v=3&x=%41"), true, "teal"},
		{"sub index", get("/sub/"), true, "<p>sub</p>"},
		{"well-known", get("/.well-known/x.txt"), true, "well known"},
		{"head", "HEAD /style.css HTTP/1.1\r\nHost: front\r\n\r\n", true, "Content-Length: 16"},
		{"keep-alive", get("/style.css", "Connection: keep-alive\r\n"), true, "teal"},
		{"header fields ignored", get("/style.css", "User-Agent: t\r\nAccept: */*\r\nCookie: a=b\r\n"), true, "teal"},
		{"writev body", get("/mid.bin"), true, "Content-Length: 40960"},
		{"brotli sibling", get("/app.js", "Accept-Encoding: gzip, br\r\n"), true, "fake-brotli-bytes"},
		{"gzip sibling", get("/app.js", "Accept-Encoding: gzip\r\n"), true, "fake-gzip-bytes"},
		{"identity refused siblings", get("/app.js", "Accept-Encoding: br;q=0, gzip;q=0\r\n"), true, "Vary: Accept-Encoding"},
		{"two accept-encoding fields", get("/app.js", "Accept-Encoding: identity\r\nAccept-Encoding: gzip\r\n"), true, "fake-gzip-bytes"},
		{"pipelined writev", get("/mid.bin") + get("/style.css") + get("/mid.bin") + get("/data.json"), true, `{"ok":true}`},
		{"pipelined", get("/style.css") + get("/data.json") + "HEAD / HTTP/1.1\r\nHost: front\r\n\r\n", true, `{"ok":true}`},

		{"from disk", get("/huge.bin"), true, "Content-Length: 204800"},
		{"from disk, head", "HEAD /huge.bin HTTP/1.1\r\nHost: front\r\n\r\n", true, "Content-Length: 204800"},
		{"from disk, pipelined", get("/style.css") + get("/huge.bin") + get("/mid.bin") + get("/huge.bin") + get("/data.json"), true, `{"ok":true}`},
		{"missing", get("/nope.js"), false, "404"},
		{"dotfile", get("/.secret"), false, "404"},
		{"directory redirect", get("/sub?x=1"), false, "Location: ./sub/?x=1"},
		{"encoded path", get("/file%20with%20space.js"), false, "spaced"},
		{"dot segments", get("/sub/../style.css"), false, "400 Bad Request"},
		{"dot segment", get("/sub/./style.css"), false, "400 Bad Request"},
		{"trailing dot segment", get("/sub/.."), false, "400 Bad Request"},
		{"dot segments to the api", get("/sub/../api/x"), false, "400 Bad Request"},
		{"dot segments from the api", get("/api/../style.css"), false, "400 Bad Request"},
		{"traversal", get("/%2e%2e/%2e%2e/etc/passwd"), false, "400 Bad Request"},
		{"encoded dot segment, mixed case", get("/api/x/%2E%2e/y"), false, "400 Bad Request"},
		{"half-encoded dot segment", get("/api/x/.%2e/y"), false, "400 Bad Request"},
		{"dot segment behind an encoded slash", get("/api/x%2F..%2Fy"), false, "400 Bad Request"},
		{"dot segment with a parameter", get("/api/x/..;p/y"), false, "400 Bad Request"},
		{"dot segment behind a backslash", get("/api/x\\..\\y"), false, "400 Bad Request"},
		{"dot segment, JSON client", get("/api/x/../y", "Accept: application/json\r\n"), false, `"status":400`},
		{"dot segment, pipelined", get("/style.css") + get("/a/../style.css") + get("/data.json"), false, `{"ok":true}`},
		{"dot segment in the query only", get("/api/x?p=../y"), false, "X-Path: /api/x?p=../y"},
		{"dots that are no segment", get("/api/..x/y../.z"), false, "X-Path: /api/..x/y../.z"},
		{"encoded slash forwarded as is", get("/api/a%2Fb"), false, "X-Path: /api/a%2Fb"},
		{"double slashes forwarded as is", get("//api//x"), false, "X-Path: //api//x"},
		{"asterisk form", get("*"), false, "Connection: close"},
		{"asterisk form, head", "HEAD * HTTP/1.1\r\nHost: front\r\n\r\n", false, "400 Bad Request"},
		{"asterisk form then more", get("*") + get("/style.css"), false, "400 Bad Request"},
		{"options asterisk", "OPTIONS * HTTP/1.1\r\nHost: front\r\n\r\n", false, "200 OK"},
		{"double slash", get("//style.css"), false, ""},
		{"range", get("/style.css", "Range: bytes=0-3\r\n"), false, "206"},
		{"if-none-match", get("/style.css", "If-None-Match: *\r\n"), false, "304"},
		{"if-modified-since", get("/style.css", "If-Modified-Since: Sun, 06 Nov 2050 08:49:37 GMT\r\n"), false, "304"},
		{"connection close", get("/style.css", "Connection: close\r\n"), false, "Connection: close"},
		{"expect", get("/style.css", "Expect: 100-continue\r\n"), false, ""},
		{"post", "POST /style.css HTTP/1.1\r\nHost: front\r\nContent-Length: 2\r\n\r\nhi", false, "405"},
		{"chunked get", "GET /style.css HTTP/1.1\r\nHost: front\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false, ""},
		{"http/1.0", "GET /style.css HTTP/1.0\r\n\r\n", false, "teal"},
		{"absolute form", "GET http://front/style.css HTTP/1.1\r\nHost: front\r\n\r\n", false, "teal"},
		{"no host", "GET /style.css HTTP/1.1\r\n\r\n", false, "400"},
		{"two hosts", "GET /style.css HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", false, "400"},
		{"bad host", "GET /style.css HTTP/1.1\r\nHost: a b\r\n\r\n", false, "400"},
		{"bad field name", get("/style.css", "Bad Name: x\r\n"), false, "400"},
		{"folded field", get("/style.css", "X-A: 1\r\n continued\r\n"), false, ""},
		{"control byte", get("/style.css", "X-A: a\x01b\r\n"), false, "400"},
		{"bare LF", "GET /style.css HTTP/1.1\nHost: front\n\n", false, "teal"},
		{"lower-case method", "get /style.css HTTP/1.1\r\nHost: front\r\n\r\n", false, ""},
		{"api route", get("/api/x?q=1"), false, "X-Path: /api/x?q=1"},
		{"upgrade", get("/style.css", "Connection: Upgrade\r\nUpgrade: websocket\r\n"), false, ""},
		{"fast then slow then fast", get("/style.css") + get("/api/y") + get("/data.json"), false, "api says hi"},
		{"oversized header", get("/style.css", "X-Big: "+strings.Repeat("b", 5000)+"\r\n"), false, "teal"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, handed := st.compare(t, tc.raw)
			assert.Contains(t, got, tc.want)
			if tc.fast {
				assert.Zero(t, handed, "the fast path answers every request")
			} else {
				assert.Equal(t, int64(1), handed, "the fast path hands the connection over")
			}
		})
	}
}

func TestServerSeesFileChanges(t *testing.T) {
	st := newSrvTest(t, nil)
	req := "GET /style.css HTTP/1.1\r\nHost: front\r\n\r\n"
	got, _ := st.compare(t, req)
	require.Contains(t, got, "teal")

	p := filepath.Join(st.dir, "style.css")
	require.NoError(t, os.WriteFile(p, []byte("body{color:orange;margin:0}"), 0o644))
	// A new mod time even on coarse file systems.
	later := time.Now().Add(time.Hour)
	require.NoError(t, os.Chtimes(p, later, later))

	got, handed := st.compare(t, req)
	assert.Contains(t, got, "orange")
	assert.NotContains(t, got, "teal")
	assert.Zero(t, handed)
}

func TestServerFirstRequestOfAFileIsFast(t *testing.T) {
	st := newSrvTest(t, nil)
	before := st.handed.Load()
	got := srvTestExchange(t, st.fastAddr, "GET /sub/page.html HTTP/1.1\r\nHost: front\r\n\r\n")
	assert.Contains(t, got, "<p>page</p>")
	assert.Equal(t, before, st.handed.Load(), "a file never served before is loaded by the fast path itself")
}

func TestServerKeepsConnectionAfterHandover(t *testing.T) {
	st := newSrvTest(t, nil)
	conn, err := net.Dial("tcp", st.fastAddr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	br := bufio.NewReader(conn)
	for i, target := range []string{"/style.css", "/api/a", "/style.css", "/data.json"} {
		_, err := io.WriteString(conn, "GET "+target+" HTTP/1.1\r\nHost: front\r\n\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err, "request %d", i)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "request %d", i)
		assert.NotEmpty(t, body)
	}
	assert.Equal(t, int64(1), st.handed.Load(), "one connection, handed over once")
}

func TestServerNoKeepAlives(t *testing.T) {
	st := newSrvTest(t, nil)
	st.fast.SetKeepAlivesEnabled(false)
	st.std.SetKeepAlivesEnabled(false)
	got, handed := st.compare(t, "GET /style.css HTTP/1.1\r\nHost: front\r\n\r\nGET /data.json HTTP/1.1\r\nHost: front\r\n\r\n")
	assert.Contains(t, got, "Connection: close")
	assert.NotContains(t, got, `{"ok":true}`, "the connection closes after the first response")
	assert.Zero(t, handed)
}

func TestServerTimeouts(t *testing.T) {
	st := newSrvTest(t, func(hs *http.Server) {
		hs.ReadHeaderTimeout = 200 * time.Millisecond
		hs.IdleTimeout = 300 * time.Millisecond
	})
	closedWithin := func(t *testing.T, conn net.Conn) time.Duration {
		t.Helper()
		start := time.Now()
		require.NoError(t, conn.SetReadDeadline(start.Add(5*time.Second)))
		_, err := io.Copy(io.Discard, conn)
		require.NoError(t, err, "the server closes the connection (EOF), not our deadline")
		return time.Since(start)
	}
	t.Run("idle", func(t *testing.T) {
		conn, err := net.Dial("tcp", st.fastAddr)
		require.NoError(t, err)
		defer conn.Close()
		_, err = io.WriteString(conn, "GET /style.css HTTP/1.1\r\nHost: front\r\n\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		resp.Body.Close()
		d := closedWithin(t, conn)
		assert.Greater(t, d, 150*time.Millisecond)
		assert.Less(t, d, 2*time.Second)
	})
	t.Run("slow header", func(t *testing.T) {
		conn, err := net.Dial("tcp", st.fastAddr)
		require.NoError(t, err)
		defer conn.Close()
		_, err = io.WriteString(conn, "GET /style.css HTTP/1.1\r\nHost: fr")
		require.NoError(t, err)
		d := closedWithin(t, conn)
		assert.Less(t, d, 2*time.Second)
	})
}

func TestServerShutdown(t *testing.T) {
	baseline := runtime.NumGoroutine()
	st := newSrvTest(t, nil)

	// An idle fast connection, and a request in flight on a handed-over one.
	idle, err := net.Dial("tcp", st.fastAddr)
	require.NoError(t, err)
	defer idle.Close()
	_, err = io.WriteString(idle, "GET /style.css HTTP/1.1\r\nHost: front\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(idle), nil)
	require.NoError(t, err)
	resp.Body.Close()

	slow, err := net.Dial("tcp", st.fastAddr)
	require.NoError(t, err)
	defer slow.Close()
	_, err = io.WriteString(slow, "GET /api/slow HTTP/1.1\r\nHost: front\r\n\r\n")
	require.NoError(t, err)
	time.Sleep(100 * time.Millisecond) // the request reaches the backend

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, st.fast.Shutdown(ctx))

	require.NoError(t, slow.SetReadDeadline(time.Now().Add(5*time.Second)))
	resp, err = http.ReadResponse(bufio.NewReader(slow), nil)
	require.NoError(t, err, "the request in flight is answered")
	body, _ := io.ReadAll(resp.Body)
	assert.Equal(t, "api says hi", string(body))

	require.NoError(t, idle.SetReadDeadline(time.Now().Add(5*time.Second)))
	n, err := idle.Read(make([]byte, 1))
	assert.Zero(t, n)
	assert.ErrorIs(t, err, io.EOF, "the idle connection was closed")

	_, err = net.Dial("tcp", st.fastAddr)
	assert.Error(t, err, "the listener is closed")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	assert.ErrorIs(t, st.fast.Serve(ln), http.ErrServerClosed)

	st.std.Close()
	idle.Close()
	slow.Close()
	// The test's API backend and Balancer stay until cleanup; all the
	// Server's own goroutines are gone.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > baseline+srvTestBackgroundGoroutines && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), baseline+srvTestBackgroundGoroutines)
}

// srvTestBackgroundGoroutines is what newSrvTest leaves running besides
// the two servers: the API backend's accept loop and its idle connection
// from the Balancer.
const srvTestBackgroundGoroutines = 4

func TestServerShutdownAnswersRequestInFastPath(t *testing.T) {
	st := newSrvTest(t, nil)
	conn, err := net.Dial("tcp", st.fastAddr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(5*time.Second)))
	// Shut down while the connection is served: the request written after
	// Shutdown began but before the connection was idle-closed either gets
	// a full answer with Connection: close, or an EOF; never a torn one.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go st.fast.Shutdown(ctx)
	_, _ = io.WriteString(conn, "GET /style.css HTTP/1.1\r\nHost: front\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		assert.True(t, errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isConnReset(err), "got %v", err)
		return
	}
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, srvTestFiles["style.css"], string(body))
}

// isConnReset reports a connection reset by the peer.
func isConnReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op)
}

func TestServerClose(t *testing.T) {
	st := newSrvTest(t, nil)
	conn, err := net.Dial("tcp", st.fastAddr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET /style.css HTTP/1.1\r\nHost: front\r\n\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.NoError(t, st.fast.Close())
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = br.ReadByte()
	assert.ErrorIs(t, err, io.EOF, "Close closes the open connection")
}

func TestServerConnStateTurnsFastPathOff(t *testing.T) {
	var states atomic.Int64
	st := newSrvTest(t, func(hs *http.Server) {
		hs.ConnState = func(net.Conn, http.ConnState) { states.Add(1) }
	})
	_, handed := st.compare(t, "GET /style.css HTTP/1.1\r\nHost: front\r\n\r\n")
	assert.Equal(t, int64(1), handed, "every connection goes to net/http")
	assert.Positive(t, states.Load(), "and the hook sees it")
}

func TestNewServerNil(t *testing.T) {
	s, err := NewServer(nil)
	assert.Nil(t, s)
	assert.ErrorContains(t, err, "frontdoor: NewServer")
}

func TestServerListenAndServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	static, err := NewStaticFS(srvTestMapFS())
	require.NoError(t, err)
	s, err := NewServer(&http.Server{Addr: addr, Handler: static})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe() }()
	var resp *http.Response
	require.Eventually(t, func() bool {
		resp, err = http.Get("http://" + addr + "/a.txt")
		return err == nil
	}, 5*time.Second, 10*time.Millisecond)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "a", string(body))
	require.NoError(t, s.Close())
	assert.ErrorIs(t, <-done, http.ErrServerClosed)
	assert.ErrorIs(t, s.ListenAndServe(), http.ErrServerClosed)
}

func srvTestMapFS() fstest.MapFS {
	return fstest.MapFS{"a.txt": {Data: []byte("a"), ModTime: time.Unix(1e9, 0)}}
}

func TestServerHeaderTimeoutCountsFromAccept(t *testing.T) {
	// net/http gives the first request ReadHeaderTimeout from the accept,
	// not from its first byte: a client that waits before sending it does
	// not get more time to finish the header.
	st := newSrvTest(t, func(hs *http.Server) {
		hs.ReadHeaderTimeout = 400 * time.Millisecond
	})
	for _, addr := range []string{st.stdAddr, st.fastAddr} {
		start := time.Now()
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		time.Sleep(300 * time.Millisecond)
		_, err = io.WriteString(conn, "GET /style.css HTTP/1.1\r\nHo")
		require.NoError(t, err)
		require.NoError(t, conn.SetReadDeadline(start.Add(5*time.Second)))
		_, err = io.Copy(io.Discard, conn)
		require.NoError(t, err, "the server closes the connection")
		assert.Less(t, time.Since(start), 600*time.Millisecond, "closed by the header timeout counted from the accept (%s)", addr)
	}
}

func TestServerNegativeReadHeaderTimeout(t *testing.T) {
	// A negative ReadHeaderTimeout means none, not ReadTimeout's.
	st := newSrvTest(t, func(hs *http.Server) {
		hs.ReadHeaderTimeout = -1
		hs.ReadTimeout = 200 * time.Millisecond
	})
	for _, addr := range []string{st.stdAddr, st.fastAddr} {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		_, err = io.WriteString(conn, "GET /style.css HTTP/1.1\r\nHo")
		require.NoError(t, err)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(600*time.Millisecond)))
		_, err = conn.Read(make([]byte, 1))
		var ne net.Error
		assert.True(t, errors.As(err, &ne) && ne.Timeout(), "still open after ReadTimeout (%s): %v", addr, err)
	}
}

func TestServerSetKeepAlivesEnabledLetsNewConnectionSendItsRequest(t *testing.T) {
	// net/http closes the idle connections when keep-alives are turned
	// off, but leaves a new one 5 seconds to send its first request, and
	// answers it.
	st := newSrvTest(t, nil)
	for _, srv := range []struct {
		addr string
		set  func(bool)
	}{{st.stdAddr, st.std.SetKeepAlivesEnabled}, {st.fastAddr, st.fast.SetKeepAlivesEnabled}} {
		conn := srvTestDial(t, srv.addr, "GET /style.css HTTP/1.1\r\nHo")
		time.Sleep(50 * time.Millisecond)
		srv.set(false)
		_, err := io.WriteString(conn, "st: front\r\n\r\n")
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err, "the request begun before is answered (%s)", srv.addr)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, srvTestFiles["style.css"], string(body))
		assert.True(t, resp.Close, "with Connection: close")
	}
}

func TestServerSetKeepAlivesEnabledClosesIdleConnections(t *testing.T) {
	st := newSrvTest(t, nil)
	for _, srv := range []struct {
		addr string
		set  func(bool)
	}{{st.stdAddr, st.std.SetKeepAlivesEnabled}, {st.fastAddr, st.fast.SetKeepAlivesEnabled}} {
		conn := srvTestDial(t, srv.addr, "GET /style.css HTTP/1.1\r\nHost: front\r\n\r\n")
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		_, err = io.Copy(io.Discard, resp.Body)
		require.NoError(t, err)
		time.Sleep(50 * time.Millisecond) // the connection is idle
		srv.set(false)
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(time.Second)))
		_, err = br.ReadByte()
		assert.ErrorIs(t, err, io.EOF, "the idle connection is closed (%s)", srv.addr)
	}
}

func TestServerHandoverKeepsHeaderDeadline(t *testing.T) {
	// A request handed over before its header is complete (here at a bare
	// LF) must not get a new ReadHeaderTimeout from net/http: the client
	// has the time net/http alone would give it, here from the accept.
	st := newSrvTest(t, func(hs *http.Server) {
		hs.ReadHeaderTimeout = 400 * time.Millisecond
	})
	for _, addr := range []string{st.stdAddr, st.fastAddr} {
		start := time.Now()
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		_, err = io.WriteString(conn, "GET /style.css HTTP/1.1\r\nHost: front\r\n")
		require.NoError(t, err)
		time.Sleep(300 * time.Millisecond)
		_, err = io.WriteString(conn, "X-Bare: lf\n")
		require.NoError(t, err)
		require.NoError(t, conn.SetReadDeadline(start.Add(5*time.Second)))
		_, err = io.Copy(io.Discard, conn)
		if err != nil {
			// On a loaded machine the sleep may outlast the timeout: the
			// line then reaches a closed connection, which resets it.
			require.True(t, isConnReset(err), "the server closes the connection: %v", err)
		}
		assert.Less(t, time.Since(start), 600*time.Millisecond, "closed by the first header timeout (%s)", addr)
	}
}

func TestServerRequestCutShort(t *testing.T) {
	// A client that half-closes the connection in the middle of a request
	// gets net/http's 400, not a silent close.
	st := newSrvTest(t, nil)
	exchange := func(addr, raw string) string {
		conn := srvTestDial(t, addr, raw)
		require.NoError(t, conn.(*net.TCPConn).CloseWrite())
		got, err := io.ReadAll(conn)
		require.NoError(t, err)
		return srvTestDate.ReplaceAllString(string(got), "")
	}
	for _, tc := range []struct {
		raw  string
		want string // a part of net/http's answer
	}{
		{"GET /style.css HTTP/1.1\r\nHost: front\r\n", "400 Bad Request"},
		{"GET /style.css HTTP/1.1\r\nHo", "400 Bad Request"},
		{"GET /sty", "400 Bad Request"},
		{"G", "400 Bad Request"},
		{"GET /style.css HTTP/1.1\r\nHost: front\r\n\r\nGET /data.json HTTP/1.1\r\n", "400 Bad Request"},
		{"GET /style.css HTTP/1.1\r\nHost: front\r\n\r\nGET ", "400 Bad Request"},
		// Before a later request, net/http waits for 4 bytes; fewer, then
		// EOF, and it closes without a word.
		{"GET /style.css HTTP/1.1\r\nHost: front\r\n\r\nGET", "teal}"},
		{"GET /style.css HTTP/1.1\r\nHost: front\r\n\r\n\n", "teal}"},
		{"GET /style.css HTTP/1.1\r\nHost: front\r\n\r\n\n\n\n\n", "400 Bad Request"},
		{"GET /style.css HTTP/1.1\r\nHost: front\r\n\r\nGET /\n", "400 Bad Request"},
	} {
		want := exchange(st.stdAddr, tc.raw)
		require.True(t, strings.HasSuffix(want, tc.want), "net/http's answer to %q ends in %q: %q", tc.raw, tc.want, want)
		assert.Equal(t, want, exchange(st.fastAddr, tc.raw), "on %q", tc.raw)
	}
}

func TestServerShutdownOutOfTimeLeavesRequestsRunning(t *testing.T) {
	// When ctx is done before the connections are, net/http's Shutdown
	// returns its error and leaves the requests in flight to finish (Close
	// is there to cut them).
	st := newSrvTest(t, nil)
	for _, srv := range []struct {
		addr     string
		shutdown func(context.Context) error
	}{{st.stdAddr, st.std.Shutdown}, {st.fastAddr, st.fast.Shutdown}} {
		conn := srvTestDial(t, srv.addr, "GET /api/slow HTTP/1.1\r\nHost: front\r\n\r\n")
		quiet, err := net.Dial("tcp", srv.addr) // keeps Shutdown waiting
		require.NoError(t, err)
		defer quiet.Close()
		time.Sleep(50 * time.Millisecond) // the request reaches the backend
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		assert.ErrorIs(t, srv.shutdown(ctx), context.DeadlineExceeded)
		cancel()
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err, "the request in flight is answered (%s)", srv.addr)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, "api says hi", string(body))
	}
}

func TestServerHeaderTimeoutStartsAtFourBytes(t *testing.T) {
	// Between requests, net/http waits for 4 bytes under the idle timeout,
	// and only then starts the header timeout: a later request that comes
	// in one byte at a time gets its first 3 bytes under the idle one.
	st := newSrvTest(t, func(hs *http.Server) {
		hs.ReadHeaderTimeout = 200 * time.Millisecond
		hs.IdleTimeout = 2 * time.Second
	})
	for _, addr := range []string{st.stdAddr, st.fastAddr} {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		require.NoError(t, conn.SetDeadline(time.Now().Add(5*time.Second)))
		br := bufio.NewReader(conn)
		for i, part := range []string{"GET /style.css HTTP/1.1\r\nHost: front\r\n\r\nGE", "T /data.json HTTP/1.1\r\nHost: front\r\n\r\n"} {
			if i > 0 {
				time.Sleep(400 * time.Millisecond)
			}
			_, err = io.WriteString(conn, part)
			require.NoError(t, err)
			resp, err := http.ReadResponse(br, nil)
			require.NoError(t, err, "response %d (%s)", i, addr)
			_, err = io.Copy(io.Discard, resp.Body)
			require.NoError(t, err)
		}
	}
}

func TestServerLeavesNoGoroutine(t *testing.T) {
	// Connections in every state, on two listeners, then Close or a
	// Shutdown (in time or not): once the clients are gone, so is every
	// goroutine the Server started.
	for _, mode := range []string{"close", "shutdown", "shutdown out of time"} {
		t.Run(mode, func(t *testing.T) {
			static, err := NewStaticFS(srvTestMapFS())
			require.NoError(t, err)
			baseline := runtime.NumGoroutine()
			s, err := NewServer(&http.Server{Handler: static, ReadHeaderTimeout: 10 * time.Second})
			require.NoError(t, err)
			done := make(chan error, 2)
			var addrs []string
			for range 2 {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				require.NoError(t, err)
				addrs = append(addrs, ln.Addr().String())
				go func() { done <- s.Serve(ln) }()
			}
			var conns []net.Conn
			for _, addr := range addrs {
				for _, raw := range []string{
					"",                                       // new
					"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", // idle
					"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /a.t",                    // mid-header
					"GET /a.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=0-0\r\n\r\n",        // handed over, idle
					"GET /a.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=0-0\r\n\r\nGET /a.", // handed over, mid-header
				} {
					conn, err := net.Dial("tcp", addr)
					require.NoError(t, err)
					defer conn.Close()
					conns = append(conns, conn)
					_, err = io.WriteString(conn, raw)
					require.NoError(t, err)
					if raw != "" {
						require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
						resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
						require.NoError(t, err)
						resp.Body.Close()
					}
				}
			}
			switch mode {
			case "close":
				assert.NoError(t, s.Close())
			case "shutdown":
				go func() {
					time.Sleep(100 * time.Millisecond)
					for _, conn := range conns {
						conn.Close() // the new connections would keep it 5 s
					}
				}()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				assert.NoError(t, s.Shutdown(ctx))
			default:
				ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				defer cancel()
				assert.ErrorIs(t, s.Shutdown(ctx), context.DeadlineExceeded)
			}
			for range 2 {
				assert.ErrorIs(t, <-done, http.ErrServerClosed)
			}
			for _, conn := range conns {
				conn.Close()
			}
			deadline := time.Now().Add(5 * time.Second)
			for runtime.NumGoroutine() > baseline && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			assert.LessOrEqual(t, runtime.NumGoroutine(), baseline)
		})
	}
}

// srvTestFlakyListener fails its first Accept with a temporary error,
// then accepts from the listener it wraps.
type srvTestFlakyListener struct {
	net.Listener
	failed atomic.Bool
}

func (l *srvTestFlakyListener) Accept() (net.Conn, error) {
	if !l.failed.Swap(true) {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.ErrDeadlineExceeded}
	}
	return l.Listener.Accept()
}

func TestServerLogsAcceptErrors(t *testing.T) {
	// Without an ErrorLog, net/http logs a temporary accept error through
	// the log package; so does the Server.
	var buf bytes.Buffer
	var mu sync.Mutex
	log.SetOutput(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}))
	t.Cleanup(func() { log.SetOutput(os.Stderr) })
	static, err := NewStaticFS(srvTestMapFS())
	require.NoError(t, err)
	s, err := NewServer(&http.Server{Handler: static})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- s.Serve(&srvTestFlakyListener{Listener: ln}) }()
	got := srvTestExchange(t, ln.Addr().String(), "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	assert.Contains(t, got, "200 OK", "the Server goes on accepting")
	require.NoError(t, s.Close())
	assert.ErrorIs(t, <-done, http.ErrServerClosed)
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, buf.String(), "accept error")
}

// writerFunc is an io.Writer made of a function.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// srvTestScriptConn is a net.Conn that reads its input, then EOF, and
// records what is written to it, and the size of each write.
type srvTestScriptConn struct {
	net.Conn // nil: only what the fast path calls is implemented
	in       []byte
	out      bytes.Buffer
	writes   []int
}

func (c *srvTestScriptConn) Read(p []byte) (int, error) {
	if len(c.in) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.in)
	c.in = c.in[n:]
	return n, nil
}

func (c *srvTestScriptConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, len(p))
	return c.out.Write(p)
}

func (c *srvTestScriptConn) Close() error                     { return nil }
func (c *srvTestScriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *srvTestScriptConn) SetWriteDeadline(time.Time) error { return nil }

func TestServerBoundsBufferedResponses(t *testing.T) {
	// A client pipelining a buffer full of requests for a file just below
	// the writev size, and reading nothing, must not make the fast path
	// copy all the answers into one buffer (about 1 MiB, per connection,
	// kept while the write blocks): net/http holds 4 KiB.
	body := strings.Repeat("x", fastWritevMin-1)
	static, err := NewStaticFS(fstest.MapFS{"f.bin": {Data: []byte(body), ModTime: time.Unix(1e9, 0)}})
	require.NoError(t, err)
	s, err := NewServer(&http.Server{Handler: static})
	require.NoError(t, err)
	req := "GET /f.bin HTTP/1.1\r\nHost: x\r\n\r\n"
	conn := &srvTestScriptConn{in: []byte(strings.Repeat(req, fastBufSize/len(req)))}
	newFastConn(s, conn).serve()
	for _, n := range conn.writes {
		assert.LessOrEqual(t, n, 64<<10, "a write of %d bytes", n)
	}
	assert.Equal(t, fastBufSize/len(req), strings.Count(conn.out.String(), "HTTP/1.1 200 OK\r\n"), "every request is answered")
}

func TestServerOnTLSListener(t *testing.T) {
	// Given a TLS listener, as net/http.Server.Serve may be, the Server
	// must hand net/http the *tls.Conn itself, or handlers lose r.TLS.
	static, err := NewStaticFS(srvTestMapFS())
	require.NoError(t, err)
	mux := NewMux()
	mux.Handle("/", static)
	mux.Handle("/tls", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			io.WriteString(w, "plain")
			return
		}
		io.WriteString(w, "tls")
	}))
	certs := httptest.NewUnstartedServer(nil)
	certs.StartTLS()
	defer certs.Close()
	s, err := NewServer(&http.Server{Handler: mux})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- s.Serve(tls.NewListener(ln, certs.TLS.Clone())) }()
	client := certs.Client()
	for _, target := range []string{"/a.txt", "/tls"} {
		resp, err := client.Get("https://" + ln.Addr().String() + target)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		if target == "/tls" {
			assert.Equal(t, "tls", string(body), "the handler sees the TLS connection")
		} else {
			assert.Equal(t, "a", string(body))
		}
	}
	require.NoError(t, s.Close())
	assert.ErrorIs(t, <-done, http.ErrServerClosed)
}

func TestServerTLSListenerGoesToNetHTTP(t *testing.T) {
	ts := httptest.NewUnstartedServer(nil) // only for its certificate
	ts.EnableHTTP2 = true
	ts.StartTLS()
	cert := ts.TLS.Certificates
	client := ts.Client()
	ts.Close()

	static, err := NewStaticFS(srvTestMapFS())
	require.NoError(t, err)
	s, err := NewServer(&http.Server{Handler: static})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	tlsLn := tls.NewListener(ln, &tls.Config{Certificates: cert, NextProtos: []string{"h2", "http/1.1"}})
	done := make(chan error, 1)
	go func() { done <- s.Serve(tlsLn) }()

	resp, err := client.Get("https://" + ln.Addr().String() + "/a.txt")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "a", string(body))
	assert.NotNil(t, resp.TLS)
	assert.Equal(t, 2, resp.ProtoMajor, "net/http negotiated HTTP/2 through ALPN")
	client.CloseIdleConnections()
	require.NoError(t, s.Close())
	assert.ErrorIs(t, <-done, http.ErrServerClosed)
}

// An embed.FS has no Stat method; its small files are kept in memory and
// answered by the fast path all the same, checked by opening them, and its
// large ones are copied from the open file.
func TestServerFastPathOverFSWithoutStat(t *testing.T) {
	site := staticBenchEmbedLike{fstest.MapFS{
		"index.html":   {Data: []byte("<h1>embedded</h1>")},
		"app.js":       {Data: []byte("run()")},
		"app.js.gz":    {Data: []byte("gz-bytes")},
		"big/huge.bin": {Data: bytes.Repeat([]byte("h"), 100<<10)},
	}}
	_, hasStat := any(site).(fs.StatFS)
	require.False(t, hasStat, "the FS must lack Stat, as embed.FS does")
	static, err := NewStaticFS(site)
	require.NoError(t, err)

	var handed atomic.Int64
	fast, err := NewServer(&http.Server{Handler: static, ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
		handed.Add(1)
		return ctx
	}})
	require.NoError(t, err)
	std := &http.Server{Handler: static}
	addrs := make([]string, 2)
	for i, serve := range []func(net.Listener) error{fast.Serve, std.Serve} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addrs[i] = ln.Addr().String()
		go serve(ln)
	}
	t.Cleanup(func() { fast.Close(); std.Close() })

	for _, tc := range []struct {
		raw  string
		fast bool
	}{
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", true},
		{"GET /app.js HTTP/1.1\r\nHost: x\r\n\r\n", true},
		{"GET /app.js HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n", true},
		{"HEAD /app.js HTTP/1.1\r\nHost: x\r\n\r\n", true},
		{"GET /big/huge.bin HTTP/1.1\r\nHost: x\r\n\r\n", true},
	} {
		before := handed.Load()
		got := srvTestExchange(t, addrs[0], tc.raw)
		want := srvTestExchange(t, addrs[1], tc.raw)
		assert.Equal(t, want, got, "%q", tc.raw)
		assert.Equal(t, !tc.fast, handed.Load() > before, "%q: handed over", tc.raw)
	}
}

// srvTestDial connects to addr, sends raw and returns the connection, with
// a 5 s deadline; it is closed when the test ends.
func srvTestDial(t testing.TB, addr, raw string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.SetDeadline(time.Now().Add(5*time.Second)))
	_, err = io.WriteString(conn, raw)
	require.NoError(t, err)
	return conn
}

// Many clients at once, pipelining fast and handed-over requests while the
// files change on disk: every answer is complete and is one of the
// versions the file had, under -race.
func TestServerConcurrentClientsWhileFilesChange(t *testing.T) {
	st := newSrvTest(t, nil)
	versions := []string{"body{color:teal}", "body{color:orange;margin:0}", "p{}"}
	p := filepath.Join(st.dir, "style.css")
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			// Write a new file and rename it in place, as deploys do, so
			// that no reader sees a half-written one.
			tmp := p + ".tmp"
			if os.WriteFile(tmp, []byte(versions[i%len(versions)]), 0o644) != nil || os.Rename(tmp, p) != nil {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()

	const clients, rounds = 16, 30
	var mu sync.Mutex
	bodyOf := map[string]string{} // ETag -> body: one body per ETag
	errs := make(chan error, clients)
	for c := range clients {
		go func() {
			errs <- func() error {
				conn, err := net.Dial("tcp", st.fastAddr)
				if err != nil {
					return err
				}
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				br := bufio.NewReader(conn)
				for i := range rounds {
					reqs := "GET /style.css HTTP/1.1\r\nHost: front\r\n\r\nHEAD /data.json HTTP/1.1\r\nHost: front\r\n\r\n"
					if c%4 == 0 && i == rounds/2 {
						reqs += "GET /api/x HTTP/1.1\r\nHost: front\r\n\r\n" // from here, net/http
					}
					if _, err := io.WriteString(conn, reqs); err != nil {
						return err
					}
					for _, method := range srvTestMethods(reqs) {
						resp, err := http.ReadResponse(br, &http.Request{Method: method})
						if err != nil {
							return err
						}
						body, err := io.ReadAll(resp.Body)
						resp.Body.Close()
						if err != nil {
							return err
						}
						if resp.StatusCode != http.StatusOK {
							return fmt.Errorf("status %d", resp.StatusCode)
						}
						if method != "GET" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
							continue
						}
						if !slices.Contains(versions, string(body)) {
							return fmt.Errorf("torn or unknown body %q", body)
						}
						mu.Lock()
						etag := resp.Header.Get("Etag")
						prior, seen := bodyOf[etag]
						bodyOf[etag] = string(body)
						mu.Unlock()
						if seen && prior != string(body) {
							return fmt.Errorf("ETag %s came with %q and with %q", etag, prior, body)
						}
					}
				}
				return nil
			}()
		}()
	}
	for range clients {
		assert.NoError(t, <-errs)
	}
	close(stop)
	<-writerDone
	assert.Greater(t, len(bodyOf), 1, "clients saw the file change")
}

// srvTestFailingFS serves big.bin (200 KiB) whole on its first Open, and
// later opens fail with an I/O error after the first after bytes: a disk
// error in the middle of a response that has already declared its length.
type srvTestFailingFS struct {
	fstest.MapFS
	after int
	opens atomic.Int64
}

func (f *srvTestFailingFS) Open(name string) (fs.File, error) {
	file, err := f.MapFS.Open(name)
	if err != nil || name != "big.bin" || f.opens.Add(1) == 1 {
		return file, err
	}
	return &srvTestFailingFile{File: file, left: f.after}, nil
}

type srvTestFailingFile struct {
	fs.File
	left int
}

func (f *srvTestFailingFile) Read(p []byte) (int, error) {
	if f.left <= 0 {
		return 0, errors.New("disk on fire")
	}
	p = p[:min(len(p), f.left)]
	n, err := f.File.Read(p)
	f.left -= n
	return n, err
}

func (f *srvTestFailingFile) Seek(offset int64, whence int) (int64, error) {
	return f.File.(io.Seeker).Seek(offset, whence)
}

func TestServerFileFailingMidResponseClosesLikeNetHTTP(t *testing.T) {
	for _, after := range []int{100, 64 << 10} {
		t.Run(fmt.Sprint(after), func(t *testing.T) {
			fsys := &srvTestFailingFS{MapFS: fstest.MapFS{"big.bin": {Data: bytes.Repeat([]byte("b"), 200<<10)}}, after: after}
			static, err := NewStaticFS(fsys, WithLogger(slog.New(slog.DiscardHandler)))
			require.NoError(t, err)
			fast, err := NewServer(&http.Server{Handler: static})
			require.NoError(t, err)
			std := &http.Server{Handler: static}
			addrs := make([]string, 2)
			for i, serve := range []func(net.Listener) error{fast.Serve, std.Serve} {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				require.NoError(t, err)
				addrs[i] = ln.Addr().String()
				go serve(ln)
			}
			t.Cleanup(func() { fast.Close(); std.Close() })

			// The first open hashes the file for its ETag; the later ones fail.
			head := srvTestExchange(t, addrs[0], "HEAD /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
			require.Contains(t, head, "Content-Length: 204800")
			req := "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n"
			got := srvTestExchange(t, addrs[0], req)
			want := srvTestExchange(t, addrs[1], req)
			assert.Equal(t, want, got, "cut short the same way, and nothing after")
			assert.Less(t, len(got), 200<<10, "the body is cut short")
			assert.Contains(t, got, "Content-Length: 204800")
		})
	}
}

// srvTestPanickingFS panics when the file boom.txt is opened, as a buggy
// fs.FS might.
type srvTestPanickingFS struct{ fstest.MapFS }

func (f srvTestPanickingFS) Open(name string) (fs.File, error) {
	if name == "boom.txt" {
		panic("fs on fire")
	}
	return f.MapFS.Open(name)
}

// A panic in the fs.FS while the fast path answers is what a panic in a
// handler is to net/http: logged, the answers before it sent, that
// connection closed, and the server serving on.
func TestServerPanicInFSClosesOnlyThatConnection(t *testing.T) {
	static, err := NewStaticFS(srvTestPanickingFS{fstest.MapFS{
		"ok.txt":   {Data: []byte("fine")},
		"boom.txt": {Data: []byte("never")},
	}})
	require.NoError(t, err)
	var logs [2]bytes.Buffer
	var logMu sync.Mutex
	newLog := func(b *bytes.Buffer) *log.Logger {
		return log.New(writerFunc(func(p []byte) (int, error) {
			logMu.Lock()
			defer logMu.Unlock()
			return b.Write(p)
		}), "", 0)
	}
	fast, err := NewServer(&http.Server{Handler: static, ErrorLog: newLog(&logs[0])})
	require.NoError(t, err)
	std := &http.Server{Handler: static, ErrorLog: newLog(&logs[1])}
	addrs := make([]string, 2)
	for i, serve := range []func(net.Listener) error{fast.Serve, std.Serve} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addrs[i] = ln.Addr().String()
		go serve(ln)
	}
	t.Cleanup(func() { fast.Close(); std.Close() })

	ok := "GET /ok.txt HTTP/1.1\r\nHost: x\r\n\r\n"
	boom := "GET /boom.txt HTTP/1.1\r\nHost: x\r\n\r\n"
	got := srvTestExchange(t, addrs[0], ok+boom+ok)
	want := srvTestExchange(t, addrs[1], ok+boom+ok)
	assert.Equal(t, want, got, "the answer before the panic, then the connection closed")
	assert.Equal(t, 1, strings.Count(got, "fine"))
	assert.Contains(t, srvTestExchange(t, addrs[0], ok), "fine", "the server still serves")
	logMu.Lock()
	defer logMu.Unlock()
	assert.Contains(t, logs[0].String(), "http: panic serving 127.0.0.1:")
	assert.Contains(t, logs[0].String(), "fs on fire")
	assert.Contains(t, logs[1].String(), "fs on fire")
}
