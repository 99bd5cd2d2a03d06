package frontdoor

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzServerFastPath checks the fast path's promise: any request it
// accepts gets, byte for byte (Date aside), the answer net/http sends
// through the same handler. The input is a raw request; if its header
// block is one the fast parser takes, it goes to a frontdoor.Server and to
// a plain http.Server over TCP and the answers are compared. Inputs it
// refuses go to net/http unread, so they need no comparison; the parser
// still runs on them, and must not panic.
func FuzzServerFastPath(f *testing.F) {
	for _, seed := range []string{
		"GET / HTTP/1.1\r\nHost: front\r\n\r\n",
		"HEAD /style.css HTTP/1.1\r\nHost: front:80\r\nConnection: keep-alive\r\n\r\n",
		"GET /app.js?v=1 HTTP/1.1\r\nHost: [::1]:8080\r\nAccept-Encoding: gzip, deflate, br\r\n\r\n",
		"GET /app.js HTTP/1.1\r\nhost: front\r\naccept-encoding: br;q=0, gzip;q=0.5\r\n\r\n",
		"GET /sub/ HTTP/1.1\r\nHost: front\r\nUser-Agent: fuzz\r\nAccept: text/html\r\n\r\n",
		"GET /.well-known/x.txt HTTP/1.1\r\nHost: front\r\nX-Empty:\r\n\r\n",
		"GET /api/x HTTP/1.1\r\nHost: front\r\n\r\n",
		"GET /.secret HTTP/1.1\r\nHost: front\r\n\r\n",
		"GET /sub HTTP/1.1\r\nHost: front\r\n\r\n",
		"GET /mid.bin HTTP/1.1\r\nHost: front\r\nX-Obs: caf\xe9\r\n\r\n",
	} {
		f.Add(seed)
	}
	st := newSrvTest(f, nil)
	f.Fuzz(func(t *testing.T, raw string) {
		b := []byte(raw)
		end := bytes.Index(b, crlfcrlf)
		if end < 0 {
			parseFastRequest(b, new(fastRequest))
			return
		}
		if parseFastRequest(b[:end+4], new(fastRequest)) {
			st.compare(t, raw[:end+4])
		}
	})
}

// FuzzServerAnyInput checks that the fast path is invisible whatever the
// client sends: any bytes, followed by the end of the client's writes (so
// that neither server waits for a timeout), get the same answer from a
// frontdoor.Server as from a plain http.Server, Date aside. Inputs naming
// the API route are skipped: whether the Balancer sees the client's EOF
// as a cancellation before it answers is a race in net/http itself.
func FuzzServerAnyInput(f *testing.F) {
	for _, seed := range []string{
		"GET / HTTP/1.1\r\nHost: front\r\n\r\n",
		"HEAD /style.css HTTP/1.1\r\nHost: front\r\n\r\nGET /app.js HTTP/1.1\r\nHost: x\r\nAccept-Encoding: br\r\n\r\n",
		"GET /sub/ HTTP/1.1\r\nHost: front\r\nAccept: text/html\r\n\r\nGET /nope HTTP/1.1\r\nHost: front\r\n\r\n",
		"GET /.secret HTTP/1.1\r\nHost: front\r\n\r\nGET /sub HTTP/1.1\r\nHost: front\r\n\r\n",
		"GET /mid.bin HTTP/1.1\r\nHost: front\r\n\r\nGET /sty",
		"GET / HTTP/1.1\r\nHost: front\r\n\r\n\n",
		"GET /style.css HTTP/1.1\nHost: front\n\n",
		"GET /style.css HTTP/1.1\r\nHost: front\r\n\r\nGET /sub/%2e%2E/style.css HTTP/1.1\r\nHost: front\r\n\r\nGET / HTTP/1.1\r\nHost: front\r\n\r\n",
		"GET * HTTP/1.1\r\nHost: front\r\n\r\nGET / HTTP/1.1\r\nHost: front\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: front\r\n\r\nGET /sub/./ HTTP/1.1\r\nHost: front\r\n\r\n",
	} {
		f.Add(seed)
	}
	st := newSrvTest(f, nil)
	// exchange reports false when the server reset the connection (after
	// a 400, while a long input was still being sent): what reaches the
	// client then is up to the kernel.
	exchange := func(t *testing.T, addr, raw string) (string, bool) {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		require.NoError(t, conn.SetDeadline(time.Now().Add(5*time.Second)))
		if _, err := io.WriteString(conn, raw); err != nil {
			return "", false
		}
		if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
			return "", false
		}
		got, err := io.ReadAll(conn)
		return srvTestDate.ReplaceAllString(string(got), ""), err == nil
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if strings.Contains(strings.ToLower(raw), "api") {
			return
		}
		want, ok := exchange(t, st.stdAddr, raw)
		got, ok2 := exchange(t, st.fastAddr, raw)
		if ok && ok2 {
			assert.Equal(t, want, got, "on %q", raw)
		}
	})
}
