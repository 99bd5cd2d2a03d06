package frontdoor

import (
	"io/fs"
	"path"
	"slices"
	"strings"
	"unicode/utf8"
)

// staticMaxPath bounds request paths; longer ones are a 404 without
// touching the file system.
const staticMaxPath = 4096

// staticName turns a decoded request path into an fs.FS name ("." for the
// root). slash reports a trailing "/". It refuses (ok false) NUL,
// backslashes, invalid UTF-8, ".." segments and overlong paths; "." and
// empty segments are cleaned away.
func staticName(p string) (name string, slash, ok bool) {
	if len(p) > staticMaxPath || !utf8.ValidString(p) ||
		strings.IndexByte(p, 0) >= 0 || strings.IndexByte(p, '\\') >= 0 {
		return "", false, false
	}
	for rest := p; rest != ""; {
		var seg string
		seg, rest, _ = strings.Cut(rest, "/")
		if seg == ".." {
			return "", false, false
		}
	}
	slash = strings.HasSuffix(p, "/")
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	name = path.Clean(p)[1:]
	if name == "" {
		name = "."
	}
	return name, slash, fs.ValidPath(name)
}

// hidden reports whether name has a segment starting with a dot that is not
// in the dotfile allow-list.
func (s *StaticFS) hidden(name string) bool {
	return staticHasDotSegment(name, s.dotfiles)
}

// staticHasDotSegment reports whether a segment of the slash-separated name
// starts with a dot and is not one of allowed. The name "." is the root.
func staticHasDotSegment(name string, allowed []string) bool {
	if name == "." {
		return false
	}
	for rest := name; rest != ""; {
		var seg string
		seg, rest, _ = strings.Cut(rest, "/")
		if seg != "" && seg[0] == '.' && !slices.Contains(allowed, seg) {
			return true
		}
	}
	return false
}
