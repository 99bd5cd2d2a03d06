package frontdoor

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// compressTestDecode returns body decoded from coding enc ("" for none).
func compressTestDecode(t testing.TB, enc string, body []byte) []byte {
	t.Helper()
	var r io.Reader
	switch enc {
	case "":
		return body
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		require.NoError(t, err)
		r = zr
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(body))
		require.NoError(t, err)
		defer zr.Close()
		r = zr
	default:
		t.Fatalf("unexpected Content-Encoding %q", enc)
	}
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	return b
}

// compressTestText returns n bytes of compressible text.
func compressTestText(n int, seed string) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "function %s%d(a, b) { return a + b * %d; }\n", seed, i, i%7)
	}
	return b.Bytes()[:n]
}

// compressTestSite is a site of compressible and incompressible files,
// small and large, with and without precompressed siblings.
func compressTestSite(t testing.TB) map[string][]byte {
	noise := make([]byte, 4000)
	rng := rand.NewChaCha8([32]byte{1})
	_, err := rng.Read(noise)
	require.NoError(t, err)
	return map[string][]byte{
		"app.js":       compressTestText(20_000, "app"),
		"big.js":       compressTestText(staticMemFileMax+30_000, "big"), // read from disk to compress
		"data.json":    []byte(`{"items":[` + strings.Repeat(`{"id":1,"name":"x"},`, 100) + `{}]}`),
		"logo.svg":     []byte(`<svg xmlns="http://www.w3.org/2000/svg">` + strings.Repeat(`<rect width="1"/>`, 100) + `</svg>`),
		"tiny.css":     []byte("body{}"),
		"photo.png":    append(append([]byte{}, staticTestPNG...), bytes.Repeat([]byte{0}, 4000)...),
		"noise.js":     noise, // compressible type, incompressible bytes
		"sib.js":       compressTestText(5000, "sib"),
		"sib.js.gz":    []byte("SIBLING-GZIP"),
		"sib.js.br":    []byte("SIBLING-BROTLI"),
		"zs.js":        compressTestText(5000, "zs"),
		"zs.js.zst":    []byte("SIBLING-ZSTD"),
		"index.html":   []byte("<!doctype html>" + strings.Repeat("<p>hello</p>", 100)),
		"font/a.woff2": bytes.Repeat([]byte("w"), 4000),
	}
}

// compressTestFS returns the site on disk (through OpenDir) and as a MapFS.
func compressTestFS(t testing.TB) map[string]fs.FS {
	files := compressTestSite(t)
	dir := t.TempDir()
	m := fstest.MapFS{}
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, data, 0o644))
		m[name] = &fstest.MapFile{Data: data, Mode: 0o644}
	}
	disk, err := OpenDir(dir)
	require.NoError(t, err)
	return map[string]fs.FS{"disk": disk, "mapfs": m}
}

// TestStaticFSCompresses checks every file of the site in every coding a
// client may ask for: the coding sent, the body decoded against the file,
// Vary, ETag and Content-Length, cold and warm cache.
func TestStaticFSCompresses(t *testing.T) {
	files := compressTestSite(t)
	tests := []struct {
		give string // file
		// want is the Content-Encoding sent for Accept-Encoding gzip,
		// zstd and "br, zstd, gzip".
		wantGzip, wantZstd, wantAll string
		wantVary                    bool
	}{
		{"app.js", "gzip", "zstd", "zstd", true},
		{"big.js", "gzip", "zstd", "zstd", true},
		{"data.json", "gzip", "zstd", "zstd", true},
		{"logo.svg", "gzip", "zstd", "zstd", true},
		{"index.html", "gzip", "zstd", "zstd", true},
		{"tiny.css", "", "", "", false},     // below the size floor
		{"photo.png", "", "", "", false},    // not a compressible type
		{"font/a.woff2", "", "", "", false}, // compressed already
		{"noise.js", "", "", "", true},      // compressing does not make it smaller
		{"sib.js", "gzip", "zstd", "br", true},
		{"zs.js", "gzip", "zstd", "zstd", true},
	}
	for kind, fsys := range compressTestFS(t) {
		t.Run(kind, func(t *testing.T) {
			s := staticTestNew(t, fsys)
			for range 2 { // cold, then warm cache
				for _, tt := range tests {
					plain := staticTestDo(t, s, "GET", "/"+tt.give)
					require.Equal(t, http.StatusOK, plain.Code, tt.give)
					require.Equal(t, files[tt.give], plain.Body.Bytes(), tt.give)
					etags := map[string]string{"": plain.Header().Get("ETag")}
					for ae, want := range map[string]string{"gzip": tt.wantGzip, "zstd": tt.wantZstd, "br, zstd, gzip": tt.wantAll} {
						w := staticTestDo(t, s, "GET", "/"+tt.give, "Accept-Encoding", ae)
						require.Equal(t, http.StatusOK, w.Code, tt.give)
						enc := w.Header().Get("Content-Encoding")
						assert.Equal(t, want, enc, "%s %q", tt.give, ae)
						assert.Equal(t, plain.Header().Get("Content-Type"), w.Header().Get("Content-Type"), tt.give)
						assert.Equal(t, fmt.Sprint(w.Body.Len()), w.Header().Get("Content-Length"), tt.give)
						assert.Regexp(t, `^"[A-Za-z0-9_-]{20}"$`, w.Header().Get("ETag"), "a strong ETag: %s %q", tt.give, ae)
						if tt.wantVary {
							assert.Equal(t, "Accept-Encoding", w.Header().Get("Vary"), "%s %q", tt.give, ae)
						} else {
							assert.Empty(t, w.Header().Get("Vary"), "%s %q", tt.give, ae)
						}
						switch {
						case strings.HasPrefix(string(w.Body.Bytes()), "SIBLING-"):
							assert.Contains(t, tt.give, "s", "a sibling's bytes as they are")
						default:
							assert.Equal(t, files[tt.give], compressTestDecode(t, enc, w.Body.Bytes()), "%s %q", tt.give, ae)
						}
						if enc != "" {
							assert.Less(t, w.Body.Len(), len(files[tt.give]), tt.give)
						}
						etags[enc] = w.Header().Get("ETag")
					}
					if tt.wantVary {
						assert.Equal(t, "Accept-Encoding", plain.Header().Get("Vary"), "identity varies too: %s", tt.give)
					}
					seen := map[string]string{}
					for enc, etag := range etags {
						assert.NotContains(t, seen, etag, "%s: %q and %q share an ETag", tt.give, enc, seen[etag])
						seen[etag] = enc
					}
				}
			}
			assert.Equal(t, int64(6*2+2), s.compressions.Load(),
				"each compressible file once per coding without a sibling (noise.js too), whatever the requests")
		})
	}
}

// TestStaticFSCompressedValidators checks conditional and Range requests
// on a compressed representation: they apply to its bytes and its ETag.
func TestStaticFSCompressedValidators(t *testing.T) {
	fsys := compressTestFS(t)["disk"]
	s := staticTestNew(t, fsys)
	for _, file := range []string{"/app.js", "/big.js"} {
		for _, enc := range []string{"gzip", "zstd"} {
			full := staticTestDo(t, s, "GET", file, "Accept-Encoding", enc)
			require.Equal(t, enc, full.Header().Get("Content-Encoding"))
			etag, body := full.Header().Get("ETag"), full.Body.Bytes()
			plainETag := staticTestDo(t, s, "GET", file).Header().Get("ETag")

			w := staticTestDo(t, s, "GET", file, "Accept-Encoding", enc, "If-None-Match", etag)
			assert.Equal(t, http.StatusNotModified, w.Code)
			assert.Equal(t, etag, w.Header().Get("ETag"))
			assert.Equal(t, "Accept-Encoding", w.Header().Get("Vary"))

			w = staticTestDo(t, s, "GET", file, "Accept-Encoding", enc, "If-None-Match", plainETag)
			assert.Equal(t, http.StatusOK, w.Code, "the identity ETag names another representation")
			w = staticTestDo(t, s, "GET", file, "If-None-Match", etag)
			assert.Equal(t, http.StatusOK, w.Code, "and the other way round")
			w = staticTestDo(t, s, "GET", file, "Accept-Encoding", enc, "If-Match", plainETag)
			assert.Equal(t, http.StatusPreconditionFailed, w.Code)

			w = staticTestDo(t, s, "GET", file, "Accept-Encoding", enc, "Range", "bytes=0-9")
			require.Equal(t, http.StatusPartialContent, w.Code)
			assert.Equal(t, body[:10], w.Body.Bytes(), "a range of the encoded bytes")
			assert.Equal(t, fmt.Sprintf("bytes 0-9/%d", len(body)), w.Header().Get("Content-Range"))
			assert.Equal(t, enc, w.Header().Get("Content-Encoding"))
			w = staticTestDo(t, s, "GET", file, "Accept-Encoding", enc, "Range", "bytes=10-", "If-Range", etag)
			require.Equal(t, http.StatusPartialContent, w.Code)
			assert.Equal(t, body[10:], w.Body.Bytes())
			w = staticTestDo(t, s, "GET", file, "Accept-Encoding", enc, "Range", "bytes=10-", "If-Range", plainETag)
			assert.Equal(t, http.StatusOK, w.Code, "If-Range with another representation's ETag: the whole")
			assert.Equal(t, body, w.Body.Bytes())

			w = staticTestDo(t, s, "HEAD", file, "Accept-Encoding", enc)
			assert.Equal(t, fmt.Sprint(len(body)), w.Header().Get("Content-Length"))
			assert.Empty(t, w.Body.Bytes())
		}
	}
}

// TestStaticFSCompressionNegotiation runs the q-value rules through the
// handler: what a client refuses is never sent.
func TestStaticFSCompressionNegotiation(t *testing.T) {
	s := staticTestNew(t, compressTestFS(t)["mapfs"])
	tests := []struct {
		give     string
		wantCode int
		wantEnc  string
	}{
		{"", 200, ""},
		{"gzip;q=0", 200, ""},
		{"gzip;q=0, zstd;q=0", 200, ""},
		{"zstd;q=0, *", 200, "gzip"},
		{"*", 200, "zstd"},
		{"br", 200, ""},
		{"identity;q=0, gzip", 200, "gzip"},
		{"identity;q=0", 406, ""},
		{"*;q=0", 406, ""},
		{"identity;q=0, br", 406, ""},
		{"gzip;q=0.4, zstd;q=0.5", 200, "zstd"},
		{"gzip;q=0.6, zstd;q=0.5", 200, "gzip"},
		{"identity, gzip;q=0.5", 200, ""},
	}
	for _, tt := range tests {
		w := staticTestDo(t, s, "GET", "/app.js", "Accept-Encoding", tt.give)
		assert.Equal(t, tt.wantCode, w.Code, tt.give)
		assert.Equal(t, tt.wantEnc, w.Header().Get("Content-Encoding"), tt.give)
		assert.Equal(t, "Accept-Encoding", w.Header().Get("Vary"), tt.give)
	}
	w := staticTestDo(t, s, "GET", "/photo.png", "Accept-Encoding", "identity;q=0")
	assert.Equal(t, http.StatusNotAcceptable, w.Code, "nothing but identity to offer")
	assert.Equal(t, "406 not acceptable\n", w.Body.String())
	assert.Equal(t, "Accept-Encoding", w.Header().Get("Vary"))
}

// TestStaticFSCompressedFileEdited checks that an edited file gets fresh
// variants, and its old ETags stop matching.
func TestStaticFSCompressedFileEdited(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "app.js")
	one, two := compressTestText(3000, "one"), compressTestText(3000, "two")
	require.NoError(t, os.WriteFile(p, one, 0o644))
	fsys, err := OpenDir(dir)
	require.NoError(t, err)
	s := staticTestNew(t, fsys)
	first := map[string]string{}
	for _, enc := range []string{"gzip", "zstd"} {
		w := staticTestDo(t, s, "GET", "/app.js", "Accept-Encoding", enc)
		require.Equal(t, enc, w.Header().Get("Content-Encoding"))
		require.Equal(t, one, compressTestDecode(t, enc, w.Body.Bytes()))
		first[enc] = w.Header().Get("ETag")
	}
	require.NoError(t, os.WriteFile(p, two, 0o644)) // same size
	later := time.Now().Add(time.Hour)
	require.NoError(t, os.Chtimes(p, later, later))
	for _, enc := range []string{"gzip", "zstd"} {
		w := staticTestDo(t, s, "GET", "/app.js", "Accept-Encoding", enc, "If-None-Match", first[enc])
		require.Equal(t, http.StatusOK, w.Code, "the old variant's ETag no longer matches")
		assert.Equal(t, two, compressTestDecode(t, enc, w.Body.Bytes()), enc)
		assert.NotEqual(t, first[enc], w.Header().Get("ETag"))
	}
	assert.Equal(t, int64(4), s.compressions.Load())
}

// TestStaticFSCompressesOnce checks that concurrent first requests for a
// coding of a file compress it once, and all get the same bytes.
func TestStaticFSCompressesOnce(t *testing.T) {
	for kind, fsys := range compressTestFS(t) {
		t.Run(kind, func(t *testing.T) {
			s := staticTestNew(t, fsys)
			const n = 16
			bodies := make([][]byte, 2*n)
			var wg sync.WaitGroup
			for i := range bodies {
				wg.Go(func() {
					enc := []string{"gzip", "zstd"}[i%2]
					file := []string{"/big.js", "/app.js"}[i/n]
					w := staticTestDo(t, s, "GET", file, "Accept-Encoding", enc)
					if w.Header().Get("Content-Encoding") == enc {
						bodies[i] = w.Body.Bytes()
					}
				})
			}
			wg.Wait()
			assert.Equal(t, int64(4), s.compressions.Load(), "two files, two codings, each compressed once")
			for i, b := range bodies {
				require.NotNil(t, b, "request %d was not compressed", i)
				assert.Equal(t, bodies[i%2+i/n*n], b, "request %d", i)
			}
		})
	}
}

// TestStaticFSCompressionMemoryBound serves many compressible files from
// a cache with room for few: the cache stays within its bound, and every
// answer decodes to its file.
func TestStaticFSCompressionMemoryBound(t *testing.T) {
	dir := t.TempDir()
	files := map[string][]byte{}
	for i := range 40 {
		name := fmt.Sprintf("f%02d.js", i)
		files[name] = compressTestText(10_000+i*500, name)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), files[name], 0o644))
	}
	fsys, err := OpenDir(dir)
	require.NoError(t, err)
	// The fastest levels: the cache thrashes on purpose, recompressing.
	s := staticTestNew(t, fsys, WithCompression(Compression{GzipLevel: 1, ZstdLevel: 1}))
	const bound = 64 << 10
	s.cache = newStaticCache(staticCacheEntries, bound)
	for round := range 2 {
		for name, data := range files {
			for _, enc := range []string{"gzip", "zstd", ""} {
				w := staticTestDo(t, s, "GET", "/"+name, "Accept-Encoding", enc)
				require.Equal(t, http.StatusOK, w.Code)
				assert.Equal(t, enc, w.Header().Get("Content-Encoding"), "round %d %s", round, name)
				require.Equal(t, data, compressTestDecode(t, w.Header().Get("Content-Encoding"), w.Body.Bytes()))
				_, bytes := s.cache.len()
				require.LessOrEqual(t, bytes, bound)
			}
		}
	}
	entries, bytes := s.cache.len()
	t.Logf("%d entries, %d bytes of content in a cache of %d", entries, bytes, bound)
}

// TestStaticFSCompressionOptions checks that compression can be turned
// off and its size floor and types changed.
func TestStaticFSCompressionOptions(t *testing.T) {
	fsys := compressTestFS(t)["mapfs"]
	off := staticTestNew(t, fsys, WithCompression(Compression{Off: true}))
	w := staticTestDo(t, off, "GET", "/app.js", "Accept-Encoding", "gzip, zstd")
	assert.Empty(t, w.Header().Get("Content-Encoding"))
	assert.Empty(t, w.Header().Get("Vary"))
	w = staticTestDo(t, off, "GET", "/sib.js", "Accept-Encoding", "gzip, zstd")
	assert.Equal(t, "gzip", w.Header().Get("Content-Encoding"), "siblings are sent with compression off")

	floor := staticTestNew(t, fsys, WithCompression(Compression{MinSize: 1}))
	w = staticTestDo(t, floor, "GET", "/tiny.css", "Accept-Encoding", "gzip")
	assert.Empty(t, w.Header().Get("Content-Encoding"), "6 bytes do not shrink")
	w = staticTestDo(t, floor, "GET", "/data.json", "Accept-Encoding", "gzip")
	assert.Equal(t, "gzip", w.Header().Get("Content-Encoding"))
	high := staticTestNew(t, fsys, WithCompression(Compression{MinSize: 30_000}))
	w = staticTestDo(t, high, "GET", "/app.js", "Accept-Encoding", "gzip")
	assert.Empty(t, w.Header().Get("Content-Encoding"), "20,000 bytes are below this floor")

	types := staticTestNew(t, fsys, WithCompression(Compression{Types: []string{"image/*"}, GzipLevel: 1, ZstdLevel: 1}))
	w = staticTestDo(t, types, "GET", "/photo.png", "Accept-Encoding", "gzip")
	assert.Equal(t, "gzip", w.Header().Get("Content-Encoding"))
	assert.Equal(t, compressTestSite(t)["photo.png"], compressTestDecode(t, "gzip", w.Body.Bytes()))
	w = staticTestDo(t, types, "GET", "/app.js", "Accept-Encoding", "gzip")
	assert.Empty(t, w.Header().Get("Content-Encoding"))
}
