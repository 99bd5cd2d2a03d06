package frontdoor

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkServer compares a frontdoor.Server with a plain http.Server,
// both serving the same StaticFS over loopback TCP, each parallel worker
// on its own keep-alive connection with a minimal client (so that the
// client's cost, part of every figure, stays small). Run with -benchmem;
// allocations are the server's and the client's.
func BenchmarkServer(b *testing.B) {
	dir := b.TempDir()
	for _, sz := range staticBenchSizes {
		data := make([]byte, sz.size)
		_, err := rand.Read(data)
		require.NoError(b, err)
		require.NoError(b, os.WriteFile(filepath.Join(dir, sz.name+".bin"), data, 0o644))
	}
	fsys, err := OpenDir(dir)
	require.NoError(b, err)
	static, err := NewStaticFS(fsys)
	require.NoError(b, err)
	fast, err := NewServer(&http.Server{Handler: static})
	require.NoError(b, err)
	std := &http.Server{Handler: static}
	type server struct {
		name  string
		serve func(net.Listener) error
		close func() error
	}
	servers := []server{{"frontdoor", fast.Serve, fast.Close}, {"nethttp", std.Serve, std.Close}}

	for _, srv := range servers {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(b, err)
		go srv.serve(ln)
		b.Cleanup(func() { srv.close() })
		for _, sz := range staticBenchSizes {
			b.Run(fmt.Sprintf("%s/%s", sz.name, srv.name), func(b *testing.B) {
				req := []byte("GET /" + sz.name + ".bin HTTP/1.1\r\nHost: bench\r\n\r\n")
				b.SetBytes(int64(sz.size))
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					conn, err := net.Dial("tcp", ln.Addr().String())
					if err != nil {
						b.Error(err)
						return
					}
					defer conn.Close()
					br := bufio.NewReaderSize(conn, 16<<10)
					for pb.Next() {
						if _, err := conn.Write(req); err != nil {
							b.Error(err)
							return
						}
						if n, err := srvBenchReadResponse(br); err != nil || n != sz.size {
							b.Errorf("%d bytes, %v", n, err)
							return
						}
					}
				})
			})
		}
	}
}

// srvBenchReadResponse reads one 200 response with a Content-Length and
// returns the body's length.
func srvBenchReadResponse(br *bufio.Reader) (int, error) {
	size := -1
	for first := true; ; first = false {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if first && !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
			return 0, fmt.Errorf("status line %q", line)
		}
		if len(line) == 2 {
			break
		}
		if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
			size, err = strconv.Atoi(string(bytes.TrimSpace(v)))
			if err != nil {
				return 0, err
			}
		}
	}
	if size < 0 {
		return 0, fmt.Errorf("no Content-Length")
	}
	_, err := br.Discard(size)
	return size, err
}
