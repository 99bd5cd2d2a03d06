package frontdoor

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
)

// staticConfig is what StaticOptions set.
type staticConfig struct {
	logger *slog.Logger
}

// StaticFS is an [net/http.Handler] that serves the files of an [io/fs.FS].
//
// SKELETON: issue 2 replaces this with the full implementation.
type StaticFS struct {
	h http.Handler
}

var _ http.Handler = (*StaticFS)(nil)

// NewStaticFS returns a handler serving fsys.
func NewStaticFS(fsys fs.FS, opts ...StaticOption) (*StaticFS, error) {
	if fsys == nil {
		return nil, errors.New("frontdoor: NewStaticFS: nil fs.FS")
	}
	var c staticConfig
	for _, o := range opts {
		if o != nil {
			o.applyStatic(&c)
		}
	}
	return &StaticFS{h: http.FileServerFS(fsys)}, nil
}

// ServeHTTP serves one file.
func (s *StaticFS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s == nil || s.h == nil {
		http.NotFound(w, r)
		return
	}
	s.h.ServeHTTP(w, r)
}

// OpenDir opens dir as an [io/fs.FS] from which no path, symlinks included,
// leads outside dir (it is [os.OpenRoot] followed by [os.Root.FS]). Prefer it
// to [os.DirFS], which follows symlinks out of the directory.
func OpenDir(dir string) (fs.FS, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("frontdoor: open static dir: %w", err)
	}
	return root.FS(), nil
}
