package frontdoor

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// staticPlainTestFS returns the test site, plus an empty file and one too
// large to be kept in memory, over each kind of fs.FS: a MapFS without mod
// times, one with a mod time, a directory from disk, and an embed.FS-like
// FS that cannot stat.
func staticPlainTestFS(t *testing.T) map[string]fs.FS {
	files := staticTestFiles(t)
	files["empty.txt"] = nil
	files["big.js"] = bytes.Repeat([]byte("x"), staticMemFileMax+1)
	dir := t.TempDir()
	noTime, withTime := fstest.MapFS{}, fstest.MapFS{}
	mod := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	for name, data := range files {
		noTime[name] = &fstest.MapFile{Data: data, Mode: 0o644}
		withTime[name] = &fstest.MapFile{Data: data, Mode: 0o644, ModTime: mod}
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, data, 0o644))
	}
	disk, err := OpenDir(dir)
	require.NoError(t, err)
	return map[string]fs.FS{
		"mapfs": noTime, "mapfs-modtime": withTime, "disk": disk,
		"embedlike": staticBenchEmbedLike{noTime},
	}
}

// staticPlainTestGet sends one request over TCP and returns the response
// with its body read.
func staticPlainTestGet(t *testing.T, client *http.Client, method, url string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

// TestStaticFSPlainMatchesServeContent checks that a plain GET or HEAD
// (no Range, no If-* header), which StaticFS answers without
// http.ServeContent when it can, gets on the wire the same status, headers
// and body as one that must go through ServeContent but also ends in a 200
// (an If-None-Match or If-Modified-Since that does not match), for every
// kind of fs.FS, cold and warm cache, original and precompressed files.
func TestStaticFSPlainMatchesServeContent(t *testing.T) {
	cases := []struct{ path, ae string }{
		{"/", ""},
		{"/docs/", ""},
		{"/app.js", ""},
		{"/app.js", "gzip"},
		{"/app.js", "br, gzip"},
		{"/style.css", "gzip;q=0"},
		{"/assets/app.3f9a1c2b.js", ""},
		{"/image.unknownext", ""},
		{"/empty.txt", ""},
		{"/big.js", ""},
		{"/client/route", ""}, // SPA fallback
	}
	forcing := [][]string{
		{"If-None-Match", `"not-this-one"`},
		{"If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT"},
	}
	for kind, fsys := range staticPlainTestFS(t) {
		srv := httptest.NewServer(staticTestNew(t, fsys, WithSPAFallback("index.html")))
		t.Cleanup(srv.Close)
		client := srv.Client()
		// Send Accept-Encoding as given (Go's client would add gzip and
		// decode it, hiding what the server sent).
		client.Transport.(*http.Transport).DisableCompression = true
		for _, method := range []string{"GET", "HEAD"} {
			for _, tc := range cases {
				name := kind + " " + method + " " + tc.path + " ae=" + tc.ae
				hdr := []string{"Accept-Encoding", tc.ae, "Accept", "text/html"}
				for round := range 3 { // cold, then warm cache
					plain, plainBody := staticPlainTestGet(t, client, method, srv.URL+tc.path, hdr...)
					require.Equal(t, http.StatusOK, plain.StatusCode, name)
					assert.NotEmpty(t, plain.Header.Get("Content-Length"), name)
					assert.Equal(t, "bytes", plain.Header.Get("Accept-Ranges"), name)
					plain.Header.Del("Date")
					for _, f := range forcing {
						full, fullBody := staticPlainTestGet(t, client, method, srv.URL+tc.path, append(hdr, f...)...)
						require.Equal(t, http.StatusOK, full.StatusCode, "%s with %s, round %d", name, f[0], round)
						full.Header.Del("Date")
						assert.Equal(t, full.Header, plain.Header, "%s with %s, round %d", name, f[0], round)
						assert.Equal(t, fullBody, plainBody, "%s with %s, round %d", name, f[0], round)
					}
				}
			}
		}
	}
}

// TestStaticFSPlainKeepsWrapperEncoding checks that when a wrapper has set
// Content-Encoding before StaticFS runs, a plain request gets what
// http.ServeContent sends then: no Content-Length.
func TestStaticFSPlainKeepsWrapperEncoding(t *testing.T) {
	s := staticTestNew(t, staticTestMapFS(t))
	wrapped := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "identity")
		s.ServeHTTP(w, r)
	})
	for range 2 {
		w := staticTestDo(t, wrapped, "GET", "/range.txt")
		require.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "0123456789", w.Body.String())
		assert.Empty(t, w.Header().Get("Content-Length"))
	}
}

// TestStaticFSPlainHeadSendsNoBody checks at the ResponseWriter (where a
// body written by mistake would show, unlike over HTTP) that a plain HEAD
// writes no body but the Content-Length of the GET, cold and warm, for every
// kind of fs.FS, from memory, from an opened file and precompressed.
func TestStaticFSPlainHeadSendsNoBody(t *testing.T) {
	for kind, fsys := range staticPlainTestFS(t) {
		s := staticTestNew(t, fsys)
		for _, tc := range []struct{ path, ae string }{
			{"/", ""}, {"/app.js", "gzip"}, {"/app.js", "br"}, {"/big.js", ""}, {"/range.txt", ""},
		} {
			for round := range 2 {
				name := fmt.Sprintf("%s %s ae=%s round %d", kind, tc.path, tc.ae, round)
				get := staticTestDo(t, s, "GET", tc.path, "Accept-Encoding", tc.ae)
				head := staticTestDo(t, s, "HEAD", tc.path, "Accept-Encoding", tc.ae)
				require.Equal(t, http.StatusOK, head.Code, name)
				assert.Zero(t, head.Body.Len(), name)
				assert.Equal(t, strconv.Itoa(get.Body.Len()), head.Header().Get("Content-Length"), name)
				assert.Equal(t, get.Header().Get("Etag"), head.Header().Get("Etag"), name)
			}
		}
	}
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
