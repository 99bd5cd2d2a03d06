package frontdoor

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// staticDirFSTestOpen writes a top-level file, a nested one, symlinks to a
// secret file and a secret directory outside the root and two that stay
// inside, and opens the root with OpenDir.
func staticDirFSTestOpen(t *testing.T) (root string, d *staticDirFS) {
	base := t.TempDir()
	root = filepath.Join(base, "site")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "top.txt"), []byte("top"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(root, "sub", "in.txt"), []byte("in"), 0o644))
	secret := filepath.Join(base, "secret.txt")
	require.NoError(t, os.WriteFile(secret, []byte(staticTestSecret), 0o644))
	require.NoError(t, os.Symlink(secret, filepath.Join(root, "out.txt")))
	require.NoError(t, os.Symlink("top.txt", filepath.Join(root, "in-link.txt")))
	require.NoError(t, os.Symlink("sub", filepath.Join(root, "in-linkdir")))
	outDir := filepath.Join(base, "outdir")
	require.NoError(t, os.MkdirAll(outDir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(outDir, "in.txt"), []byte(staticTestSecret), 0o644))
	require.NoError(t, os.Symlink(outDir, filepath.Join(root, "out-linkdir")))
	fsys, err := OpenDir(root)
	require.NoError(t, err)
	d, ok := fsys.(*staticDirFS)
	require.True(t, ok, "OpenDir returns a %T", fsys)
	return root, d
}

// TestStaticDirFSQuickVersion checks that the quick version of a regular
// file, top-level or nested, is the version the os.Root's Stat gives, and
// that everything else (symlinks anywhere in the name, directories, missing
// or invalid names) is left to the os.Root.
func TestStaticDirFSQuickVersion(t *testing.T) {
	_, d := staticDirFSTestOpen(t)
	if !staticDirStatWorks {
		_, ok := d.quickVersion("top.txt")
		assert.False(t, ok)
		t.Skip("no one-syscall stat on " + runtime.GOOS + "/" + runtime.GOARCH)
	}
	for _, name := range []string{"top.txt", "sub/in.txt"} {
		fi, err := d.Stat(name)
		require.NoError(t, err)
		v, ok := d.quickVersion(name)
		require.True(t, ok, name)
		assert.Equal(t, staticVersion(fi), v, name)
		assert.NotZero(t, v.chg, "the change stamp is filled in")
	}
	for _, name := range []string{
		"out.txt", "in-link.txt", "in-linkdir/in.txt", "out-linkdir/in.txt", "sub", "sub/missing.txt",
		"missing/in.txt", "top.txt/x", "missing.txt", ".", "../site/top.txt", "sub/../top.txt", "a\x00b", "",
	} {
		_, ok := d.quickVersion(name)
		assert.False(t, ok, name)
	}
}

// TestOpenDirKeepsRootMethods checks that OpenDir's fs.FS still offers
// every method of os.Root.FS, with its refusal of symlinks out of the root.
func TestOpenDirKeepsRootMethods(t *testing.T) {
	_, d := staticDirFSTestOpen(t)
	b, err := fs.ReadFile(d, "sub/in.txt")
	require.NoError(t, err)
	assert.Equal(t, "in", string(b))
	entries, err := fs.ReadDir(d, ".")
	require.NoError(t, err)
	assert.Len(t, entries, 6)
	target, err := fs.ReadLink(d, "in-link.txt")
	require.NoError(t, err)
	assert.Equal(t, "top.txt", target)
	fi, err := fs.Lstat(d, "in-link.txt")
	require.NoError(t, err)
	assert.NotZero(t, fi.Mode()&fs.ModeSymlink)
	fi, err = fs.Stat(d, "in-link.txt")
	require.NoError(t, err)
	assert.True(t, fi.Mode().IsRegular())
	_, err = fs.Stat(d, "out.txt")
	assert.Error(t, err, "a symlink out of the root")
	_, err = fs.ReadFile(d, "out.txt")
	assert.Error(t, err, "a symlink out of the root")
}

// TestStaticFSQuickVersionStaysFresh checks that a top-level file kept in
// memory (whose version the quick stat checks) is served fresh after being
// replaced by rename with its size and mod time kept, and that replacing it
// by a symlink out of the root gives a 404, never the secret.
func TestStaticFSQuickVersionStaysFresh(t *testing.T) {
	root, d := staticDirFSTestOpen(t)
	s := staticTestNew(t, d)
	require.NotNil(t, s.quick, "StaticFS uses the quick stat of OpenDir's FS")
	get := func() *httptest.ResponseRecorder { return staticTestDo(t, s, "GET", "/top.txt") }
	for range 2 {
		w := get()
		require.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "top", w.Body.String())
	}

	p := filepath.Join(root, "top.txt")
	fi, err := os.Stat(p)
	require.NoError(t, err)
	tmp := filepath.Join(root, "top.tmp")
	require.NoError(t, os.WriteFile(tmp, []byte("new"), 0o644))
	require.NoError(t, os.Chtimes(tmp, fi.ModTime(), fi.ModTime()))
	require.NoError(t, os.Rename(tmp, p))
	if runtime.GOOS == "linux" {
		assert.Equal(t, "new", get().Body.String(), "rsync-style replace, same size and mod time")
	}

	require.NoError(t, os.Remove(p))
	require.NoError(t, os.Symlink(filepath.Join(filepath.Dir(root), "secret.txt"), p))
	w := get()
	assert.Equal(t, http.StatusNotFound, w.Code)
	assert.NotContains(t, w.Body.String(), staticTestSecret)

	require.NoError(t, os.Remove(p))
	require.NoError(t, os.WriteFile(p, []byte("back"), 0o644))
	require.NoError(t, os.Chtimes(p, time.Now(), time.Now()))
	assert.Equal(t, "back", get().Body.String())
}

// TestStaticFSQuickVersionNestedSwap checks that once a nested file is kept
// in memory, swapping its directory for a symlink to a directory outside
// the root holding a file of the same name gives a 404, never the secret,
// and that a symlinked directory inside the root still serves.
func TestStaticFSQuickVersionNestedSwap(t *testing.T) {
	root, d := staticDirFSTestOpen(t)
	s := staticTestNew(t, d)
	for range 2 {
		w := staticTestDo(t, s, "GET", "/sub/in.txt")
		require.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "in", w.Body.String())
		w = staticTestDo(t, s, "GET", "/in-linkdir/in.txt")
		require.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "in", w.Body.String())
	}
	require.NoError(t, os.Rename(filepath.Join(root, "sub"), filepath.Join(root, "sub.old")))
	require.NoError(t, os.Symlink(filepath.Join(filepath.Dir(root), "outdir"), filepath.Join(root, "sub")))
	for range 2 {
		w := staticTestDo(t, s, "GET", "/sub/in.txt")
		assert.Equal(t, http.StatusNotFound, w.Code)
		assert.NotContains(t, w.Body.String(), staticTestSecret)
	}
}
