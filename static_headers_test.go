package frontdoor

import (
	"bytes"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

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

// staticTestCountFS counts the Open and Stat calls per name on a MapFS.
// It is not safe for concurrent use.
type staticTestCountFS struct {
	m     fstest.MapFS
	calls map[string]int
}

func (f *staticTestCountFS) Open(name string) (fs.File, error) {
	f.calls[name]++
	return f.m.Open(name)
}

func (f *staticTestCountFS) Stat(name string) (fs.FileInfo, error) {
	f.calls[name]++
	return f.m.Stat(name)
}

// TestStaticFSDeletedSiblingForgotten checks that once a precompressed
// sibling is deleted the original is served, and the sibling is no longer
// looked for on every request.
func TestStaticFSDeletedSiblingForgotten(t *testing.T) {
	for _, enc := range []string{"br", "gzip"} {
		t.Run(enc, func(t *testing.T) {
			sibling := map[string]string{"br": "a.js.br", "gzip": "a.js.gz"}[enc]
			fsys := &staticTestCountFS{m: fstest.MapFS{
				"a.js":  {Data: []byte("console.log(1)")},
				sibling: {Data: []byte("COMPRESSED")},
			}, calls: map[string]int{}}
			s := staticTestNew(t, fsys)
			for range 2 { // cold, then from memory
				w := staticTestDo(t, s, "GET", "/a.js", "Accept-Encoding", enc)
				require.Equal(t, http.StatusOK, w.Code)
				assert.Equal(t, enc, w.Header().Get("Content-Encoding"))
				assert.Equal(t, "COMPRESSED", w.Body.String())
			}

			delete(fsys.m, sibling)
			for i := range 3 {
				fsys.calls = map[string]int{}
				w := staticTestDo(t, s, "GET", "/a.js", "Accept-Encoding", enc)
				require.Equal(t, http.StatusOK, w.Code, i)
				assert.Empty(t, w.Header().Get("Content-Encoding"), i)
				assert.Equal(t, "console.log(1)", w.Body.String(), i)
				if i > 0 {
					assert.Zero(t, fsys.calls[sibling], "request %d looked for the deleted sibling", i)
					assert.Equal(t, map[string]int{"a.js": 1}, fsys.calls, "one stat, served from memory")
				}
			}
			entries, bytes := s.cache.len()
			assert.Equal(t, 1, entries, "the sibling's entry is dropped")
			assert.Equal(t, len("console.log(1)"), bytes)
		})
	}

	t.Run("disk", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "a.js"), []byte("console.log(1)"), 0o644))
		big := bytes.Repeat([]byte("x"), staticMemFileMax+1)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "big.js"), big, 0o644))
		for _, n := range []string{"a.js.br", "big.js.br"} {
			require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte("BR"), 0o644))
		}
		fsys, err := OpenDir(dir)
		require.NoError(t, err)
		s := staticTestNew(t, fsys)
		for _, name := range []string{"a.js", "big.js"} {
			w := staticTestDo(t, s, "GET", "/"+name, "Accept-Encoding", "br")
			require.Equal(t, "br", w.Header().Get("Content-Encoding"), name)
			require.NoError(t, os.Remove(filepath.Join(dir, name+".br")))
			for i := range 2 {
				w := staticTestDo(t, s, "GET", "/"+name, "Accept-Encoding", "br")
				require.Equal(t, http.StatusOK, w.Code, name)
				assert.Empty(t, w.Header().Get("Content-Encoding"), name)
				if i > 0 { // the request that finds it gone still says Vary, harmlessly
					assert.Empty(t, staticHeadersTestVary(w), "no sibling left, no Vary: "+name)
				}
			}
			m := s.cache.peek(name)
			require.NotNil(t, m, name)
			assert.Empty(t, m.br, name)
		}
	})
}

// TestStaticCacheLoadOnce checks that concurrent loads of one version of
// one key build its metadata once, and that a failed build lets the
// waiters try their own.
func TestStaticCacheLoadOnce(t *testing.T) {
	c := newStaticCache(10, 100)
	v := staticVer{size: staticHashLimit + 1, mod: 1}
	var builds atomic.Int32
	release := make(chan struct{})
	build := func() (*staticMeta, error) {
		builds.Add(1)
		<-release
		m := &staticMeta{ver: v}
		c.put("big", m)
		return m, nil
	}
	const n = 8
	got := make(chan *staticMeta, n)
	for range n {
		go func() {
			m, err := c.load("big", v, build)
			assert.NoError(t, err)
			got <- m
		}()
	}
	require.Eventually(t, func() bool { return builds.Load() == 1 }, 5*time.Second, time.Millisecond)
	close(release)
	first := <-got
	require.NotNil(t, first)
	for range n - 1 {
		assert.Same(t, first, <-got)
	}
	assert.Equal(t, int32(1), builds.Load(), "one hash for one version")

	m, err := c.load("big", staticVer{size: 7}, func() (*staticMeta, error) { return &staticMeta{ver: staticVer{size: 7}}, nil })
	require.NoError(t, err)
	assert.Equal(t, int64(7), m.ver.size, "another version is built anew")

	failing := make(chan struct{})
	var calls atomic.Int32
	results := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := c.load("bad", v, func() (*staticMeta, error) {
				if calls.Add(1) == 1 {
					<-failing
					return nil, errors.New("read: input/output error")
				}
				return &staticMeta{ver: v}, nil
			})
			results <- err
		}()
	}
	require.Eventually(t, func() bool { return calls.Load() >= 1 }, 5*time.Second, time.Millisecond)
	close(failing)
	errs := []error{<-results, <-results}
	assert.Equal(t, int32(2), calls.Load(), "a waiter builds its own after a failure")
	assert.Len(t, errs, 2)
	assert.True(t, (errs[0] == nil) != (errs[1] == nil), "only the failed build's caller sees its error: %v", errs)
}
