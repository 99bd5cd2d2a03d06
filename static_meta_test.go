package frontdoor

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStaticFSETagFollowsContent(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.txt")
	require.NoError(t, os.WriteFile(p, []byte("version one"), 0o644))
	fsys, err := OpenDir(dir)
	require.NoError(t, err)
	s := staticTestNew(t, fsys)
	first := staticTestDo(t, s, "GET", "/a.txt").Header().Get("ETag")
	assert.Equal(t, first, staticTestDo(t, s, "GET", "/a.txt").Header().Get("ETag"))

	require.NoError(t, os.WriteFile(p, []byte("version two"), 0o644)) // same size
	later := time.Now().Add(time.Hour)
	require.NoError(t, os.Chtimes(p, later, later))
	w := staticTestDo(t, s, "GET", "/a.txt", "If-None-Match", first)
	assert.Equal(t, http.StatusOK, w.Code, "the old ETag no longer matches")
	assert.Equal(t, "version two", w.Body.String())
	assert.NotEqual(t, first, w.Header().Get("ETag"))

	// Same bytes, same ETag, whatever the FS: the ETag is a content hash.
	m := staticTestNew(t, fstest.MapFS{"a.txt": {Data: []byte("version two")}})
	assert.Equal(t, w.Header().Get("ETag"), staticTestDo(t, m, "GET", "/a.txt").Header().Get("ETag"))
}

func TestStaticHashLargeFilesUseSizeAndModTime(t *testing.T) {
	content := strings.NewReader("pretend this is large")
	etag, _, data, err := staticHash(content, staticVer{size: staticHashLimit + 1, mod: 12345}, false, false)
	require.NoError(t, err)
	assert.Regexp(t, `^"[0-9a-z]+-[0-9a-z]+"$`, etag, "size and mod time, not a hash")
	assert.Nil(t, data)
	pos, err := content.Seek(0, io.SeekCurrent)
	require.NoError(t, err)
	assert.Zero(t, pos, "content is left at its start")

	// Every part of the version is in the tag: a rewrite that keeps size
	// and mod time (cp -p) but moves the change stamp gets a new ETag, so
	// an old If-None-Match or If-Range no longer matches the new content.
	tags := map[string]staticVer{}
	for _, v := range []staticVer{
		{size: staticHashLimit + 1, mod: 12345},
		{size: staticHashLimit + 1, mod: 12345, chg: 1},
		{size: staticHashLimit + 1, mod: 12345, chg: 2},
		{size: staticHashLimit + 1, mod: 12346, chg: 2},
		{size: staticHashLimit + 2, mod: 12346, chg: 2},
	} {
		etag, _, _, err := staticHash(content, v, false, false)
		require.NoError(t, err)
		assert.NotContains(t, tags, etag, "%+v has the tag of %+v", v, tags[etag])
		tags[etag] = v
		again, _, _, err := staticHash(content, v, false, false)
		require.NoError(t, err)
		assert.Equal(t, etag, again, "the same version, the same tag")
	}

	etag, _, _, err = staticHash(content, staticVer{size: staticHashLimit + 1}, false, false)
	require.NoError(t, err)
	assert.Regexp(t, `^"[A-Za-z0-9_-]{20}"$`, etag, "without a mod time the content is hashed, whatever the size")
}
