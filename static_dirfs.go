package frontdoor

import (
	"io/fs"
	"os"
)

// staticDirFS is the fs.FS that OpenDir returns: every method is the
// os.Root's, plus a quick way for StaticFS to learn the version of a file
// it keeps in memory.
//
// os.Root.Stat costs about 350 ns of Go work around its fstatat even for a
// top-level name, and for a nested one an openat and a close per directory
// on top. quickVersion instead makes one fstatat per component, relative
// to the root directory and never following a symlink: every intermediate
// component must be a real directory, the last a regular file. The path so
// checked stays inside the root; a symlink anywhere, even one leading
// inside, is left to the os.Root. Should a directory be swapped for a
// symlink between two of these calls, the final stat could describe a
// file outside; but its answer only decides whether the cached copy,
// which was read through the os.Root, is still current (size, mod time
// and change time all equal): it never chooses what to read. Such a race
// then serves the content from before the swap, as a request that came
// just before it would have.
type staticDirFS struct {
	root *os.Root
	fsys fs.FS    // root.FS()
	dir  *os.File // the root directory, opened through root; nil if unused
	fd   int      // dir's descriptor; valid while dir is referenced
}

var _ interface {
	fs.StatFS
	fs.ReadDirFS
	fs.ReadFileFS
	fs.ReadLinkFS
} = (*staticDirFS)(nil)

func newStaticDirFS(root *os.Root) *staticDirFS {
	d := &staticDirFS{root: root, fsys: root.FS(), fd: -1}
	if staticDirStatWorks {
		if f, err := root.Open("."); err == nil {
			d.dir, d.fd = f, int(f.Fd())
		}
	}
	return d
}

func (d *staticDirFS) Open(name string) (fs.File, error) { return d.fsys.Open(name) }

func (d *staticDirFS) Stat(name string) (fs.FileInfo, error) { return fs.Stat(d.fsys, name) }

func (d *staticDirFS) Lstat(name string) (fs.FileInfo, error) { return fs.Lstat(d.fsys, name) }

func (d *staticDirFS) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(d.fsys, name) }

func (d *staticDirFS) ReadFile(name string) ([]byte, error) { return fs.ReadFile(d.fsys, name) }

func (d *staticDirFS) ReadLink(name string) (string, error) { return fs.ReadLink(d.fsys, name) }

// quickVersion returns the version of name when the checks described
// above find a regular file; ok is false otherwise (the caller then asks
// the os.Root).
func (d *staticDirFS) quickVersion(name string) (v staticVer, ok bool) {
	if d.dir == nil || !fs.ValidPath(name) {
		return staticVer{}, false
	}
	return staticDirVersion(d.fd, name)
}
