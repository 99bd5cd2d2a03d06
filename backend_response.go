package frontdoor

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// This file reads and checks the head of a backend's HTTP/1.x response:
// status line and header fields, and from them the framing of the body
// (RFC 9112 §6.3). It works on raw bytes and allocates nothing, so that a
// forwarding path that never builds an [net/http.Response] can use it as
// it is; backend_client.go builds the Response from it.

// maxResponseHeadBytes bounds a response head (and, separately, a trailer
// section). nginx refuses heads over its 4 or 8 KiB proxy_buffer_size;
// 64 KiB is Envoy's limit.
const maxResponseHeadBytes = 64 << 10

// max1xxResponses bounds the interim responses before the final one, as
// net/http's Transport does.
const max1xxResponses = 5

// Malformed responses. The client answers 502 for each, and never reuses
// the connection.
var (
	errResponseHeadTooLarge = errors.New("frontdoor: backend response head too large")
	errResponseStatusLine   = errors.New("frontdoor: backend response has a malformed status line")
	errResponseStatus       = errors.New("frontdoor: backend response status not in 100-599")
	errResponseField        = errors.New("frontdoor: backend response has a malformed header field")
	errResponseObsFold      = errors.New("frontdoor: backend response folds a header line")
	errResponseLength       = errors.New("frontdoor: backend response has an invalid or conflicting Content-Length")
	errResponseCoding       = errors.New("frontdoor: backend response has a transfer coding other than chunked")
	errResponseBothLengths  = errors.New("frontdoor: backend response has both Transfer-Encoding and Content-Length")
	errResponseTooMany1xx   = errors.New("frontdoor: backend sent too many interim responses")
)

// bodyFraming is how the end of a response body is found.
type bodyFraming uint8

const (
	framingNone    bodyFraming = iota // no body: HEAD, 1xx, 204, 304
	framingLength                     // exactly Content-Length bytes
	framingChunked                    // chunked coding, then a trailer section
	framingClose                      // until the backend closes the connection
)

// headerField is one field of a head, as slices of the head's bytes: the
// name as received, the value without surrounding whitespace.
type headerField struct{ name, value []byte }

// responseHead is one parsed response head. Its slices point into the
// bytes it was parsed from.
type responseHead struct {
	status  int
	minor   int    // HTTP/1.minor
	reason  []byte // may be empty
	fields  []headerField
	framing bodyFraming
	length  int64 // Content-Length, -1 when absent
	chunked bool  // Transfer-Encoding: chunked, whether or not it frames the body
	close   bool  // the connection ends with this response
	upgrade bool  // Connection lists "upgrade"
}

// interim reports whether the head is a 1xx response other than 101, after
// which the final response follows on the same connection.
func (h *responseHead) interim() bool {
	return h.status < 200 && h.status != 101
}

// readResponseHead reads one response head from br, up to and including
// its empty line, and returns its bytes. When the head fits br's buffer
// they are br's own bytes, valid until the next read from br, and discard
// is their length: the caller discards them from br once it has parsed
// them. A longer head is copied into scratch (grown as needed) as it is
// consumed, and discard is 0. read reports whether any byte arrived; an
// end of input after some bytes is io.ErrUnexpectedEOF.
func readResponseHead(br *bufio.Reader, scratch []byte) (head []byte, discard int, read bool, err error) {
	scanned := 0
	for {
		buf, _ := br.Peek(br.Buffered())
		if end := headEnd(buf, scanned); end > 0 {
			return buf[:end], end, true, nil
		}
		read = read || len(buf) > 0
		if len(buf) == br.Size() {
			head, err = readLongResponseHead(br, scratch)
			return head, 0, true, err
		}
		scanned = max(0, len(buf)-2)
		// Peek returns an error only when no byte came: bytes that came
		// with an error are looked at first, and the error comes again.
		if _, err = br.Peek(len(buf) + 1); err != nil {
			if err == io.EOF && read {
				err = io.ErrUnexpectedEOF
			}
			return nil, 0, read, err
		}
	}
}

// readLongResponseHead is readResponseHead for a head larger than br's
// buffer.
func readLongResponseHead(br *bufio.Reader, scratch []byte) ([]byte, error) {
	head := scratch[:0]
	for {
		if br.Buffered() == 0 {
			if _, err := br.Peek(1); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return nil, err
			}
		}
		buf, _ := br.Peek(br.Buffered())
		scanned := max(0, len(head)-2)
		head = append(head, buf...)
		end := headEnd(head, scanned)
		if end > maxResponseHeadBytes || end == 0 && len(head) >= maxResponseHeadBytes {
			return nil, errResponseHeadTooLarge
		}
		if end > 0 {
			br.Discard(len(buf) - (len(head) - end))
			return head[:end], nil
		}
		br.Discard(len(buf))
	}
}

// headEnd returns the length of the head that ends with the first empty
// line in b (LF or CRLF line ends), looking at lines that start after from,
// or 0 when b holds no complete head yet.
func headEnd(b []byte, from int) int {
	for i := from; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return 0
		}
		i += j + 1 // just after a LF
		switch {
		case i < len(b) && b[i] == '\n':
			return i + 1
		case i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n':
			return i + 2
		}
	}
	return 0
}

// parseResponseHead parses head (as readResponseHead returns it) into h,
// reusing h.fields' storage. head answers a HEAD request when headReq is
// true. Only a head that frames its body unambiguously is accepted: a
// malformed status line or field, a status outside 100-599, an obs-fold,
// an invalid or conflicting Content-Length, a transfer coding other than
// chunked alone, or both framings at once are errors (RFC 9112 §5 and §6).
func parseResponseHead(head []byte, headReq bool, h *responseHead) error {
	*h = responseHead{fields: h.fields[:0], length: -1}
	line, rest := cutHeadLine(head)
	if err := h.parseStatusLine(line); err != nil {
		return err
	}
	var coding bool // a Transfer-Encoding field was seen
	for {
		line, rest = cutHeadLine(rest)
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return errResponseObsFold // RFC 9112 §5.2: a gateway rejects it
		}
		f, err := parseHeaderField(line)
		if err != nil {
			return err
		}
		h.fields = append(h.fields, f)
		switch {
		case asciiEqualFold(f.name, "content-length"):
			n, ok := parseContentLength(f.value)
			if !ok || (h.length >= 0 && n != h.length) {
				return errResponseLength
			}
			h.length = n
		case asciiEqualFold(f.name, "transfer-encoding"):
			if coding || !isChunkedOnly(f.value) {
				return errResponseCoding
			}
			coding, h.chunked = true, true
		case asciiEqualFold(f.name, "connection"):
			h.parseConnection(f.value)
		}
	}
	if h.chunked && h.length >= 0 {
		return errResponseBothLengths
	}
	if h.chunked && h.minor == 0 {
		// RFC 9112 §6.1: HTTP/1.0 has no transfer codings; the framing
		// is faulty.
		return errResponseCoding
	}
	if h.minor == 0 {
		h.close = true // HTTP/1.0: we do not negotiate keep-alive
	}
	switch {
	case headReq || h.status < 200 || h.status == 204 || h.status == 304:
		h.framing = framingNone
	case h.chunked:
		h.framing = framingChunked
	case h.length >= 0:
		h.framing = framingLength
	default:
		h.framing = framingClose
		h.close = true
	}
	return nil
}

// parseStatusLine parses "HTTP/1.x 200 reason".
func (h *responseHead) parseStatusLine(line []byte) error {
	const prefix = "HTTP/1."
	if len(line) < len("HTTP/1.x 200") || string(line[:len(prefix)]) != prefix {
		return errResponseStatusLine
	}
	minor, sp := line[len(prefix)], line[len(prefix)+1]
	if minor < '0' || minor > '9' || sp != ' ' {
		return errResponseStatusLine
	}
	h.minor = min(int(minor-'0'), 1)
	code := line[len(prefix)+2 : len(prefix)+5]
	status := 0
	for _, c := range code {
		if c < '0' || c > '9' {
			return errResponseStatusLine
		}
		status = status*10 + int(c-'0')
	}
	if status < 100 || status > 599 {
		return errResponseStatus
	}
	h.status = status
	if rest := line[len(prefix)+5:]; len(rest) > 0 {
		if rest[0] != ' ' || !validFieldValue(rest[1:]) {
			return errResponseStatusLine
		}
		h.reason = rest[1:]
	}
	return nil
}

// parseConnection notes the "close" and "upgrade" options of a Connection
// field value.
func (h *responseHead) parseConnection(v []byte) {
	for len(v) > 0 {
		var tok []byte
		tok, v, _ = bytes.Cut(v, []byte{','})
		tok = trimOWS(tok)
		switch {
		case asciiEqualFold(tok, "close"):
			h.close = true
		case asciiEqualFold(tok, "upgrade"):
			h.upgrade = true
		}
	}
}

// cutHeadLine returns the first line of b without its LF or CRLF, and what
// follows it. A bare CR stays in the line, where the field checks refuse it.
func cutHeadLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return b, nil
	}
	line, rest = b[:i], b[i+1:]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, rest
}

// parseHeaderField splits "name: value". The name must be a token directly
// followed by the colon: "Content-Length : 2" is malformed (RFC 9112 §5.1).
// The value must hold no control character but HTAB.
func parseHeaderField(line []byte) (headerField, error) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 || !isTokenBytes(line[:i]) {
		return headerField{}, errResponseField
	}
	v := trimOWS(line[i+1:])
	if !validFieldValue(v) {
		return headerField{}, errResponseField
	}
	return headerField{name: line[:i], value: v}, nil
}

// parseContentLength parses 1*DIGIT, up to 18 digits so that it cannot
// overflow.
func parseContentLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// isChunkedOnly reports whether a Transfer-Encoding value names the chunked
// coding alone, without parameters; empty list elements are ignored.
func isChunkedOnly(v []byte) bool {
	seen := false
	for len(v) > 0 {
		var tok []byte
		tok, v, _ = bytes.Cut(v, []byte{','})
		if tok = trimOWS(tok); len(tok) == 0 {
			continue
		}
		if seen || !asciiEqualFold(tok, "chunked") {
			return false
		}
		seen = true
	}
	return seen
}

// isTokenBytes reports whether b is an RFC 9110 token.
func isTokenBytes(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !isTokenByte(c) {
			return false
		}
	}
	return true
}

// validFieldValue reports whether v holds only field-value bytes: VCHAR,
// obs-text, SP and HTAB.
func validFieldValue(v []byte) bool {
	for _, c := range v {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// trimOWS removes leading and trailing SP and HTAB.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}
