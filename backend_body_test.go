package frontdoor

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResponseBody(t *testing.T) {
	for _, tt := range []struct {
		name        string
		framing     bodyFraming
		length      int64
		give        string
		want        string
		wantErr     error
		wantTrailer http.Header
		wantLeft    string // what stays unread after the body
	}{
		{"none", framingNone, 0, "next", "", nil, nil, "next"},
		{"length", framingLength, 5, "hello", "hello", nil, nil, ""},
		{"length leaves what follows", framingLength, 5, "helloHTTP/1.1 200 OK", "hello", nil, nil, "HTTP/1.1 200 OK"},
		{"length zero", framingLength, 0, "next", "", nil, nil, "next"},
		{"length cut short", framingLength, 10, "short", "short", io.ErrUnexpectedEOF, nil, ""},
		{"close-delimited", framingClose, -1, "all of it", "all of it", nil, nil, ""},
		{"chunked", framingChunked, -1, "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world", nil, nil, ""},
		{"chunked hex and extensions", framingChunked, -1, "A;name=\"v\"\r\n0123456789\r\na ; x\r\nabcdefghij\r\n0;end\r\n\r\n", "0123456789abcdefghij", nil, nil, ""},
		{"chunked leaves what follows", framingChunked, -1, "2\r\nok\r\n0\r\n\r\nEXTRA", "ok", nil, nil, "EXTRA"},
		{"chunked trailers", framingChunked, -1, "2\r\nok\r\n0\r\nX-Sum: 1\r\nx-sum: 2\nContent-Length: 9\r\n\r\n", "ok", nil,
			http.Header{"X-Sum": {"1", "2"}}, ""},
		{"chunked bare LF after size", framingChunked, -1, "2\nok\r\n0\r\n\r\n", "", errChunkLine, nil, ""},
		{"chunked bare CR in size line", framingChunked, -1, "2\r;x\r\nok\r\n0\r\n\r\n", "", errChunkLine, nil, ""},
		{"chunked no CRLF after data", framingChunked, -1, "2\r\nokX\r\n0\r\n\r\n", "ok", errChunkEnd, nil, ""},
		{"chunked not hex", framingChunked, -1, "zz\r\nok\r\n", "", errChunkLine, nil, ""},
		{"chunked empty size", framingChunked, -1, "\r\nok\r\n", "", errChunkLine, nil, ""},
		{"chunked size overflows", framingChunked, -1, "8000000000000000\r\n", "", errChunkLine, nil, ""},
		{"chunked junk after size", framingChunked, -1, "2 x\r\nok\r\n0\r\n\r\n", "", errChunkLine, nil, ""},
		{"chunked control in extension", framingChunked, -1, "2;\x01\r\nok\r\n0\r\n\r\n", "", errChunkLine, nil, ""},
		{"chunked cut in data", framingChunked, -1, "5\r\nhel", "hel", io.ErrUnexpectedEOF, nil, ""},
		{"chunked cut before last chunk", framingChunked, -1, "2\r\nok\r\n", "ok", io.ErrUnexpectedEOF, nil, ""},
		{"chunked cut in trailers", framingChunked, -1, "0\r\nX-A: 1\r\n", "", io.ErrUnexpectedEOF, nil, ""},
		{"chunked folded trailer", framingChunked, -1, "0\r\nX-A: 1\r\n 2\r\n\r\n", "", errResponseObsFold, nil, ""},
		{"chunked malformed trailer", framingChunked, -1, "0\r\nX-A : 1\r\n\r\n", "", errResponseField, nil, ""},
	} {
		for _, oneByte := range []bool{false, true} {
			name := tt.name
			if oneByte {
				name += " byte by byte"
			}
			t.Run(name, func(t *testing.T) {
				var r io.Reader = strings.NewReader(tt.give)
				if oneByte {
					r = iotest.OneByteReader(r)
				}
				br := bufio.NewReaderSize(r, 32)
				var b responseBody
				b.reset(br, tt.framing, tt.length)
				got, err := io.ReadAll(&b)
				assert.Equal(t, tt.want, string(got))
				if tt.wantErr != nil {
					assert.ErrorIs(t, err, tt.wantErr)
					assert.False(t, b.ended())
					return
				}
				require.NoError(t, err)
				assert.True(t, b.ended())
				assert.Equal(t, tt.wantTrailer, b.trailer)
				left, _ := io.ReadAll(br)
				assert.Equal(t, tt.wantLeft, string(left), "the body reads nothing past its end")
			})
		}
	}
}

func TestResponseBodyTrailerTooLarge(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("0\r\n")
	for sb.Len() <= maxResponseHeadBytes {
		sb.WriteString("X-Pad: " + strings.Repeat("p", 1000) + "\r\n")
	}
	sb.WriteString("\r\n")
	var b responseBody
	b.reset(bufio.NewReader(strings.NewReader(sb.String())), framingChunked, -1)
	_, err := io.ReadAll(&b)
	assert.ErrorIs(t, err, errTrailerTooBig)
}
