package frontdoor

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
)

const (
	// staticCacheEntries bounds the per-handler cache of file metadata
	// (about 200 bytes an entry).
	staticCacheEntries = 8192
	// staticHashLimit is the largest file whose content is hashed for its
	// ETag when it has a modification time. Larger files with a known
	// modification time get an ETag made of size and mod time, as nginx
	// does, so that the first request for a huge video does not read it
	// twice. Files without a mod time (embed.FS) are always hashed.
	staticHashLimit = 32 << 20
)

// staticMeta is what a StaticFS knows about one version of one file. It is
// immutable once built (but for the atomic variant pointers) and shared by
// concurrent requests; its slices are assigned to response headers directly
// and must never be modified.
type staticMeta struct {
	size  int64
	mod   int64    // ModTime().UnixNano(), 0 when unknown
	etag  []string // the strong ETag, quoted
	ctype []string // the Content-Type
	cc    []string // the Cache-Control, nil for none
	br    string   // name of a precompressed .br sibling, "" if none
	gz    string   // name of a precompressed .gz sibling, "" if none

	// The metadata of the last version seen of each sibling.
	brVariant, gzVariant atomic.Pointer[staticMeta]
}

// staticCache maps a file name to the metadata of the version last seen. It
// holds at most max entries; when full, an arbitrary entry makes room (Go's
// map iteration order is random, so this is random eviction). It is safe for
// concurrent use; the zero value is unusable, see newStaticCache.
type staticCache struct {
	max int
	mu  sync.Mutex // guards m
	m   map[string]*staticMeta
}

func newStaticCache(max int) *staticCache {
	return &staticCache{max: max, m: make(map[string]*staticMeta)}
}

// get returns the metadata cached for this version of name, or nil.
func (c *staticCache) get(name string, size, mod int64) *staticMeta {
	c.mu.Lock()
	m := c.m[name]
	c.mu.Unlock()
	if m == nil || m.size != size || m.mod != mod {
		return nil
	}
	return m
}

// put records m as the current version of name.
func (c *staticCache) put(name string, m *staticMeta) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[name]; !ok && len(c.m) >= c.max {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[name] = m
}

// len reports the number of cached entries (for tests).
func (c *staticCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// staticVersion returns what identifies one version of a file besides its
// name: its size and its mod time in Unix nanoseconds (0 when unknown).
func staticVersion(fi fs.FileInfo) (size, mod int64) {
	if t := fi.ModTime(); !t.IsZero() {
		mod = t.UnixNano()
	}
	return fi.Size(), mod
}

// meta returns the metadata of the file name, open as content and described
// by fi, computing and caching it on first sight of this version. content is
// left at offset 0.
func (s *StaticFS) meta(name string, content io.ReadSeeker, fi fs.FileInfo) (*staticMeta, error) {
	size, mod := staticVersion(fi)
	if m := s.cache.get(name, size, mod); m != nil {
		return m, nil
	}
	ctype := s.contentType(name)
	etag, sniffed, err := staticHash(content, size, mod, ctype == "")
	if err != nil {
		return nil, err
	}
	if ctype == "" {
		ctype = sniffed
	}
	m := &staticMeta{size: size, mod: mod, etag: []string{etag}, ctype: []string{ctype}}
	if cc := s.cacheControl(name); cc != "" {
		m.cc = []string{cc}
	}
	m.br = s.sibling(name + ".br")
	m.gz = s.sibling(name + ".gz")
	s.cache.put(name, m)
	return m, nil
}

// variantMeta returns the metadata of a precompressed sibling of the
// original orig, cached in slot (orig.brVariant or orig.gzVariant): its own
// ETag, and the original's Content-Type and Cache-Control.
func variantMeta(slot *atomic.Pointer[staticMeta], content io.ReadSeeker, fi fs.FileInfo, orig *staticMeta) (*staticMeta, error) {
	size, mod := staticVersion(fi)
	if m := slot.Load(); m != nil && m.size == size && m.mod == mod {
		return m, nil
	}
	etag, _, err := staticHash(content, size, mod, false)
	if err != nil {
		return nil, err
	}
	m := &staticMeta{size: size, mod: mod, etag: []string{etag}, ctype: orig.ctype, cc: orig.cc}
	slot.Store(m)
	return m, nil
}

// sibling returns name if it is a regular file in the FS, else "".
func (s *StaticFS) sibling(name string) string {
	fi, err := fs.Stat(s.fsys, name)
	if err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	return name
}

// staticHash computes the strong ETag of content (size bytes, mod time mod
// in Unix nanoseconds or 0) and, when sniff is set, its sniffed
// Content-Type. It reads content from its start and seeks back to 0.
func staticHash(content io.ReadSeeker, size, mod int64, sniff bool) (etag, ctype string, err error) {
	if _, err := content.Seek(0, io.SeekStart); err != nil {
		return "", "", fmt.Errorf("seek: %w", err)
	}
	var head [512]byte
	n, err := io.ReadFull(content, head[:])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return "", "", fmt.Errorf("read: %w", err)
	}
	if sniff {
		ctype = http.DetectContentType(head[:n])
	}
	if mod != 0 && size > staticHashLimit {
		etag = `"` + strconv.FormatInt(size, 36) + "-" + strconv.FormatInt(mod, 36) + `"`
	} else {
		h := sha256.New()
		h.Write(head[:n])
		if n == len(head) {
			if _, err := io.Copy(h, content); err != nil {
				return "", "", fmt.Errorf("read: %w", err)
			}
		}
		var sum [sha256.Size]byte
		// 15 bytes (120 bits) make 20 base64 characters without padding.
		etag = `"` + base64.RawURLEncoding.EncodeToString(h.Sum(sum[:0])[:15]) + `"`
	}
	if _, err := content.Seek(0, io.SeekStart); err != nil {
		return "", "", fmt.Errorf("seek: %w", err)
	}
	return etag, ctype, nil
}
