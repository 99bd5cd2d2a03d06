package frontdoor

import (
	"bytes"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStaticFSFastAnswerMatchesServeHTTP checks that what fastAnswer
// gives the Server's fast path, head and body, is what ServeHTTP sends to
// the same plain GET, for files in memory and on disk, with and without
// precompressed siblings (small and large), whatever the client accepts,
// cold and warm cache: both go through one choice of representation.
func TestStaticFSFastAnswerMatchesServeHTTP(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), staticMemFileMax/16+1)
	files := map[string][]byte{
		"index.html":    []byte("<h1>home</h1>"),
		"small.js":      []byte("console.log(1)"),
		"small.js.br":   []byte("BR-SMALL"),
		"small.js.gz":   []byte("GZ-SMALL"),
		"big.js":        big,
		"big.js.gz":     big[:staticMemFileMax+10], // large sibling: sent from disk
		"mixed.css":     big,
		"mixed.css.br":  []byte("BR-MIXED"), // small sibling of a large file
		"docs/a.txt":    []byte("a"),
		"plain.bin":     big[:100],
		"nested/x/y.js": []byte("deep"),
	}
	dir := t.TempDir()
	mapfs := fstest.MapFS{}
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, data, 0o644))
		mapfs[name] = &fstest.MapFile{Data: data, Mode: 0o644}
	}
	disk, err := OpenDir(dir)
	require.NoError(t, err)
	for kind, fsys := range map[string]fs.FS{"disk": disk, "mapfs": mapfs, "embedlike": staticBenchEmbedLike{mapfs}} {
		t.Run(kind, func(t *testing.T) {
			s := staticTestNew(t, fsys)
			for range 2 { // cold, then warm cache
				for _, p := range []string{"/", "/small.js", "/big.js", "/mixed.css", "/docs/a.txt", "/plain.bin", "/nested/x/y.js", "/small.js.br"} {
					for _, ae := range []string{"", "br", "gzip", "br;q=0, gzip", "gzip;q=0, br;q=0", "*"} {
						head, body, file, ok := s.fastAnswer(p, []string{ae})
						require.True(t, ok, "%s %q", p, ae)
						if file != nil {
							b, err := io.ReadAll(io.LimitReader(file.content, file.size+1))
							file.close()
							require.NoError(t, err)
							body = b
						}

						w := staticTestDo(t, s, "GET", p, "Accept-Encoding", ae)
						require.Equal(t, http.StatusOK, w.Code, "%s %q", p, ae)
						var want bytes.Buffer
						want.WriteString("HTTP/1.1 200 OK\r\n")
						require.NoError(t, w.Header().Write(&want))
						assert.Equal(t, want.String(), string(head), "%s %q", p, ae)
						assert.Equal(t, w.Body.Bytes(), body, "%s %q", p, ae)
					}
				}
			}
			for _, p := range []string{"/missing.js", "/docs", "/docs/", "/.env", "/small.js/"} {
				_, _, _, ok := s.fastAnswer(p, nil)
				assert.False(t, ok, "%s is not a plain 200: ServeHTTP answers it", p)
			}
		})
	}
}
