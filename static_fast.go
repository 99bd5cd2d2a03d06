package frontdoor

import (
	"bytes"
	"io"
	"io/fs"
	"net/http"
)

// What StaticFS offers the Server's fast path: the whole plain 200 answer
// to a GET or HEAD of a file, head precomputed per file version, with the
// content from memory or, for a large file, the open file to send.

// fastFile is a large file the fast path sends from disk: open, with its
// content at offset 0 (an *os.File keeps sendfile) and its size.
type fastFile struct {
	f       fs.File
	content io.ReadSeeker
	size    int64
}

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
	fileName := staticFileName(name, slash)
	m := s.cache.peek(fileName)
	if m == nil || m.data == nil || !s.current(fileName, m.ver) {
		// Not seen yet, changed, or not kept in memory: open it, as
		// serving it would.
		if m, file = s.fastOpen(fileName); m == nil {
			return nil, nil, nil, false
		}
	}
	if m.br != "" || m.gz != "" {
		var v *staticMeta
		switch staticPickEncoding(ae, m.br != "", m.gz != "") {
		case "":
			v = m
		case "br":
			v = s.fastVariant(m.br, m.brKey, m)
		case "gzip":
			v = s.fastVariant(m.gz, m.gzKey, m)
		}
		if v != m && file != nil {
			file.close()
			file = nil
		}
		if m = v; m == nil {
			return nil, nil, nil, false
		}
	}
	return m.head, m.data, file, true
}

// close closes the file.
func (f *fastFile) close() { f.f.Close() }

// fastOpen opens the regular file name and returns its metadata (cached
// per version, as serving it does) and, unless its content is in memory,
// the open file.
func (s *StaticFS) fastOpen(name string) (*staticMeta, *fastFile) {
	f, err := s.fsys.Open(name)
	if err != nil {
		return nil, nil
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil
	}
	content, err := staticSeeker(f, fi)
	if err != nil {
		f.Close()
		return nil, nil
	}
	m, err := s.meta(name, content, fi)
	if err != nil {
		f.Close()
		return nil, nil
	}
	if m.data != nil {
		f.Close()
		return m, nil
	}
	return m, &fastFile{f: f, content: content, size: fi.Size()}
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
// written in the order net/http writes them.
func (s *StaticFS) responseHead(m *staticMeta, enc []string) []byte {
	h := make(http.Header, 8)
	h["X-Content-Type-Options"] = staticNosniff(s)
	var vary []string
	if enc != nil || m.br != "" || m.gz != "" {
		vary = s.hdr.varyAE
	}
	s.setEntityHeaders(h, m, vary, enc)
	size := m.ver.size
	if m.data != nil {
		size = int64(len(m.data))
	}
	s.setPlainHeaders(h, m, size)
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
