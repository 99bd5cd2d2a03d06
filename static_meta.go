package frontdoor

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"time"
)

// What StaticFS knows about one version of a file, computed once per
// version and cached: its strong ETag, the header values it is sent with,
// which precompressed siblings exist and which codings StaticFS makes
// itself, and, for a small file, its content.

// staticHashLimit is the largest file whose content is hashed for its ETag
// when it has a modification time. Larger files with a known modification
// time get an ETag made of size and mod time, as nginx does, so that the
// first request for a huge video does not read it twice. Files without a
// mod time (embed.FS) are always hashed.
const staticHashLimit = 32 << 20

// staticVer identifies one version of a file besides its name.
type staticVer struct {
	size int64
	mod  int64 // ModTime().UnixNano(), 0 when unknown
	chg  int64 // the OS's change stamp (ctime on Linux), 0 when unknown
}

// staticVersion returns the version of the file fi describes. The change
// stamp catches rewrites that keep size and mod time (cp -p, tar, rsync -t).
func staticVersion(fi fs.FileInfo) staticVer {
	v := staticVer{size: fi.Size(), chg: staticChangeStamp(fi)}
	if t := fi.ModTime(); !t.IsZero() {
		v.mod = t.UnixNano()
	}
	return v
}

// staticMeta describes one representation of one version of a file: the
// file as named (enc is identity) or a precompressed sibling sent in its
// place. It is immutable once built and shared by concurrent requests; its
// slices are assigned to response headers directly and must never be
// modified.
type staticMeta struct {
	ver     staticVer       // of the file holding the bytes (the original's, for bytes StaticFS compressed)
	enc     contentEncoding // the Content-Encoding of the bytes
	size    int64           // the length of the bytes
	etag    []string        // the strong ETag, quoted
	ctype   []string        // the Content-Type (the original's, for a sibling)
	cc      []string        // the Cache-Control, nil for none
	lastMod []string        // the Last-Modified, nil when the mod time is unknown
	clen    []string        // the Content-Length of the whole representation
	data    []byte          // the content, for small files; else nil
	head    []byte          // the plain 200's head, for the fast path

	// For a file as named only: sibling names the precompressed sibling
	// file of each coding ("" for none), and compress holds the codings
	// StaticFS compresses the file in itself.
	sibling  [numEncodings]string
	compress encodingSet
}

// offered returns the codings m's file can be sent in besides identity.
func (m *staticMeta) offered() encodingSet {
	set := m.compress
	for e, name := range m.sibling {
		if name != "" {
			set = set.with(contentEncoding(e))
		}
	}
	return set
}

// negotiated reports whether m is one of several codings of its file, so
// that which one a client gets depends on its Accept-Encoding.
func (m *staticMeta) negotiated() bool {
	return m.enc != encIdentity || m.offered() != 0
}

// meta returns the metadata of the file name as named, open as content and
// described by fi, computing and caching it on first sight of this
// version. content is left at offset 0.
func (s *StaticFS) meta(name string, content io.ReadSeeker, fi fs.FileInfo) (*staticMeta, error) {
	key, v := staticKey{name: name}, staticVersion(fi)
	if m := s.cache.get(key, v); m != nil {
		return m, nil // checked first: the closure below costs an allocation
	}
	return s.cache.load(key, v, func() (*staticMeta, error) { return s.buildMeta(name, content, fi, v) })
}

// buildMeta computes, caches and returns the metadata of version v of the
// file name, open as content and described by fi.
func (s *StaticFS) buildMeta(name string, content io.ReadSeeker, fi fs.FileInfo, v staticVer) (*staticMeta, error) {
	ctype := s.contentType(name)
	keep := v.size <= staticMemFileMax
	etag, sniffed, data, err := staticHash(content, v, ctype == "", keep)
	if err != nil {
		return nil, err
	}
	if ctype == "" {
		ctype = sniffed
	}
	m := &staticMeta{ver: v, size: v.size, etag: []string{etag}, ctype: []string{ctype}, data: data,
		lastMod: staticLastModified(fi.ModTime()), clen: staticContentLength(v.size)}
	if cc := s.cacheControl(name); cc != "" {
		m.cc = []string{cc}
	}
	for e := encIdentity + 1; e < numEncodings; e++ {
		m.sibling[e] = s.regularFile(name + e.siblingExt())
	}
	m.compress = s.compressCodings(ctype, v.size)
	m.head = s.responseHead(m)
	s.cache.put(staticKey{name: name}, m)
	return m, nil
}

// siblingMeta returns the metadata of orig's precompressed sibling in
// coding enc (of the file name), open as content and described by fi: its
// own ETag (and content, if small), with the original's Content-Type and
// Cache-Control.
func (s *StaticFS) siblingMeta(name string, enc contentEncoding, content io.ReadSeeker, fi fs.FileInfo, orig *staticMeta) (*staticMeta, error) {
	key, v := staticKey{name: name, enc: enc}, staticVersion(fi)
	if m := s.cache.get(key, v); m != nil {
		return m, nil
	}
	return s.cache.load(key, v, func() (*staticMeta, error) {
		etag, _, data, err := staticHash(content, v, false, v.size <= staticMemFileMax)
		if err != nil {
			return nil, err
		}
		m := &staticMeta{ver: v, enc: enc, size: v.size, etag: []string{etag}, ctype: orig.ctype, cc: orig.cc, data: data,
			lastMod: staticLastModified(fi.ModTime()), clen: staticContentLength(v.size)}
		m.head = s.responseHead(m)
		s.cache.put(key, m)
		return m, nil
	})
}

// withoutSibling returns a copy of m that offers no enc sibling.
func (s *StaticFS) withoutSibling(m *staticMeta, enc contentEncoding) *staticMeta {
	cp := *m
	cp.sibling[enc] = ""
	cp.head = s.responseHead(&cp)
	return &cp
}

// regularFile returns name if it is a regular file in the FS, else "".
func (s *StaticFS) regularFile(name string) string {
	fi, err := fs.Stat(s.fsys, name)
	if err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	return name
}

// staticLastModified returns the Last-Modified value http.ServeContent
// sends for mod time t, formatted once per file version; nil where it sends
// none (a zero time or the Unix epoch, which it takes for "unknown").
func staticLastModified(t time.Time) []string {
	if t.IsZero() || t.Equal(time.Unix(0, 0)) {
		return nil
	}
	return []string{t.UTC().Format(http.TimeFormat)}
}

// staticContentLength returns a Content-Length header value.
func staticContentLength(size int64) []string {
	return []string{strconv.FormatInt(size, 10)}
}

// staticHash computes the strong ETag of content, version v, and, when
// sniff is set, its sniffed Content-Type; when keep is set it also returns
// the content. It reads content from its start and seeks back to 0.
func staticHash(content io.ReadSeeker, v staticVer, sniff, keep bool) (etag, ctype string, data []byte, err error) {
	if _, err := content.Seek(0, io.SeekStart); err != nil {
		return "", "", nil, fmt.Errorf("seek: %w", err)
	}
	if keep {
		data = make([]byte, v.size)
		if _, err := io.ReadFull(content, data); err != nil {
			return "", "", nil, fmt.Errorf("read: %w", err)
		}
		if sniff {
			ctype = http.DetectContentType(data)
		}
		sum := sha256.Sum256(data)
		etag = staticETag(sum[:])
	} else {
		var head [512]byte
		n, err := io.ReadFull(content, head[:])
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return "", "", nil, fmt.Errorf("read: %w", err)
		}
		if sniff {
			ctype = http.DetectContentType(head[:n])
		}
		if v.mod != 0 && v.size > staticHashLimit {
			etag = staticVersionETag(v)
		} else {
			h := sha256.New()
			h.Write(head[:n])
			if n == len(head) {
				if _, err := io.Copy(h, content); err != nil {
					return "", "", nil, fmt.Errorf("read: %w", err)
				}
			}
			var sum [sha256.Size]byte
			etag = staticETag(h.Sum(sum[:0]))
		}
	}
	if _, err := content.Seek(0, io.SeekStart); err != nil {
		return "", "", nil, fmt.Errorf("seek: %w", err)
	}
	return etag, ctype, data, nil
}

// staticVersionETag returns the ETag of a file too large to hash: its
// size, mod time and, when known, change stamp, the same parts as the
// cache's version, so that a rewrite keeping size and mod time (cp -p)
// gets a new tag and old If-None-Match or If-Range values stop matching.
func staticVersionETag(v staticVer) string {
	tag := `"` + strconv.FormatInt(v.size, 36) + "-" + strconv.FormatInt(v.mod, 36)
	if v.chg != 0 {
		tag += "-" + strconv.FormatInt(v.chg, 36)
	}
	return tag + `"`
}

// staticETag formats a content hash as a strong ETag: 15 bytes (120 bits)
// make 20 base64 characters without padding.
func staticETag(sum []byte) string {
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:15]) + `"`
}
