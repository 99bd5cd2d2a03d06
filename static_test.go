package frontdoor

import (
	"bytes"
	"compress/gzip"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

//go:embed testdata/staticsite
var staticTestEmbed embed.FS

const (
	staticTestSecret  = "TOP-SECRET-OUTSIDE-THE-ROOT"
	staticTestDotfile = "DOTFILE-CONTENT-MUST-NOT-LEAK"
)

// staticTestPNG is the start of a PNG file, enough for sniffing.
var staticTestPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00")

// staticTestGzip returns s gzipped.
func staticTestGzip(t testing.TB, s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, err := io.WriteString(zw, s)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return b.Bytes()
}

// staticTestFiles is the site every table test serves, as name -> content.
func staticTestFiles(t testing.TB) map[string][]byte {
	return map[string][]byte{
		"index.html":                 []byte("<h1>home</h1>"),
		"app.js":                     []byte("console.log('plain')"),
		"app.js.br":                  []byte("BROTLI-BYTES"),
		"app.js.gz":                  staticTestGzip(t, "console.log('plain')"),
		"style.css":                  []byte("body{}"),
		"style.css.gz":               staticTestGzip(t, "body{}"),
		"assets/app.3f9a1c2b.js":     []byte("fingerprinted"),
		"assets/chunk-AB12CD34.css":  []byte("fingerprinted css"),
		"docs/index.html":            []byte("<h1>docs</h1>"),
		"docs/guide.txt":             []byte("guide"),
		"noindex/a.txt":              []byte("a"),
		"noindex/.hidden":            []byte(staticTestDotfile),
		"range.txt":                  []byte("0123456789"),
		"image.unknownext":           staticTestPNG,
		".env":                       []byte(staticTestDotfile),
		".git/config":                []byte(staticTestDotfile),
		"assets/.secret.js":          []byte(staticTestDotfile),
		".well-known/security.txt":   []byte("Contact: mailto:sec@example.com"),
		".well-known/.hidden":        []byte(staticTestDotfile),
		"UPPER.JS":                   []byte("upper"),
		"file with space & more.txt": []byte("spaced"),
	}
}

// staticTestMapFS returns the test site as an fstest.MapFS (no mod times).
func staticTestMapFS(t testing.TB) fstest.MapFS {
	m := fstest.MapFS{}
	for name, data := range staticTestFiles(t) {
		m[name] = &fstest.MapFile{Data: data, Mode: 0o644}
	}
	return m
}

// staticTestDir writes the test site to a temp dir inside which "link"
// and "linkdir" are symlinks to a secret file and directory outside it.
// It returns the site's directory.
func staticTestDir(t testing.TB) string {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	require.NoError(t, os.MkdirAll(outside, 0o755))
	secret := filepath.Join(outside, "secret.txt")
	require.NoError(t, os.WriteFile(secret, []byte(staticTestSecret), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(base, "secret.txt"), []byte(staticTestSecret), 0o644))

	root := filepath.Join(base, "site")
	for name, data := range staticTestFiles(t) {
		p := filepath.Join(root, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, data, 0o644))
	}
	require.NoError(t, os.Symlink(secret, filepath.Join(root, "link")))
	require.NoError(t, os.Symlink(secret, filepath.Join(root, "link.txt")))
	require.NoError(t, os.Symlink(outside, filepath.Join(root, "linkdir")))
	require.NoError(t, os.Symlink("docs/guide.txt", filepath.Join(root, "inside-link.txt")))
	return root
}

// staticTestFSes returns the test site behind each kind of fs.FS.
func staticTestFSes(t *testing.T) map[string]fs.FS {
	dir, err := OpenDir(staticTestDir(t))
	require.NoError(t, err)
	return map[string]fs.FS{"mapfs": staticTestMapFS(t), "disk": dir}
}

// staticTestDo sends one request to h; headers alternate name, value.
func staticTestDo(t testing.TB, h http.Handler, method, target string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func staticTestNew(t testing.TB, fsys fs.FS, opts ...StaticOption) *StaticFS {
	t.Helper()
	opts = append([]StaticOption{WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	s, err := NewStaticFS(fsys, opts...)
	require.NoError(t, err)
	return s
}

func TestStaticFSServesEveryFSKind(t *testing.T) {
	embedded, err := fs.Sub(staticTestEmbed, "testdata/staticsite")
	require.NoError(t, err)
	dir := staticTestDir(t)
	opened, err := OpenDir(dir)
	require.NoError(t, err)
	fses := map[string]struct {
		fsys    fs.FS
		index   string
		lastMod bool
	}{
		"embed.FS":           {embedded, "<!doctype html><title>embedded</title>\n", false},
		"fstest.MapFS":       {staticTestMapFS(t), "<h1>home</h1>", false},
		"os.DirFS":           {os.DirFS(dir), "<h1>home</h1>", true},
		"OpenDir":            {opened, "<h1>home</h1>", true},
		"no Seek, no ReadAt": {staticTestNoSeekFS{staticTestMapFS(t)}, "<h1>home</h1>", false},
	}
	for name, tt := range fses {
		t.Run(name, func(t *testing.T) {
			s := staticTestNew(t, tt.fsys)
			w := staticTestDo(t, s, "GET", "/")
			require.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, tt.index, w.Body.String())
			assert.Equal(t, "text/html; charset=utf-8", w.Header().Get("Content-Type"))
			assert.Regexp(t, `^"[A-Za-z0-9_-]{20}"$`, w.Header().Get("ETag"), "a strong ETag, mod time or not")
			assert.Equal(t, tt.lastMod, w.Header().Get("Last-Modified") != "")
			assert.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))

			w = staticTestDo(t, s, "GET", "/app.js")
			require.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, "text/javascript; charset=utf-8", w.Header().Get("Content-Type"))
		})
	}
}

// staticTestNoSeekFS hides the Seek and ReadAt methods of its files, as a
// custom fs.FS might.
type staticTestNoSeekFS struct{ fsys fs.FS }

func (f staticTestNoSeekFS) Open(name string) (fs.File, error) {
	file, err := f.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	return struct{ fs.File }{file}, nil
}

func TestStaticFSZeroValue(t *testing.T) {
	for _, s := range []*StaticFS{nil, {}} {
		w := staticTestDo(t, s, "GET", "/")
		assert.Equal(t, http.StatusNotFound, w.Code)
		assert.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))
	}
}

func TestStaticFSMethods(t *testing.T) {
	s := staticTestNew(t, staticTestMapFS(t))
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "PROPFIND"} {
		w := staticTestDo(t, s, m, "/index.html")
		assert.Equal(t, http.StatusMethodNotAllowed, w.Code, m)
		assert.Equal(t, "GET, HEAD", w.Header().Get("Allow"), m)
		assert.Equal(t, "405 method not allowed\n", w.Body.String(), m)
	}
	w := staticTestDo(t, s, "HEAD", "/index.html")
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Empty(t, w.Body.String())
	assert.Equal(t, "13", w.Header().Get("Content-Length"))
}

func TestStaticFSIndexAndRedirect(t *testing.T) {
	for kind, fsys := range staticTestFSes(t) {
		t.Run(kind, func(t *testing.T) {
			s := staticTestNew(t, fsys)
			tests := []struct {
				give     string
				wantCode int
				wantBody string
				wantLoc  string
			}{
				{"/", 200, "<h1>home</h1>", ""},
				{"/docs/", 200, "<h1>docs</h1>", ""},
				{"/docs", 301, "", "./docs/"},
				{"/docs?tab=1&x=%20", 301, "", "./docs/?tab=1&x=%20"},
				{"/docs/.", 301, "", "./"},
				{"/docs//", 200, "<h1>docs</h1>", ""},
				{"/%2e/docs", 301, "", "./docs/"},
				{"/docs/guide.txt", 200, "guide", ""},
				{"/docs/guide.txt/", 404, "404 page not found\n", ""},
				{"/noindex/", 404, "404 page not found\n", ""},
				{"/missing", 404, "404 page not found\n", ""},
				{"//docs//guide.txt", 200, "guide", ""},
				{"/./docs/./guide.txt", 200, "guide", ""},
				{"/file%20with%20space%20&%20more.txt", 200, "spaced", ""},
			}
			for _, tt := range tests {
				w := staticTestDo(t, s, "GET", tt.give)
				assert.Equal(t, tt.wantCode, w.Code, tt.give)
				if tt.wantLoc != "" {
					assert.Equal(t, tt.wantLoc, w.Header().Get("Location"), tt.give)
				} else {
					assert.Equal(t, tt.wantBody, w.Body.String(), tt.give)
				}
			}
		})
	}
}

func TestStaticFSSPAFallback(t *testing.T) {
	const nav = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	for kind, fsys := range staticTestFSes(t) {
		t.Run(kind, func(t *testing.T) {
			s := staticTestNew(t, fsys, WithSPAFallback("index.html"))
			tests := []struct {
				method, give, accept string
				wantCode             int
				wantBody             string
			}{
				{"GET", "/users/42", nav, 200, "<h1>home</h1>"},
				{"GET", "/users/42/", nav, 200, "<h1>home</h1>"},
				{"HEAD", "/settings", nav, 200, ""},
				{"GET", "/noindex/", nav, 200, "<h1>home</h1>"},
				{"GET", "/docs/guide.txt", nav, 200, "guide"},
				{"GET", "/docs/", nav, 200, "<h1>docs</h1>"},
				{"GET", "/app.js", nav, 200, "console.log('plain')"},
				{"GET", "/users/jane.doe", nav, 200, "<h1>home</h1>"},
				{"GET", "/users/a@b.example/", nav, 200, "<h1>home</h1>"},
				{"GET", "/missing.js", nav, 200, "<h1>home</h1>"},
				{"GET", "/missing.js", "*/*", 404, "404 page not found\n"},
				{"GET", "/missing.css", "text/css,*/*;q=0.1", 404, "404 page not found\n"},
				{"GET", "/missing.png", "image/avif,image/webp,image/*,*/*;q=0.8", 404, "404 page not found\n"},
				{"GET", "/users/jane.doe", "application/json", 404, "404 page not found\n"},
				{"GET", "/users/42", "text/*", 404, "404 page not found\n"},
				{"GET", "/users/42", "*/*", 404, "404 page not found\n"},
				{"GET", "/users/42", "application/json", 404, "404 page not found\n"},
				{"GET", "/users/42", "text/html;q=0", 404, "404 page not found\n"},
				{"GET", "/users/42", "", 404, "404 page not found\n"},
				{"POST", "/users/42", nav, 405, "405 method not allowed\n"},
				{"GET", "/.env", nav, 404, "404 page not found\n"},
			}
			for _, tt := range tests {
				w := staticTestDo(t, s, tt.method, tt.give, "Accept", tt.accept)
				assert.Equal(t, tt.wantCode, w.Code, tt.give)
				assert.Equal(t, tt.wantBody, w.Body.String(), tt.give)
				if tt.wantCode == 200 && tt.wantBody == "<h1>home</h1>" {
					assert.Equal(t, "text/html; charset=utf-8", w.Header().Get("Content-Type"))
					assert.Equal(t, "no-cache", w.Header().Get("Cache-Control"))
					assert.Equal(t, "Accept", w.Header().Get("Vary"))
				}
			}
			assert.Equal(t, 404, staticTestDo(t, staticTestNew(t, fsys), "GET", "/users/42", "Accept", nav).Code, "off by default")
		})
	}
}

// staticTestErrFS serves files whose reads fail.
type staticTestErrFS struct{}

type staticTestErrFile struct{ fs.FileInfo }

func (staticTestErrFS) Open(name string) (fs.File, error) {
	if name != "broken.txt" {
		return nil, &fs.PathError{Op: "open", Path: "/srv/private/" + name, Err: fs.ErrNotExist}
	}
	fi, err := fs.Stat(fstest.MapFS{"broken.txt": {Data: []byte("0123456789")}}, "broken.txt")
	if err != nil {
		return nil, err
	}
	return staticTestErrFile{fi}, nil
}

func (f staticTestErrFile) Stat() (fs.FileInfo, error) { return f.FileInfo, nil }

func (staticTestErrFile) Read([]byte) (int, error) {
	return 0, errors.New("read /srv/private/broken.txt: input/output error")
}

func (staticTestErrFile) Seek(int64, int) (int64, error) { return 0, nil }

func (staticTestErrFile) Close() error { return nil }

func TestStaticFSReadErrorIs500AndLogged(t *testing.T) {
	var logs bytes.Buffer
	s, err := NewStaticFS(staticTestErrFS{}, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	require.NoError(t, err)
	w := staticTestDo(t, s, "GET", "/broken.txt")
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.Equal(t, "500 internal server error\n", w.Body.String(), "never the error text or a path")
	assert.Equal(t, "text/plain; charset=utf-8", w.Header().Get("Content-Type"))
	assert.Contains(t, logs.String(), "frontdoor: static read failed")
	assert.Contains(t, logs.String(), "input/output error")
	assert.Contains(t, logs.String(), "path=broken.txt")

	w = staticTestDo(t, s, "GET", "/other.txt")
	assert.Equal(t, http.StatusNotFound, w.Code)
	assert.Equal(t, "404 page not found\n", w.Body.String())
}

func TestStaticServerTrouble(t *testing.T) {
	tests := []struct {
		give error
		want bool
	}{
		{&fs.PathError{Op: "openat", Path: "x", Err: syscall.EMFILE}, true},
		{&fs.PathError{Op: "openat", Path: "x", Err: syscall.EIO}, true},
		{&fs.PathError{Op: "openat", Path: "x", Err: syscall.ENOENT}, false},
		{&fs.PathError{Op: "openat", Path: "x", Err: syscall.ELOOP}, false},
		{&fs.PathError{Op: "openat", Path: "x", Err: errors.New("path escapes from parent")}, false},
		{fs.ErrNotExist, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, staticServerTrouble(tt.give), tt.give.Error())
	}
}

func TestStaticFSConcurrent(t *testing.T) {
	t.Run("mapfs", func(t *testing.T) {
		s := staticTestNew(t, staticTestMapFS(t))
		srv := httptest.NewServer(s)
		t.Cleanup(srv.Close)
		done := make(chan error, 8)
		for i := range 8 {
			go func() {
				var err error
				for j := 0; j < 25 && err == nil; j++ {
					req, _ := http.NewRequest("GET", srv.URL+[]string{"/app.js", "/", "/range.txt", "/style.css"}[(i+j)%4], nil)
					req.Header.Set("Accept-Encoding", []string{"br", "gzip", ""}[j%3])
					var resp *http.Response
					resp, err = srv.Client().Do(req)
					if err == nil {
						_, err = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != 200 {
							err = fmt.Errorf("status %d", resp.StatusCode)
						}
					}
				}
				done <- err
			}()
		}
		for range 8 {
			assert.NoError(t, <-done)
		}
	})
}

func TestStaticFSBelowStripPrefix(t *testing.T) {
	s := staticTestNew(t, staticTestMapFS(t))
	h := http.StripPrefix("/app", s)
	w := staticTestDo(t, h, "GET", "/app/docs")
	require.Equal(t, http.StatusMovedPermanently, w.Code)
	assert.Equal(t, "./docs/", w.Header().Get("Location"), "relative, so the prefix survives")
	assert.Equal(t, "<h1>home</h1>", staticTestDo(t, h, "GET", "/app").Body.String())
	assert.Equal(t, "guide", staticTestDo(t, h, "GET", "/app/docs/guide.txt").Body.String())
}
