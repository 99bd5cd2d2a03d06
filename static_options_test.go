package frontdoor

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStaticFSOptionErrors(t *testing.T) {
	fsys := staticTestMapFS(t)
	tests := []struct {
		give []StaticOption
		want string
	}{
		{[]StaticOption{WithContentTypes(map[string]string{"go": "text/plain"})}, "WithContentTypes"},
		{[]StaticOption{WithContentTypes(map[string]string{".go": "not a type"})}, "WithContentTypes"},
		{[]StaticOption{WithContentTypes(map[string]string{".a/b": "text/plain"})}, "WithContentTypes"},
		{[]StaticOption{WithSPAFallback("../index.html")}, "WithSPAFallback"},
		{[]StaticOption{WithSPAFallback(".hidden/index.html")}, "WithSPAFallback"},
		{[]StaticOption{WithDotfiles("well-known")}, "WithDotfiles"},
		{[]StaticOption{WithDotfiles(".a/b")}, "WithDotfiles"},
		{[]StaticOption{WithCompression(Compression{GzipLevel: 10})}, "WithCompression: GzipLevel"},
		{[]StaticOption{WithCompression(Compression{GzipLevel: -1})}, "WithCompression: GzipLevel"},
		{[]StaticOption{WithCompression(Compression{ZstdLevel: 23})}, "WithCompression: ZstdLevel"},
		{[]StaticOption{WithCompression(Compression{MinSize: -1})}, "WithCompression: MinSize"},
		{[]StaticOption{WithCompression(Compression{Types: []string{"javascript"}})}, "WithCompression: media type"},
		{[]StaticOption{WithCompression(Compression{Types: []string{"*/json"}})}, "WithCompression: media type"},
		{[]StaticOption{WithCompression(Compression{Types: []string{"text/*json"}})}, "WithCompression: media type"},
		{[]StaticOption{WithCompression(Compression{Types: []string{"text/html; charset=utf-8"}})}, "WithCompression: media type"},
	}
	for _, tt := range tests {
		_, err := NewStaticFS(fsys, tt.give...)
		require.Error(t, err)
		assert.Contains(t, err.Error(), tt.want)
		assert.True(t, strings.HasPrefix(err.Error(), "frontdoor: "))
		assert.Equal(t, 1, strings.Count(err.Error(), "frontdoor: "), err.Error())
	}
	_, err := NewStaticFS(nil)
	assert.Error(t, err)
	_, err = NewStaticFS(fsys, nil, WithContentTypes(nil), WithSPAFallback(""), WithCacheControl(nil))
	assert.NoError(t, err, "nil and empty options mean the defaults")
}
