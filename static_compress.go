package frontdoor

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
)

// StaticFS compresses a file itself, once per file version, in each coding
// a client asks for (gzip, zstd), and keeps the result in the same cache,
// under the same memory bound, as the content of small files.

// staticCompressMax is the largest file StaticFS compresses itself: 8 MiB,
// also the largest zstd window browsers accept.
const staticCompressMax = 8 << 20

// compressCodings returns the codings StaticFS makes itself for a file of
// Content-Type ctype and size bytes: gzip and zstd when compression is on
// and the file is compressible and between the size floor and
// staticCompressMax, else none.
func (s *StaticFS) compressCodings(ctype string, size int64) encodingSet {
	c := s.compress
	if c == nil || size < c.minSize || size > staticCompressMax || !c.compressible(ctype) {
		return 0
	}
	return encodingSet(0).with(encGzip).with(encZstd)
}

// compressed returns the file name, whose representation as named is
// orig, compressed in coding enc: from the cache, or compressed now and
// cached, once for concurrent requests. ok is false when it cannot be
// sent: it could not be read, it is no smaller than the file, or it does
// not fit in the cache's memory.
func (s *StaticFS) compressed(ctx context.Context, name string, orig staticRep, enc contentEncoding) (rep staticRep, ok bool) {
	key := staticKey{name: name, enc: enc, made: true}
	m := s.cache.get(key, orig.m.ver)
	if m == nil {
		var err error
		m, err = s.cache.load(key, orig.m.ver, func() (*staticMeta, error) { return s.compressFile(key, orig) })
		if err != nil {
			s.logger.LogAttrs(ctx, slog.LevelError, "frontdoor: static compression failed",
				slog.String("path", name), slog.String("encoding", enc.String()), slog.Any("err", err))
			return staticRep{}, false
		}
	}
	if m.data == nil {
		return staticRep{}, false
	}
	return staticRep{m: m}, true
}

// compressFile compresses orig, the file key.name as named, in coding
// key.enc, and caches and returns the metadata of the result: its own
// ETag and length, the original's other headers. Its data is nil when
// compressing does not make the file smaller.
func (s *StaticFS) compressFile(key staticKey, orig staticRep) (*staticMeta, error) {
	data := orig.m.data
	if data == nil {
		var err error
		if data, err = staticReadAll(orig.content, orig.m.size); err != nil {
			return nil, err
		}
	}
	s.compressSlots <- struct{}{}
	z, err := s.compress.compressAll(key.enc, data)
	<-s.compressSlots
	if err != nil {
		return nil, err
	}
	s.compressions.Add(1)
	o := orig.m
	m := &staticMeta{ver: o.ver, enc: key.enc, ctype: o.ctype, cc: o.cc, lastMod: o.lastMod}
	if len(z) < len(data) {
		sum := sha256.Sum256(z)
		m.etag, m.data, m.size = []string{staticETag(sum[:])}, z, int64(len(z))
		m.clen = staticContentLength(m.size)
		m.head = s.responseHead(m)
	}
	s.cache.put(key, m)
	return m, nil
}

// staticReadAll reads the size bytes of content from its start and leaves
// it at offset 0.
func staticReadAll(content io.ReadSeeker, size int64) ([]byte, error) {
	if _, err := content.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("seek: %w", err)
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(content, data); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if _, err := content.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("seek: %w", err)
	}
	return data, nil
}
