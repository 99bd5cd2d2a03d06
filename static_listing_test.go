package frontdoor

import (
	"net/http"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStaticFSDirectoryListing(t *testing.T) {
	for kind, fsys := range staticTestFSes(t) {
		t.Run(kind, func(t *testing.T) {
			assert.Equal(t, http.StatusNotFound, staticTestDo(t, staticTestNew(t, fsys), "GET", "/noindex/").Code, "off by default")

			l := staticTestNew(t, fsys, WithDirectoryListing(true))
			w := staticTestDo(t, l, "GET", "/noindex/")
			require.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, "text/html; charset=utf-8", w.Header().Get("Content-Type"))
			assert.Equal(t, "no-cache", w.Header().Get("Cache-Control"))
			assert.Contains(t, w.Body.String(), `<a href="./a.txt">a.txt</a>`)
			assert.NotContains(t, w.Body.String(), ".hidden", "a listing hides dotfiles")
			w = staticTestDo(t, l, "HEAD", "/noindex/")
			assert.Equal(t, http.StatusOK, w.Code)
			assert.Empty(t, w.Body.String())
			w = staticTestDo(t, l, "GET", "/")
			assert.Equal(t, "<h1>home</h1>", w.Body.String(), "an index.html wins over the listing")
			w = staticTestDo(t, l, "GET", "/.git/")
			assert.Equal(t, http.StatusNotFound, w.Code, "hidden directories are not listed")
		})
	}
	t.Run("escapes names", func(t *testing.T) {
		fsys := fstest.MapFS{"d/<b>&\"x\".txt": {Data: []byte("x")}, "d/sub/a": {Data: []byte("x")}, "d/a b?.txt": {Data: []byte("x")}}
		w := staticTestDo(t, staticTestNew(t, fsys, WithDirectoryListing(true)), "GET", "/d/")
		require.Equal(t, http.StatusOK, w.Code)
		assert.Contains(t, w.Body.String(), `<a href="./%3Cb%3E&amp;%22x%22.txt">&lt;b&gt;&amp;&#34;x&#34;.txt</a>`)
		assert.Contains(t, w.Body.String(), `<a href="./a%20b%3F.txt">a b?.txt</a>`)
		assert.Contains(t, w.Body.String(), `<a href="./sub/">sub/</a>`)
	})
}
