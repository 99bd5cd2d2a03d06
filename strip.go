package frontdoor

import (
	"fmt"
	"net/url"
	"path"
	"strings"
)

// How a Mux route strips its prefix (WithStripPrefix): from the decoded
// path and, segment by segment, from the escaped one.

// stripURLPrefix removes prefix from the path of u, when it is the first
// whole segments of p (u.Path, or the cleaned form of it that a route
// matched). When the client escaped something in the path, the same
// segments are cut from the escaped path, comparing each decoded, so an
// escaped slash (%2F) is never taken for a separator nor turned into one.
// It reports whether the prefix was removed.
func stripURLPrefix(u *url.URL, p, prefix string) bool {
	rest, ok := cutPathPrefix(p, prefix)
	if !ok {
		return false
	}
	if p != u.Path || u.RawPath == "" {
		u.Path, u.RawPath = rest, ""
		return true
	}
	raw, ok := cutEscapedPathPrefix(u.RawPath, prefix)
	if !ok {
		return false
	}
	dec, err := url.PathUnescape(raw)
	if err != nil {
		return false
	}
	u.Path, u.RawPath = dec, raw
	return true
}

// cutEscapedPathPrefix returns the escaped path raw without its leading
// segments that decode to the segments of the clean prefix; an emptied path
// becomes "/".
func cutEscapedPathPrefix(raw, prefix string) (string, bool) {
	for want := range strings.SplitSeq(prefix[1:], "/") {
		if raw == "" || raw[0] != '/' {
			return "", false
		}
		seg, after := raw[1:], ""
		if i := strings.IndexByte(seg, '/'); i >= 0 {
			seg, after = seg[:i], seg[i:]
		}
		if got, err := url.PathUnescape(seg); err != nil || got != want {
			return "", false
		}
		raw = after
	}
	if raw == "" {
		raw = "/"
	}
	return raw, true
}

// cleanStripPrefix checks a WithStripPrefix value and returns its canonical
// form: "" for none (empty or "/"), else a clean path without a trailing
// slash.
func cleanStripPrefix(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	if p[0] != '/' || strings.ContainsAny(p, "?#") {
		return "", fmt.Errorf("frontdoor: WithStripPrefix(%q): prefix must begin with \"/\" and hold no query", p)
	}
	if p = path.Clean(p); p == "/" {
		return "", nil
	}
	return p, nil
}

// cutPathPrefix returns p without prefix if prefix is p's first segments;
// an emptied path becomes "/".
func cutPathPrefix(p, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(p, prefix)
	if !ok || (rest != "" && rest[0] != '/') {
		return p, false
	}
	if rest == "" {
		rest = "/"
	}
	return rest, true
}
