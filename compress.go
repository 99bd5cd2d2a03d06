package frontdoor

import (
	"bytes"
	"fmt"
	"mime"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Compression says how responses are compressed with gzip or zstd: a
// [StaticFS] compresses each of its files once per file version and keeps
// the result in memory; a [Mux] route given [WithCompression] compresses
// its handler's responses as they are written. Brotli is only ever sent
// from a precompressed sibling file. The zero value means the defaults.
//
// The encoders are github.com/klauspost/compress's: as compact as
// compress/gzip at level 9 and several times faster at the levels used
// for live responses, and the only pure-Go zstd (see BENCHMARKS.md).
type Compression struct {
	// Off turns compression off: a StaticFS then sends its files as
	// stored, or their precompressed siblings.
	Off bool
	// MinSize is the smallest body compressed, in bytes: a file's size, or
	// a response's Content-Length. 0 means 512.
	MinSize int64
	// GzipLevel is the gzip level, from 1 (fastest) to 9 (smallest). 0
	// means 9 for a StaticFS, which compresses each file once, and 5 for a
	// route, which compresses every response.
	GzipLevel int
	// ZstdLevel is the zstd level, from 1 (fastest) to 22 (smallest), as
	// the zstd command counts; the encoder has four speeds, for levels 1-2,
	// 3-5, 6-9 and 10-22. 0 means 19 for a StaticFS and 3 for a route.
	ZstdLevel int
	// Types lists the media types compressed, compared without parameters
	// and case: "text/css", "text/*" (any subtype) or "application/*+json"
	// (any subtype with that suffix). Nil means
	// [DefaultCompressibleTypes].
	Types []string
}

// DefaultCompressibleTypes returns the media types compressed unless
// [Compression.Types] says otherwise: text, JavaScript, JSON (source maps
// and web manifests included), XML, SVG, WebAssembly, and the TTF, OTF and
// EOT fonts. Images other than SVG, audio, video, archives and WOFF fonts
// are compressed already. It returns a new slice on each call.
func DefaultCompressibleTypes() []string {
	return []string{
		"text/*",
		"application/javascript", "application/x-javascript", "application/ecmascript",
		"application/json", "application/*+json",
		"application/xml", "application/*+xml", "image/svg+xml",
		"application/wasm",
		"font/ttf", "font/otf", "font/sfnt", "application/vnd.ms-fontobject",
		"application/x-font-ttf", "application/x-font-otf",
	}
}

// CompressionOption is an option of both a [StaticFS] and a [Mux] route.
type CompressionOption interface {
	StaticOption
	RouteOption
}

// WithCompression sets how a [StaticFS] compresses its files, which it
// does by default, or turns on compression of a [Mux] route's responses,
// which is off by default. See [Compression] for the settings and their
// defaults, and [Mux.Handle] for what a route compresses and why a route
// that answers with secrets may be better left alone. A malformed value
// makes [NewStaticFS] return an error, or [Mux.Handle] panic, naming it.
func WithCompression(c Compression) CompressionOption {
	c.Types = append([]string(nil), c.Types...)
	return compressionOption{c}
}

type compressionOption struct{ c Compression }

var _ CompressionOption = compressionOption{}

func (o compressionOption) applyStatic(c *staticConfig) { c.compression = &o.c }
func (o compressionOption) applyRoute(c *routeConfig)   { c.compression = &o.c }

// Defaults of Compression, for a StaticFS (once per file) and for a route
// (every response).
const (
	compressMinSize        = 512
	compressStaticGzip     = 9
	compressStaticZstd     = 19
	compressResponseGzip   = 5
	compressResponseZstd   = 3
	compressMaxZstdLevel   = 22
	compressMaxMediaLength = 127 // RFC 6838: type and subtype names
)

// compressConfig is a validated Compression with its defaults filled in.
type compressConfig struct {
	minSize   int64
	gzipLevel int
	zstdLevel zstd.EncoderLevel
	types     []compressType

	// Encoders for compressAll, kept between calls while the garbage
	// collector lets them: a zstd encoder at its best level holds about
	// 45 MiB and takes far longer to set up (about 130 ms) than to
	// compress a 64 KiB file (about 4 ms).
	gzipPool, zstdPool sync.Pool
}

// compressType is one entry of Compression.Types: a type, and a subtype
// that is exact, any ("*") or any with a suffix ("*+json").
type compressType struct {
	typ, sub string // lower case; sub "*" or "*+suffix" for patterns
}

// newCompressConfig validates c and fills in the defaults, gzip and zstd
// being the levels that apply when c leaves them at 0. It returns nil
// when c turns compression off.
func newCompressConfig(c Compression, gzipLevel, zstdLevel int) (*compressConfig, error) {
	if c.Off {
		return nil, nil
	}
	if c.MinSize < 0 {
		return nil, fmt.Errorf("WithCompression: MinSize %d is negative", c.MinSize)
	}
	if c.GzipLevel < 0 || c.GzipLevel > 9 {
		return nil, fmt.Errorf("WithCompression: GzipLevel %d is not between 1 and 9", c.GzipLevel)
	}
	if c.ZstdLevel < 0 || c.ZstdLevel > compressMaxZstdLevel {
		return nil, fmt.Errorf("WithCompression: ZstdLevel %d is not between 1 and %d", c.ZstdLevel, compressMaxZstdLevel)
	}
	cc := &compressConfig{minSize: c.MinSize, gzipLevel: c.GzipLevel}
	if cc.minSize == 0 {
		cc.minSize = compressMinSize
	}
	if cc.gzipLevel == 0 {
		cc.gzipLevel = gzipLevel
	}
	if c.ZstdLevel != 0 {
		zstdLevel = c.ZstdLevel
	}
	cc.zstdLevel = zstd.EncoderLevelFromZstd(zstdLevel)
	types := c.Types
	if types == nil {
		types = DefaultCompressibleTypes()
	}
	for _, t := range types {
		ct, err := parseCompressType(t)
		if err != nil {
			return nil, err
		}
		cc.types = append(cc.types, ct)
	}
	return cc, nil
}

// parseCompressType parses one entry of Compression.Types.
func parseCompressType(t string) (compressType, error) {
	typ, sub, ok := strings.Cut(strings.ToLower(strings.TrimSpace(t)), "/")
	bad := !ok || typ == "" || sub == "" || len(t) > 2*compressMaxMediaLength ||
		strings.ContainsAny(typ, "*;/ ") || strings.ContainsAny(sub, ";/ ")
	if !bad && strings.Contains(sub, "*") {
		bad = sub != "*" && !(strings.HasPrefix(sub, "*+") && len(sub) > 2 && !strings.Contains(sub[2:], "*"))
	}
	if bad {
		return compressType{}, fmt.Errorf("WithCompression: media type %q is not like \"text/css\", \"text/*\" or \"application/*+json\"", t)
	}
	return compressType{typ: typ, sub: sub}, nil
}

// compressible reports whether a body of Content-Type ctype is of a type
// the configuration compresses.
func (c *compressConfig) compressible(ctype string) bool {
	mt, _, err := mime.ParseMediaType(ctype)
	if err != nil {
		return false
	}
	typ, sub, _ := strings.Cut(mt, "/")
	for _, t := range c.types {
		if t.typ != typ {
			continue
		}
		switch {
		case t.sub == sub, t.sub == "*":
			return true
		case strings.HasPrefix(t.sub, "*+") && strings.HasSuffix(sub, t.sub[1:]):
			return true
		}
	}
	return false
}

// compressAll returns data compressed in coding enc (gzip or zstd) at the
// configured level, in one gzip member or one zstd frame. It is for
// StaticFS, which compresses a file once per version; the caller bounds
// how many run at once, and so the encoders in use.
func (c *compressConfig) compressAll(enc contentEncoding, data []byte) ([]byte, error) {
	switch enc {
	case encGzip:
		var b bytes.Buffer
		b.Grow(len(data)/3 + 64)
		zw, _ := c.gzipPool.Get().(*gzip.Writer)
		if zw == nil {
			var err error
			if zw, err = gzip.NewWriterLevel(&b, c.gzipLevel); err != nil {
				return nil, err
			}
		} else {
			zw.Reset(&b)
		}
		defer c.gzipPool.Put(zw)
		if _, err := zw.Write(data); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	case encZstd:
		// One frame with the content size in its header, so that its
		// window is the file's size; browsers refuse windows above 8 MiB,
		// which staticCompressMax keeps files below.
		zw, _ := c.zstdPool.Get().(*zstd.Encoder)
		if zw == nil {
			var err error
			zw, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(c.zstdLevel), zstd.WithEncoderConcurrency(1),
				zstd.WithLowerEncoderMem(true), zstd.WithZeroFrames(true))
			if err != nil {
				return nil, err
			}
		}
		defer c.zstdPool.Put(zw)
		return zw.EncodeAll(data, make([]byte, 0, len(data)/3+64)), nil
	}
	return nil, fmt.Errorf("no encoder for %q", enc)
}
