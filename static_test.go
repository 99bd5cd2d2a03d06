package frontdoor

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

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

func TestStaticFSContentTypes(t *testing.T) {
	want := map[string]string{
		".html": "text/html; charset=utf-8", ".htm": "text/html; charset=utf-8",
		".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
		".mjs": "text/javascript; charset=utf-8", ".cjs": "text/javascript; charset=utf-8",
		".json": "application/json; charset=utf-8", ".map": "application/json; charset=utf-8",
		".webmanifest": "application/manifest+json; charset=utf-8", ".wasm": "application/wasm",
		".svg": "image/svg+xml; charset=utf-8", ".png": "image/png", ".jpg": "image/jpeg",
		".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp", ".avif": "image/avif",
		".ico": "image/vnd.microsoft.icon", ".bmp": "image/bmp", ".woff": "font/woff",
		".woff2": "font/woff2", ".ttf": "font/ttf", ".otf": "font/otf",
		".txt": "text/plain; charset=utf-8", ".md": "text/markdown; charset=utf-8",
		".csv": "text/csv; charset=utf-8", ".xml": "text/xml; charset=utf-8",
		".pdf": "application/pdf", ".mp4": "video/mp4", ".webm": "video/webm", ".ogg": "audio/ogg",
		".mp3": "audio/mpeg", ".wav": "audio/wav", ".zip": "application/zip",
	}
	fsys := fstest.MapFS{}
	for ext := range want {
		fsys["f"+ext] = &fstest.MapFile{Data: []byte("x")}
	}
	fsys["UPPER.JS"] = &fstest.MapFile{Data: []byte("x")}
	fsys["image.unknownext"] = &fstest.MapFile{Data: staticTestPNG}
	fsys["noext"] = &fstest.MapFile{Data: []byte("plain words")}
	fsys["f.go"] = &fstest.MapFile{Data: []byte("package x")}
	s := staticTestNew(t, fsys)
	for ext, ctype := range want {
		t.Run(ext, func(t *testing.T) {
			w := staticTestDo(t, s, "GET", "/f"+ext)
			require.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, ctype, w.Header().Get("Content-Type"))
			assert.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))
		})
	}
	assert.Equal(t, "text/javascript; charset=utf-8", staticTestDo(t, s, "GET", "/UPPER.JS").Header().Get("Content-Type"))
	assert.Equal(t, "image/png", staticTestDo(t, s, "GET", "/image.unknownext").Header().Get("Content-Type"), "unknown extension: sniffed")
	assert.Equal(t, "text/plain; charset=utf-8", staticTestDo(t, s, "GET", "/noext").Header().Get("Content-Type"))

	t.Run("WithContentTypes", func(t *testing.T) {
		s := staticTestNew(t, fsys, WithContentTypes(map[string]string{".GO": "text/x-go; charset=utf-8", ".js": "application/javascript"}))
		assert.Equal(t, "text/x-go; charset=utf-8", staticTestDo(t, s, "GET", "/f.go").Header().Get("Content-Type"))
		assert.Equal(t, "application/javascript", staticTestDo(t, s, "GET", "/f.js").Header().Get("Content-Type"))
		other := staticTestNew(t, fsys)
		assert.Equal(t, "text/javascript; charset=utf-8", staticTestDo(t, other, "GET", "/f.js").Header().Get("Content-Type"),
			"an override is per handler, never process-wide")
	})
}

func TestStaticFSOptionErrors(t *testing.T) {
	fsys := staticTestMapFS(t)
	tests := []struct {
		give []StaticOption
		want string
	}{
		{[]StaticOption{WithContentTypes(map[string]string{"go": "text/plain"})}, "WithContentTypes"},
		{[]StaticOption{WithContentTypes(map[string]string{".go": "not a type"})}, "WithContentTypes"},
		{[]StaticOption{WithContentTypes(map[string]string{".a/b": "text/plain"})}, "WithContentTypes"},
		{[]StaticOption{WithSPAFallback("../index.html")}, "WithSPAFallback"},
		{[]StaticOption{WithSPAFallback(".hidden/index.html")}, "WithSPAFallback"},
		{[]StaticOption{WithDotfiles("well-known")}, "WithDotfiles"},
		{[]StaticOption{WithDotfiles(".a/b")}, "WithDotfiles"},
	}
	for _, tt := range tests {
		_, err := NewStaticFS(fsys, tt.give...)
		require.Error(t, err)
		assert.Contains(t, err.Error(), tt.want)
		assert.True(t, strings.HasPrefix(err.Error(), "frontdoor: "))
	}
	_, err := NewStaticFS(nil)
	assert.Error(t, err)
	_, err = NewStaticFS(fsys, nil, WithContentTypes(nil), WithSPAFallback(""), WithCacheControl(nil))
	assert.NoError(t, err, "nil and empty options mean the defaults")
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

func TestStaticFSIndexRedirectListing(t *testing.T) {
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

			l := staticTestNew(t, fsys, WithDirectoryListing(true))
			w := staticTestDo(t, l, "GET", "/noindex/")
			require.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, "text/html; charset=utf-8", w.Header().Get("Content-Type"))
			assert.Contains(t, w.Body.String(), `<a href="./a.txt">a.txt</a>`)
			assert.NotContains(t, w.Body.String(), ".hidden", "a listing hides dotfiles")
			w = staticTestDo(t, l, "GET", "/")
			assert.Equal(t, "<h1>home</h1>", w.Body.String(), "an index.html wins over the listing")
			w = staticTestDo(t, l, "GET", "/.git/")
			assert.Equal(t, http.StatusNotFound, w.Code, "hidden directories are not listed")
		})
	}
	t.Run("listing escapes names", func(t *testing.T) {
		fsys := fstest.MapFS{"d/<b>&\"x\".txt": {Data: []byte("x")}, "d/sub/a": {Data: []byte("x")}}
		w := staticTestDo(t, staticTestNew(t, fsys, WithDirectoryListing(true)), "GET", "/d/")
		require.Equal(t, http.StatusOK, w.Code)
		assert.Contains(t, w.Body.String(), `<a href="./%3Cb%3E&amp;%22x%22.txt">&lt;b&gt;&amp;&#34;x&#34;.txt</a>`)
		assert.Contains(t, w.Body.String(), `<a href="./sub/">sub/</a>`)
	})
}

// TestStaticFSValidators runs conditional and Range requests over each
// kind of fs.FS (with and without mod times, with and without Stat) and
// over a small file (served from memory where the FS can stat) and one
// too large to keep (an opened file through ServeContent).
func TestStaticFSValidators(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789"), staticMemFileMax/10+100)
	dir := staticTestDir(t)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "big.txt"), big, 0o644))
	disk, err := OpenDir(dir)
	require.NoError(t, err)
	mapfs := staticTestMapFS(t)
	mapfs["big.txt"] = &fstest.MapFile{Data: big, Mode: 0o644}
	fses := map[string]fs.FS{"mapfs": mapfs, "disk": disk, "embedlike": staticBenchEmbedLike{mapfs}}
	for kind, fsys := range fses {
		for _, file := range []string{"range.txt", "big.txt"} {
			t.Run(kind+"/"+file, func(t *testing.T) {
				staticTestValidators(t, staticTestNew(t, fsys), "/"+file, kind == "disk")
			})
		}
	}
}

// staticTestValidators checks the validators of target, whose content is
// "0123456789" repeated, on s; hasModTime tells whether its FS has mod
// times.
func staticTestValidators(t *testing.T, s *StaticFS, target string, hasModTime bool) {
	w := staticTestDo(t, s, "GET", target)
	require.Equal(t, http.StatusOK, w.Code)
	body := w.Body.String()
	require.Equal(t, strings.Repeat("0123456789", len(body)/10), body)
	n := len(body)
	etag := w.Header().Get("ETag")
	require.Regexp(t, `^"[A-Za-z0-9_-]{20}"$`, etag)
	lastMod := w.Header().Get("Last-Modified")
	assert.Equal(t, hasModTime, lastMod != "", "Last-Modified only with a mod time")
	assert.NotEqual(t, etag, staticTestDo(t, s, "GET", "/docs/guide.txt").Header().Get("ETag"))

	type validatorTest struct {
		name     string
		headers  []string
		wantCode int
		wantBody string
	}
	tests := []validatorTest{
		{"If-None-Match match", []string{"If-None-Match", etag}, 304, ""},
		{"If-None-Match list", []string{"If-None-Match", `"nope", ` + etag}, 304, ""},
		{"If-None-Match weak compare", []string{"If-None-Match", "W/" + etag}, 304, ""},
		{"If-None-Match star", []string{"If-None-Match", "*"}, 304, ""},
		{"If-None-Match other", []string{"If-None-Match", `"nope"`}, 200, body},
		{"If-Match match", []string{"If-Match", etag}, 200, body},
		{"If-Match other", []string{"If-Match", `"nope"`}, 412, ""},
		{"Range", []string{"Range", "bytes=2-4"}, 206, "234"},
		{"Range suffix", []string{"Range", "bytes=-3"}, 206, "789"},
		{"Range unsatisfiable", []string{"Range", fmt.Sprintf("bytes=%d-%d", n+40, n+50)}, 416, ""},
		{"If-Range match", []string{"Range", "bytes=0-1", "If-Range", etag}, 206, "01"},
		{"If-Range other", []string{"Range", "bytes=0-1", "If-Range", `"nope"`}, 200, body},
	}
	if lastMod != "" {
		past := time.Now().Add(-48 * time.Hour).UTC().Format(http.TimeFormat)
		tests = append(tests,
			validatorTest{"If-Modified-Since now", []string{"If-Modified-Since", lastMod}, 304, ""},
			validatorTest{"If-Modified-Since past", []string{"If-Modified-Since", past}, 200, body},
			validatorTest{"If-Unmodified-Since past", []string{"If-Unmodified-Since", past}, 412, ""},
			validatorTest{"If-Unmodified-Since now", []string{"If-Unmodified-Since", lastMod}, 200, body},
			validatorTest{"If-None-Match wins over If-Modified-Since", []string{"If-None-Match", `"nope"`, "If-Modified-Since", lastMod}, 200, body},
		)
	}
	for range 2 { // cold, then warm cache
		for _, tt := range tests {
			w := staticTestDo(t, s, "GET", target, tt.headers...)
			assert.Equal(t, tt.wantCode, w.Code, tt.name)
			if tt.wantBody != "" {
				assert.Equal(t, tt.wantBody, w.Body.String(), tt.name)
			}
			if tt.wantCode == 304 {
				assert.Equal(t, etag, w.Header().Get("ETag"), tt.name)
				assert.Empty(t, w.Body.String(), tt.name)
			}
		}
	}
	for rng, want := range map[string]string{
		"bytes=2-4":      fmt.Sprintf("bytes 2-4/%d", n),
		"bytes=-3":       fmt.Sprintf("bytes %d-%d/%d", n-3, n-1, n),
		"bytes=9999999-": fmt.Sprintf("bytes */%d", n),
	} {
		assert.Equal(t, want, staticTestDo(t, s, "GET", target, "Range", rng).Header().Get("Content-Range"), rng)
	}

	w = staticTestDo(t, s, "GET", target, "Range", "bytes=0-1,5-6")
	require.Equal(t, http.StatusPartialContent, w.Code)
	ct := w.Header().Get("Content-Type")
	require.True(t, strings.HasPrefix(ct, "multipart/byteranges; boundary="), ct)
	mr := multipart.NewReader(w.Body, strings.TrimPrefix(ct, "multipart/byteranges; boundary="))
	var parts []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		b, err := io.ReadAll(p)
		require.NoError(t, err)
		parts = append(parts, string(b))
		assert.Equal(t, "text/plain; charset=utf-8", p.Header.Get("Content-Type"))
	}
	assert.Equal(t, []string{"01", "56"}, parts)
}

func TestStaticFSETagFollowsContent(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.txt")
	require.NoError(t, os.WriteFile(p, []byte("version one"), 0o644))
	fsys, err := OpenDir(dir)
	require.NoError(t, err)
	s := staticTestNew(t, fsys)
	first := staticTestDo(t, s, "GET", "/a.txt").Header().Get("ETag")
	assert.Equal(t, first, staticTestDo(t, s, "GET", "/a.txt").Header().Get("ETag"))

	require.NoError(t, os.WriteFile(p, []byte("version two"), 0o644)) // same size
	later := time.Now().Add(time.Hour)
	require.NoError(t, os.Chtimes(p, later, later))
	w := staticTestDo(t, s, "GET", "/a.txt", "If-None-Match", first)
	assert.Equal(t, http.StatusOK, w.Code, "the old ETag no longer matches")
	assert.Equal(t, "version two", w.Body.String())
	assert.NotEqual(t, first, w.Header().Get("ETag"))

	// Same bytes, same ETag, whatever the FS: the ETag is a content hash.
	m := staticTestNew(t, fstest.MapFS{"a.txt": {Data: []byte("version two")}})
	assert.Equal(t, w.Header().Get("ETag"), staticTestDo(t, m, "GET", "/a.txt").Header().Get("ETag"))
}

func TestStaticFSETagCacheIsBounded(t *testing.T) {
	c := newStaticCache(4, 100)
	for i := range 100 {
		c.put(fmt.Sprint("f", i), &staticMeta{ver: staticVer{size: int64(i)}, data: make([]byte, i%40)})
		entries, bytes := c.len()
		assert.LessOrEqual(t, entries, 4)
		assert.LessOrEqual(t, bytes, 100)
	}
	assert.NotNil(t, c.get("f99", staticVer{size: 99}), "the newest entry is kept")
	assert.Nil(t, c.get("f99", staticVer{size: 98}), "another size is another version")
	assert.Nil(t, c.get("f99", staticVer{size: 99, mod: 1}), "another mod time is another version")
	assert.Nil(t, c.get("f99", staticVer{size: 99, chg: 1}), "another change stamp is another version")

	c.put("big", &staticMeta{data: make([]byte, 101)})
	m := c.get("big", staticVer{})
	require.NotNil(t, m, "an entry too big for the budget is kept without its content")
	assert.Nil(t, m.data)
	c.put("f99", &staticMeta{ver: staticVer{size: 99}, data: make([]byte, 60)})
	_, before := c.len()
	c.put("f99", &staticMeta{ver: staticVer{size: 99}, data: make([]byte, 60)})
	_, after := c.len()
	assert.Equal(t, before, after, "replacing an entry gives its bytes back")

	// Short of bytes, only entries with content make room.
	c = newStaticCache(100, 100)
	for i := range 10 {
		c.put(fmt.Sprint("meta", i), &staticMeta{ver: staticVer{size: 1 << 30}})
	}
	for i := range 50 {
		c.put(fmt.Sprint("data", i), &staticMeta{data: make([]byte, 30)})
		entries, bytes := c.len()
		assert.LessOrEqual(t, bytes, 100)
		assert.LessOrEqual(t, entries, 10+3)
	}
	for i := range 10 {
		assert.NotNil(t, c.get(fmt.Sprint("meta", i), staticVer{size: 1 << 30}),
			"metadata-only entries free no bytes and are kept")
	}
	assert.NotNil(t, c.get("data49", staticVer{}), "the newest entry is kept")
}

func TestStaticFSPrecompressed(t *testing.T) {
	for kind, fsys := range staticTestFSes(t) {
		t.Run(kind, func(t *testing.T) {
			s := staticTestNew(t, fsys)
			plain := staticTestDo(t, s, "GET", "/app.js")
			require.Equal(t, http.StatusOK, plain.Code)
			assert.Equal(t, "console.log('plain')", plain.Body.String())
			assert.Equal(t, "Accept-Encoding", plain.Header().Get("Vary"), "Vary whenever a sibling exists")
			assert.Empty(t, plain.Header().Get("Content-Encoding"))

			tests := []struct {
				give    string
				wantEnc string
			}{
				{"br", "br"},
				{"gzip", "gzip"},
				{"gzip, deflate, br, zstd", "br"},
				{"GZIP;q=1.0, BR;q=0.5", "gzip"},
				{"br;q=0, gzip", "gzip"},
				{"br;q=0, gzip;q=0", ""},
				{"br;q=0.000, gzip;q=0.0", ""},
				{"*", "br"},
				{"*, br;q=0", "gzip"},
				{"*;q=0", ""},
				{"identity", ""},
				{"deflate", ""},
				{"br;q=bogus", ""},
				{"x-gzip", "gzip"},
				{" br ; q=0.8 , gzip ; q=0.9", "gzip"},
			}
			for _, tt := range tests {
				w := staticTestDo(t, s, "GET", "/app.js", "Accept-Encoding", tt.give)
				require.Equal(t, http.StatusOK, w.Code, tt.give)
				assert.Equal(t, tt.wantEnc, w.Header().Get("Content-Encoding"), tt.give)
				assert.Equal(t, "text/javascript; charset=utf-8", w.Header().Get("Content-Type"), tt.give)
				assert.Equal(t, "Accept-Encoding", w.Header().Get("Vary"), tt.give)
				assert.Equal(t, fmt.Sprint(w.Body.Len()), w.Header().Get("Content-Length"), tt.give)
				switch tt.wantEnc {
				case "br":
					assert.Equal(t, "BROTLI-BYTES", w.Body.String(), tt.give)
				case "gzip":
					zr, err := gzip.NewReader(w.Body)
					require.NoError(t, err)
					b, err := io.ReadAll(zr)
					require.NoError(t, err)
					assert.Equal(t, "console.log('plain')", string(b), tt.give)
				default:
					assert.Equal(t, "console.log('plain')", w.Body.String(), tt.give)
				}
			}

			br := staticTestDo(t, s, "GET", "/app.js", "Accept-Encoding", "br")
			gz := staticTestDo(t, s, "GET", "/app.js", "Accept-Encoding", "gzip")
			etags := []string{plain.Header().Get("ETag"), br.Header().Get("ETag"), gz.Header().Get("ETag")}
			assert.Len(t, map[string]bool{etags[0]: true, etags[1]: true, etags[2]: true}, 3, "each variant has its own ETag")

			w := staticTestDo(t, s, "GET", "/app.js", "Accept-Encoding", "br", "If-None-Match", etags[1])
			assert.Equal(t, http.StatusNotModified, w.Code)
			w = staticTestDo(t, s, "GET", "/app.js", "Accept-Encoding", "br", "Range", "bytes=0-5")
			assert.Equal(t, http.StatusPartialContent, w.Code)
			assert.Equal(t, "BROTLI", w.Body.String(), "ranges apply to the encoded bytes")
			assert.Equal(t, "br", w.Header().Get("Content-Encoding"))
			w = staticTestDo(t, s, "HEAD", "/app.js", "Accept-Encoding", "br")
			assert.Equal(t, "12", w.Header().Get("Content-Length"))

			w = staticTestDo(t, s, "GET", "/style.css", "Accept-Encoding", "br, gzip")
			assert.Equal(t, "gzip", w.Header().Get("Content-Encoding"), "only a .gz sibling")
			assert.Equal(t, "text/css; charset=utf-8", w.Header().Get("Content-Type"))
			w = staticTestDo(t, s, "GET", "/app.js.br")
			assert.Equal(t, "BROTLI-BYTES", w.Body.String(), "a sibling asked for by name is a plain file")
			assert.Empty(t, w.Header().Get("Content-Encoding"))
			assert.Equal(t, "application/octet-stream", w.Header().Get("Content-Type"))
			w = staticTestDo(t, s, "GET", "/app.js", "Accept-Encoding", "br")
			assert.Equal(t, "text/javascript; charset=utf-8", w.Header().Get("Content-Type"), "and does not disturb the variant")
			assert.Equal(t, etags[1], w.Header().Get("ETag"))

			w = staticTestDo(t, s, "GET", "/docs/guide.txt", "Accept-Encoding", "br, gzip")
			assert.Empty(t, w.Header().Get("Content-Encoding"))
			assert.Empty(t, w.Header().Get("Vary"), "no sibling, no Vary")
		})
	}
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

func TestStaticFSDotfiles(t *testing.T) {
	for kind, fsys := range staticTestFSes(t) {
		t.Run(kind, func(t *testing.T) {
			s := staticTestNew(t, fsys)
			for _, p := range []string{"/.env", "/.git/config", "/.git/", "/.git", "/assets/.secret.js", "/noindex/.hidden",
				"/.well-known/.hidden", "/%2eenv", "/.ENV", "/docs/../.env", "/.well-known/../.env"} {
				w := staticTestDo(t, s, "GET", p)
				assert.Equal(t, http.StatusNotFound, w.Code, p)
				assert.NotContains(t, w.Body.String(), staticTestDotfile, p)
			}
			w := staticTestDo(t, s, "GET", "/.well-known/security.txt")
			assert.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, "Contact: mailto:sec@example.com", w.Body.String())

			none := staticTestNew(t, fsys, WithDotfiles())
			assert.Equal(t, http.StatusNotFound, staticTestDo(t, none, "GET", "/.well-known/security.txt").Code)
			env := staticTestNew(t, fsys, WithDotfiles(".env", ".well-known"))
			assert.Equal(t, staticTestDotfile, staticTestDo(t, env, "GET", "/.env").Body.String())
			assert.Equal(t, http.StatusNotFound, staticTestDo(t, env, "GET", "/.git/config").Code)
		})
	}
}

// staticTestRawGet sends target verbatim in a request line over a fresh TCP
// connection, as no http.Client would, and returns status and body.
func staticTestRawGet(t *testing.T, addr, target string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(5*time.Second)))
	_, err = fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: example.test\r\nAccept: text/html\r\nConnection: close\r\n\r\n", target)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, target)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err, target)
	return resp.StatusCode, string(body)
}

func TestStaticFSTraversalRawTCP(t *testing.T) {
	root := staticTestDir(t)
	fsys, err := OpenDir(root)
	require.NoError(t, err)
	for name, s := range map[string]*StaticFS{
		"default": staticTestNew(t, fsys),
		"spa":     staticTestNew(t, fsys, WithSPAFallback("index.html"), WithDirectoryListing(true)),
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(s)
			t.Cleanup(srv.Close)
			addr := srv.Listener.Addr().String()

			code, body := staticTestRawGet(t, addr, "/docs/guide.txt")
			require.Equal(t, http.StatusOK, code)
			require.Equal(t, "guide", body)
			code, body = staticTestRawGet(t, addr, "/inside-link.txt")
			assert.Equal(t, http.StatusOK, code, "a symlink inside the root works")
			assert.Equal(t, "guide", body)

			for _, target := range []string{
				"/../secret.txt", "/../outside/secret.txt", "/..%2fsecret.txt", "/..%2f..%2fsecret.txt",
				"/%2e%2e/secret.txt", "/%2e%2e%2fsecret.txt", "/%2E%2E%2Foutside%2Fsecret.txt",
				"/.%2e/secret.txt", "/docs/..%2f..%2fsecret.txt", "/..%5csecret.txt", "/..\\secret.txt",
				"/%5c..%5c..%5csecret.txt", "/%252e%252e%252fsecret.txt", "//../secret.txt",
				"/./../secret.txt", "/docs/../../secret.txt", "/link", "/link.txt", "/linkdir/secret.txt",
				"/linkdir/", "/linkdir", "/%00", "/secret.txt%00.html", "/%ff%fe", "/%c0%ae%c0%ae/secret.txt",
				"/" + strings.Repeat("a/", 3000) + "x", "/" + strings.Repeat("../", 50) + "secret.txt",
				"/" + strings.Repeat("%2e%2e%2f", 50) + "secret.txt", "http://example.test/../secret.txt",
				"/.env", "/%2eenv", "/.git/config", "/%2egit/config", "/noindex/.hidden",
			} {
				code, body := staticTestRawGet(t, addr, target)
				short := target[:min(len(target), 60)]
				assert.Less(t, code, 500, short)
				if code == http.StatusOK {
					assert.Equal(t, "<h1>home</h1>", body, "only the SPA index may answer 200: "+short)
				}
				assert.NotContains(t, body, staticTestSecret, short)
				assert.NotContains(t, body, staticTestDotfile, short)
				assert.NotContains(t, body, root, "error bodies never name paths: "+short)
			}
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
func (staticTestErrFile) Close() error                   { return nil }

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
	t.Run("OpenDir rewritten, small cache", staticTestConcurrentRewrites)
}

// staticTestConcurrentRewrites serves files from disk while they are
// replaced (renamed over) by versions of other sizes, small and too large
// for memory, through a cache so small that entries and content are
// evicted all the time. Every response must be one whole version, with
// that version's ETag.
func staticTestConcurrentRewrites(t *testing.T) {
	sizes := []int{5, 3000, 20000, staticMemFileMax + 5000}
	versions := make(map[int]struct{ body, etag string }) // by size
	for i, n := range sizes {
		b := bytes.Repeat([]byte{byte('a' + i)}, n)
		sum := sha256.Sum256(b)
		versions[n] = struct{ body, etag string }{string(b), staticETag(sum[:])}
	}
	dir := t.TempDir()
	const files = 4
	write := func(f, v int) error {
		tmp := filepath.Join(dir, fmt.Sprintf(".tmp%d", f))
		if err := os.WriteFile(tmp, []byte(versions[sizes[v]].body), 0o644); err != nil {
			return err
		}
		return os.Rename(tmp, filepath.Join(dir, fmt.Sprintf("f%d.txt", f)))
	}
	for f := range files {
		require.NoError(t, write(f, f%len(sizes)))
	}
	fsys, err := OpenDir(dir)
	require.NoError(t, err)
	s := staticTestNew(t, fsys)
	s.cache = newStaticCache(3, 25000) // fewer entries than files, less room than two versions

	stop := make(chan struct{})
	writerDone := make(chan error, 1)
	writes := 0
	go func() {
		var err error
		for ; err == nil; writes++ {
			select {
			case <-stop:
				writerDone <- nil
				return
			default:
			}
			err = write(writes%files, (writes/files+writes)%len(sizes))
		}
		writerDone <- err
	}()
	const readers = 4
	done := make(chan error, readers)
	for r := range readers {
		go func() {
			for j := range 60 {
				target := fmt.Sprintf("/f%d.txt", (r+j)%files)
				w := httptest.NewRecorder()
				s.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
				v, ok := versions[w.Body.Len()]
				switch {
				case w.Code != http.StatusOK:
					done <- fmt.Errorf("%s: status %d", target, w.Code)
					return
				case !ok || w.Body.String() != v.body:
					done <- fmt.Errorf("%s: a body of %d bytes that is no version written", target, w.Body.Len())
					return
				case w.Header().Get("ETag") != v.etag:
					done <- fmt.Errorf("%s: ETag %s for the %d-byte version, want %s", target, w.Header().Get("ETag"), w.Body.Len(), v.etag)
					return
				}
			}
			done <- nil
		}()
	}
	for range readers {
		assert.NoError(t, <-done)
	}
	close(stop)
	assert.NoError(t, <-writerDone)
	assert.Positive(t, writes, "files were rewritten while served")
	entries, bytes := s.cache.len()
	assert.LessOrEqual(t, entries, 3)
	assert.LessOrEqual(t, bytes, 25000)
}

// staticTestSourceWriter records what ServeContent copies the body from.
type staticTestSourceWriter struct {
	*httptest.ResponseRecorder
	src io.Reader
}

func (w *staticTestSourceWriter) ReadFrom(r io.Reader) (int64, error) {
	if lr, ok := r.(*io.LimitedReader); ok {
		w.src = lr.R
	} else {
		w.src = r
	}
	return io.Copy(w.ResponseRecorder, r)
}

// TestStaticFSKeepsSendfilePath checks that a file from disk too large to
// be kept in memory reaches the ResponseWriter's ReadFrom as something net's
// sendfile accepts (a syscall.Conn wrapping the descriptor), plain and
// precompressed.
func TestStaticFSKeepsSendfilePath(t *testing.T) {
	dir := t.TempDir()
	big := bytes.Repeat([]byte("0123456789abcdef"), (staticMemFileMax+1)/16+1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "big.js"), big, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "big.js.gz"), big, 0o644))
	fsys, err := OpenDir(dir)
	require.NoError(t, err)
	s := staticTestNew(t, fsys)
	for range 2 { // cold and warm cache
		for _, ae := range []string{"", "gzip"} {
			w := &staticTestSourceWriter{ResponseRecorder: httptest.NewRecorder()}
			r := httptest.NewRequest("GET", "/big.js", nil)
			r.Header.Set("Accept-Encoding", ae)
			s.ServeHTTP(w, r)
			require.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, len(big), w.Body.Len())
			require.NotNil(t, w.src, "ServeContent used ReadFrom")
			_, ok := w.src.(syscall.Conn)
			assert.True(t, ok, "%q: body source %T is not a syscall.Conn", ae, w.src)
		}
	}
}

func TestStaticFSPrecompressedOverTCP(t *testing.T) {
	fsys, err := OpenDir(staticTestDir(t))
	require.NoError(t, err)
	srv := httptest.NewServer(staticTestNew(t, fsys))
	t.Cleanup(srv.Close)
	for _, method := range []string{"GET", "HEAD", "GET", "HEAD"} { // cold, then from memory
		req, err := http.NewRequest(method, srv.URL+"/app.js", nil)
		require.NoError(t, err)
		req.Header.Set("Accept-Encoding", "br") // set by hand: the client leaves the body alone
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode, method)
		assert.Equal(t, "br", resp.Header.Get("Content-Encoding"), method)
		assert.Equal(t, int64(len("BROTLI-BYTES")), resp.ContentLength, method)
		assert.Empty(t, resp.TransferEncoding, "a known length, not chunked: "+method)
		if method == "GET" {
			assert.Equal(t, "BROTLI-BYTES", string(body))
		}
	}
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

func TestStaticHashLargeFilesUseSizeAndModTime(t *testing.T) {
	content := strings.NewReader("pretend this is large")
	etag, _, data, err := staticHash(content, staticVer{size: staticHashLimit + 1, mod: 12345}, false, false)
	require.NoError(t, err)
	assert.Regexp(t, `^"[0-9a-z]+-[0-9a-z]+"$`, etag, "size and mod time, not a hash")
	assert.Nil(t, data)
	pos, err := content.Seek(0, io.SeekCurrent)
	require.NoError(t, err)
	assert.Zero(t, pos, "content is left at its start")

	// Every part of the version is in the tag: a rewrite that keeps size
	// and mod time (cp -p) but moves the change stamp gets a new ETag, so
	// an old If-None-Match or If-Range no longer matches the new content.
	tags := map[string]staticVer{}
	for _, v := range []staticVer{
		{size: staticHashLimit + 1, mod: 12345},
		{size: staticHashLimit + 1, mod: 12345, chg: 1},
		{size: staticHashLimit + 1, mod: 12345, chg: 2},
		{size: staticHashLimit + 1, mod: 12346, chg: 2},
		{size: staticHashLimit + 2, mod: 12346, chg: 2},
	} {
		etag, _, _, err := staticHash(content, v, false, false)
		require.NoError(t, err)
		assert.NotContains(t, tags, etag, "%+v has the tag of %+v", v, tags[etag])
		tags[etag] = v
		again, _, _, err := staticHash(content, v, false, false)
		require.NoError(t, err)
		assert.Equal(t, etag, again, "the same version, the same tag")
	}

	etag, _, _, err = staticHash(content, staticVer{size: staticHashLimit + 1}, false, false)
	require.NoError(t, err)
	assert.Regexp(t, `^"[A-Za-z0-9_-]{20}"$`, etag, "without a mod time the content is hashed, whatever the size")
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

func TestStaticFSSmallFilesFromMemoryStayFresh(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "index.html")
	require.NoError(t, os.WriteFile(p, []byte("<p>one</p>"), 0o644))
	fsys, err := OpenDir(dir)
	require.NoError(t, err)
	s := staticTestNew(t, fsys)
	for range 3 {
		w := staticTestDo(t, s, "GET", "/")
		require.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "<p>one</p>", w.Body.String())
	}
	entries, bytes := s.cache.len()
	assert.Equal(t, 1, entries)
	assert.Equal(t, len("<p>one</p>"), bytes, "the content is kept in memory")

	// Rewrite in place with the same size and put the mod time back, as
	// cp -p or tar would: the change stamp still tells the versions apart.
	fi, err := os.Stat(p)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, []byte("<p>two</p>"), 0o644))
	require.NoError(t, os.Chtimes(p, fi.ModTime(), fi.ModTime()))
	if runtime.GOOS == "linux" {
		w := staticTestDo(t, s, "GET", "/")
		assert.Equal(t, "<p>two</p>", w.Body.String())
	}

	require.NoError(t, os.Remove(p))
	assert.Equal(t, http.StatusNotFound, staticTestDo(t, s, "GET", "/").Code)
}

// TestStaticSeekers checks that the two ReadSeekers StaticFS hands to
// ServeContent behave like an *os.File.
func TestStaticSeekers(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f.txt")
	require.NoError(t, os.WriteFile(p, []byte("0123456789"), 0o644))
	osf, err := os.Open(p)
	require.NoError(t, err)
	t.Cleanup(func() { osf.Close() })
	for name, rs := range map[string]io.ReadSeeker{
		"staticOSFile":     &staticOSFile{File: osf, size: 10, atStart: true},
		"staticMemContent": &staticMemContent{data: []byte("0123456789")},
	} {
		t.Run(name, func(t *testing.T) {
			seek := func(off int64, whence int, want int64) {
				t.Helper()
				got, err := rs.Seek(off, whence)
				require.NoError(t, err)
				assert.Equal(t, want, got)
			}
			read := func(n int, want string) {
				t.Helper()
				b := make([]byte, n)
				got, _ := io.ReadFull(rs, b)
				assert.Equal(t, want, string(b[:got]))
			}
			seek(0, io.SeekEnd, 10)
			read(1, "")
			seek(0, io.SeekCurrent, 10)
			seek(0, io.SeekStart, 0)
			read(3, "012")
			seek(2, io.SeekCurrent, 5)
			read(10, "56789")
			seek(-2, io.SeekEnd, 8)
			read(5, "89")
			_, err := rs.Seek(-1, io.SeekStart)
			assert.Error(t, err)
		})
	}
}

func TestStaticFSPrecompressedFromMemoryStayFresh(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "app.js"), []byte("console.log(1)"), 0o644))
	br := filepath.Join(dir, "app.js.br")
	require.NoError(t, os.WriteFile(br, []byte("BR-ONE"), 0o644))
	fsys, err := OpenDir(dir)
	require.NoError(t, err)
	s := staticTestNew(t, fsys)
	var etag string
	for range 3 {
		w := staticTestDo(t, s, "GET", "/app.js", "Accept-Encoding", "br")
		require.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "BR-ONE", w.Body.String())
		assert.Equal(t, "br", w.Header().Get("Content-Encoding"))
		assert.Equal(t, "6", w.Header().Get("Content-Length"))
		assert.Equal(t, "Accept-Encoding", w.Header().Get("Vary"))
		assert.Equal(t, "text/javascript; charset=utf-8", w.Header().Get("Content-Type"))
		etag = w.Header().Get("ETag")
	}
	entries, bytes := s.cache.len()
	assert.Equal(t, 2, entries, "the original and its br variant")
	assert.Equal(t, len("console.log(1)")+len("BR-ONE"), bytes)

	w := staticTestDo(t, s, "GET", "/app.js", "Accept-Encoding", "br", "If-None-Match", etag)
	assert.Equal(t, http.StatusNotModified, w.Code)

	if runtime.GOOS == "linux" {
		fi, err := os.Stat(br)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(br, []byte("BR-TWO"), 0o644))
		require.NoError(t, os.Chtimes(br, fi.ModTime(), fi.ModTime()))
		w := staticTestDo(t, s, "GET", "/app.js", "Accept-Encoding", "br")
		assert.Equal(t, "BR-TWO", w.Body.String())
		assert.NotEqual(t, etag, w.Header().Get("ETag"))
	}
}
