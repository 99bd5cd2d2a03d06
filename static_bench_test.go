package frontdoor

import (
	"crypto/rand"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

// staticBenchWriter is a ResponseWriter that throws the body away, reading
// files through io.Discard's ReaderFrom like a connection would.
type staticBenchWriter struct {
	h    http.Header
	code int
}

func (w *staticBenchWriter) Header() http.Header         { return w.h }
func (w *staticBenchWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *staticBenchWriter) WriteHeader(code int)        { w.code = code }
func (w *staticBenchWriter) ReadFrom(r io.Reader) (int64, error) {
	return io.Copy(io.Discard, r)
}

// staticBenchEmbedLike has embed.FS's method set: Open, ReadDir, ReadFile.
type staticBenchEmbedLike struct{ m fstest.MapFS }

func (f staticBenchEmbedLike) Open(name string) (fs.File, error)          { return f.m.Open(name) }
func (f staticBenchEmbedLike) ReadDir(name string) ([]fs.DirEntry, error) { return f.m.ReadDir(name) }
func (f staticBenchEmbedLike) ReadFile(name string) ([]byte, error)       { return f.m.ReadFile(name) }

var staticBenchSizes = []struct {
	name string
	size int
}{{"1KiB", 1 << 10}, {"64KiB", 64 << 10}, {"1MiB", 1 << 20}}

// BenchmarkStaticFS compares StaticFS with net/http's FileServer on the
// same files: from disk (OpenDir, and http.Dir as the bench harness's
// stdstatic uses) and from memory (fstest.MapFS, as embed.FS would be), in
// process ("handler": the handler's own cost) and over loopback TCP with a
// keep-alive client ("tcp": sendfile for disk files). Run with -benchmem.
func BenchmarkStaticFS(b *testing.B) {
	dir := b.TempDir()
	mem := fstest.MapFS{}
	for _, sz := range staticBenchSizes {
		data := make([]byte, sz.size)
		_, err := rand.Read(data)
		require.NoError(b, err)
		require.NoError(b, os.WriteFile(filepath.Join(dir, sz.name+".bin"), data, 0o644))
		mem[sz.name+".bin"] = &fstest.MapFile{Data: data}
	}
	disk, err := OpenDir(dir)
	require.NoError(b, err)
	// embed.FS has Open, ReadDir and ReadFile but no Stat; so does this.
	embedLike := staticBenchEmbedLike{mem}
	fses := []struct {
		name string
		fsys fs.FS
		std  http.Handler
	}{
		{"disk", disk, http.FileServer(http.Dir(dir))},
		{"embed", embedLike, http.FileServerFS(embedLike)},
	}
	for _, fx := range fses {
		static, err := NewStaticFS(fx.fsys)
		require.NoError(b, err)
		handlers := []struct {
			name string
			h    http.Handler
		}{{"frontdoor", static}, {"fileserver", fx.std}}
		for _, sz := range staticBenchSizes {
			for _, h := range handlers {
				b.Run(fmt.Sprintf("%s/%s/handler/%s", fx.name, sz.name, h.name), func(b *testing.B) {
					staticBenchHandler(b, h.h, "/"+sz.name+".bin", sz.size)
				})
			}
			if fx.name != "disk" {
				continue
			}
			for _, h := range handlers {
				b.Run(fmt.Sprintf("%s/%s/tcp/%s", fx.name, sz.name, h.name), func(b *testing.B) {
					staticBenchTCP(b, h.h, "/"+sz.name+".bin", sz.size)
				})
			}
		}
	}
}

func staticBenchHandler(b *testing.B, h http.Handler, path string, size int) {
	r := httptest.NewRequest("GET", path, nil)
	w := &staticBenchWriter{h: make(http.Header)}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		w.code = 0
		h.ServeHTTP(w, r)
		if w.code != http.StatusOK && w.code != 0 {
			b.Fatalf("status %d", w.code)
		}
	}
}

func staticBenchTCP(b *testing.B, h http.Handler, path string, size int) {
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	client := srv.Client()
	url := srv.URL + path
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || n != int64(size) {
			b.Fatalf("status %d, %d bytes", resp.StatusCode, n)
		}
	}
}
