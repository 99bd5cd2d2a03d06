package frontdoor

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
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
