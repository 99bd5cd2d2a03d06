package frontdoor

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendRequestHead(t *testing.T) {
	newReq := func(method, target string, h http.Header) *http.Request {
		u, err := url.Parse(target)
		require.NoError(t, err)
		if h == nil {
			h = http.Header{}
		}
		return &http.Request{Method: method, URL: u, Header: h}
	}
	for _, tt := range []struct {
		name    string
		req     *http.Request
		bodyLen int64
		want    string
	}{
		{"get", newReq("GET", "http://b/a%2Fb?x=1&y", http.Header{
			"X-B": {"2"}, "Accept": {" text/html\t"}, "X-A": {"1", "one"}, "User-Agent": {""},
		}), 0, "GET /a%2Fb?x=1&y HTTP/1.1\r\nHost: h:1\r\nAccept: text/html\r\nX-A: 1\r\nX-A: one\r\nX-B: 2\r\n\r\n"},
		{"user agent first", newReq("GET", "http://b/", http.Header{"User-Agent": {"ua/1"}, "A": {"a"}}), 0,
			"GET / HTTP/1.1\r\nHost: h:1\r\nUser-Agent: ua/1\r\nA: a\r\n\r\n"},
		{"empty path and forced query", newReq("GET", "http://b?", nil), 0, "GET /? HTTP/1.1\r\nHost: h:1\r\n\r\n"},
		{"opaque", newReq("OPTIONS", "http:*", nil), 0, "OPTIONS * HTTP/1.1\r\nHost: h:1\r\n\r\n"},
		{"length", newReq("PUT", "http://b/up", http.Header{"Content-Length": {"99"}, "Transfer-Encoding": {"x"}}), 7,
			"PUT /up HTTP/1.1\r\nHost: h:1\r\nContent-Length: 7\r\n\r\n"},
		{"empty POST says so", newReq("POST", "http://b/", nil), 0, "POST / HTTP/1.1\r\nHost: h:1\r\nContent-Length: 0\r\n\r\n"},
		{"empty DELETE does not", newReq("DELETE", "http://b/", nil), 0, "DELETE / HTTP/1.1\r\nHost: h:1\r\n\r\n"},
		{"chunked with trailers declared", func() *http.Request {
			r := newReq("POST", "http://b/", http.Header{"Trailer": {"ignored"}})
			r.Trailer = http.Header{"X-Sum": nil, "Content-Length": nil, "X-Algo": nil}
			return r
		}(), -1, "POST / HTTP/1.1\r\nHost: h:1\r\nTransfer-Encoding: chunked\r\nTrailer: X-Algo, X-Sum\r\n\r\n"},
		{"close", func() *http.Request { r := newReq("GET", "http://b/", nil); r.Close = true; return r }(), 0,
			"GET / HTTP/1.1\r\nHost: h:1\r\nConnection: close\r\n\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := appendRequestHead(nil, tt.req, "h:1", tt.bodyLen)
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
			// net/http reads it as the same request.
			back, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(got)))
			require.NoError(t, err)
			assert.Equal(t, cmpOrMethod(tt.req.Method), back.Method)
		})
	}
}

func cmpOrMethod(m string) string {
	if m == "" {
		return http.MethodGet
	}
	return m
}

func TestAppendRequestHeadRefuses(t *testing.T) {
	for _, tt := range []struct {
		name    string
		method  string
		target  string
		host    string
		header  http.Header
		wantErr error
	}{
		{"method with space", "GE T", "/", "h", nil, errRequestMethod},
		{"control in query", "GET", "/?a=\x01", "h", nil, errRequestTarget},
		{"space in query", "GET", "/?a=b c", "h", nil, errRequestTarget},
		{"empty host", "GET", "/", "", nil, errRequestHost},
		{"host with slash", "GET", "/", "a/b", nil, errRequestHost},
		{"non-ASCII host", "GET", "/", "bücher.example", nil, errRequestHost},
		{"newline in value", "GET", "/", "h", http.Header{"X-A": {"a\r\nX-Injected: 1"}}, errRequestField},
		{"space in name", "GET", "/", "h", http.Header{"X A": {"1"}}, errRequestField},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := &http.Request{Method: tt.method, URL: &url.URL{Path: "/"}, Header: tt.header}
			if q, ok := strings.CutPrefix(tt.target, "/?"); ok {
				req.URL.RawQuery = q
			}
			_, err := appendRequestHead(nil, req, tt.host, 0)
			assert.ErrorIs(t, err, tt.wantErr)
		})
	}
}

func TestWriteRequestBody(t *testing.T) {
	buf := make([]byte, 64)
	t.Run("length", func(t *testing.T) {
		var w bytes.Buffer
		err := writeRequestBody(&w, iotest.OneByteReader(strings.NewReader("hello, and more")), 5, nil, buf)
		require.NoError(t, err)
		assert.Equal(t, "hello", w.String(), "no byte past the length")
	})
	t.Run("length cut short", func(t *testing.T) {
		var w bytes.Buffer
		err := writeRequestBody(&w, strings.NewReader("hel"), 5, nil, buf)
		assert.ErrorIs(t, err, errRequestShort)
	})
	t.Run("chunked with trailers", func(t *testing.T) {
		body := strings.Repeat("x", 100) // 44 bytes a chunk in a 64-byte buffer
		trailer := http.Header{}
		r := io.MultiReader(strings.NewReader(body), readerFunc(func([]byte) (int, error) {
			// As a server does, the trailers arrive with the body's end.
			trailer.Set("X-Sum", "42")
			trailer.Set("Content-Length", "1")
			return 0, io.EOF
		}))
		var w bytes.Buffer
		require.NoError(t, writeRequestBody(&w, r, -1, trailer, buf))
		assert.Equal(t, "2c\r\n"+body[:44]+"\r\n2c\r\n"+body[44:88]+"\r\nc\r\n"+body[88:]+"\r\n0\r\nX-Sum: 42\r\n\r\n", w.String())

		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(
			"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + w.String())))
		require.NoError(t, err)
		got, err := io.ReadAll(req.Body)
		require.NoError(t, err)
		assert.Equal(t, body, string(got))
		assert.Equal(t, "42", req.Trailer.Get("X-Sum"))
	})
	t.Run("chunked empty", func(t *testing.T) {
		var w bytes.Buffer
		require.NoError(t, writeRequestBody(&w, strings.NewReader(""), -1, nil, buf))
		assert.Equal(t, "0\r\n\r\n", w.String())
	})
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
