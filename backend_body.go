package frontdoor

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
)

// Malformed response bodies: the client cuts the response short and closes
// the connection.
var (
	errChunkLine     = errors.New("frontdoor: backend sent a malformed chunk size line")
	errChunkEnd      = errors.New("frontdoor: backend chunk data not followed by CRLF")
	errTrailerTooBig = errors.New("frontdoor: backend trailer section too large")
)

// chunkState is where a chunked body reader is in the chunked coding.
type chunkState uint8

const (
	chunkSize chunkState = iota // a chunk size line is next
	chunkData                   // remain bytes of chunk data are next
	chunkEnd                    // the CRLF after chunk data is next
)

// responseBody reads one response body from a backend connection's
// buffered reader as its framing says, and never past its end: whatever
// the backend sent after it stays in br, where the client sees it and
// refuses to reuse the connection. Read returns io.EOF exactly when the
// framing ended cleanly (for a close-delimited body, when the backend
// closed); any other error means the body was cut short. It is not safe
// for concurrent use.
type responseBody struct {
	br      *bufio.Reader
	framing bodyFraming
	state   chunkState
	remain  int64       // bytes left in the body (framingLength) or chunk (chunkData)
	trailer http.Header // the trailer section's fields, once read; nil if none
	tsize   int         // bytes of trailer section read
	err     error       // sticky; io.EOF once the body ended
}

// reset prepares b to read a body of the given framing and, for
// framingLength, length.
func (b *responseBody) reset(br *bufio.Reader, framing bodyFraming, length int64) {
	*b = responseBody{br: br, framing: framing, remain: length}
	if framing == framingNone {
		b.err = io.EOF
	}
}

// ended reports whether the framing ended cleanly.
func (b *responseBody) ended() bool { return b.err == io.EOF }

func (b *responseBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	switch b.framing {
	case framingLength:
		n, b.err = b.readData(p)
		if b.remain == 0 {
			b.err = io.EOF
		}
	case framingClose:
		n, b.err = b.br.Read(p)
	case framingChunked:
		n, b.err = b.readChunked(p)
	}
	return n, b.err
}

// readData reads up to b.remain bytes of body or chunk data into p. An end
// of input before remain is io.ErrUnexpectedEOF.
func (b *responseBody) readData(p []byte) (int, error) {
	if int64(len(p)) > b.remain {
		p = p[:b.remain]
	}
	n, err := b.br.Read(p)
	b.remain -= int64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// readChunked reads chunk data into p, crossing chunk boundaries until it
// has data to return or the body ends.
func (b *responseBody) readChunked(p []byte) (int, error) {
	for {
		switch b.state {
		case chunkSize:
			size, err := b.readChunkSize()
			if err != nil {
				return 0, err
			}
			if size == 0 {
				if err := b.readTrailer(); err != nil {
					return 0, err
				}
				return 0, io.EOF
			}
			b.remain, b.state = size, chunkData
		case chunkData:
			n, err := b.readData(p)
			if b.remain == 0 {
				b.state = chunkEnd
			}
			if n > 0 || err != nil {
				return n, err
			}
		case chunkEnd:
			crlf, err := b.br.Peek(2)
			if err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return 0, err
			}
			if crlf[0] != '\r' || crlf[1] != '\n' {
				return 0, errChunkEnd
			}
			b.br.Discard(2)
			b.state = chunkSize
		}
	}
}

// readChunkSize reads a chunk size line: hex digits, optionally whitespace
// and chunk extensions (ignored), then CRLF; a bare LF or CR is refused, as
// net/http refuses it (RFC 9112 errata 7633).
func (b *responseBody) readChunkSize() (int64, error) {
	line, err := b.readChunkLine()
	if err != nil {
		return 0, err
	}
	var size int64
	i := 0
	for ; i < len(line); i++ {
		d := unhex(line[i])
		if d < 0 {
			break
		}
		if i == 15 { // 15 hex digits cannot overflow an int64
			return 0, errChunkLine
		}
		size = size<<4 | int64(d)
	}
	if i == 0 {
		return 0, errChunkLine
	}
	ext := trimOWS(line[i:])
	if len(ext) > 0 && (ext[0] != ';' || !validFieldValue(ext)) {
		return 0, errChunkLine
	}
	return size, nil
}

// readChunkLine reads a line that ends in CRLF, without them.
func (b *responseBody) readChunkLine() ([]byte, error) {
	line, err := b.br.ReadSlice('\n')
	switch err {
	case nil:
	case io.EOF:
		return nil, io.ErrUnexpectedEOF
	case bufio.ErrBufferFull:
		return nil, errChunkLine
	default:
		return nil, err
	}
	line = line[:len(line)-1]
	if len(line) == 0 || line[len(line)-1] != '\r' || bytes.IndexByte(line, '\r') != len(line)-1 {
		return nil, errChunkLine
	}
	return line[:len(line)-1], nil
}

// readTrailer reads the trailer section after the last chunk up to its
// empty line, keeping the fields that may be trailers (see
// forbiddenTrailers) in b.trailer. Lines end in LF or CRLF, as in a head.
func (b *responseBody) readTrailer() error {
	for {
		line, err := b.br.ReadSlice('\n')
		switch err {
		case nil:
		case io.EOF:
			return io.ErrUnexpectedEOF
		case bufio.ErrBufferFull:
			return errTrailerTooBig
		default:
			return err
		}
		if b.tsize += len(line); b.tsize > maxResponseHeadBytes {
			return errTrailerTooBig
		}
		line, _ = cutHeadLine(line)
		if len(line) == 0 {
			return nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			return errResponseObsFold
		}
		f, err := parseHeaderField(line)
		if err != nil {
			return err
		}
		key := canonicalHeaderKey(f.name)
		if forbiddenTrailers[key] {
			continue
		}
		if b.trailer == nil {
			b.trailer = make(http.Header)
		}
		b.trailer[key] = append(b.trailer[key], string(f.value))
	}
}

// forbiddenTrailers are the fields never passed on as trailers, in either
// direction: they frame, route, authenticate or describe the message, so a
// trailer must not carry them (RFC 9110 §6.5.1). The list is net/http's.
var forbiddenTrailers = map[string]bool{
	"Authorization": true, "Cache-Control": true, "Connection": true,
	"Content-Encoding": true, "Content-Length": true, "Content-Range": true,
	"Content-Type": true, "Expect": true, "Host": true, "Keep-Alive": true,
	"Max-Forwards": true, "Pragma": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Proxy-Connection": true, "Range": true,
	"Realm": true, "Te": true, "Trailer": true, "Transfer-Encoding": true,
	"Www-Authenticate": true,
}

// unhex returns the value of the hex digit c, or -1.
func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
