package frontdoor

import (
	"net/http"
	"net/textproto"
	"strings"
)

// Header fields of backend messages as net/http wants them: canonical keys,
// interned for common names, and values that share one allocation.

// canonicalHeaderKey returns the canonical form of the token name (as
// [net/http.CanonicalHeaderKey]), without allocating for common names.
func canonicalHeaderKey(name []byte) string {
	var buf [64]byte
	if len(name) > len(buf) {
		return http.CanonicalHeaderKey(string(name))
	}
	k := buf[:len(name)]
	upper := true
	for i, c := range name {
		if upper {
			c = asciiUpper(c)
		} else {
			c = asciiLower(c)
		}
		k[i] = c
		upper = c == '-'
	}
	if s, ok := commonHeaderKeys[string(k)]; ok {
		return s
	}
	return string(k)
}

// asciiUpper returns c in upper case if it is an ASCII letter.
func asciiUpper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

// asciiLower returns c in lower case if it is an ASCII letter.
func asciiLower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// commonHeaderKeys interns the canonical names of common response fields,
// so that parsing them allocates no key.
var commonHeaderKeys = func() map[string]string {
	m := make(map[string]string)
	for _, k := range []string{
		"Accept-Ranges", "Access-Control-Allow-Credentials", "Access-Control-Allow-Headers",
		"Access-Control-Allow-Methods", "Access-Control-Allow-Origin", "Access-Control-Expose-Headers",
		"Access-Control-Max-Age", "Age", "Allow", "Alt-Svc", "Cache-Control", "Connection",
		"Content-Disposition", "Content-Encoding", "Content-Language", "Content-Length",
		"Content-Location", "Content-Range", "Content-Security-Policy", "Content-Type", "Date",
		"Etag", "Expires", "Keep-Alive", "Last-Modified", "Link", "Location", "Pragma",
		"Referrer-Policy", "Retry-After", "Server", "Set-Cookie", "Strict-Transport-Security",
		"Trailer", "Transfer-Encoding", "Upgrade", "Vary", "Via", "Www-Authenticate",
		"X-Accel-Buffering", "X-Content-Type-Options", "X-Frame-Options", "X-Powered-By",
		"X-Request-Id", "X-Xss-Protection",
	} {
		m[k] = k
	}
	return m
}()

// fieldsHeader returns the fields as an http.Header, with canonical keys
// and all values backed by one string.
func fieldsHeader(fields []headerField) http.Header {
	h := make(http.Header, len(fields))
	if len(fields) == 0 {
		return h
	}
	size := 0
	for _, f := range fields {
		size += len(f.value)
	}
	var sb strings.Builder
	sb.Grow(size)
	for _, f := range fields {
		sb.Write(f.value)
	}
	all := sb.String()
	vals := make([]string, len(fields))
	off := 0
	for i, f := range fields {
		vals[i] = all[off : off+len(f.value)]
		off += len(f.value)
		k := canonicalHeaderKey(f.name)
		if prev, ok := h[k]; ok {
			h[k] = append(prev, vals[i])
		} else {
			h[k] = vals[i : i+1 : i+1]
		}
	}
	return h
}

// declaredTrailers returns the trailers a Trailer field value declares,
// each with no value yet, leaving out those that may not be trailers.
func declaredTrailers(vals []string) http.Header {
	t := make(http.Header)
	for _, v := range vals {
		for name := range strings.SplitSeq(v, ",") {
			name = textproto.TrimString(name)
			if !isToken(name) {
				continue
			}
			if k := http.CanonicalHeaderKey(name); !forbiddenTrailers[k] {
				t[k] = nil
			}
		}
	}
	return t
}
