package frontdoor

import (
	"bytes"
	"io"
	"io/fs"
	"net/http"
)

// What StaticFS offers the Server's fast path: the whole plain 200 answer
// to a GET or HEAD of a file it holds in memory, head precomputed per file
// version.

// fastAnswer returns, for the clean request path p and the request's
// Accept-Encoding values, the head of the 200 response that ServeHTTP
// would send to a plain GET or HEAD (status line and header fields but
// Date, each line ending in CRLF) and the body. ok is
// false when ServeHTTP would answer anything else, or when the content is
// not in memory: then the request must go through ServeHTTP.
func (s *StaticFS) fastAnswer(p string, ae []string) (head, body []byte, ok bool) {
	if s == nil || s.fsys == nil {
		return nil, nil, false
	}
	name, slash, ok := staticName(p)
	if !ok || s.hidden(name) {
		return nil, nil, false
	}
	file := staticFileName(name, slash)
	m := s.cache.peek(file)
	if m == nil || m.data == nil || !s.current(file, m.ver) {
		// Not seen yet, or changed: load it as serving it would.
		if m = s.warm(file); m == nil {
			return nil, nil, false
		}
	}
	if m.br != "" || m.gz != "" {
		switch staticPickEncoding(ae, m.br != "", m.gz != "") {
		case "br":
			m = s.fastVariant(m.br, m.brKey, m)
		case "gzip":
			m = s.fastVariant(m.gz, m.gzKey, m)
		}
		if m == nil {
			return nil, nil, false
		}
	}
	if m.head == nil {
		return nil, nil, false
	}
	return m.head, m.data, true
}

// fastVariant returns the metadata of orig's precompressed sibling name
// (cached under key) with its content in memory, loading it if needed, or
// nil.
func (s *StaticFS) fastVariant(name, key string, orig *staticMeta) *staticMeta {
	if m := s.memoryVariant(name, key); m != nil {
		return m
	}
	return s.loadSmall(name, func(content io.ReadSeeker, fi fs.FileInfo) (*staticMeta, error) {
		return s.variantMeta(key, content, fi, orig)
	})
}

// warm opens the file name and caches its metadata and content, as serving
// it does, and returns that metadata if the content is now in memory.
func (s *StaticFS) warm(name string) *staticMeta {
	return s.loadSmall(name, func(content io.ReadSeeker, fi fs.FileInfo) (*staticMeta, error) {
		return s.meta(name, content, fi)
	})
}

// loadSmall opens name and, if it is a regular file small enough to keep
// in memory, hands it to load (which computes and caches its metadata). It
// returns that metadata if the content is now in memory, else nil.
func (s *StaticFS) loadSmall(name string, load func(io.ReadSeeker, fs.FileInfo) (*staticMeta, error)) *staticMeta {
	f, err := s.fsys.Open(name)
	if err != nil {
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > staticMemFileMax {
		return nil
	}
	content, err := staticSeeker(f, fi)
	if err != nil {
		return nil
	}
	m, err := load(content, fi)
	if err != nil || m.data == nil {
		return nil
	}
	return m
}

// responseHead returns the head of the plain 200 response carrying m, with
// Content-Encoding enc (nil for identity): the fields ServeHTTP sets,
// written in the order net/http writes them, or nil when m's content is not
// kept in memory.
func (s *StaticFS) responseHead(m *staticMeta, enc []string) []byte {
	if m.data == nil {
		return nil
	}
	h := make(http.Header, 8)
	h["X-Content-Type-Options"] = staticNosniff(s)
	var vary []string
	if enc != nil || m.br != "" || m.gz != "" {
		vary = s.hdr.varyAE
	}
	s.setEntityHeaders(h, m, vary, enc)
	s.setPlainHeaders(h, m, int64(len(m.data)))
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 200 OK\r\n")
	h.Write(&b)
	return b.Bytes()
}

// variantEncoding returns the Content-Encoding value of the precompressed
// sibling cached under key.
func (s *StaticFS) variantEncoding(key string) []string {
	if len(key) > 3 && key[len(key)-3:] == ".br" {
		return s.hdr.br
	}
	return s.hdr.gzip
}
