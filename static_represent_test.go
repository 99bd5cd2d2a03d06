package frontdoor

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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

			w = staticTestDo(t, s, "GET", "/app.js", "Accept-Encoding", "*;q=0")
			assert.Equal(t, http.StatusNotAcceptable, w.Code, "identity refused too: RFC 9110 section 12.5.3")
			assert.Equal(t, "Accept-Encoding", w.Header().Get("Vary"))
			assert.Empty(t, w.Header().Get("ETag"))

			w = staticTestDo(t, s, "GET", "/docs/guide.txt", "Accept-Encoding", "br, gzip")
			assert.Empty(t, w.Header().Get("Content-Encoding"))
			assert.Empty(t, w.Header().Get("Vary"), "no sibling, no Vary")
		})
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
		// Without compression, so that only the sibling makes big.js vary.
		s := staticTestNew(t, fsys, WithCompression(Compression{Off: true}))
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
			m := s.cache.peek(staticKey{name: name})
			require.NotNil(t, m, name)
			assert.Zero(t, m.offered(), name)
		}
	})
}
