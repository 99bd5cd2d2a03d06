package frontdoor

import "sync"

const (
	// staticCacheEntries bounds the per-handler cache of file metadata
	// (about 250 bytes an entry, plus the content of small files).
	staticCacheEntries = 8192
	// staticMemFileMax is the largest file whose content the cache keeps in
	// memory, and staticMemBudget bounds the content it keeps in all.
	staticMemFileMax = 64 << 10
	staticMemBudget  = 32 << 20
)

// staticKey names a cache entry: the representation in coding enc of the
// file name, read from a precompressed sibling or, when made is set,
// compressed by StaticFS. A file asked for by its own name ("app.js.br"
// too) is {name, encIdentity}; the precompressed sibling sent for
// "app.js" is {"app.js", encBrotli}, so the two never meet.
type staticKey struct {
	name string
	enc  contentEncoding
	made bool
}

// staticCache maps a representation to the metadata of the version last
// seen. It holds at most maxEntries entries and maxBytes of file content.
//
// When full, arbitrary entries make room: Go's map iteration order is
// random, so this is random eviction. An LRU (container/list, as net/http
// has none) would have to move an entry on every hit, which takes the
// write lock on the path of every request, where a lookup now takes the
// read lock only; on a site that fits in the cache, as most do, the
// policy never matters. Only entries holding content make room for
// content: the metadata of a large file, whose ETag may have cost reading
// all of it, is never evicted to free bytes it does not hold.
//
// It is safe for concurrent use; the zero value is unusable, see
// newStaticCache.
type staticCache struct {
	maxEntries int
	maxBytes   int
	mu         sync.RWMutex // guards m, bytes and flights
	m          map[staticKey]*staticMeta
	bytes      int                         // sum of len(data) over m
	flights    map[staticKey]*staticFlight // metadata being built, by key
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
		m: make(map[staticKey]*staticMeta), flights: make(map[staticKey]*staticFlight)}
}

// load returns the metadata of version v of key: the cached one, or the
// one build returns (build caches it). Concurrent loads of the same key and
// version call build once; the others wait for it, and call their own
// build only if that one failed (its error may be its file's alone).
func (c *staticCache) load(key staticKey, v staticVer, build func() (*staticMeta, error)) (*staticMeta, error) {
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

// get returns the metadata cached for version v of key, or nil.
func (c *staticCache) get(key staticKey, v staticVer) *staticMeta {
	c.mu.RLock()
	m := c.m[key]
	c.mu.RUnlock()
	if m == nil || m.ver != v {
		return nil
	}
	return m
}

// peek returns the metadata cached for key, whatever its version, or nil.
func (c *staticCache) peek(key staticKey) *staticMeta {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[key]
}

// put records m as the current version of key, dropping m.data if it
// alone exceeds the byte budget.
func (c *staticCache) put(key staticKey, m *staticMeta) {
	if len(m.data) > c.maxBytes {
		m.data = nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(key)
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
		c.removeLocked(k)
	}
	c.m[key] = m
	c.bytes += len(m.data)
}

// replace makes m the entry of key if old still is.
func (c *staticCache) replace(key staticKey, old, m *staticMeta) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m[key] == old {
		c.bytes += len(m.data) - len(old.data)
		c.m[key] = m
	}
}

// remove drops the entry of key, if any.
func (c *staticCache) remove(key staticKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(key)
}

// removeLocked drops the entry of key, if any; c.mu must be held.
func (c *staticCache) removeLocked(key staticKey) {
	if old, ok := c.m[key]; ok {
		c.bytes -= len(old.data)
		delete(c.m, key)
	}
}

// len reports the number of cached entries and content bytes (for tests).
func (c *staticCache) len() (entries, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m), c.bytes
}
