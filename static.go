package frontdoor

import (
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"runtime"
	"sync/atomic"
	"syscall"
)

// StaticFS is an [net/http.Handler] that serves the files of an [io/fs.FS]:
// a directory opened with [OpenDir], an embed.FS (through [io/fs.Sub]), an
// [testing/fstest.MapFS], or any other.
//
// Security first. No request path leads outside the fs.FS, whatever its
// spelling ("..", "%2e%2e", "%2f", "%5c", NUL, invalid UTF-8): such paths
// are a 404. But an fs.FS from [os.DirFS] follows symlinks out of its
// directory; serve directories through [OpenDir], which does not. Files and
// directories whose name starts with a dot are a 404, except ".well-known"
// (see [WithDotfiles]). Directories are not listed unless
// [WithDirectoryListing] says so. Error bodies are short constant texts that
// never name a file; a failing read is a 500, logged through [WithLogger].
//
// It answers GET and HEAD (anything else is a 405 with Allow). "/" and
// "dir/" serve their index.html; "dir" redirects to "dir/" keeping the
// query; [WithSPAFallback] serves an index file for client-side routes.
// A file is sent with the Content-Type of the package's own table, the
// same on every OS ([WithContentTypes]; unknown extensions are sniffed),
// "X-Content-Type-Options: nosniff", a strong ETag (a hash of its content,
// so embed.FS files get one too), Last-Modified when its mod time is
// known, and the Cache-Control of [DefaultCacheControl] or
// [WithCacheControl]. Conditional and Range requests are answered as
// [net/http.ServeContent] answers them.
//
// Files are sent compressed when Accept-Encoding allows it, preferring
// br, then zstd, then gzip among the codings a client accepts equally;
// a coding it refuses is never sent, and if it refuses identity too while
// accepting nothing on offer the answer is a 406. A precompressed sibling
// ("name.br", "name.zst", "name.gz") is sent when it exists; otherwise
// StaticFS compresses a file of a compressible type (see [Compression])
// with gzip or zstd itself, once per version of the file, and keeps the
// result in memory. Every representation has its own strong ETag, against
// which conditional and Range requests are answered, and is sent with the
// original's Content-Type and "Vary: Accept-Encoding" (as is the file
// itself when it has another). [WithCompression] changes or turns off
// what StaticFS compresses. Which siblings exist is learnt once per
// version of the original: add siblings together with (or before) the
// file they compress.
//
// A Vary set before StaticFS runs (by a CORS middleware, say) is kept, on
// errors too, and StaticFS adds the names it varies on. Some response
// header values are slices shared between responses: middleware may
// replace them (Header.Set) but must not write into them. How files are
// kept in memory and sent is described under Performance in the package
// documentation.
//
// A StaticFS is safe for concurrent use. The zero value and a nil
// *StaticFS answer every request with a 404. Build one with [NewStaticFS].
type StaticFS struct {
	fsys     fs.FS
	types    map[string]string // extension (lower case) -> Content-Type
	listing  bool
	spaIndex string
	policy   func(name string) string
	dotfiles []string
	logger   *slog.Logger
	cache    *staticCache
	quick    *staticDirFS // fsys, when it is exactly what OpenDir returns; else nil
	hdr      staticHeaders

	compress      *compressConfig // nil when compression is off
	compressSlots chan struct{}   // bounds the files compressed at once
	compressions  atomic.Int64    // files compressed so far (for tests)
}

var _ http.Handler = (*StaticFS)(nil)

// NewStaticFS returns a handler serving the files of fsys, configured by
// opts (none are needed). It returns an error if fsys is nil or an option
// value is malformed, naming the option.
func NewStaticFS(fsys fs.FS, opts ...StaticOption) (*StaticFS, error) {
	if fsys == nil {
		return nil, errStaticNilFS
	}
	c := defaultStaticConfig()
	for _, o := range opts {
		if o != nil {
			o.applyStatic(&c)
		}
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	s := &StaticFS{
		fsys:     fsys,
		types:    newStaticTypes(c.contentTypes),
		listing:  c.listing,
		spaIndex: c.spaIndex,
		policy:   c.cacheControl,
		dotfiles: c.dotfiles,
		logger:   defaultLogger(c.logger),
		cache:    newStaticCache(staticCacheEntries, staticMemBudget),
		hdr:      newStaticHeaders(),
	}
	s.quick, _ = fsys.(*staticDirFS) // exactly OpenDir's FS, never a wrapper around it
	if c.compress != nil {
		s.compress = c.compress
		s.compressSlots = make(chan struct{}, runtime.GOMAXPROCS(0))
	}
	return s, nil
}

// ServeHTTP serves the file named by r.URL.Path.
func (s *StaticFS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h["X-Content-Type-Options"] = staticNosniff(s)
	if s == nil || s.fsys == nil {
		staticError(w, http.StatusNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h["Allow"] = s.hdr.allow
		staticError(w, http.StatusMethodNotAllowed)
		return
	}
	name, slash, ok := staticName(r.URL.Path)
	if !ok || s.hidden(name) {
		staticError(w, http.StatusNotFound)
		return
	}
	s.serve(w, r, name, slash)
}

// fastStatic returns s: a StaticFS that is a Server's handler answers every
// path.
func (s *StaticFS) fastStatic(string) *StaticFS { return s }

// serve answers for name, a valid fs.FS name; slash tells whether the
// request path ended in "/".
func (s *StaticFS) serve(w http.ResponseWriter, r *http.Request, name string, slash bool) {
	// A file kept in memory costs one stat and no open.
	file := staticFileName(name, slash)
	if rep, ok := s.cached(file); ok {
		s.sendFile(w, r, file, rep, nil)
		return
	}
	f, err := s.fsys.Open(name)
	if err != nil {
		s.openFailed(w, r, name, err)
		return
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		s.readFailed(w, r, name, err)
		return
	}
	if fi.IsDir() {
		defer f.Close()
		s.serveDir(w, r, name, slash, f)
		return
	}
	if slash || !fi.Mode().IsRegular() {
		f.Close()
		s.notFound(w, r, name)
		return
	}
	rep, err := s.load(name, f, fi)
	if err != nil {
		s.readFailed(w, r, name, err)
		return
	}
	s.sendFile(w, r, name, rep, nil)
}

// staticFileName returns the file that answers for name when it is a
// file: name itself, or the index.html of the directory the request named
// with a trailing slash (slash) or as the root.
func staticFileName(name string, slash bool) string {
	switch {
	case name == ".":
		return "index.html"
	case slash:
		return name + "/index.html"
	}
	return name
}

// sendFile answers r with the representation of the file name that the
// request negotiates, orig being the file as named. extraVary is as for
// send.
func (s *StaticFS) sendFile(w http.ResponseWriter, r *http.Request, name string, orig staticRep, extraVary []string) {
	rep, ok := s.represent(r.Context(), name, orig, r.Header["Accept-Encoding"])
	if !ok {
		// The client refuses identity and every coding on offer: RFC 9110
		// section 12.5.3 leaves a 406 (section 15.5.7).
		vary := s.hdr.varyAE
		if extraVary != nil {
			vary = s.hdr.varyBoth
		}
		staticAddVary(w.Header(), vary)
		staticError(w, http.StatusNotAcceptable)
		return
	}
	s.send(w, r, rep, extraVary)
}

// serveNamed answers r with the regular file name and reports whether it
// did: false when name is not a regular file, so that the caller can
// answer otherwise. extraVary is as for send.
func (s *StaticFS) serveNamed(w http.ResponseWriter, r *http.Request, name string, extraVary []string) bool {
	rep, err := s.lookup(name)
	switch {
	case err == errStaticNotFile:
		return false
	case err != nil:
		s.readFailed(w, r, name, err)
		return true
	}
	s.sendFile(w, r, name, rep, extraVary)
	return true
}

// serveDir answers for a directory: a redirect to add the slash, its
// index.html, a listing, or a 404.
func (s *StaticFS) serveDir(w http.ResponseWriter, r *http.Request, name string, slash bool, dir fs.File) {
	if !slash && name != "." {
		// Relative to the path as requested (which may be unclean, as in
		// "/docs/."), so that it also works below a stripped prefix.
		loc := "./"
		if base := path.Base(r.URL.Path); base != "." {
			loc += url.PathEscape(base) + "/"
		}
		if r.URL.RawQuery != "" {
			loc += "?" + r.URL.RawQuery
		}
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusMovedPermanently)
		return
	}
	if s.serveNamed(w, r, staticFileName(name, true), nil) {
		return
	}
	if s.listing {
		s.serveListing(w, r, name, dir)
		return
	}
	s.notFound(w, r, name)
}

// notFound answers 404, or the SPA index for a navigation (the method is
// GET or HEAD by now). With an SPA fallback the answer depends on Accept,
// so even the 404 says so: a shared cache must not hand it to a
// navigation.
func (s *StaticFS) notFound(w http.ResponseWriter, r *http.Request, name string) {
	if s.spaIndex != "" && name != s.spaIndex {
		if staticAcceptsHTML(r.Header["Accept"]) && s.serveNamed(w, r, s.spaIndex, s.hdr.varyAccept) {
			return
		}
		staticAddVary(w.Header(), s.hdr.varyAccept)
	}
	staticError(w, http.StatusNotFound)
}

// openFailed answers for an Open error: a 404 (or SPA fallback) when the
// name leads nowhere, a logged 500 when the server is in trouble.
func (s *StaticFS) openFailed(w http.ResponseWriter, r *http.Request, name string, err error) {
	if staticServerTrouble(err) {
		s.readFailed(w, r, name, err)
		return
	}
	s.notFound(w, r, name)
}

// readFailed logs err and answers 500.
func (s *StaticFS) readFailed(w http.ResponseWriter, r *http.Request, name string, err error) {
	s.logger.LogAttrs(r.Context(), slog.LevelError, "frontdoor: static read failed",
		slog.String("path", name), slog.Any("err", err))
	staticError(w, http.StatusInternalServerError)
}

// staticServerTrouble reports whether an Open error is the server's fault
// (out of file descriptors or memory, I/O error) rather than the name's:
// missing, forbidden, not a directory, a symlink out of the root, too long.
func staticServerTrouble(err error) bool {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	switch errno {
	case syscall.EMFILE, syscall.ENFILE, syscall.EIO, syscall.ENOMEM:
		return true
	}
	return false
}

// staticError answers code with a short constant body that names nothing.
// It keeps Vary, which a wrapper (CORS) or notFound may have set and which
// holds for errors too; StaticFS sets its own Vary values only once it
// serves a file.
func staticError(w http.ResponseWriter, code int) {
	h := w.Header()
	for _, k := range [...]string{"Cache-Control", "Content-Encoding", "Etag", "Last-Modified"} {
		delete(h, k)
	}
	h["Content-Type"] = []string{"text/plain; charset=utf-8"}
	w.WriteHeader(code)
	switch code {
	case http.StatusNotFound:
		io.WriteString(w, "404 page not found\n")
	case http.StatusMethodNotAllowed:
		io.WriteString(w, "405 method not allowed\n")
	case http.StatusNotAcceptable:
		io.WriteString(w, "406 not acceptable\n")
	default:
		io.WriteString(w, "500 internal server error\n")
	}
}
