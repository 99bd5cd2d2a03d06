package frontdoor

import "strings"

// Content negotiation for StaticFS: which precompressed sibling the client
// takes (Accept-Encoding), whether a request is a browser navigation
// (Accept), and which names are fingerprinted (Cache-Control). All parsing
// here works on the header strings in place and allocates nothing.

// staticEachElem calls fn for each comma-separated element of the header
// values, split into its first token (trimmed) and its quality in
// thousandths (1000 when absent, 0 when malformed: an element we cannot read
// is refused rather than guessed at).
func staticEachElem(values []string, fn func(token string, q int)) {
	for _, v := range values {
		for v != "" {
			var elem string
			if i := strings.IndexByte(v, ','); i >= 0 {
				elem, v = v[:i], v[i+1:]
			} else {
				elem, v = v, ""
			}
			token, params, _ := strings.Cut(elem, ";")
			token = strings.TrimSpace(token)
			if token == "" {
				continue
			}
			fn(token, staticQuality(params))
		}
	}
}

// staticQuality returns the q parameter found in params (";"-separated, as
// after a media range or coding) in thousandths.
func staticQuality(params string) int {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		p = strings.TrimSpace(p)
		if len(p) < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=' {
			continue
		}
		return staticParseQ(strings.TrimSpace(p[2:]))
	}
	return 1000
}

// staticParseQ parses a qvalue (RFC 9110 section 12.4.2: "0", "0.5",
// "1.000") into thousandths; malformed values give 0.
func staticParseQ(s string) int {
	if s == "" || (s[0] != '0' && s[0] != '1') {
		return 0
	}
	q := int(s[0]-'0') * 1000
	s = s[1:]
	if s == "" {
		return q
	}
	if s[0] != '.' || len(s) > 4 {
		return 0
	}
	scale := 100
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0
		}
		q += int(c-'0') * scale
		scale /= 10
	}
	if q > 1000 {
		return 0
	}
	return q
}

// staticPickEncoding returns "br", "gzip" or "" (identity) for a client
// sending the Accept-Encoding values ae, given which siblings exist. A
// coding is acceptable when its own q, else the q of "*", is above 0. The
// higher q wins; on a tie br wins, being smaller.
func staticPickEncoding(ae []string, haveBr, haveGz bool) string {
	if len(ae) == 0 {
		return ""
	}
	qBr, qGz, qAny := -1, -1, -1
	staticEachElem(ae, func(token string, q int) {
		switch {
		case strings.EqualFold(token, "br"):
			qBr = max(qBr, q)
		case strings.EqualFold(token, "gzip"), strings.EqualFold(token, "x-gzip"):
			qGz = max(qGz, q)
		case token == "*":
			qAny = max(qAny, q)
		}
	})
	if qBr < 0 {
		qBr = qAny
	}
	if qGz < 0 {
		qGz = qAny
	}
	if !haveBr {
		qBr = 0
	}
	if !haveGz {
		qGz = 0
	}
	switch {
	case qBr > 0 && qBr >= qGz:
		return "br"
	case qGz > 0:
		return "gzip"
	}
	return ""
}

// staticAcceptsHTML reports whether the Accept values name text/html with a
// q above 0, as browsers do for navigations (fetch and XHR send */*).
func staticAcceptsHTML(accept []string) bool {
	ok := false
	staticEachElem(accept, func(token string, q int) {
		if q > 0 && strings.EqualFold(token, "text/html") {
			ok = true
		}
	})
	return ok
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
