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
	"time"
)

const (
	// staticCacheEntries bounds the per-handler cache of file metadata
	// (about 200 bytes an entry, plus the content of small files).
	staticCacheEntries = 8192
	// staticHashLimit is the largest file whose content is hashed for its
	// ETag when it has a modification time. Larger files with a known
	// modification time get an ETag made of size and mod time, as nginx
	// does, so that the first request for a huge video does not read it
	// twice. Files without a mod time (embed.FS) are always hashed.
	staticHashLimit = 32 << 20
	// staticMemFileMax is the largest file whose content the cache keeps in
	// memory, and staticMemBudget
	// bounds the content it keeps in all.
	staticMemFileMax = 64 << 10
	staticMemBudget  = 32 << 20
)

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

// staticMeta is what a StaticFS knows about one version of one file. It is
// immutable once built and shared by concurrent requests; its slices are
// assigned to response headers directly and must never be modified.
type staticMeta struct {
	ver     staticVer
	etag    []string // the strong ETag, quoted
	ctype   []string // the Content-Type
	cc      []string // the Cache-Control, nil for none
	lastMod []string // the Last-Modified, nil when the mod time is unknown
	clen    []string // the Content-Length of the whole file
	br      string   // name of a precompressed .br sibling, "" if none
	gz      string   // name of a precompressed .gz sibling, "" if none
	data    []byte   // the content, for small files; else nil
	brKey   string   // the cache key of the .br sibling's metadata
	gzKey   string   // the cache key of the .gz sibling's metadata
	head    []byte   // the plain 200's head, for the fast path
}

// staticVariantKey returns the cache key under which the metadata of a
// precompressed sibling (served as a variant of its original) is kept. It
// starts with a NUL, which no request name has, so it never meets the
// entry of the same file asked for by name.
func staticVariantKey(sibling string) string {
	if sibling == "" {
		return ""
	}
	return "\x00" + sibling
}

// staticCache maps a file name to the metadata of the version last seen. It
// holds at most maxEntries entries and maxBytes of file content; when full,
// arbitrary entries make room (Go's map iteration order is random, so this
// is random eviction), but only entries holding content make room for
// content: the metadata of a large file, whose ETag may have cost reading
// all of it, is never evicted to free bytes it does not hold. It is safe for concurrent use; the zero value is
// unusable, see newStaticCache.
type staticCache struct {
	maxEntries int
	maxBytes   int
	mu         sync.RWMutex // guards m, bytes and flights
	m          map[string]*staticMeta
	bytes      int                      // sum of len(data) over m
	flights    map[string]*staticFlight // metadata being built, by key
}

// staticFlight is one build of the metadata of version ver of a key, which
// concurrent requests for the same version wait for instead of hashing
// the same file again. m and err are set before done is closed.
type staticFlight struct {
	ver  staticVer
	done chan struct{}
	m    *staticMeta
	err  error
}

func newStaticCache(maxEntries, maxBytes int) *staticCache {
	return &staticCache{maxEntries: maxEntries, maxBytes: maxBytes,
		m: make(map[string]*staticMeta), flights: make(map[string]*staticFlight)}
}

// load returns the metadata of version v of key: the cached one, or the
// one build returns (build caches it). Concurrent loads of the same key and
// version call build once; the others wait for it, and call their own
// build only if that one failed (its error may be its file's alone).
func (c *staticCache) load(key string, v staticVer, build func() (*staticMeta, error)) (*staticMeta, error) {
	c.mu.Lock()
	if m := c.m[key]; m != nil && m.ver == v {
		c.mu.Unlock()
		return m, nil
	}
	if f := c.flights[key]; f != nil && f.ver == v {
		c.mu.Unlock()
		<-f.done
		if f.err == nil && f.m != nil {
			return f.m, nil
		}
		return build()
	}
	f := &staticFlight{ver: v, done: make(chan struct{})}
	c.flights[key] = f
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		if c.flights[key] == f {
			delete(c.flights, key)
		}
		c.mu.Unlock()
		close(f.done)
	}()
	f.m, f.err = build()
	return f.m, f.err
}

// get returns the metadata cached for version v of name, or nil.
func (c *staticCache) get(name string, v staticVer) *staticMeta {
	c.mu.RLock()
	m := c.m[name]
	c.mu.RUnlock()
	if m == nil || m.ver != v {
		return nil
	}
	return m
}

// peek returns the metadata cached for name, whatever its version, or nil.
func (c *staticCache) peek(name string) *staticMeta {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[name]
}

// put records m as the current version of name, dropping m.data if it
// alone exceeds the byte budget.
func (c *staticCache) put(name string, m *staticMeta) {
	if len(m.data) > c.maxBytes {
		m.data = nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[name]; ok {
		c.bytes -= len(old.data)
		delete(c.m, name)
	}
	for k, v := range c.m {
		fullEntries := len(c.m) >= c.maxEntries
		if !fullEntries && c.bytes+len(m.data) <= c.maxBytes {
			break
		}
		if !fullEntries && v.data == nil {
			// Short of bytes only: dropping an entry without content
			// frees none and may cost a big file's re-hash.
			continue
		}
		c.bytes -= len(v.data)
		delete(c.m, k)
	}
	c.m[name] = m
	c.bytes += len(m.data)
}

// forgetSibling records that the enc ("br" or "gzip") sibling of name,
// whose cached metadata is orig, no longer exists: it replaces orig by a
// copy without that sibling (if orig is still the entry of name) and drops
// the sibling's own entry, so that later requests neither look for it nor
// keep its content. rehead recomputes the fast path's response head,
// whose Vary depends on the siblings.
func (c *staticCache) forgetSibling(name string, orig *staticMeta, enc string, rehead func(*staticMeta, []string) []byte) {
	cp := *orig
	key := cp.brKey
	if enc == "gzip" {
		key = cp.gzKey
		cp.gz, cp.gzKey = "", ""
	} else {
		cp.br, cp.brKey = "", ""
	}
	cp.head = rehead(&cp, nil)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m[name] == orig {
		c.m[name] = &cp
	}
	if v, ok := c.m[key]; ok {
		c.bytes -= len(v.data)
		delete(c.m, key)
	}
}

// len reports the number of cached entries and content bytes (for tests).
func (c *staticCache) len() (entries, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m), c.bytes
}

// meta returns the metadata of the file name, open as content and described
// by fi, computing and caching it on first sight of this version. content is
// left at offset 0.
func (s *StaticFS) meta(name string, content io.ReadSeeker, fi fs.FileInfo) (*staticMeta, error) {
	v := staticVersion(fi)
	if m := s.cache.get(name, v); m != nil {
		return m, nil // checked first: the closure below costs an allocation
	}
	return s.cache.load(name, v, func() (*staticMeta, error) { return s.buildMeta(name, content, fi, v) })
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
	m := &staticMeta{ver: v, etag: []string{etag}, ctype: []string{ctype}, data: data,
		lastMod: staticLastModified(fi.ModTime()), clen: staticContentLength(v.size)}
	if cc := s.cacheControl(name); cc != "" {
		m.cc = []string{cc}
	}
	m.br = s.sibling(name + ".br")
	m.gz = s.sibling(name + ".gz")
	m.brKey, m.gzKey = staticVariantKey(m.br), staticVariantKey(m.gz)
	m.head = s.responseHead(m, nil)
	s.cache.put(name, m)
	return m, nil
}

// variantMeta returns the metadata of a precompressed sibling, cached
// under key: its own ETag (and content, if small), with the original's
// Content-Type and Cache-Control.
func (s *StaticFS) variantMeta(key string, content io.ReadSeeker, fi fs.FileInfo, orig *staticMeta) (*staticMeta, error) {
	v := staticVersion(fi)
	if m := s.cache.get(key, v); m != nil {
		return m, nil
	}
	return s.cache.load(key, v, func() (*staticMeta, error) { return s.buildVariantMeta(key, content, fi, v, orig) })
}

// buildVariantMeta computes, caches and returns the metadata of version v
// of a precompressed sibling, as variantMeta describes.
func (s *StaticFS) buildVariantMeta(key string, content io.ReadSeeker, fi fs.FileInfo, v staticVer, orig *staticMeta) (*staticMeta, error) {
	keep := v.size <= staticMemFileMax
	etag, _, data, err := staticHash(content, v, false, keep)
	if err != nil {
		return nil, err
	}
	m := &staticMeta{ver: v, etag: []string{etag}, ctype: orig.ctype, cc: orig.cc, data: data,
		lastMod: staticLastModified(fi.ModTime()), clen: staticContentLength(v.size)}
	m.head = s.responseHead(m, s.variantEncoding(key))
	s.cache.put(key, m)
	return m, nil
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

// sibling returns name if it is a regular file in the FS, else "".
func (s *StaticFS) sibling(name string) string {
	fi, err := fs.Stat(s.fsys, name)
	if err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	return name
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
