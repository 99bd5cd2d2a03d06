package frontdoor

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// muxTestHandler answers with its name and the path it saw.
func muxTestHandler(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%s %s", name, r.URL.Path)
	})
}

// muxTestSPA mimics a static handler with an SPA fallback: index.html for
// every path it does not know.
func muxTestSPA() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!doctype html><title>index.html</title>")
	})
}

func muxTestGet(t *testing.T, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

func TestMuxRouting(t *testing.T) {
	m := NewMux()
	m.Handle("/", muxTestHandler("root"))
	m.Handle("/api", muxTestHandler("api"))
	m.Handle("/api/v2/", muxTestHandler("v2"))
	m.Handle("/static", muxTestHandler("static"))

	tests := []struct {
		give string
		want string
	}{
		{"/", "root /"},
		{"/index.html", "root /index.html"},
		{"/api", "api /api"},
		{"/api/", "api /api/"},
		{"/api/users?id=1", "api /api/users"},
		{"/apix", "root /apix"},
		{"/api/v2", "v2 /api/v2"},
		{"/api/v2/x/y", "v2 /api/v2/x/y"},
		{"/api/v22", "api /api/v22"},
		{"/static/app.js", "static /static/app.js"},
		{"/staticky", "root /staticky"},
		// Matching merges slashes; the handler gets the path as sent.
		{"//api//x", "api //api//x"},
		{"/api//v2//x", "v2 /api//v2//x"},
		{"/static/a%2Fb", "static /static/a/b"},
		{"/api/..x/.y/z.", "api /api/..x/.y/z."},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			rec := muxTestGet(t, m, tt.give)
			assert.Equal(t, http.StatusOK, rec.Code)
			assert.Equal(t, tt.want, rec.Body.String())
		})
	}
}

func TestMuxUnmatchedIs404(t *testing.T) {
	m := NewMux()
	m.Handle("/api", muxTestHandler("api"))
	for _, p := range []string{"/", "/apix", "/other/api"} {
		rec := muxTestGet(t, m, p)
		assert.Equal(t, http.StatusNotFound, rec.Code, p)
	}
}

func TestMuxZeroValue(t *testing.T) {
	var m Mux
	rec := muxTestGet(t, &m, "/anything")
	assert.Equal(t, http.StatusNotFound, rec.Code)

	var nilMux *Mux
	rec = muxTestGet(t, nilMux, "/")
	assert.Equal(t, http.StatusNotFound, rec.Code, "a nil *Mux answers 404 too")

	m.Handle("/x", muxTestHandler("x"))
	assert.Equal(t, "x /x/y", muxTestGet(t, &m, "/x/y").Body.String(), "a zero Mux accepts routes")
}

// TestMuxAPIMissNeverSPA: an unknown path under an API route is answered by
// that route, never by the static route's SPA fallback.
func TestMuxAPIMissNeverSPA(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/known" {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"ok":true}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"error":"not found"}`)
	}))
	t.Cleanup(backend.Close)
	bal, err := NewBalancer([]string{backend.URL})
	require.NoError(t, err)
	t.Cleanup(func() { bal.Close() })

	m := NewMux()
	m.Handle("/", muxTestSPA())
	m.Handle("/api", bal)
	m.Handle("/own", http.NotFoundHandler())

	// A browser navigation (Accept: text/html) is what an SPA fallback
	// answers with index.html; under /api it must not.
	navigate := func(p string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, p, nil)
		req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
		m.ServeHTTP(rec, req)
		return rec
	}
	for _, p := range []string{"/api/unknown", "/api/deep/unknown/path", "/api/"} {
		rec := navigate(p)
		assert.Equal(t, http.StatusNotFound, rec.Code, p)
		assert.Equal(t, "application/json", rec.Header().Get("Content-Type"), p)
		assert.NotContains(t, rec.Body.String(), "index.html", p)
	}
	rec := navigate("/own/unknown")
	assert.Equal(t, http.StatusNotFound, rec.Code)
	assert.NotContains(t, rec.Body.String(), "index.html")

	rec = muxTestGet(t, m, "/api/known")
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `{"ok":true}`, rec.Body.String())

	rec = navigate("/some/page")
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), "index.html", "the SPA fallback still serves pages")
}

func TestMuxStripPrefix(t *testing.T) {
	m := NewMux()
	m.Handle("/api", muxTestHandler("api"), WithStripPrefix("/api"))
	m.Handle("/v1/users", muxTestHandler("users"), WithStripPrefix("/v1/"))
	m.Handle("/", muxTestHandler("root"), WithStripPrefix("/"))

	tests := []struct{ give, want string }{
		{"/api", "api /"},
		{"/api/", "api /"},
		{"/api/users", "api /users"},
		{"/api/a/b/", "api /a/b/"},
		{"/api//x", "api /x"},
		{"/page", "root /page"},
		{"/v1/users/7", "users /users/7"},
		{"/v1/users", "users /users"},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			assert.Equal(t, tt.want, muxTestGet(t, m, tt.give).Body.String())
		})
	}

	t.Run("query and escaping survive", func(t *testing.T) {
		var got *http.Request
		m := NewMux()
		m.Handle("/api", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r }), WithStripPrefix("/api"))
		req := httptest.NewRequest(http.MethodGet, "/api/a%2Fb?q=1", nil)
		m.ServeHTTP(httptest.NewRecorder(), req)
		require.NotNil(t, got)
		assert.Equal(t, "/a/b", got.URL.Path)
		assert.Equal(t, "/a%2Fb", got.URL.EscapedPath())
		assert.Equal(t, "q=1", got.URL.RawQuery)
		assert.Equal(t, "/api/a%2Fb", req.URL.EscapedPath(), "the caller's request is not modified")
	})
}

func TestMuxStripPrefixThroughBalancer(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.RequestURI())
	}))
	t.Cleanup(backend.Close)
	bal, err := NewBalancer([]string{backend.URL})
	require.NoError(t, err)
	t.Cleanup(func() { bal.Close() })

	m := NewMux()
	m.Handle("/legacy", bal, WithStripPrefix("/legacy"))
	m.Handle("/api", bal)
	assert.Equal(t, "/orders?x=1", muxTestGet(t, m, "/legacy/orders?x=1").Body.String())
	assert.Equal(t, "/api/orders?x=1", muxTestGet(t, m, "/api/orders?x=1").Body.String(), "without the option the path is forwarded 1:1")
}

func TestMuxInsideServeMux(t *testing.T) {
	fsys := fstest.MapFS{"index.html": {Data: []byte("<h1>home</h1>")}}
	static, err := NewStaticFS(fsys)
	require.NoError(t, err)

	fd := NewMux()
	fd.Handle("/", static)
	fd.Handle("/api", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"path": r.URL.Path})
	}))

	outer := http.NewServeMux()
	outer.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	outer.Handle("/app/", http.StripPrefix("/app", fd))

	srv := httptest.NewServer(outer)
	t.Cleanup(srv.Close)

	get := func(p string) (int, string) {
		t.Helper()
		resp, err := srv.Client().Get(srv.URL + p)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	code, body := get("/healthz")
	assert.Equal(t, 200, code)
	assert.Equal(t, "ok", body)

	code, body = get("/app/")
	assert.Equal(t, 200, code)
	assert.Equal(t, "<h1>home</h1>", body)

	code, body = get("/app/api/users")
	assert.Equal(t, 200, code)
	assert.JSONEq(t, `{"path":"/api/users"}`, body)

	code, _ = get("/app/missing.txt")
	assert.Equal(t, 404, code)
	code, _ = get("/elsewhere")
	assert.Equal(t, 404, code)
}

func TestMuxHandlePanics(t *testing.T) {
	h := muxTestHandler("h")
	tests := []struct {
		name string
		give func(m *Mux)
		want string
	}{
		{"nil handler", func(m *Mux) { m.Handle("/api", nil) }, `frontdoor: Mux.Handle("/api"): nil handler`},
		{"duplicate", func(m *Mux) { m.Handle("/api", h); m.Handle("/api", h) }, `frontdoor: Mux.Handle("/api"): prefix "/api" is already registered`},
		{"duplicate after cleaning", func(m *Mux) { m.Handle("/api", h); m.Handle("/api/", h) }, `frontdoor: Mux.Handle("/api/"): prefix "/api" is already registered`},
		{"empty prefix", func(m *Mux) { m.Handle("", h) }, `frontdoor: Mux.Handle(""): prefix must begin with "/"`},
		{"relative prefix", func(m *Mux) { m.Handle("api", h) }, `frontdoor: Mux.Handle("api"): prefix must begin with "/"`},
		{"strip prefix not above the route", func(m *Mux) { m.Handle("/api", h, WithStripPrefix("/ap")) }, `frontdoor: Mux.Handle("/api"): WithStripPrefix("/ap"): not a prefix of the route`},
		{"strip prefix below the route", func(m *Mux) { m.Handle("/api", h, WithStripPrefix("/api/v1")) }, `WithStripPrefix("/api/v1"): not a prefix of the route`},
		{"relative strip prefix", func(m *Mux) { m.Handle("/api", h, WithStripPrefix("api")) }, `WithStripPrefix("api"): prefix must begin with "/"`},
		{"negative burst", func(m *Mux) { m.Handle("/r", h, WithRateLimit(1, -1)) }, `frontdoor: Mux.Handle("/r"): WithRateLimit: burst -1 must be at least 1`},
		{"zero limit", func(m *Mux) { m.Handle("/r", h, WithRateLimit(0, 5)) }, `frontdoor: Mux.Handle("/r"): WithRateLimit: limit 0 must be positive`},
		{"bad trusted proxy", func(m *Mux) { m.Handle("/r", h, WithRateLimit(1, 1), WithTrustedProxies("nope")) }, `frontdoor: Mux.Handle("/r"): trusted proxy "nope"`},
		{"bad trusted proxy without limit", func(m *Mux) { m.Handle("/r", h, WithTrustedProxies("10.0.0.0/99")) }, `frontdoor: Mux.Handle("/r"): trusted proxy "10.0.0.0/99"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMux()
			var got any
			func() {
				defer func() { got = recover() }()
				tt.give(m)
			}()
			require.NotNil(t, got, "Handle must panic")
			msg, ok := got.(string)
			require.True(t, ok, "panic value is a string, got %T", got)
			assert.Contains(t, msg, tt.want)
		})
	}
}

func TestMuxConcurrentHandleAndServe(t *testing.T) {
	m := NewMux()
	m.Handle("/", muxTestHandler("root"))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				if g == 0 {
					m.Handle(fmt.Sprintf("/r%d", i), muxTestHandler(fmt.Sprintf("r%d", i)))
					continue
				}
				rec := httptest.NewRecorder()
				m.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, fmt.Sprintf("/r%d/x", i), nil))
				body := rec.Body.String()
				if body != "root /r"+fmt.Sprint(i)+"/x" && body != fmt.Sprintf("r%d /r%d/x", i, i) {
					t.Errorf("unexpected body %q", body)
				}
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, "r199 /r199/x", muxTestGet(t, m, "/r199/x").Body.String())
}

func TestMuxMatchAllocs(t *testing.T) {
	m := NewMux()
	for _, p := range []string{"/", "/api", "/api/v1", "/api/v2", "/static", "/assets/img", "/ws"} {
		m.Handle(p, muxTestHandler(p))
	}
	var rt *muxRoute
	allocs := testing.AllocsPerRun(100, func() {
		rt, _ = m.match("/api/v2/users/42")
	})
	require.NotNil(t, rt)
	assert.Equal(t, "/api/v2", rt.prefix)
	assert.Zero(t, allocs, "matching a clean path must not allocate")
}

func TestIsCleanMuxPath(t *testing.T) {
	for _, p := range []string{"/", "/a", "/a/", "/a/b.c", "/.well-known/x", "/a/..b", "/a/b..", "/..a"} {
		assert.True(t, isCleanMuxPath(p), p)
		assert.Equal(t, p, cleanMuxPath(p), "%s is its own clean form", p)
	}
	for _, p := range []string{"//", "/a//b", "/.", "/./a", "/a/.", "/..", "/a/../b", "/a/..", "/a/./"} {
		assert.False(t, isCleanMuxPath(p), p)
		assert.NotEqual(t, p, cleanMuxPath(p), p)
	}
}

func BenchmarkMux(b *testing.B) {
	m := NewMux()
	for _, p := range []string{"/", "/api", "/api/v1", "/api/v2", "/static", "/assets/img", "/ws", "/admin", "/metrics"} {
		m.Handle(p, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	}
	req := httptest.NewRequest(http.MethodGet, "/api/v2/users/42", nil)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		m.ServeHTTP(w, req)
	}
}

func FuzzMuxMatch(f *testing.F) {
	for _, s := range []string{"/", "/api", "/api/x", "/apix", "//api", "/a/../api/..", "/./api", "/api/v2/"} {
		f.Add(s)
	}
	m := NewMux()
	for _, p := range []string{"/", "/api", "/api/v2"} {
		m.Handle(p, muxTestHandler(p))
	}
	f.Fuzz(func(t *testing.T, p string) {
		rt, matched := m.match(p)
		if p == "" || p[0] != '/' {
			if rt != nil {
				t.Fatalf("%q matched %q", p, rt.prefix)
			}
			return
		}
		if rt == nil {
			t.Fatalf("%q matched nothing although / is registered", p)
		}
		if !isCleanMuxPath(matched) {
			t.Fatalf("%q matched as unclean %q", p, matched)
		}
		if !muxPrefixMatches(rt.prefix, matched) {
			t.Fatalf("%q: route %q does not match %q", p, rt.prefix, matched)
		}
		// No longer registered prefix matches.
		for _, other := range []string{"/api", "/api/v2"} {
			if len(other) > len(rt.prefix) && muxPrefixMatches(other, matched) {
				t.Fatalf("%q: %q chosen over longer %q", p, rt.prefix, other)
			}
		}
	})
}

// TestMuxErrorsSpeakJSONToAPIClients checks that the Mux's own 404 and a
// route's 429 answer like the Balancer's errors: problem+json for a client
// that accepts JSON, short text otherwise, and never a stack of details.
func TestMuxErrorsSpeakJSONToAPIClients(t *testing.T) {
	m := NewMux()
	m.Handle("/api", muxTestHandler("api"), WithRateLimit(1, 1))
	do := func(target, accept string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, target, nil)
		r.RemoteAddr = "192.0.2.9:1"
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		rec := httptest.NewRecorder()
		m.ServeHTTP(rec, r)
		return rec
	}

	rec := do("/nowhere", "application/json")
	assert.Equal(t, http.StatusNotFound, rec.Code)
	assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
	assert.JSONEq(t, `{"type":"about:blank","title":"Not Found","status":404}`, rec.Body.String())
	rec = do("/nowhere", "")
	assert.Equal(t, http.StatusNotFound, rec.Code)
	assert.Equal(t, "text/plain; charset=utf-8", rec.Header().Get("Content-Type"))
	assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))

	require.Equal(t, http.StatusOK, do("/api/x", "application/json").Code)
	rec = do("/api/x", "application/json")
	assert.Equal(t, http.StatusTooManyRequests, rec.Code)
	assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
	assert.Contains(t, rec.Body.String(), `"status":429`)
	assert.NotEmpty(t, rec.Header().Get("Retry-After"), "Retry-After survives the shared writer")
}
