package frontdoor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCompressConfigTypes(t *testing.T) {
	c, err := newCompressConfig(Compression{}, compressStaticGzip, compressStaticZstd)
	require.NoError(t, err)
	for ctype, want := range map[string]bool{
		"text/html; charset=utf-8":                 true,
		"TEXT/CSS":                                 true,
		"text/event-stream":                        true,
		"text/javascript; charset=utf-8":           true,
		"application/javascript":                   true,
		"application/json":                         true,
		"application/problem+json":                 true,
		"application/manifest+json; charset=utf-8": true,
		"application/xml":                          true,
		"application/atom+xml":                     true,
		"image/svg+xml; charset=utf-8":             true,
		"application/wasm":                         true,
		"font/ttf":                                 true,
		"font/otf":                                 true,
		"application/vnd.ms-fontobject":            true,
		"image/png":                                false,
		"image/jpeg":                               false,
		"video/mp4":                                false,
		"audio/mpeg":                               false,
		"application/zip":                          false,
		"application/gzip":                         false,
		"application/octet-stream":                 false,
		"font/woff":                                false,
		"font/woff2":                               false,
		"":                                         false,
		"not a type":                               false,
		"application/jsonx":                        false,
	} {
		assert.Equal(t, want, c.compressible(ctype), ctype)
	}

	c, err = newCompressConfig(Compression{Types: []string{"Application/*+Yaml", "image/*", "text/plain"}}, 9, 19)
	require.NoError(t, err)
	assert.True(t, c.compressible("application/openapi+yaml"))
	assert.True(t, c.compressible("image/png"))
	assert.True(t, c.compressible("text/plain; charset=utf-8"))
	assert.False(t, c.compressible("text/html"))

	c, err = newCompressConfig(Compression{Off: true}, 9, 19)
	require.NoError(t, err)
	assert.Nil(t, c, "off")
}

func TestCompressConfigDefaults(t *testing.T) {
	c, err := newCompressConfig(Compression{}, compressResponseGzip, compressResponseZstd)
	require.NoError(t, err)
	assert.Equal(t, int64(512), c.minSize)
	assert.Equal(t, 5, c.gzipLevel)
	c, err = newCompressConfig(Compression{MinSize: 1, GzipLevel: 1, ZstdLevel: 1}, compressStaticGzip, compressStaticZstd)
	require.NoError(t, err)
	assert.Equal(t, int64(1), c.minSize)
	assert.Equal(t, 1, c.gzipLevel)
	types := DefaultCompressibleTypes()
	types[0] = "changed"
	assert.Equal(t, "text/*", DefaultCompressibleTypes()[0], "a new slice each call")
}
