package frontdoor

import (
	"cmp"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// This file writes a request to a backend in HTTP/1.1: the head, then the
// body with a Content-Length or in chunks followed by the request's
// trailers. It writes what net/http's Transport writes for the requests a
// ReverseProxy hands it (same fields, same order), so that backends see no
// difference.

// Requests that cannot be written. Nothing is sent.
var (
	errRequestMethod = errors.New("frontdoor: invalid request method")
	errRequestTarget = errors.New("frontdoor: control character or space in request target")
	errRequestHost   = errors.New("frontdoor: invalid Host for backend request")
	errRequestField  = errors.New("frontdoor: invalid request header field")
	errRequestShort  = errors.New("frontdoor: request body shorter than its Content-Length")
)

// requestBodyLen returns how req's body is sent: n > 0 bytes with a
// Content-Length, -1 chunked, 0 none. A body of length 0 is none, as
// ReverseProxy treats it.
func requestBodyLen(req *http.Request) int64 {
	if req.Body == nil || req.Body == http.NoBody || req.ContentLength == 0 {
		return 0
	}
	return max(req.ContentLength, -1)
}

// appendRequestHead appends the HTTP/1.1 head of req to b: the request
// line, Host (host), User-Agent if set and not empty, the framing of a
// body of length bodyLen (see requestBodyLen) with its Trailer
// declaration, then the other header fields sorted by name. Field names
// must be tokens and values free of control characters other than HTAB.
func appendRequestHead(b []byte, req *http.Request, host string, bodyLen int64) ([]byte, error) {
	method := cmp.Or(req.Method, http.MethodGet)
	if !isToken(method) {
		return b, errRequestMethod
	}
	if !validRequestHost(host) {
		return b, errRequestHost
	}
	b = append(b, method...)
	b = append(b, ' ')
	start := len(b)
	b = appendRequestTarget(b, req.URL)
	for _, c := range b[start:] {
		if c <= ' ' || c == 0x7f {
			return b, errRequestTarget
		}
	}
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\n"...)
	h := req.Header
	if ua := h["User-Agent"]; len(ua) > 0 && ua[0] != "" {
		var err error
		if b, err = appendField(b, "User-Agent", ua[0]); err != nil {
			return b, err
		}
	}
	if req.Close {
		b = append(b, "Connection: close\r\n"...)
	}
	switch {
	case bodyLen > 0:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, bodyLen, 10)
		b = append(b, "\r\n"...)
	case bodyLen < 0:
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
		b = appendTrailerDeclaration(b, req.Trailer)
	case method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch:
		// Many servers want a length on these, as net/http knows.
		b = append(b, "Content-Length: 0\r\n"...)
	}
	var keyBuf [32]string
	keys := keyBuf[:0]
	for k := range h {
		switch k {
		case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			var err error
			if b, err = appendField(b, k, v); err != nil {
				return b, err
			}
		}
	}
	return append(b, "\r\n"...), nil
}

// appendRequestTarget appends the origin-form target of u, as
// [net/url.URL.RequestURI] returns it.
func appendRequestTarget(b []byte, u *url.URL) []byte {
	switch {
	case u.Opaque != "":
		if strings.HasPrefix(u.Opaque, "//") {
			b = append(b, u.Scheme...)
			b = append(b, ':')
		}
		b = append(b, u.Opaque...)
	default:
		p := u.EscapedPath()
		if p == "" {
			p = "/"
		}
		b = append(b, p...)
	}
	if u.ForceQuery || u.RawQuery != "" {
		b = append(b, '?')
		b = append(b, u.RawQuery...)
	}
	return b
}

// appendField appends "k: v\r\n", v without surrounding whitespace.
func appendField(b []byte, k, v string) ([]byte, error) {
	v = strings.Trim(v, " \t")
	if !isToken(k) || !validFieldValueString(v) {
		return b, errRequestField
	}
	b = append(b, k...)
	b = append(b, ": "...)
	b = append(b, v...)
	return append(b, "\r\n"...), nil
}

// appendTrailerDeclaration appends a Trailer field naming the trailers
// declared in t that may be sent, if any.
func appendTrailerDeclaration(b []byte, t http.Header) []byte {
	n := 0
	for _, k := range slices.Sorted(maps.Keys(t)) {
		if forbiddenTrailers[k] || !isToken(k) {
			continue
		}
		if n == 0 {
			b = append(b, "Trailer: "...)
		} else {
			b = append(b, ", "...)
		}
		b = append(b, k...)
		n++
	}
	if n > 0 {
		b = append(b, "\r\n"...)
	}
	return b
}

// writeRequestBody copies body to w after the head, using buf (at least
// 64 bytes): n bytes when n > 0, or chunked when n < 0, one chunk per read
// so that a streaming body is not held back, and then the trailer section
// holding trailer's fields as they are when body ends (a server fills a
// request's Trailer map as its body reaches the end). A body that ends
// before n bytes is errRequestShort; bytes after the nth are not read.
func writeRequestBody(w io.Writer, body io.Reader, n int64, trailer http.Header, buf []byte) error {
	if n > 0 {
		for n > 0 {
			m, err := body.Read(buf[:min(int64(len(buf)), n)])
			if m > 0 {
				if _, werr := w.Write(buf[:m]); werr != nil {
					return werr
				}
				n -= int64(m)
			}
			if err == io.EOF && n > 0 {
				return errRequestShort
			}
			if err != nil && err != io.EOF {
				return err
			}
		}
		return nil
	}
	// Each chunk is one write: its size line goes right before the data,
	// in the room kept at the start of buf, and its CRLF right after.
	const room = 18 // 16 hex digits and CRLF
	data := buf[room : len(buf)-2]
	for {
		m, err := body.Read(data)
		if m > 0 {
			size := strconv.AppendInt(buf[:0:room], int64(m), 16)
			start := room - len(size) - 2
			copy(buf[start:], size)
			buf[room-2], buf[room-1] = '\r', '\n'
			buf[room+m], buf[room+m+1] = '\r', '\n'
			if _, werr := w.Write(buf[start : room+m+2]); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	end := append(buf[:0], "0\r\n"...)
	for _, k := range slices.Sorted(maps.Keys(trailer)) {
		if forbiddenTrailers[k] {
			continue
		}
		for _, v := range trailer[k] {
			var err error
			if end, err = appendField(end, k, v); err != nil {
				return err
			}
		}
	}
	end = append(end, "\r\n"...)
	_, err := w.Write(end)
	return err
}

// validRequestHost reports whether host can be a Host field value: a
// non-empty ASCII reg-name or IP literal with an optional port, the bytes
// net/http's own check allows.
func validRequestHost(host string) bool {
	if host == "" {
		return false
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!$%&'()*+,-.:;=[]_~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validFieldValueString is validFieldValue for a string.
func validFieldValueString(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
