package frontdoor

import (
	"bytes"
	"testing"
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
