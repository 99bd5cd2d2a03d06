package frontdoor

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseResponseHead(t *testing.T) {
	type want struct {
		status  int
		framing bodyFraming
		length  int64
		close   bool
	}
	for _, tt := range []struct {
		name    string
		give    string
		headReq bool
		want    want
		wantErr error
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", false, want{200, framingLength, 5, false}, nil},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, want{200, framingChunked, -1, false}, nil},
		{"chunked any case, empty list elements", "HTTP/1.1 200 OK\r\nTransfer-Encoding: , CHUNKED ,\r\n\r\n", false, want{200, framingChunked, -1, false}, nil},
		{"close-delimited", "HTTP/1.1 200 OK\r\n\r\n", false, want{200, framingClose, -1, true}, nil},
		{"HEAD has no body", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true, want{200, framingNone, 5, false}, nil},
		{"204 has no body", "HTTP/1.1 204 No Content\r\n\r\n", false, want{204, framingNone, -1, false}, nil},
		{"304 has no body", "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", false, want{304, framingNone, 9, false}, nil},
		{"103 has no body", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", false, want{103, framingNone, -1, false}, nil},
		{"101", "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", false, want{101, framingNone, -1, false}, nil},
		{"Connection close", "HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n", false, want{200, framingLength, 0, true}, nil},
		{"HTTP/1.0 closes", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n", false, want{200, framingLength, 2, true}, nil},
		{"bare LF lines", "HTTP/1.1 200 OK\nContent-Length: 2\n\n", false, want{200, framingLength, 2, false}, nil},
		{"no reason", "HTTP/1.1 200\r\nContent-Length: 2\r\n\r\n", false, want{200, framingLength, 2, false}, nil},
		{"empty reason", "HTTP/1.1 200 \r\nContent-Length: 2\r\n\r\n", false, want{200, framingLength, 2, false}, nil},
		{"same length twice", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\n", false, want{200, framingLength, 2, false}, nil},
		{"value whitespace trimmed", "HTTP/1.1 200 OK\r\nContent-Length:\t 2 \t\r\n\r\n", false, want{200, framingLength, 2, false}, nil},

		{"space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\n", false, want{}, errResponseField},
		{"tab before colon", "HTTP/1.1 200 OK\r\nContent-Length\t: 2\r\n\r\n", false, want{}, errResponseField},
		{"no colon", "HTTP/1.1 200 OK\r\nContent-Length 2\r\n\r\n", false, want{}, errResponseField},
		{"empty name", "HTTP/1.1 200 OK\r\n: 2\r\n\r\n", false, want{}, errResponseField},
		{"control in value", "HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n\r\n", false, want{}, errResponseField},
		{"bare CR in value", "HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n", false, want{}, errResponseField},
		{"obs-fold", "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\n\r\n", false, want{}, errResponseObsFold},
		{"space after status line", "HTTP/1.1 200 OK\r\n Content-Length: 2\r\n\r\n", false, want{}, errResponseObsFold},
		{"status 600", "HTTP/1.1 600 X\r\n\r\n", false, want{}, errResponseStatus},
		{"status 999", "HTTP/1.1 999 X\r\n\r\n", false, want{}, errResponseStatus},
		{"status 099", "HTTP/1.1 099 X\r\n\r\n", false, want{}, errResponseStatus},
		{"status 4 digits", "HTTP/1.1 2000 X\r\n\r\n", false, want{}, errResponseStatusLine},
		{"status 2 digits", "HTTP/1.1 20 X\r\n\r\n", false, want{}, errResponseStatusLine},
		{"status letters", "HTTP/1.1 2x0 X\r\n\r\n", false, want{}, errResponseStatusLine},
		{"HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n", false, want{}, errResponseStatusLine},
		{"lower-case version", "http/1.1 200 OK\r\n\r\n", false, want{}, errResponseStatusLine},
		{"two spaces", "HTTP/1.1  200 OK\r\n\r\n", false, want{}, errResponseStatusLine},
		{"control in reason", "HTTP/1.1 200 O\x01K\r\n\r\n", false, want{}, errResponseStatusLine},
		{"conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n", false, want{}, errResponseLength},
		{"length list", "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\n", false, want{}, errResponseLength},
		{"negative length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false, want{}, errResponseLength},
		{"empty length", "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", false, want{}, errResponseLength},
		{"huge length", "HTTP/1.1 200 OK\r\nContent-Length: 9999999999999999999\r\n\r\n", false, want{}, errResponseLength},
		{"invalid length on HEAD", "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", true, want{}, errResponseLength},
		{"gzip coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false, want{}, errResponseCoding},
		{"chunked not last", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", false, want{}, errResponseCoding},
		{"chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", false, want{}, errResponseCoding},
		{"chunked with parameter", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", false, want{}, errResponseCoding},
		{"chunked in HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, want{}, errResponseCoding},
		{"both framings", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n", false, want{}, errResponseBothLengths},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var h responseHead
			err := parseResponseHead([]byte(tt.give), tt.headReq, &h)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, want{h.status, h.framing, h.length, h.close})
		})
	}
}

func TestReadResponseHead(t *testing.T) {
	long := "HTTP/1.1 200 OK\r\nX-Long: " + strings.Repeat("v", 6000) + "\r\nContent-Length: 2\r\n\r\n"
	for _, tt := range []struct {
		name     string
		give     string
		oneByte  bool
		wantHead string
		wantErr  error
	}{
		{"whole", "HTTP/1.1 200 OK\r\n\r\nbody", false, "HTTP/1.1 200 OK\r\n\r\n", nil},
		{"byte by byte", "HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody", true, "HTTP/1.1 200 OK\r\nA: b\r\n\r\n", nil},
		{"LF only, byte by byte", "HTTP/1.1 200 OK\nA: b\n\nbody", true, "HTTP/1.1 200 OK\nA: b\n\n", nil},
		{"longer than the buffer", long + "ok", false, long, nil},
		{"longer than the buffer, byte by byte", long + "ok", true, long, nil},
		{"too large", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("v", maxResponseHeadBytes) + "\r\n\r\n", false, "", errResponseHeadTooLarge},
		{"cut short", "HTTP/1.1 200 OK\r\nA: b\r\n", false, "", io.ErrUnexpectedEOF},
		{"nothing", "", false, "", io.EOF},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var r io.Reader = strings.NewReader(tt.give)
			if tt.oneByte {
				r = iotest.OneByteReader(r)
			}
			br := bufio.NewReaderSize(r, backendReadBufferSize)
			head, discard, read, err := readResponseHead(br, nil)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
				assert.Equal(t, tt.give != "", read)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantHead, string(head))
			br.Discard(discard)
			rest, _ := io.ReadAll(br)
			assert.Equal(t, tt.give[len(tt.wantHead):], string(rest), "nothing after the head is consumed")
		})
	}
}

// backendFuzzConn is an in-memory backend connection that answers with
// the bytes in, at most step bytes per read, and can be peeked at.
type backendFuzzConn struct {
	in     []byte
	off    int
	step   int
	closed bool
}

func (c *backendFuzzConn) Read(p []byte) (int, error) {
	if c.closed {
		return 0, net.ErrClosed
	}
	if c.off == len(c.in) {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.step)], c.in[c.off:])
	c.off += n
	return n, nil
}

func (c *backendFuzzConn) Write(p []byte) (int, error) {
	if c.closed {
		return 0, net.ErrClosed
	}
	return len(p), nil
}

func (c *backendFuzzConn) peekIdle() idleState {
	switch {
	case c.closed:
		return idleClosed
	case c.off < len(c.in):
		return idleStray
	}
	return idleClean
}

func (c *backendFuzzConn) Close() error                     { c.closed = true; return nil }
func (c *backendFuzzConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *backendFuzzConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *backendFuzzConn) SetDeadline(time.Time) error      { return nil }
func (c *backendFuzzConn) SetReadDeadline(time.Time) error  { return nil }
func (c *backendFuzzConn) SetWriteDeadline(time.Time) error { return nil }

// backendFuzzGood is what a second connection answers.
const backendFuzzGood = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood"

// FuzzBackendResponse feeds any bytes to the backend client as a backend's
// answer to a GET or HEAD, then sends a second request. Invariants: no
// panic; a body never holds more bytes than its framing says (nor than
// were sent); a chunked body decodes as net/http decodes it; and the
// connection is reused for the second request only if the first response
// left no byte unread, so that the second request never sees a byte of
// the first answer.
func FuzzBackendResponse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, head bool, step uint8) {
		var conns []*backendFuzzConn
		cfg := proxyConfig{dial: func(context.Context, string, string) (net.Conn, error) {
			c := &backendFuzzConn{in: data, step: int(step%64) + 1}
			if len(conns) > 0 {
				c.in = []byte(backendFuzzGood)
			}
			conns = append(conns, c)
			return c, nil
		}}
		if err := cfg.validate(); err != nil {
			t.Fatal(err)
		}
		client, err := newBackendClient(mustParseProxyTestURL(t, "http://backend.test"), &cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		req, _ := http.NewRequest(method, "http://backend.test/", nil)
		if res, err := client.RoundTrip(req); err == nil {
			body, rerr := io.ReadAll(io.LimitReader(res.Body, int64(len(data))+1))
			res.Body.Close()
			if len(body) > len(data) {
				t.Fatalf("body of %d bytes from %d sent", len(body), len(data))
			}
			if res.ContentLength >= 0 && !head && int64(len(body)) > res.ContentLength {
				t.Fatalf("body of %d bytes for Content-Length %d", len(body), res.ContentLength)
			}
			if head && len(body) > 0 && res.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("a HEAD response with a body of %d bytes", len(body))
			}
			if rerr == nil && !head && len(res.TransferEncoding) > 0 && len(data) > 9 && data[9] != '1' {
				end := headEnd(data, 0)
				want, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(data[end:])))
				if err == nil && !bytes.Equal(body, want) {
					t.Fatalf("chunked body %q, net/http decodes %q", body, want)
				}
			}
		}
		first := conns[0]
		left := first.off
		req, _ = http.NewRequest(http.MethodGet, "http://backend.test/", nil)
		res, err := client.RoundTrip(req)
		if err != nil {
			t.Fatalf("second request: %v", err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if first.off != left {
			t.Fatalf("the second request read %q, left on the first connection", data[left:first.off])
		}
		if string(body) != "good" {
			t.Fatalf("second request got %q", body)
		}
		client.closeIdle()
	})
}
