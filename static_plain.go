package frontdoor

import (
	"io"
	"net/http"
)

// The plain path: a GET or HEAD without Range or preconditions always gets
// a 200 with the whole file, so StaticFS sends it itself, as
// http.ServeContent would, from header values computed once per file
// version. This saves ServeContent's per-request work (formatting
// Last-Modified and Content-Length, canonicalising header keys, its
// io.LimitReader and, for cached content, a reader and writer wrapper).
// Every other request goes through ServeContent, which implements RFC 9110
// preconditions and ranges. TestStaticFSPlainMatchesServeContent checks
// that both send the same thing.

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
// Content-Length. The caller has set Content-Type, ETag, Cache-Control,
// Vary and Content-Encoding.
func (s *StaticFS) setPlainHeaders(h http.Header, m *staticMeta, size int64) {
	if m.lastMod != nil {
		h["Last-Modified"] = m.lastMod
	}
	h["Accept-Ranges"] = s.hdr.acceptRanges
	if size == m.ver.size {
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
