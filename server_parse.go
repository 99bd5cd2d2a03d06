package frontdoor

import (
	"bytes"
)

// The fast path's request parser. It accepts only what it fully
// understands and what net/http would read the same way: an origin-form
// GET or HEAD over HTTP/1.1, with a clean path, exactly one plain Host,
// well-formed header fields, no body, and no header that could change the
// answer (conditions, ranges, upgrades, Expect, Connection other than
// keep-alive). It says no to everything else, which then goes to net/http
// unread: refusing costs a little speed, never correctness.
// FuzzServerFastPath checks that whatever it accepts, net/http answers the
// same.

// fastMaxAcceptEncoding bounds the Accept-Encoding fields the fast path
// keeps; a request with more goes to net/http.
const fastMaxAcceptEncoding = 4

// fastRequest is a request the fast path may answer.
type fastRequest struct {
	head bool   // HEAD rather than GET
	path string // the request path, clean, without the query
	ae   [fastMaxAcceptEncoding]string
	nae  int // Accept-Encoding fields in ae
}

// acceptEncoding returns the request's Accept-Encoding field values.
func (r *fastRequest) acceptEncoding() []string { return r.ae[:r.nae] }

var (
	crlf     = []byte("\r\n")
	crlfcrlf = []byte("\r\n\r\n")
)

// parseFastRequest parses b, one header block ending in an empty line,
// into r and reports whether the fast path may answer it.
func parseFastRequest(b []byte, r *fastRequest) bool {
	*r = fastRequest{}
	line, rest, ok := bytes.Cut(b, crlf)
	if !ok || !r.parseRequestLine(line) {
		return false
	}
	hosts := 0
	for {
		line, rest, ok = bytes.Cut(rest, crlf)
		if !ok {
			return false
		}
		if len(line) == 0 {
			return len(rest) == 0 && hosts == 1
		}
		name, value, ok := splitHeaderField(line)
		if !ok {
			return false
		}
		switch fastHeaderClass(name) {
		case fastHeaderIgnored:
		case fastHeaderHost:
			hosts++
			if !validFastHost(value) {
				return false
			}
		case fastHeaderConnection:
			if !asciiEqualFold(value, "keep-alive") {
				return false
			}
		case fastHeaderAcceptEncoding:
			if r.nae == fastMaxAcceptEncoding {
				return false
			}
			r.ae[r.nae] = string(value)
			r.nae++
		default:
			return false
		}
	}
}

// parseRequestLine parses "GET /path?query HTTP/1.1".
func (r *fastRequest) parseRequestLine(line []byte) bool {
	switch {
	case bytes.HasPrefix(line, []byte("GET ")):
		line = line[4:]
	case bytes.HasPrefix(line, []byte("HEAD ")):
		r.head = true
		line = line[5:]
	default:
		return false
	}
	target, ok := bytes.CutSuffix(line, []byte(" HTTP/1.1"))
	if !ok || len(target) == 0 || target[0] != '/' {
		return false
	}
	p, query, _ := bytes.Cut(target, []byte("?"))
	for _, c := range p {
		if !fastPathByte(c) {
			return false
		}
	}
	for _, c := range query {
		if !fastPathByte(c) && c != '?' && c != '%' {
			return false
		}
	}
	r.path = string(p)
	return isCleanMuxPath(r.path)
}

// fastPathByte reports whether c may appear unescaped in a path the fast
// path takes: RFC 3986 pchar without pct-encoded, and "/". A "%" would
// make the decoded path differ from the raw one, so net/http handles it.
func fastPathByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '-', '.', '_', '~', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@', '/':
		return true
	}
	return false
}

// splitHeaderField splits "Name: value" and reports whether the name is a
// token and the value has no control character but tab. The value is
// trimmed of spaces and tabs, as net/http trims it.
func splitHeaderField(line []byte) (name, value []byte, ok bool) {
	name, value, ok = bytes.Cut(line, []byte(":"))
	if !ok || len(name) == 0 {
		return nil, nil, false
	}
	for _, c := range name {
		if !isTokenByte(c) {
			return nil, nil, false
		}
	}
	for _, c := range value {
		if c < ' ' && c != '\t' || c == 0x7f {
			return nil, nil, false
		}
	}
	return name, bytes.Trim(value, " \t"), true
}

// isTokenByte reports whether c is an RFC 9110 tchar.
func isTokenByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// validFastHost reports whether a Host value is a plain host[:port]: a
// name, an IPv4 address or a bracketed IPv6 address. net/http accepts
// more; those go to it.
func validFastHost(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	for _, c := range v {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '-', c == ':', c == '[', c == ']', c == '_':
		default:
			return false
		}
	}
	return true
}

// Classes of request header field for the fast path.
const (
	fastHeaderIgnored        = iota // does not change the answer
	fastHeaderHost                  // checked and counted
	fastHeaderConnection            // keep-alive only
	fastHeaderAcceptEncoding        // picks a precompressed sibling
	fastHeaderRefused               // the request goes to net/http
)

// fastHeaderClass classifies a header field name, case-insensitively.
// Refused are the fields that frame a body or the message (Content-Length,
// Transfer-Encoding, Expect, Upgrade, TE, Trailer), make the answer
// conditional or partial (If-*, Range), or that net/http treats specially
// (Cookie and Authorization are ignored by StaticFS and so are fine).
func fastHeaderClass(name []byte) int {
	switch len(name) {
	case 2:
		if asciiEqualFold(name, "te") {
			return fastHeaderRefused
		}
	case 4:
		if asciiEqualFold(name, "host") {
			return fastHeaderHost
		}
	case 5:
		if asciiEqualFold(name, "range") {
			return fastHeaderRefused
		}
	case 6:
		if asciiEqualFold(name, "expect") {
			return fastHeaderRefused
		}
	case 7:
		if asciiEqualFold(name, "upgrade") || asciiEqualFold(name, "trailer") {
			return fastHeaderRefused
		}
	case 8:
		if asciiEqualFold(name, "if-match") || asciiEqualFold(name, "if-range") {
			return fastHeaderRefused
		}
	case 10:
		if asciiEqualFold(name, "connection") {
			return fastHeaderConnection
		}
	case 13:
		if asciiEqualFold(name, "if-none-match") {
			return fastHeaderRefused
		}
	case 14:
		if asciiEqualFold(name, "content-length") {
			return fastHeaderRefused
		}
	case 15:
		if asciiEqualFold(name, "accept-encoding") {
			return fastHeaderAcceptEncoding
		}
	case 16:
		if asciiEqualFold(name, "proxy-connection") {
			return fastHeaderRefused
		}
	case 17:
		if asciiEqualFold(name, "if-modified-since") || asciiEqualFold(name, "transfer-encoding") {
			return fastHeaderRefused
		}
	case 19:
		if asciiEqualFold(name, "if-unmodified-since") {
			return fastHeaderRefused
		}
	}
	return fastHeaderIgnored
}

// asciiEqualFold reports whether b equals the lower-case ASCII s, ignoring
// the case of b.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
