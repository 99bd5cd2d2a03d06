package frontdoor

import (
	"net/http"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStaticFSContentTypes(t *testing.T) {
	want := map[string]string{
		".html": "text/html; charset=utf-8", ".htm": "text/html; charset=utf-8",
		".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
		".mjs": "text/javascript; charset=utf-8", ".cjs": "text/javascript; charset=utf-8",
		".json": "application/json; charset=utf-8", ".map": "application/json; charset=utf-8",
		".webmanifest": "application/manifest+json; charset=utf-8", ".wasm": "application/wasm",
		".svg": "image/svg+xml; charset=utf-8", ".png": "image/png", ".jpg": "image/jpeg",
		".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp", ".avif": "image/avif",
		".ico": "image/vnd.microsoft.icon", ".bmp": "image/bmp", ".woff": "font/woff",
		".woff2": "font/woff2", ".ttf": "font/ttf", ".otf": "font/otf", ".eot": "application/vnd.ms-fontobject",
		".txt": "text/plain; charset=utf-8", ".md": "text/markdown; charset=utf-8",
		".csv": "text/csv; charset=utf-8", ".xml": "text/xml; charset=utf-8",
		".pdf": "application/pdf", ".mp4": "video/mp4", ".webm": "video/webm", ".ogg": "audio/ogg",
		".mp3": "audio/mpeg", ".wav": "audio/wav", ".zip": "application/zip",
	}
	fsys := fstest.MapFS{}
	for ext := range want {
		fsys["f"+ext] = &fstest.MapFile{Data: []byte("x")}
	}
	fsys["UPPER.JS"] = &fstest.MapFile{Data: []byte("x")}
	fsys["image.unknownext"] = &fstest.MapFile{Data: staticTestPNG}
	fsys["noext"] = &fstest.MapFile{Data: []byte("plain words")}
	fsys["f.go"] = &fstest.MapFile{Data: []byte("package x")}
	s := staticTestNew(t, fsys)
	for ext, ctype := range want {
		t.Run(ext, func(t *testing.T) {
			w := staticTestDo(t, s, "GET", "/f"+ext)
			require.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, ctype, w.Header().Get("Content-Type"))
			assert.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))
		})
	}
	assert.Equal(t, "text/javascript; charset=utf-8", staticTestDo(t, s, "GET", "/UPPER.JS").Header().Get("Content-Type"))
	assert.Equal(t, "image/png", staticTestDo(t, s, "GET", "/image.unknownext").Header().Get("Content-Type"), "unknown extension: sniffed")
	assert.Equal(t, "text/plain; charset=utf-8", staticTestDo(t, s, "GET", "/noext").Header().Get("Content-Type"))

	t.Run("WithContentTypes", func(t *testing.T) {
		s := staticTestNew(t, fsys, WithContentTypes(map[string]string{".GO": "text/x-go; charset=utf-8", ".js": "application/javascript"}))
		assert.Equal(t, "text/x-go; charset=utf-8", staticTestDo(t, s, "GET", "/f.go").Header().Get("Content-Type"))
		assert.Equal(t, "application/javascript", staticTestDo(t, s, "GET", "/f.js").Header().Get("Content-Type"))
		other := staticTestNew(t, fsys)
		assert.Equal(t, "text/javascript; charset=utf-8", staticTestDo(t, other, "GET", "/f.js").Header().Get("Content-Type"),
			"an override is per handler, never process-wide")
	})
}
