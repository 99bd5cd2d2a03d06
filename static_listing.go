package frontdoor

import (
	"html"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// serveListing sends an HTML listing of the directory dir (named name),
// leaving out the names StaticFS would refuse to serve. Only reached with
// WithDirectoryListing(true).
func (s *StaticFS) serveListing(w http.ResponseWriter, r *http.Request, name string, dir fs.File) {
	var entries []fs.DirEntry
	var err error
	if rd, ok := dir.(fs.ReadDirFile); ok {
		entries, err = rd.ReadDir(-1)
	} else {
		entries, err = fs.ReadDir(s.fsys, name)
	}
	if err != nil {
		s.readFailed(w, r, name, err)
		return
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })

	var b strings.Builder
	b.WriteString("<!doctype html>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width\">\n<pre>\n")
	for _, e := range entries {
		n := e.Name()
		if n == "" || (n[0] == '.' && !slices.Contains(s.dotfiles, n)) {
			continue
		}
		suffix := ""
		if e.IsDir() {
			suffix = "/"
		}
		b.WriteString(`<a href="./`)
		b.WriteString(html.EscapeString(url.PathEscape(n)))
		b.WriteString(suffix)
		b.WriteString(`">`)
		b.WriteString(html.EscapeString(n))
		b.WriteString(suffix)
		b.WriteString("</a>\n")
	}
	b.WriteString("</pre>\n")

	h := w.Header()
	h["Content-Type"] = s.hdr.html
	h["Cache-Control"] = s.hdr.noCache
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		io.WriteString(w, b.String())
	}
}
