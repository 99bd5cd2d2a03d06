package frontdoor

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHasDotSegment(t *testing.T) {
	tests := []struct {
		give string
		want bool
	}{
		{"/", false},
		{"", false},
		{"/a/b.c", false},
		{"/a//b", false},
		{"/.well-known/x", false},
		{"/a/..b/c../.d/...", false},
		{"/a/b;p=1", false},
		{"/a;..", false},
		{"/a/.;", true},
		{".", true},
		{"..", true},
		{"/.", true},
		{"/..", true},
		{"/a/.", true},
		{"/a/..", true},
		{"/a/./b", true},
		{"/a/../b", true},
		{"../a", true},
		{"/a/..;jsessionid=1/b", true},
		{"/a/.;x/b", true},
		{`/a\..\b`, true},
		{`/a\.`, true},
		{`/a\.b`, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, hasDotSegment(tt.give), "%q", tt.give)
	}
}

// reqPathTest is the setting: one backend behind two routes, an
// open "/api/public" and an "/api/private" behind an auth check, a
// StaticFS at "/", served by a plain http.Server, by a frontdoor.Server,
// and, for the Balancer alone, by a plain http.Server over the Balancer.
type reqPathTest struct {
	mu   sync.Mutex
	seen []string // request URIs the backend received
}

func (rt *reqPathTest) backendSaw() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	seen := rt.seen
	rt.seen = nil
	return seen
}

// servers returns the addresses of the three servers by name.
func (rt *reqPathTest) servers(t *testing.T, configure func(*http.Server)) map[string]string {
	t.Helper()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt.mu.Lock()
		rt.seen = append(rt.seen, r.RequestURI)
		rt.mu.Unlock()
		io.WriteString(w, "backend")
	}))
	t.Cleanup(backend.Close)
	bal, err := NewBalancer([]string{backend.URL}, balTestQuiet)
	require.NoError(t, err)
	t.Cleanup(func() { bal.Close() })
	static, err := NewStaticFS(fstest.MapFS{"index.html": {Data: []byte("<h1>home</h1>")}})
	require.NoError(t, err)
	mux := NewMux()
	mux.Handle("/", static)
	mux.Handle("/api/public", bal)
	mux.Handle("/api/private", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer ok" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		bal.ServeHTTP(w, r)
	}))

	addrs := make(map[string]string)
	serve := func(name string, h http.Handler, fast bool) {
		hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		if configure != nil {
			configure(hs)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addrs[name] = ln.Addr().String()
		if !fast {
			go hs.Serve(ln)
			t.Cleanup(func() { hs.Close() })
			return
		}
		s, err := NewServer(hs)
		require.NoError(t, err)
		go s.Serve(ln)
		t.Cleanup(func() { s.Close() })
	}
	serve("Mux in http.Server", mux, false)
	serve("Mux in frontdoor.Server", mux, true)
	serve("Balancer in http.Server", bal, false)
	return addrs
}

// reqPathTestDo sends one request with the raw request line "METHOD
// target HTTP/1.1" and returns the response, its body read.
func reqPathTestDo(t *testing.T, addr, method, target string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(5*time.Second)))
	_, err = io.WriteString(conn, method+" "+target+" HTTP/1.1\r\nHost: front\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	require.NoError(t, err, target)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	resp.Body.Close()
	return resp, string(body)
}

// TestRequestTargetDotSegmentsRefused sends raw request lines that would
// route one way and resolve another: each is a 400, from the Mux under
// both servers and from the Balancer alone, and the backend never sees it.
// Paths without a dot segment reach the backend byte for byte.
func TestRequestTargetDotSegmentsRefused(t *testing.T) {
	rt := new(reqPathTest)
	addrs := rt.servers(t, nil)
	refused := []string{
		"/api/public/../private/x",
		"/api/public/%2e%2e/private/x",
		"/api/public/%2E%2E/private/x",
		"/api/public/%2e%2E/private/x",
		"/api/public/.%2e/private/x",
		"/api/public/%2e./private/x",
		"/api/public/..%2Fprivate/x",
		"/api/public/x%2F..%2F..%2Fprivate/x",
		"/api/public/..;/private/x",
		"/api/public/..;jsessionid=1/private/x",
		`/api/public/..\private/x`,
		"/api/public/..%5Cprivate/x",
		"/api/public/./x",
		"/api/public/%2e/x",
		"/api/public/x/.",
		"/api/public/x/..",
		"/api/private/../public/x",
		"http://front/api/public/../private/x",
	}
	for name, addr := range addrs {
		t.Run(name, func(t *testing.T) {
			for _, target := range refused {
				resp, body := reqPathTestDo(t, addr, http.MethodGet, target)
				assert.Equal(t, http.StatusBadRequest, resp.StatusCode, target)
				assert.Equal(t, "Bad Request\n", body, target)
				assert.False(t, resp.Close, "%s: the connection stays usable", target)
				assert.Empty(t, rt.backendSaw(), "%s reached the backend", target)
			}
			for _, target := range []string{
				"/api/public/x",
				"/api/public/x?next=../../private",
				"/api/public/..x/.y/z../...",
				"/api/public/a%2Fb",
				"/api/public/a%2fb%3Bc",
				"/api/public/%7Euser/%E2%9C%93",
				"/api/public//x//",
				"//api//public/x",
			} {
				resp, body := reqPathTestDo(t, addr, http.MethodGet, target)
				assert.Equal(t, http.StatusOK, resp.StatusCode, target)
				assert.Equal(t, "backend", body, target)
				assert.Equal(t, []string{target}, rt.backendSaw(), "forwarded byte for byte")
			}
		})
	}
}

// TestRequestTargetAsterisk: "GET *" is a 400 that closes the connection,
// as with http.ServeMux; "OPTIONS *" is net/http's 200, unless
// DisableGeneralOptionsHandler hands it to the handler, which refuses it.
func TestRequestTargetAsterisk(t *testing.T) {
	rt := new(reqPathTest)
	for name, addr := range rt.servers(t, nil) {
		t.Run(name, func(t *testing.T) {
			for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost, "PROPFIND"} {
				resp, _ := reqPathTestDo(t, addr, method, "*")
				assert.Equal(t, http.StatusBadRequest, resp.StatusCode, method)
				assert.True(t, resp.Close, "%s *: Connection: close", method)
			}
			resp, body := reqPathTestDo(t, addr, http.MethodOptions, "*")
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Empty(t, body)
			assert.Empty(t, rt.backendSaw())
		})
	}
	rt = new(reqPathTest)
	for name, addr := range rt.servers(t, func(hs *http.Server) { hs.DisableGeneralOptionsHandler = true }) {
		t.Run(name+" without the general OPTIONS handler", func(t *testing.T) {
			resp, _ := reqPathTestDo(t, addr, http.MethodOptions, "*")
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			assert.True(t, resp.Close)
			assert.Empty(t, rt.backendSaw())
		})
	}
}

// TestRequestTargetStaticFSBehindMux: behind a Mux, a StaticFS sees no dot
// segment (the Mux answers 400); on its own it keeps its own rule, a 404
// for ".." and no way out of its fs.FS.
func TestRequestTargetStaticFSBehindMux(t *testing.T) {
	static, err := NewStaticFS(fstest.MapFS{"index.html": {Data: []byte("<h1>home</h1>")}, "a.txt": {Data: []byte("a")}})
	require.NoError(t, err)
	mux := NewMux()
	mux.Handle("/", static)
	get := func(h http.Handler, target string) int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
		return w.Code
	}
	for _, target := range []string{"/x/../a.txt", "/./a.txt", "/%2e%2e/a.txt"} {
		assert.Equal(t, http.StatusBadRequest, get(mux, target), target)
	}
	assert.Equal(t, http.StatusNotFound, get(static, "/%2e%2e/a.txt"))
	assert.Equal(t, http.StatusOK, get(static, "/./a.txt"), "StaticFS alone cleans a \".\" away, as before")
	assert.Equal(t, http.StatusOK, get(mux, "//a.txt"))
}

// reqPathResolves reports whether a server that reads "\" as "/" and drops
// ";params" would resolve a dot segment in p: path.Clean changes more
// than repeated slashes then. It is written apart from hasDotSegment, to
// check it.
func reqPathResolves(p string) bool {
	segs := strings.Split(strings.ReplaceAll(p, `\`, "/"), "/")
	for i, seg := range segs {
		segs[i], _, _ = strings.Cut(seg, ";")
	}
	q := "/" + strings.Join(segs, "/")
	merged := q
	for strings.Contains(merged, "//") {
		merged = strings.ReplaceAll(merged, "//", "/")
	}
	if len(merged) > 1 {
		merged = strings.TrimSuffix(merged, "/")
	}
	return path.Clean(q) != merged
}

// FuzzRequestTarget sends any request target through net/http's parser to
// a Mux and checks the rule: a 400 exactly for "*" and for paths in which
// a dot segment would be resolved; any other path reaches the route that
// the resolved path would reach, unchanged.
func FuzzRequestTarget(f *testing.F) {
	for _, s := range []string{
		"/", "/api/x", "*", "/a/../api/x", "/api/%2e%2E/x", "/api/.%2e", "//api//x", "/api/a%2Fb",
		"/api/..;/x", `/api\..\x`, "/api/x?../..", "http://h/api/../x", "/api/..x/.y",
	} {
		f.Add(s)
	}
	m := NewMux()
	for _, p := range []string{"/", "/api", "/api/private"} {
		m.Handle(p, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Route", p)
			w.Header().Set("X-Path", r.URL.EscapedPath())
		}))
	}
	f.Fuzz(func(t *testing.T, target string) {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + target + " HTTP/1.1\r\nHost: h\r\n\r\n")))
		if err != nil {
			return
		}
		sent := r.URL.EscapedPath()
		w := httptest.NewRecorder()
		m.ServeHTTP(w, r)
		p := r.URL.Path
		switch {
		case r.RequestURI == "*" || reqPathResolves(p):
			if w.Code != http.StatusBadRequest {
				t.Fatalf("%q (path %q): %d, want 400", target, p, w.Code)
			}
		case p == "" || p[0] != '/':
			if w.Code != http.StatusNotFound {
				t.Fatalf("%q (path %q): %d, want 404", target, p, w.Code)
			}
		default:
			want := ""
			for _, route := range []string{"/api/private", "/api", "/"} {
				if muxPrefixMatches(route, path.Clean(p)) {
					want = route
					break
				}
			}
			if got := w.Header().Get("X-Route"); w.Code != http.StatusOK || got != want {
				t.Fatalf("%q (path %q): %d from route %q, want route %q", target, p, w.Code, got, want)
			}
			if got := w.Header().Get("X-Path"); got != sent {
				t.Fatalf("%q: the route got %q, not the path sent, %q", target, got, sent)
			}
		}
	})
}
