package frontdoor

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"syscall"
	"time"
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
// What it serves. Only GET and HEAD (anything else is a 405 with Allow). "/"
// and "dir/" serve their index.html; "dir" redirects to "dir/" keeping the
// query. The Content-Type comes from a table shipped with the package, the
// same on every OS (see [WithContentTypes]); unknown extensions are
// sniffed; every response carries "X-Content-Type-Options: nosniff".
// Every file has a strong ETag, a hash of its content computed once per
// file version (see below) and kept in a bounded cache, so
// embed.FS files, which have no mod time, get one too; Last-Modified is sent
// when the mod time is known. Conditional and Range requests are answered
// by [net/http.ServeContent] (304, 412, 206, multipart/byteranges, 416).
// Where "name.br" or "name.gz" exists beside "name" and Accept-Encoding
// allows it (q=0 refuses), the sibling is sent with Content-Encoding, the
// original's Content-Type, its own ETag and "Vary: Accept-Encoding". The
// cache also remembers which siblings exist, per version of the original:
// add siblings together with (or before) the file they compress. A sibling
// deleted is forgotten on the first request that would have sent it.
// Cache-Control follows [DefaultCacheControl] unless [WithCacheControl]
// replaces it. [WithSPAFallback] serves an index file for client-side
// routes.
//
// Memory and speed. The cache holds up to 8192 file versions and the
// content of files up to 64 KiB, 32 MiB in all: such a file is then served
// after a stat, without opening it (on Linux, the stat of an [OpenDir] file
// is an fstatat per path component, with no allocation; an fs.FS without a
// Stat method, such as an embed.FS, is stat'ed by opening the file, which
// for an embed.FS stays in memory). A version is the name, size, mod time and, on Linux, the
// inode change time, so rewriting a file in place is noticed even when its
// size and mod time are kept. Larger
// files from [OpenDir] and [os.DirFS] reach the connection through their
// *os.File, so the kernel's sendfile path is kept. A GET or HEAD without
// Range or If-* headers, which always gets the whole file, is answered
// without ServeContent, from header values computed once per file version;
// the response is the same.
//
// Some response header values are slices shared between responses:
// middleware may replace them (Header.Set) but must not write into them.
// A Vary set before StaticFS runs (by a CORS middleware, say) is kept, on
// errors too, and StaticFS adds the names it varies on.
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
}

var _ http.Handler = (*StaticFS)(nil)

// staticHeaders are header values shared by every response of one StaticFS.
// They are assigned to header maps directly (saving an allocation per
// request) and must never be modified.
type staticHeaders struct {
	nosniff, allow, html, noCache []string
	varyAE, varyAccept, varyBoth  []string
	br, gzip                      []string
	acceptRanges                  []string
}

func newStaticHeaders() staticHeaders {
	return staticHeaders{
		nosniff:    []string{"nosniff"},
		allow:      []string{"GET, HEAD"},
		html:       []string{"text/html; charset=utf-8"},
		noCache:    []string{"no-cache"},
		varyAE:     []string{"Accept-Encoding"},
		varyAccept: []string{"Accept"},
		varyBoth:   []string{"Accept, Accept-Encoding"},
		br:         []string{"br"},
		gzip:       []string{"gzip"},

		acceptRanges: []string{"bytes"},
	}
}

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
	return s, nil
}

// cacheControl applies the Cache-Control policy to name.
func (s *StaticFS) cacheControl(name string) string {
	if s.policy != nil {
		return s.policy(name)
	}
	return DefaultCacheControl(name)
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

// staticNosniff returns the shared nosniff value, also for a zero StaticFS.
func staticNosniff(s *StaticFS) []string {
	if s == nil || s.hdr.nosniff == nil {
		return []string{"nosniff"}
	}
	return s.hdr.nosniff
}

// serve answers for name, a valid fs.FS name; slash tells whether the
// request path ended in "/".
func (s *StaticFS) serve(w http.ResponseWriter, r *http.Request, name string, slash bool) {
	if s.serveFromMemory(w, r, staticFileName(name, slash), nil) {
		return
	}
	f, err := s.fsys.Open(name)
	if err != nil {
		s.openFailed(w, r, name, err)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		s.readFailed(w, r, name, err)
		return
	}
	if fi.IsDir() {
		s.serveDir(w, r, name, slash, f)
		return
	}
	if slash || !fi.Mode().IsRegular() {
		s.notFound(w, r, name)
		return
	}
	s.serveFile(w, r, name, f, fi, nil)
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

// serveFromMemory answers with the file name from the cache, without
// opening it, when the fs.FS can stat it, its content is cached, its
// version (size, mod time, change stamp) has not changed and the client
// takes it as is (no precompressed sibling it would prefer). It reports
// whether it answered. vary is as for serveFile. A small file so costs one
// stat instead of an open, a stat and a close.
func (s *StaticFS) serveFromMemory(w http.ResponseWriter, r *http.Request, name string, vary []string) bool {
	// Stat only names whose content was kept: a large file goes straight
	// to Open, with no extra system call.
	m := s.cache.peek(name)
	if m == nil || m.data == nil {
		return false
	}
	if !s.current(name, m.ver) {
		return false
	}
	h := w.Header()
	plain := staticPlain(r)
	var enc []string
	if m.br != "" || m.gz != "" {
		switch staticPickEncoding(r.Header["Accept-Encoding"], m.br != "", m.gz != "") {
		case "br":
			m, enc = s.memoryVariant(m.br, m.brKey), s.hdr.br
		case "gzip":
			m, enc = s.memoryVariant(m.gz, m.gzKey), s.hdr.gzip
		}
		if m == nil {
			return false
		}
		vary = s.varyEncoding(vary)
	}
	s.setEntityHeaders(h, m, vary, enc)
	if plain && (enc != nil || !staticWrapperEncoded(h)) {
		s.writePlainMemory(w, r, m)
		return true
	}
	// A zero mod time becomes the Unix epoch, which ServeContent also takes
	// for "unknown".
	mc := &staticMemContent{ResponseWriter: w, data: m.data, setLength: enc != nil}
	http.ServeContent(mc, r, "", time.Unix(0, m.ver.mod), mc)
	return true
}

// memoryVariant returns the metadata of the precompressed sibling name
// (cached under key) if its content is cached and its version current.
func (s *StaticFS) memoryVariant(name, key string) *staticMeta {
	m := s.cache.peek(key)
	if m == nil || m.data == nil {
		return nil
	}
	if !s.current(name, m.ver) {
		return nil
	}
	return m
}

// current reports whether the file name is still the regular file of
// version v: through the quick check of an OpenDir FS when it applies,
// else with fs.Stat (the fs.FS's Stat, or an Open, Stat and Close, which
// for an embed.FS touch only memory).
func (s *StaticFS) current(name string, v staticVer) bool {
	if s.quick != nil {
		if qv, ok := s.quick.quickVersion(name); ok {
			return qv == v
		}
	}
	fi, err := fs.Stat(s.fsys, name)
	return err == nil && fi.Mode().IsRegular() && staticVersion(fi) == v
}

// serveDir answers for a directory: a redirect to add the slash, its
// index.html, a listing, or a 404.
func (s *StaticFS) serveDir(w http.ResponseWriter, r *http.Request, name string, slash bool, dir fs.File) {
	if !slash && name != "." {
		// Relative to the path as requested (which may be unclean, as in
		// "/docs/."), so that it also works below a stripped prefix.
		loc := "./"
		if base := path.Base(r.URL.Path); base != "." {
			loc += staticEscapeSegment(base) + "/"
		}
		if r.URL.RawQuery != "" {
			loc += "?" + r.URL.RawQuery
		}
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusMovedPermanently)
		return
	}
	index := "index.html"
	if name != "." {
		index = name + "/index.html"
	}
	if f, err := s.fsys.Open(index); err == nil {
		defer f.Close()
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			s.serveFile(w, r, index, f, fi, nil)
			return
		}
	}
	if s.listing {
		s.serveListing(w, r, name, dir)
		return
	}
	s.notFound(w, r, name)
}

// serveFile sends the regular file f (name, described by fi), or one of its
// precompressed siblings. vary, when not nil, is the Vary header already
// due (the SPA fallback varies on Accept).
func (s *StaticFS) serveFile(w http.ResponseWriter, r *http.Request, name string, f fs.File, fi fs.FileInfo, vary []string) {
	content, err := staticSeeker(f, fi)
	if err != nil {
		s.readFailed(w, r, name, err)
		return
	}
	m, err := s.meta(name, content, fi)
	if err != nil {
		s.readFailed(w, r, name, err)
		return
	}
	h := w.Header()
	if m.br != "" || m.gz != "" {
		vary = s.varyEncoding(vary)
		if s.servePrecompressed(w, r, name, m, vary) {
			return
		}
	}
	s.setEntityHeaders(h, m, vary, nil)
	if staticPlain(r) && !staticWrapperEncoded(h) && s.writePlain(w, r, m, content) {
		return
	}
	http.ServeContent(w, r, "", fi.ModTime(), content)
}

// servePrecompressed sends the sibling of the original (named origName,
// metadata orig) that the client accepts, if any, and reports whether it
// did. vary is the Vary header due.
func (s *StaticFS) servePrecompressed(w http.ResponseWriter, r *http.Request, origName string, orig *staticMeta, vary []string) bool {
	enc := staticPickEncoding(r.Header["Accept-Encoding"], orig.br != "", orig.gz != "")
	name, key, encHdr := orig.br, orig.brKey, s.hdr.br
	switch enc {
	case "":
		return false
	case "gzip":
		name, key, encHdr = orig.gz, orig.gzKey, s.hdr.gzip
	}
	f, err := s.fsys.Open(name)
	if err != nil {
		// Gone since we looked: send the original, and stop looking if it
		// is gone for good.
		if errors.Is(err, fs.ErrNotExist) {
			s.cache.forgetSibling(origName, orig, enc, s.responseHead)
		}
		return false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	if !fi.Mode().IsRegular() {
		s.cache.forgetSibling(origName, orig, enc, s.responseHead)
		return false
	}
	content, err := staticSeeker(f, fi)
	if err != nil {
		return false
	}
	m, err := s.variantMeta(key, content, fi, orig)
	if err != nil {
		s.logger.LogAttrs(r.Context(), slog.LevelError, "frontdoor: static read failed",
			slog.String("path", name), slog.Any("err", err))
		return false
	}
	s.setEntityHeaders(w.Header(), m, vary, encHdr)
	if staticPlain(r) && s.writePlain(w, r, m, content) {
		return true
	}
	// ServeContent omits Content-Length on full responses once
	// Content-Encoding is set; put it back for the 200.
	http.ServeContent(&staticLengthWriter{ResponseWriter: w, size: fi.Size()}, r, "", fi.ModTime(), content)
	return true
}

// notFound answers 404, or the SPA index for a navigation (the method is
// GET or HEAD by now). With an SPA fallback the answer depends on Accept,
// so even the 404 says so: a shared cache must not hand it to a
// navigation.
func (s *StaticFS) notFound(w http.ResponseWriter, r *http.Request, name string) {
	if s.spaIndex != "" && name != s.spaIndex {
		if staticAcceptsHTML(r.Header["Accept"]) {
			if s.serveFromMemory(w, r, s.spaIndex, s.hdr.varyAccept) {
				return
			}
			if f, err := s.fsys.Open(s.spaIndex); err == nil {
				defer f.Close()
				if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
					s.serveFile(w, r, s.spaIndex, f, fi, s.hdr.varyAccept)
					return
				}
			}
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
	default:
		io.WriteString(w, "500 internal server error\n")
	}
}

// OpenDir opens dir as an [io/fs.FS] from which no path, symlinks included,
// leads outside dir: its methods are those of [os.Root.FS] over
// [os.OpenRoot](dir) (Open, Stat, Lstat, ReadDir, ReadFile, ReadLink).
// Prefer it to [os.DirFS], which follows symlinks out of the directory.
// Symlinks that stay inside dir work. The directory stays open for the life
// of the process. A [StaticFS] over it checks that a file it keeps in
// memory is current with one fstatat per path component on Linux, instead
// of os.Root's heavier walk; a symlink in the name sends it through the
// os.Root.
func OpenDir(dir string) (fs.FS, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("frontdoor: open static dir: %w", err)
	}
	return newStaticDirFS(root), nil
}
