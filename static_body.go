package frontdoor

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"time"
)

// How StaticFS sends a representation's bytes, from memory or from an open
// file, without losing the kernel's zero-copy path.
//
// The plain path: a GET or HEAD without Range or preconditions always gets
// a 200 with the whole file, so StaticFS sends it itself, as
// http.ServeContent would, from header values computed once per file
// version. This saves ServeContent's per-request work (formatting
// Last-Modified and Content-Length, canonicalising header keys, its
// io.LimitReader and, for cached content, a reader and writer wrapper).
// Every other request goes through ServeContent, which implements RFC 9110
// preconditions and ranges. TestStaticFSPlainMatchesServeContent checks
// that both send the same thing.

// send answers r with rep, a representation of a file, and closes it.
// extraVary is the Vary due besides Accept-Encoding: nil, or Accept for
// the SPA fallback.
func (s *StaticFS) send(w http.ResponseWriter, r *http.Request, rep staticRep, extraVary []string) {
	defer rep.close()
	m := rep.m
	h := w.Header()
	s.setEntityHeaders(h, m, extraVary)
	coded := m.enc != encIdentity
	if staticPlain(r) && (coded || !staticWrapperEncoded(h)) {
		if rep.f == nil {
			s.writePlainMemory(w, r, m)
			return
		}
		if s.writePlain(w, r, m, rep.content) {
			return
		}
	}
	// ServeContent omits Content-Length on full responses once
	// Content-Encoding is set; the wrappers put it back for the 200. A
	// zero mod time becomes the Unix epoch, which ServeContent also takes
	// for "unknown".
	modTime := time.Unix(0, m.ver.mod)
	if rep.f == nil {
		mc := &staticMemContent{ResponseWriter: w, data: m.data, setLength: coded}
		http.ServeContent(mc, r, "", modTime, mc)
		return
	}
	if coded {
		w = &staticLengthWriter{ResponseWriter: w, size: m.size}
	}
	http.ServeContent(w, r, "", modTime, rep.content)
}

// staticPlain reports whether r asks for the whole representation without
// conditions: no Range and no If-Match, If-None-Match, If-Modified-Since or
// If-Unmodified-Since (If-Range only matters with a Range). Such a request
// gets a 200 whatever the validators. Keys are looked up in canonical
// form, as ServeContent does.
func staticPlain(r *http.Request) bool {
	h := r.Header
	return len(h["Range"]) == 0 && len(h["If-None-Match"]) == 0 &&
		len(h["If-Modified-Since"]) == 0 && len(h["If-Match"]) == 0 &&
		len(h["If-Unmodified-Since"]) == 0
}

// staticWrapperEncoded reports whether the response headers h already carry
// a Content-Encoding that StaticFS did not set (a wrapper's): ServeContent
// then leaves Content-Length out, which the plain path leaves to it.
func staticWrapperEncoded(h http.Header) bool {
	_, ok := h["Content-Encoding"]
	return ok
}

// setPlainHeaders adds to h what ServeContent adds for a 200 of size bytes
// of the file version m: Last-Modified (when known), Accept-Ranges and
// Content-Length. The caller has set the entity headers.
func (s *StaticFS) setPlainHeaders(h http.Header, m *staticMeta, size int64) {
	if m.lastMod != nil {
		h["Last-Modified"] = m.lastMod
	}
	h["Accept-Ranges"] = s.hdr.acceptRanges
	if size == m.size {
		h["Content-Length"] = m.clen
	} else {
		h["Content-Length"] = staticContentLength(size)
	}
}

// writePlainMemory answers a plain request with the cached content of m.
func (s *StaticFS) writePlainMemory(w http.ResponseWriter, r *http.Request, m *staticMeta) {
	s.setPlainHeaders(w.Header(), m, int64(len(m.data)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead && len(m.data) > 0 {
		w.Write(m.data)
	}
}

// writePlain answers a plain request with content, an open file of version
// m at offset 0, and reports whether it did. Like ServeContent it learns
// the size by seeking (free for an *os.File, see staticOSFile) and copies
// with io.CopyN, so an *os.File still reaches the connection's ReadFrom
// and sendfile. If seeking fails it answers nothing and reports false:
// ServeContent then answers the error.
func (s *StaticFS) writePlain(w http.ResponseWriter, r *http.Request, m *staticMeta, content io.ReadSeeker) bool {
	size, err := content.Seek(0, io.SeekEnd)
	if err != nil {
		return false
	}
	if _, err := content.Seek(0, io.SeekStart); err != nil {
		return false
	}
	s.setPlainHeaders(w.Header(), m, size)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		io.CopyN(w, content, size)
	}
	return true
}

// staticLengthWriter sets Content-Length on a 200 response whose
// Content-Encoding made ServeContent leave it out. It forwards ReadFrom so
// that sendfile still applies.
type staticLengthWriter struct {
	http.ResponseWriter
	size int64
}

func (w *staticLengthWriter) WriteHeader(code int) {
	if code == http.StatusOK {
		w.Header().Set("Content-Length", strconv.FormatInt(w.size, 10))
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *staticLengthWriter) ReadFrom(src io.Reader) (int64, error) {
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(struct{ io.Writer }{w.ResponseWriter}, src)
}

// Unwrap lets [net/http.ResponseController] reach the underlying writer.
func (w *staticLengthWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// staticMaxBuffered is the largest file of an fs.FS whose files are neither
// io.Seekers nor io.ReaderAts that StaticFS reads into memory to serve.
const staticMaxBuffered = 8 << 20

// staticSeeker returns f as an io.ReadSeeker: an *os.File wrapped in a
// staticOSFile (which keeps sendfile), f itself when it is a ReadSeeker, a
// section reader over an io.ReaderAt, or, for small files, their content
// read into memory.
func staticSeeker(f fs.File, fi fs.FileInfo) (io.ReadSeeker, error) {
	if osf, ok := f.(*os.File); ok {
		return &staticOSFile{File: osf, size: fi.Size(), atStart: true}, nil
	}
	if rs, ok := f.(io.ReadSeeker); ok {
		return rs, nil
	}
	if ra, ok := f.(io.ReaderAt); ok {
		return io.NewSectionReader(ra, 0, fi.Size()), nil
	}
	if fi.Size() > staticMaxBuffered {
		return nil, errors.New("file is neither an io.Seeker nor an io.ReaderAt and too large to buffer")
	}
	b, err := io.ReadAll(io.LimitReader(f, staticMaxBuffered+1))
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(b), nil
}

// staticOSFile is a freshly opened *os.File of known size whose first
// Seek(0, io.SeekEnd) and Seek(0, io.SeekStart), which ServeContent makes
// to learn the size, cost no system calls. It embeds the *os.File so that
// net's sendfile path still finds the descriptor (through SyscallConn).
type staticOSFile struct {
	*os.File
	size    int64
	atStart bool // the descriptor's offset is 0 and nothing moved it yet
	fakeEnd bool // a faked Seek(0, io.SeekEnd) put the logical offset at size
}

func (f *staticOSFile) Seek(offset int64, whence int) (int64, error) {
	if f.atStart && offset == 0 {
		switch whence {
		case io.SeekEnd:
			f.fakeEnd = true
			return f.size, nil
		case io.SeekStart:
			f.fakeEnd = false
			return 0, nil
		}
	}
	if whence == io.SeekCurrent && f.fakeEnd {
		offset, whence = offset+f.size, io.SeekStart
	}
	f.atStart, f.fakeEnd = false, false
	return f.File.Seek(offset, whence)
}

func (f *staticOSFile) Read(p []byte) (int, error) {
	if f.fakeEnd {
		return 0, io.EOF
	}
	f.atStart = false
	return f.File.Read(p)
}

func (f *staticOSFile) WriteTo(w io.Writer) (int64, error) {
	if f.fakeEnd {
		return 0, nil
	}
	f.atStart = false
	return f.File.WriteTo(w)
}

// staticMemContent is a cached file's content as ServeContent's
// io.ReadSeeker and, at once, the ResponseWriter ServeContent copies it
// to: its ReadFrom writes the bytes in one call, where net would copy them
// through a 32 KiB buffer allocated per response.
type staticMemContent struct {
	http.ResponseWriter
	data      []byte
	off       int64
	setLength bool // set Content-Length on a 200 (see staticLengthWriter)
}

func (c *staticMemContent) WriteHeader(code int) {
	if c.setLength && code == http.StatusOK {
		c.Header().Set("Content-Length", strconv.Itoa(len(c.data)))
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *staticMemContent) Read(p []byte) (int, error) {
	if c.off >= int64(len(c.data)) {
		return 0, io.EOF
	}
	n := copy(p, c.data[c.off:])
	c.off += int64(n)
	return n, nil
}

func (c *staticMemContent) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += c.off
	case io.SeekEnd:
		offset += int64(len(c.data))
	default:
		return 0, errors.New("seek: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("seek: negative position")
	}
	c.off = offset
	return offset, nil
}

func (c *staticMemContent) ReadFrom(src io.Reader) (int64, error) {
	if lr, ok := src.(*io.LimitedReader); ok && lr.R == io.Reader(c) {
		start := min(c.off, int64(len(c.data)))
		end := min(start+lr.N, int64(len(c.data)))
		n, err := c.ResponseWriter.Write(c.data[start:end])
		c.off = start + int64(n)
		lr.N -= int64(n)
		return int64(n), err
	}
	if rf, ok := c.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(struct{ io.Writer }{c.ResponseWriter}, src)
}

// Unwrap lets [net/http.ResponseController] reach the underlying writer.
func (c *staticMemContent) Unwrap() http.ResponseWriter { return c.ResponseWriter }
