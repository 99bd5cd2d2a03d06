package frontdoor

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"net/http"
)

// What StaticFS offers the Server's fast path: the whole plain 200 answer
// to a GET or HEAD of a file, head precomputed per file version, with the
// content from memory or, for a large file, the open file to send. The
// representation is chosen by represent, as for ServeHTTP.

// fastFile is a large file the fast path sends from disk: open, with its
// content at offset 0 (an *os.File keeps sendfile) and its size.
type fastFile struct {
	f       fs.File
	content io.ReadSeeker
	size    int64
}

// close closes the file.
func (f *fastFile) close() { f.f.Close() }

// fastAnswer returns, for the clean request path p and the request's
// Accept-Encoding values, the head of the 200 response that ServeHTTP
// would send to a plain GET or HEAD (status line and header fields but
// Date, each line ending in CRLF) and the body: in memory, or as file,
// which the caller must close. ok is false when ServeHTTP would answer
// anything else: then the request must go through ServeHTTP.
func (s *StaticFS) fastAnswer(p string, ae []string) (head, body []byte, file *fastFile, ok bool) {
	if s == nil || s.fsys == nil {
		return nil, nil, nil, false
	}
	name, slash, ok := staticName(p)
	if !ok || s.hidden(name) {
		return nil, nil, nil, false
	}
	name = staticFileName(name, slash)
	orig, err := s.lookup(name)
	if err != nil {
		return nil, nil, nil, false
	}
	rep, ok := s.represent(context.Background(), name, orig, ae)
	if !ok {
		return nil, nil, nil, false // a 406
	}
	if rep.f != nil {
		file = &fastFile{f: rep.f, content: rep.content, size: rep.m.size}
	}
	return rep.m.head, rep.m.data, file, true
}

// responseHead returns the head of the plain 200 response carrying m: the
// fields ServeHTTP sets, written in the order net/http writes them.
func (s *StaticFS) responseHead(m *staticMeta) []byte {
	h := make(http.Header, 8)
	h["X-Content-Type-Options"] = staticNosniff(s)
	s.setEntityHeaders(h, m, nil)
	s.setPlainHeaders(h, m, m.size)
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 200 OK\r\n")
	h.Write(&b)
	return b.Bytes()
}
