package frontdoor

import (
	"bytes"
	stdgzip "compress/gzip"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/require"
)

// BenchmarkCompressHandler measures the dynamic compressor on a 16 KiB
// JSON response written in one call, against the same response sent as
// it is. Run with -benchmem.
func BenchmarkCompressHandler(b *testing.B) {
	doc := compressTestJSON()
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
	})
	cfg, err := newCompressConfig(Compression{}, compressResponseGzip, compressResponseZstd)
	require.NoError(b, err)
	h := newCompressHandler(api, cfg)
	for _, ae := range []string{"identity", "gzip", "zstd"} {
		b.Run(ae, func(b *testing.B) {
			r, _ := http.NewRequest("GET", "/api/items", nil)
			r.Header.Set("Accept-Encoding", ae)
			w := &staticBenchWriter{h: make(http.Header)}
			n := &compressBenchCounter{ResponseWriter: w}
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				n.n = 0
				h.ServeHTTP(n, r)
			}
			b.ReportMetric(float64(n.n), "wire-bytes")
		})
	}
}

// compressBenchCounter counts the bytes written through it.
type compressBenchCounter struct {
	http.ResponseWriter
	n int
}

func (c *compressBenchCounter) Write(p []byte) (int, error) {
	c.n += len(p)
	return c.ResponseWriter.Write(p)
}

// BenchmarkCompressHandlerConcurrent measures the memory of 1,000
// responses being compressed at once: each has written 16 KiB of JSON and
// flushed, and waits. "held-MiB" is the heap in use meanwhile, less what
// it was before, and "B/response" that over 1,000. "bounded" keeps the
// route's limit of compressMaxActive encoders, past which responses go out
// as they are; "unbounded" lifts it, to show what one encoder costs.
func BenchmarkCompressHandlerConcurrent(b *testing.B) {
	const responses = 1000
	doc := compressTestJSON()
	for _, ae := range []string{"gzip", "zstd"} {
		for _, bounded := range []bool{true, false} {
			name := ae + "/unbounded"
			if bounded {
				name = ae + "/bounded"
			}
			b.Run(name, func(b *testing.B) {
				var written, release sync.WaitGroup
				var hold chan struct{}
				api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					w.Write(doc)
					w.(http.Flusher).Flush()
					written.Done()
					<-hold
				})
				cfg, err := newCompressConfig(Compression{}, compressResponseGzip, compressResponseZstd)
				require.NoError(b, err)
				h := newCompressHandler(api, cfg)
				if !bounded {
					h.maxActive = responses
				}
				var held float64
				for b.Loop() {
					hold = make(chan struct{})
					before := compressBenchHeap()
					written.Add(responses)
					release.Add(responses)
					for range responses {
						go func() {
							defer release.Done()
							r, _ := http.NewRequest("GET", "/", nil)
							r.Header.Set("Accept-Encoding", ae)
							h.ServeHTTP(&staticBenchWriter{h: make(http.Header)}, r)
						}()
					}
					written.Wait()
					held = float64(compressBenchHeap() - before)
					close(hold)
					release.Wait()
				}
				b.ReportMetric(held/(1<<20), "held-MiB")
				b.ReportMetric(held/responses, "B/response")
			})
		}
	}
}

func compressBenchHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

// BenchmarkCompressLibraries compares compress/gzip with
// github.com/klauspost/compress's gzip and zstd on the text the static
// bench serves compressed (net/http's Go sources, concatenated), at the
// levels StaticFS (9, 19) and routes (5, 3) use. "ratio-%" is the
// compressed size over the original.
func BenchmarkCompressLibraries(b *testing.B) {
	names, err := filepath.Glob(filepath.Join(runtime.GOROOT(), "src", "net", "http", "*.go"))
	require.NoError(b, err)
	slices.Sort(names)
	var text bytes.Buffer
	for text.Len() < 1<<20 {
		for _, n := range names {
			d, err := os.ReadFile(n)
			require.NoError(b, err)
			text.Write(d)
		}
	}
	type coder struct {
		name string
		new  func(io.Writer) io.WriteCloser
	}
	coders := []coder{
		{"stdlib-gzip-5", func(w io.Writer) io.WriteCloser { z, _ := stdgzip.NewWriterLevel(w, 5); return z }},
		{"stdlib-gzip-9", func(w io.Writer) io.WriteCloser { z, _ := stdgzip.NewWriterLevel(w, 9); return z }},
		{"klauspost-gzip-5", func(w io.Writer) io.WriteCloser { z, _ := gzip.NewWriterLevel(w, 5); return z }},
		{"klauspost-gzip-9", func(w io.Writer) io.WriteCloser { z, _ := gzip.NewWriterLevel(w, 9); return z }},
	}
	for _, level := range []int{3, 19} {
		coders = append(coders, coder{fmt.Sprintf("klauspost-zstd-%d", level), func(w io.Writer) io.WriteCloser {
			z, _ := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)), zstd.WithEncoderConcurrency(1))
			return z
		}})
	}
	for _, size := range []int{64 << 10, 1 << 20} {
		data := text.Bytes()[:size]
		for _, c := range coders {
			b.Run(fmt.Sprintf("%dKiB/%s", size>>10, c.name), func(b *testing.B) {
				var out bytes.Buffer
				b.SetBytes(int64(size))
				for b.Loop() {
					out.Reset()
					z := c.new(&out)
					z.Write(data)
					z.Close()
				}
				b.ReportMetric(100*float64(out.Len())/float64(size), "ratio-%")
			})
		}
	}
}
