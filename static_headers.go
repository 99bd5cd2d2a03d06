package frontdoor

import (
	"net/http"
	"strings"
)

// The response headers StaticFS writes for a file: the values shared by
// every response, the entity headers of one representation, Vary, and the
// Cache-Control policy.

// staticHeaders are header values shared by every response of one StaticFS.
// They are assigned to header maps directly (saving an allocation per
// request) and must never be modified.
type staticHeaders struct {
	nosniff, allow, html, noCache []string
	varyAE, varyAccept, varyBoth  []string
	acceptRanges                  []string
	encoding                      [numEncodings][]string // Content-Encoding; nil for identity
}

func newStaticHeaders() staticHeaders {
	h := staticHeaders{
		nosniff:      []string{"nosniff"},
		allow:        []string{"GET, HEAD"},
		html:         []string{"text/html; charset=utf-8"},
		noCache:      []string{"no-cache"},
		varyAE:       []string{"Accept-Encoding"},
		varyAccept:   []string{"Accept"},
		varyBoth:     []string{"Accept, Accept-Encoding"},
		acceptRanges: []string{"bytes"},
	}
	for e := encIdentity + 1; e < numEncodings; e++ {
		h.encoding[e] = []string{e.String()}
	}
	return h
}

// staticNosniff returns the shared nosniff value, also for a zero StaticFS.
func staticNosniff(s *StaticFS) []string {
	if s == nil || s.hdr.nosniff == nil {
		return []string{"nosniff"}
	}
	return s.hdr.nosniff
}

// setEntityHeaders writes the headers that describe the representation m:
// Vary (Accept-Encoding when m is one of several codings of its file, plus
// extra, the names due otherwise: nil, or Accept for the SPA fallback;
// added to any Vary a wrapper set), Content-Type, ETag, Cache-Control
// (when m has a policy) and Content-Encoding. It is the only place these
// are written for a file.
func (s *StaticFS) setEntityHeaders(h http.Header, m *staticMeta, extra []string) {
	vary := extra
	if m.negotiated() {
		vary = s.hdr.varyAE
		if extra != nil {
			vary = s.hdr.varyBoth
		}
	}
	if vary != nil {
		staticAddVary(h, vary)
	}
	h["Content-Type"] = m.ctype
	h["Etag"] = m.etag
	if m.cc != nil {
		h["Cache-Control"] = m.cc
	}
	if m.enc != encIdentity {
		h["Content-Encoding"] = s.hdr.encoding[m.enc]
	}
}

// staticAddVary adds the field names of vary, a shared slice, to h's Vary.
// Without a prior Vary it assigns vary itself, with no allocation. With
// one (say a CORS middleware's "Origin") it sets a new slice holding the
// prior values and the names they lack, compared case-insensitively; a
// prior "*" already covers everything. The prior slice is never written
// into.
func staticAddVary(h http.Header, vary []string) {
	prior, ok := h["Vary"]
	if !ok || len(prior) == 0 {
		h["Vary"] = vary
		return
	}
	var missing []string
	for _, v := range vary {
		for tok := range strings.SplitSeq(v, ",") {
			tok = strings.TrimSpace(tok)
			if tok != "" && !staticVaryHas(prior, tok) {
				missing = append(missing, tok)
			}
		}
	}
	if len(missing) == 0 {
		return
	}
	combined := make([]string, 0, len(prior)+1)
	combined = append(combined, prior...)
	h["Vary"] = append(combined, strings.Join(missing, ", "))
}

// staticVaryHas reports whether the Vary values prior name field (or "*").
func staticVaryHas(prior []string, field string) bool {
	for _, v := range prior {
		for tok := range strings.SplitSeq(v, ",") {
			tok = strings.TrimSpace(tok)
			if tok == "*" || strings.EqualFold(tok, field) {
				return true
			}
		}
	}
	return false
}

// cacheControl applies the Cache-Control policy to name.
func (s *StaticFS) cacheControl(name string) string {
	if s.policy != nil {
		return s.policy(name)
	}
	return DefaultCacheControl(name)
}

// DefaultCacheControl is the Cache-Control policy StaticFS uses unless
// [WithCacheControl] replaces it. HTML (.html, .htm) gets "no-cache", so a
// new deployment shows at once; a fingerprinted name, one with a hash-like
// segment as bundlers write them ("app.3f9a1c2b.js", "chunk-AB12CD34.css",
// "index-BdV3x_9k.js"), gets "public, max-age=31536000, immutable"; any
// other name gets "" (no header: browsers revalidate with the ETag or use
// their heuristics). name is slash-separated, as in the fs.FS. It is safe
// for concurrent use.
func DefaultCacheControl(name string) string {
	switch strings.ToLower(staticExt(name)) {
	case ".html", ".htm":
		return "no-cache"
	}
	if staticFingerprinted(name) {
		return "public, max-age=31536000, immutable"
	}
	return ""
}

// staticFingerprinted reports whether the last element of name carries a
// content hash: a dot-separated part of its stem (or the tail of one after
// '-' or '_') that is either 8 to 64 hex digits of one case with at least
// one letter and one digit, or exactly 8 characters of base64url with a
// digit and two upper-case letters (esbuild and Rollup/Vite write those). Plain
// words, versions ("jquery-3.7.1") and dates ("report-20240101") are not
// fingerprints: a false positive would pin a changing file for a year.
func staticFingerprinted(name string) bool {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	ext := staticExt(name)
	stem := name[:len(name)-len(ext)]
	for stem != "" {
		var part string
		part, stem, _ = strings.Cut(stem, ".")
		if staticHashLike(part) {
			return true
		}
		if i := strings.LastIndexAny(part, "-_"); i >= 0 && staticHashLike(part[i+1:]) {
			return true
		}
		// Rollup's base64url hashes may themselves contain '-' or '_'.
		if n := len(part); n > 9 && (part[n-9] == '-' || part[n-9] == '_') && staticHashLike(part[n-8:]) {
			return true
		}
	}
	return false
}

// staticHashLike reports whether s looks like a bundler's content hash.
func staticHashLike(s string) bool {
	if len(s) < 8 || len(s) > 64 {
		return false
	}
	var digits, lower, upper, punct int
	hexLower, hexUpper := true, true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'a' && c <= 'z':
			lower++
			hexUpper = false
			hexLower = hexLower && c <= 'f'
		case c >= 'A' && c <= 'Z':
			upper++
			hexLower = false
			hexUpper = hexUpper && c <= 'F'
		case c == '-' || c == '_':
			punct++
			hexLower, hexUpper = false, false
		default:
			return false
		}
	}
	if digits > 0 && lower+upper > 0 && (hexLower || hexUpper) {
		return true // hex of one case, with a letter and a digit
	}
	return len(s) == 8 && digits >= 1 && upper >= 2
}
