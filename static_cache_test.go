package frontdoor

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStaticCacheIsBounded(t *testing.T) {
	k := func(name string) staticKey { return staticKey{name: name} }
	c := newStaticCache(4, 100)
	for i := range 100 {
		c.put(k(fmt.Sprint("f", i)), &staticMeta{ver: staticVer{size: int64(i)}, data: make([]byte, i%40)})
		entries, bytes := c.len()
		assert.LessOrEqual(t, entries, 4)
		assert.LessOrEqual(t, bytes, 100)
	}
	assert.NotNil(t, c.get(k("f99"), staticVer{size: 99}), "the newest entry is kept")
	assert.Nil(t, c.get(k("f99"), staticVer{size: 98}), "another size is another version")
	assert.Nil(t, c.get(k("f99"), staticVer{size: 99, mod: 1}), "another mod time is another version")
	assert.Nil(t, c.get(k("f99"), staticVer{size: 99, chg: 1}), "another change stamp is another version")

	c.put(k("big"), &staticMeta{data: make([]byte, 101)})
	m := c.get(k("big"), staticVer{})
	require.NotNil(t, m, "an entry too big for the budget is kept without its content")
	assert.Nil(t, m.data)
	c.put(k("f99"), &staticMeta{ver: staticVer{size: 99}, data: make([]byte, 60)})
	_, before := c.len()
	c.put(k("f99"), &staticMeta{ver: staticVer{size: 99}, data: make([]byte, 60)})
	_, after := c.len()
	assert.Equal(t, before, after, "replacing an entry gives its bytes back")

	// Short of bytes, only entries with content make room.
	c = newStaticCache(100, 100)
	for i := range 10 {
		c.put(k(fmt.Sprint("meta", i)), &staticMeta{ver: staticVer{size: 1 << 30}})
	}
	for i := range 50 {
		c.put(k(fmt.Sprint("data", i)), &staticMeta{data: make([]byte, 30)})
		entries, bytes := c.len()
		assert.LessOrEqual(t, bytes, 100)
		assert.LessOrEqual(t, entries, 10+3)
	}
	for i := range 10 {
		assert.NotNil(t, c.get(k(fmt.Sprint("meta", i)), staticVer{size: 1 << 30}),
			"metadata-only entries free no bytes and are kept")
	}
	assert.NotNil(t, c.get(k("data49"), staticVer{}), "the newest entry is kept")
}

// TestStaticCacheLoadOnce checks that concurrent loads of one version of
// one key build its metadata once, and that a failed build lets the
// waiters try their own.
func TestStaticCacheLoadOnce(t *testing.T) {
	c := newStaticCache(10, 100)
	v := staticVer{size: staticHashLimit + 1, mod: 1}
	var builds atomic.Int32
	release := make(chan struct{})
	build := func() (*staticMeta, error) {
		builds.Add(1)
		<-release
		m := &staticMeta{ver: v}
		c.put(staticKey{name: "big"}, m)
		return m, nil
	}
	const n = 8
	got := make(chan *staticMeta, n)
	for range n {
		go func() {
			m, err := c.load(staticKey{name: "big"}, v, build)
			assert.NoError(t, err)
			got <- m
		}()
	}
	require.Eventually(t, func() bool { return builds.Load() == 1 }, 5*time.Second, time.Millisecond)
	close(release)
	first := <-got
	require.NotNil(t, first)
	for range n - 1 {
		assert.Same(t, first, <-got)
	}
	assert.Equal(t, int32(1), builds.Load(), "one hash for one version")

	m, err := c.load(staticKey{name: "big"}, staticVer{size: 7}, func() (*staticMeta, error) { return &staticMeta{ver: staticVer{size: 7}}, nil })
	require.NoError(t, err)
	assert.Equal(t, int64(7), m.ver.size, "another version is built anew")

	failing := make(chan struct{})
	var calls atomic.Int32
	results := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := c.load(staticKey{name: "bad"}, v, func() (*staticMeta, error) {
				if calls.Add(1) == 1 {
					<-failing
					return nil, errors.New("read: input/output error")
				}
				return &staticMeta{ver: v}, nil
			})
			results <- err
		}()
	}
	require.Eventually(t, func() bool { return calls.Load() >= 1 }, 5*time.Second, time.Millisecond)
	close(failing)
	errs := []error{<-results, <-results}
	assert.Equal(t, int32(2), calls.Load(), "a waiter builds its own after a failure")
	assert.Len(t, errs, 2)
	assert.True(t, (errs[0] == nil) != (errs[1] == nil), "only the failed build's caller sees its error: %v", errs)
}

// TestStaticFSConcurrentRewrites serves files from disk while they are
// replaced (renamed over) by versions of other sizes, small and too large
// for memory, through a cache so small that entries and content are
// evicted all the time. Every response must be one whole version, with
// that version's ETag.
func TestStaticFSConcurrentRewrites(t *testing.T) {
	sizes := []int{5, 3000, 20000, staticMemFileMax + 5000}
	versions := make(map[int]struct{ body, etag string }) // by size
	for i, n := range sizes {
		b := bytes.Repeat([]byte{byte('a' + i)}, n)
		sum := sha256.Sum256(b)
		versions[n] = struct{ body, etag string }{string(b), staticETag(sum[:])}
	}
	dir := t.TempDir()
	const files = 4
	write := func(f, v int) error {
		tmp := filepath.Join(dir, fmt.Sprintf(".tmp%d", f))
		if err := os.WriteFile(tmp, []byte(versions[sizes[v]].body), 0o644); err != nil {
			return err
		}
		return os.Rename(tmp, filepath.Join(dir, fmt.Sprintf("f%d.txt", f)))
	}
	for f := range files {
		require.NoError(t, write(f, f%len(sizes)))
	}
	fsys, err := OpenDir(dir)
	require.NoError(t, err)
	s := staticTestNew(t, fsys)
	s.cache = newStaticCache(3, 25000) // fewer entries than files, less room than two versions

	stop := make(chan struct{})
	writerDone := make(chan error, 1)
	writes := 0
	go func() {
		var err error
		for ; err == nil; writes++ {
			select {
			case <-stop:
				writerDone <- nil
				return
			default:
			}
			err = write(writes%files, (writes/files+writes)%len(sizes))
		}
		writerDone <- err
	}()
	const readers = 4
	done := make(chan error, readers)
	for r := range readers {
		go func() {
			for j := range 60 {
				target := fmt.Sprintf("/f%d.txt", (r+j)%files)
				w := httptest.NewRecorder()
				s.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
				v, ok := versions[w.Body.Len()]
				switch {
				case w.Code != http.StatusOK:
					done <- fmt.Errorf("%s: status %d", target, w.Code)
					return
				case !ok || w.Body.String() != v.body:
					done <- fmt.Errorf("%s: a body of %d bytes that is no version written", target, w.Body.Len())
					return
				case w.Header().Get("ETag") != v.etag:
					done <- fmt.Errorf("%s: ETag %s for the %d-byte version, want %s", target, w.Header().Get("ETag"), w.Body.Len(), v.etag)
					return
				}
			}
			done <- nil
		}()
	}
	for range readers {
		assert.NoError(t, <-done)
	}
	close(stop)
	assert.NoError(t, <-writerDone)
	assert.Positive(t, writes, "files were rewritten while served")
	entries, bytes := s.cache.len()
	assert.LessOrEqual(t, entries, 3)
	assert.LessOrEqual(t, bytes, 25000)
}

func TestStaticFSSmallFilesFromMemoryStayFresh(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "index.html")
	require.NoError(t, os.WriteFile(p, []byte("<p>one</p>"), 0o644))
	fsys, err := OpenDir(dir)
	require.NoError(t, err)
	s := staticTestNew(t, fsys)
	for range 3 {
		w := staticTestDo(t, s, "GET", "/")
		require.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "<p>one</p>", w.Body.String())
	}
	entries, bytes := s.cache.len()
	assert.Equal(t, 1, entries)
	assert.Equal(t, len("<p>one</p>"), bytes, "the content is kept in memory")

	// Rewrite in place with the same size and put the mod time back, as
	// cp -p or tar would: the change stamp still tells the versions apart.
	fi, err := os.Stat(p)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, []byte("<p>two</p>"), 0o644))
	require.NoError(t, os.Chtimes(p, fi.ModTime(), fi.ModTime()))
	if runtime.GOOS == "linux" {
		w := staticTestDo(t, s, "GET", "/")
		assert.Equal(t, "<p>two</p>", w.Body.String())
	}

	require.NoError(t, os.Remove(p))
	assert.Equal(t, http.StatusNotFound, staticTestDo(t, s, "GET", "/").Code)
}
