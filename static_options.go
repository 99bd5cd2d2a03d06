package frontdoor

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"mime"
	"strings"
)

// staticConfig is what StaticOptions set. NewStaticFS fills the defaults,
// applies the options in order, then validates once.
type staticConfig struct {
	logger       *slog.Logger
	contentTypes map[string]string // additions and overrides, as given
	listing      bool
	spaIndex     string // "" means no SPA fallback
	cacheControl func(name string) string
	dotfiles     []string // dot-names that may be served
}

// defaultStaticConfig is the configuration of NewStaticFS(fsys) with no
// options.
func defaultStaticConfig() staticConfig {
	return staticConfig{dotfiles: []string{".well-known"}}
}

// validate checks the options once, naming the first bad one.
func (c *staticConfig) validate() error {
	for ext, ctype := range c.contentTypes {
		if len(ext) < 2 || ext[0] != '.' || strings.ContainsAny(ext[1:], "./\\") {
			return fmt.Errorf("frontdoor: WithContentTypes: extension %q must look like \".ext\"", ext)
		}
		if _, _, err := mime.ParseMediaType(ctype); err != nil {
			return fmt.Errorf("frontdoor: WithContentTypes: type %q for %q: %w", ctype, ext, err)
		}
	}
	if c.spaIndex != "" {
		if !fs.ValidPath(c.spaIndex) || c.spaIndex == "." || staticHasDotSegment(c.spaIndex, nil) {
			return fmt.Errorf("frontdoor: WithSPAFallback: %q is not a file name inside the fs.FS", c.spaIndex)
		}
	}
	for _, d := range c.dotfiles {
		if len(d) < 2 || d[0] != '.' || d == ".." || strings.ContainsAny(d, "/\\") {
			return fmt.Errorf("frontdoor: WithDotfiles: %q is not a dot-name like \".well-known\"", d)
		}
	}
	return nil
}

// WithContentTypes adds or overrides Content-Types for this handler only:
// the keys are extensions with their leading dot (".avif", matched without
// regard to case), the values media types as sent ("image/avif",
// "text/x-go; charset=utf-8"). By default StaticFS uses its own table, the
// same on every OS, and sniffs the content of files whose extension it does
// not know. The map is copied; nil adds nothing. A key that is not ".ext" or
// a value that [mime.ParseMediaType] rejects makes [NewStaticFS] return an
// error. It never touches the process-wide [mime] table.
func WithContentTypes(types map[string]string) StaticOption {
	types = maps.Clone(types)
	return staticOptionFunc(func(c *staticConfig) {
		if c.contentTypes == nil {
			c.contentTypes = make(map[string]string, len(types))
		}
		maps.Copy(c.contentTypes, types)
	})
}

// WithDirectoryListing turns the HTML listing of directories that have no
// index.html on or off. The default is off: such a directory is a 404.
// Listings never show names that would be refused (dotfiles).
func WithDirectoryListing(on bool) StaticOption {
	return staticOptionFunc(func(c *staticConfig) { c.listing = on })
}

// WithSPAFallback makes StaticFS answer browser navigations to paths that
// match no file with the file index (a name inside the fs.FS, usually
// "index.html"), for single-page applications that route on the client. A
// request is a navigation when it is a GET or HEAD whose Accept header
// names text/html (with a q above 0): browsers send that when they load a
// page, never for a script, a stylesheet, an image or a fetch() that does
// not ask for HTML. The shape of the path does not matter, so
// "/users/jane.doe" is routed by the app like "/users/42", while a missing
// "/app.js" loaded by a <script> (Accept: */*) and an API-style fetch still
// get a 404. Dotfiles and paths StaticFS refuses get a 404 whatever the
// Accept. Both answers to a missing path, the index and the 404, carry
// "Vary: Accept". The default, and "", is no fallback. A name that is not a
// valid [io/fs.ValidPath] file name, or that is hidden as a dotfile, makes
// [NewStaticFS] return an error.
func WithSPAFallback(index string) StaticOption {
	return staticOptionFunc(func(c *staticConfig) { c.spaIndex = index })
}

// WithCacheControl replaces the Cache-Control policy. policy receives the
// slash-separated name of the file served, as in the fs.FS
// ("assets/app.3f9a1c2b.js"; the original's name when a precompressed
// sibling is sent) and returns the header value, or "" for none. It is
// called once per file version and its answer cached, so it must be a pure
// function of name, and safe for concurrent use. Nil, the default, means
// [DefaultCacheControl]. Wrap DefaultCacheControl to change only some names.
func WithCacheControl(policy func(name string) string) StaticOption {
	return staticOptionFunc(func(c *staticConfig) { c.cacheControl = policy })
}

// WithDotfiles sets which dot-names (path segments starting with a dot) may
// be served; every other file or directory whose name starts with a dot is a
// 404, as is everything below it. The default is ".well-known" alone (RFC
// 8615). Each call replaces the list; WithDotfiles() with no names hides
// every dotfile. A name that does not start with a dot or contains a slash
// makes [NewStaticFS] return an error. Allowing ".git" or ".env" publishes
// them: think twice.
func WithDotfiles(names ...string) StaticOption {
	names = append([]string(nil), names...)
	return staticOptionFunc(func(c *staticConfig) { c.dotfiles = names })
}

// errStaticNilFS is returned by NewStaticFS for a nil fs.FS.
var errStaticNilFS = errors.New("frontdoor: NewStaticFS: nil fs.FS")
