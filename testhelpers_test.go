package frontdoor

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Test helpers shared by the proxy and Balancer tests.

// newStreamTestBackend answers a WebSocket-style upgrade with 101 and then
// echoes every line it reads, prefixed with "echo: ". Its 101 carries a
// hop-by-hop header named in Connection (X-Hop), which a proxy must strip,
// and an end-to-end one (X-Ws: yes), which it must pass. Plain requests get
// 400. The test is done after the server closed.
func newStreamTestBackend(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "want upgrade", http.StatusBadRequest)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade, X-Hop\r\nX-Hop: 1\r\nUpgrade: websocket\r\nX-Ws: yes\r\n\r\n")
		brw.Flush()
		for {
			line, err := brw.ReadString('\n')
			if err != nil {
				return
			}
			brw.WriteString("echo: " + line)
			brw.Flush()
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// streamTestClient is the client end of an upgraded stream opened by
// streamTestUpgrade.
type streamTestClient struct {
	conn net.Conn
	br   *bufio.Reader
	resp *http.Response // the response to the upgrade request
}

// streamTestUpgrade dials addr, sends a WebSocket-style upgrade request for
// /ws and reads the response, which the caller checks. The connection has a
// 10 s deadline and is closed when the test ends.
func streamTestUpgrade(t *testing.T, addr string) *streamTestClient {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: front\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	require.NoError(t, err)
	c := &streamTestClient{conn: conn, br: bufio.NewReader(conn)}
	c.resp, err = http.ReadResponse(c.br, nil)
	require.NoError(t, err)
	return c
}

// echo sends msg as one line and returns the line read back, without its
// newline.
func (c *streamTestClient) echo(msg string) (string, error) {
	if _, err := io.WriteString(c.conn, msg+"\n"); err != nil {
		return "", err
	}
	line, err := c.br.ReadString('\n')
	return strings.TrimSuffix(line, "\n"), err
}

// testClock is a manually advanced clock, injected where the code under test
// reads time (health and retry-budget timing, rate limiters). It starts at a
// fixed date and is safe for concurrent use.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
