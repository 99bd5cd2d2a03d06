package frontdoor

import (
	"io/fs"
	"os"
	"strings"
)

// staticDirFS is the fs.FS that OpenDir returns: every method is the
// os.Root's, plus a quick way for StaticFS to learn the version of a
// top-level file it keeps in memory.
//
// os.Root.Stat costs about 350 ns of Go work around its fstatat, even for a
// top-level name (and an openat and a close per directory for a nested
// one). quickVersion instead makes one fstatat relative to the root
// directory, without following a final symlink, and only for names without
// a slash: with no intermediate component, nothing can lead the kernel
// outside the root. Nested names, symlinks and anything but a regular file
// are left to the os.Root.
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

// quickVersion returns the version of name when it is a top-level name and
// one system call shows a regular file there; ok is false otherwise (the
// caller then asks the os.Root).
func (d *staticDirFS) quickVersion(name string) (v staticVer, ok bool) {
	if d.dir == nil || strings.IndexByte(name, '/') >= 0 || !fs.ValidPath(name) {
		return staticVer{}, false
	}
	return staticDirVersion(d.fd, name)
}

// staticVersioner is what StaticFS looks for in an fs.FS to check a cached
// file's version quickly: only staticDirFS has it.
type staticVersioner interface {
	quickVersion(name string) (staticVer, bool)
}
