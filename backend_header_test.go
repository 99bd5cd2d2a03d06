package frontdoor

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFieldsHeader(t *testing.T) {
	var h responseHead
	head := "HTTP/1.1 200 OK\r\nx-custom-thing:  a b \r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nX-Empty:\r\n\r\n"
	require.NoError(t, parseResponseHead([]byte(head), false, &h))
	got := fieldsHeader(h.fields)
	assert.Equal(t, http.Header{
		"X-Custom-Thing": {"a b"},
		"Set-Cookie":     {"a=1", "b=2"},
		"X-Empty":        {""},
	}, got)
	assert.Equal(t, "OK", string(h.reason))
}

func TestCanonicalHeaderKey(t *testing.T) {
	for give, want := range map[string]string{
		"content-type":          "Content-Type",
		"X-REQUEST-ID":          "X-Request-Id",
		"x-custom-thing":        "X-Custom-Thing",
		"etag":                  "Etag",
		"a":                     "A",
		strings.Repeat("x", 70): http.CanonicalHeaderKey(strings.Repeat("x", 70)),
	} {
		assert.Equal(t, want, canonicalHeaderKey([]byte(give)), give)
	}
	assert.Zero(t, testing.AllocsPerRun(10, func() { canonicalHeaderKey([]byte("content-length")) }), "common names are interned")
}

func TestDeclaredTrailers(t *testing.T) {
	got := declaredTrailers([]string{"x-sum, Content-Length", " grpc-status ,", "bad name"})
	assert.Equal(t, http.Header{"X-Sum": nil, "Grpc-Status": nil}, got, "framing fields and non-tokens are left out")
}
