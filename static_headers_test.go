package frontdoor

import (
	"bytes"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// staticHeadersTestVary returns the field names of w's Vary header.
func staticHeadersTestVary(w *httptest.ResponseRecorder) []string {
	var names []string
	for _, v := range w.Header().Values("Vary") {
		for tok := range strings.SplitSeq(v, ",") {
			if tok = strings.TrimSpace(tok); tok != "" {
				names = append(names, tok)
			}
		}
	}
	return names
}

// staticHeadersTestCORS wraps h as a CORS middleware would: it sets
// "Vary: Origin" before h runs.
func staticHeadersTestCORS(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Origin")
		h.ServeHTTP(w, r)
	})
}

type staticHeadersVaryCase struct {
	name         string
	h            http.Handler
	path, ae     string
	accept       string
	wantCode     int
	wantEncoding string
	wantVary     []string
}

// TestStaticFSKeepsWrapperVary checks that the Vary a wrapping middleware
// set survives, with StaticFS's names added once, on every path: from
// memory, from an opened file, precompressed, and on errors.
func TestStaticFSKeepsWrapperVary(t *testing.T) {
	dir := staticTestDir(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), (staticMemFileMax+1)/16+1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "big.js"), big, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "big.js.gz"), staticTestGzip(t, string(big)), 0o644))
	disk, err := OpenDir(dir)
	require.NoError(t, err)
	mapfs := staticTestMapFS(t)
	fses := map[string]fs.FS{"mapfs": mapfs, "disk": disk, "embedlike": staticBenchEmbedLike{mapfs}}
	for kind, fsys := range fses {
		t.Run(kind, func(t *testing.T) {
			h := staticHeadersTestCORS(staticTestNew(t, fsys))
			spa := staticHeadersTestCORS(staticTestNew(t, fsys, WithSPAFallback("index.html")))
			tests := []staticHeadersVaryCase{
				{"identity with siblings", h, "/app.js", "", "", 200, "", []string{"Origin", "Accept-Encoding"}},
				{"br", h, "/app.js", "br", "", 200, "br", []string{"Origin", "Accept-Encoding"}},
				{"gzip", h, "/style.css", "gzip", "", 200, "gzip", []string{"Origin", "Accept-Encoding"}},
				{"no sibling", h, "/docs/guide.txt", "br", "", 200, "", []string{"Origin"}},
				{"404", h, "/missing.js", "br", "", 404, "", []string{"Origin"}},
				{"404 for a directory without index", h, "/noindex/", "", "", 404, "", []string{"Origin"}},
				{"SPA index", spa, "/users/42", "br", "text/html", 200, "", []string{"Origin", "Accept"}},
				{"SPA 404", spa, "/users/42", "br", "application/json", 404, "", []string{"Origin", "Accept"}},
			}
			if kind == "disk" {
				tests = append(tests,
					staticHeadersVaryCase{"opened file, identity", h, "/big.js", "", "", 200, "", []string{"Origin", "Accept-Encoding"}},
					staticHeadersVaryCase{"opened file, gzip", h, "/big.js", "gzip", "", 200, "gzip", []string{"Origin", "Accept-Encoding"}},
				)
			}
			for range 2 { // cold (opened file), then warm (from memory where it applies)
				for _, tt := range tests {
					w := staticTestDo(t, tt.h, "GET", tt.path, "Accept-Encoding", tt.ae, "Accept", tt.accept)
					require.Equal(t, tt.wantCode, w.Code, tt.name)
					assert.Equal(t, tt.wantEncoding, w.Header().Get("Content-Encoding"), tt.name)
					assert.ElementsMatch(t, tt.wantVary, staticHeadersTestVary(w), tt.name)
				}
			}
			w := staticTestDo(t, h, "POST", "/app.js")
			require.Equal(t, http.StatusMethodNotAllowed, w.Code)
			assert.Equal(t, []string{"Origin"}, staticHeadersTestVary(w), "a 405 keeps it too")
		})
	}
}

// TestStaticFSSPA404VariesOnAccept checks that a 404 for a name the SPA
// fallback would have answered had Accept asked for HTML says Vary: Accept,
// and that other 404s do not.
func TestStaticFSSPA404VariesOnAccept(t *testing.T) {
	for kind, fsys := range staticTestFSes(t) {
		t.Run(kind, func(t *testing.T) {
			spa := staticTestNew(t, fsys, WithSPAFallback("index.html"))
			for _, accept := range []string{"", "*/*", "application/json", "text/html;q=0"} {
				for _, method := range []string{"GET", "HEAD"} {
					for _, p := range []string{"/users/42", "/users/jane.doe", "/missing.js"} {
						w := staticTestDo(t, spa, method, p, "Accept", accept)
						require.Equal(t, http.StatusNotFound, w.Code, accept)
						assert.Equal(t, []string{"Accept"}, staticHeadersTestVary(w), method+" "+p+" "+accept)
					}
				}
			}
			w := staticTestDo(t, spa, "GET", "/.env", "Accept", "text/html")
			require.Equal(t, http.StatusNotFound, w.Code)
			assert.Empty(t, staticHeadersTestVary(w), "a dotfile never falls back")
			w = staticTestDo(t, staticTestNew(t, fsys), "GET", "/users/42")
			require.Equal(t, http.StatusNotFound, w.Code)
			assert.Empty(t, staticHeadersTestVary(w), "no fallback, no Vary")
		})
	}
}

func TestStaticAddVary(t *testing.T) {
	ae := []string{"Accept-Encoding"}
	both := []string{"Accept, Accept-Encoding"}
	tests := []struct {
		prior, add, want []string
	}{
		{nil, ae, ae},
		{[]string{"Origin"}, ae, []string{"Origin", "Accept-Encoding"}},
		{[]string{"origin, accept-encoding"}, ae, []string{"origin, accept-encoding"}},
		{[]string{"Origin", "Accept"}, both, []string{"Origin", "Accept", "Accept-Encoding"}},
		{[]string{"Origin"}, both, []string{"Origin", "Accept, Accept-Encoding"}},
		{[]string{"*"}, both, []string{"*"}},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.prior != nil {
			h["Vary"] = tt.prior
		}
		prior := append([]string(nil), tt.prior...)
		staticAddVary(h, tt.add)
		assert.Equal(t, tt.want, h["Vary"], tt.prior)
		assert.Equal(t, prior, tt.prior, "the prior slice is not written into")
	}

	h := http.Header{"Vary": nil}
	allocs := testing.AllocsPerRun(100, func() {
		delete(h, "Vary")
		staticAddVary(h, ae)
	})
	assert.Zero(t, allocs, "without a prior Vary the shared slice is assigned")
}

func TestStaticFSCacheControl(t *testing.T) {
	s := staticTestNew(t, staticTestMapFS(t))
	tests := []struct{ give, want string }{
		{"/", "no-cache"},
		{"/docs/", "no-cache"},
		{"/assets/app.3f9a1c2b.js", "public, max-age=31536000, immutable"},
		{"/assets/chunk-AB12CD34.css", "public, max-age=31536000, immutable"},
		{"/app.js", ""},
		{"/range.txt", ""},
	}
	for _, tt := range tests {
		w := staticTestDo(t, s, "GET", tt.give)
		require.Equal(t, http.StatusOK, w.Code, tt.give)
		assert.Equal(t, tt.want, w.Header().Get("Cache-Control"), tt.give)
	}
	// A missing name whose policy would be long-lived must not make its 404
	// cacheable for a year: the file may appear with the next deploy.
	require.Equal(t, "public, max-age=31536000, immutable", DefaultCacheControl("assets/missing.3f9a1c2b.js"))
	for _, p := range []string{"/missing.js", "/assets/missing.3f9a1c2b.js", "/missing/"} {
		w := staticTestDo(t, s, "GET", p)
		require.Equal(t, http.StatusNotFound, w.Code, p)
		assert.Empty(t, w.Header().Values("Cache-Control"), "errors carry no policy: "+p)
	}
	everything := staticTestNew(t, staticTestMapFS(t), WithCacheControl(func(string) string { return "max-age=60" }))
	require.Equal(t, "max-age=60", staticTestDo(t, everything, "GET", "/app.js").Header().Get("Cache-Control"))
	for _, p := range []string{"/missing.js", "/assets/missing.3f9a1c2b.js", "/noindex/"} {
		w := staticTestDo(t, everything, "GET", p)
		require.Equal(t, http.StatusNotFound, w.Code, p)
		assert.Empty(t, w.Header().Values("Cache-Control"), "errors carry no policy, even one for every name: "+p)
	}
	wrapped := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		s.ServeHTTP(w, r)
	})
	for _, p := range []string{"/assets/missing.3f9a1c2b.js", "/docs/guide.txt/"} {
		w := staticTestDo(t, wrapped, "GET", p)
		require.Equal(t, http.StatusNotFound, w.Code, p)
		assert.Empty(t, w.Header().Values("Cache-Control"), "nor a wrapper's: "+p)
	}

	custom := staticTestNew(t, staticTestMapFS(t), WithCacheControl(func(name string) string {
		if name == "app.js" {
			return "max-age=60"
		}
		return DefaultCacheControl(name)
	}))
	assert.Equal(t, "max-age=60", staticTestDo(t, custom, "GET", "/app.js").Header().Get("Cache-Control"))
	assert.Equal(t, "max-age=60", staticTestDo(t, custom, "GET", "/app.js", "Accept-Encoding", "br").Header().Get("Cache-Control"),
		"a sibling follows its original's policy")
	assert.Equal(t, "no-cache", staticTestDo(t, custom, "GET", "/").Header().Get("Cache-Control"))
}

func TestStaticFingerprinted(t *testing.T) {
	yes := []string{
		"app.3f9a1c2b.js", "assets/chunk-AB12CD34.css", "main.3f9a1c2b4d5e6f708192.js",
		"index-BdV3x_9k.js", "index-D4xSx-9Z.js", "vendor_0123abcd.js", "logo.ABCDEF12.png",
		"x/y/runtime~main.1a2b3c4d5e6f.js",
	}
	no := []string{
		"app.js", "index.html", "jquery-3.7.1.min.js", "report-20240101.pdf", "favicon-32x32.png",
		"bootstrap.bundle.min.js", "deadbeef.txt", "Report22.pdf", "android-chrome-192x192.png",
		"3f9a1c2b/app.js", "my-long-name-v2.js", "abc", "",
	}
	for _, n := range yes {
		assert.True(t, staticFingerprinted(n), n)
	}
	for _, n := range no {
		assert.False(t, staticFingerprinted(n), n)
	}
}
