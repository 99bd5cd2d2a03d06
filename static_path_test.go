package frontdoor

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStaticName(t *testing.T) {
	tests := []struct {
		give      string
		wantName  string
		wantSlash bool
		wantOK    bool
	}{
		{"/", ".", true, true},
		{"", ".", false, true},
		{"/app.js", "app.js", false, true},
		{"/docs/", "docs", true, true},
		{"//docs//guide.txt", "docs/guide.txt", false, true},
		{"/./docs/./guide.txt", "docs/guide.txt", false, true},
		{"/docs/.", "docs", false, true},
		{"/../secret.txt", "", false, false},
		{"/docs/../app.js", "", false, false},
		{"/a\\b", "", false, false},
		{"/a\x00b", "", false, false},
		{"/\xff", "", false, false},
		{"/" + strings.Repeat("a", staticMaxPath), "", false, false},
	}
	for _, tt := range tests {
		name, slash, ok := staticName(tt.give)
		assert.Equal(t, tt.wantOK, ok, "%q", tt.give)
		if tt.wantOK {
			assert.Equal(t, tt.wantName, name, "%q", tt.give)
			assert.Equal(t, tt.wantSlash, slash, "%q", tt.give)
		}
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
