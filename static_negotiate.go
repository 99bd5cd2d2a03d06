package frontdoor

import "strings"

// Content negotiation for StaticFS: which content coding a client takes
// (Accept-Encoding) and whether a request is a browser navigation
// (Accept). All parsing here works on the header strings in place and
// allocates nothing.

// contentEncoding is a content coding a response can be sent in (RFC
// 9110 section 8.4.1). The zero value is identity: the bytes as they are.
// The others are listed in the order a client that accepts several with
// the same q gets them: the smallest output first.
type contentEncoding uint8

const (
	encIdentity contentEncoding = iota
	encBrotli
	encZstd
	encGzip
	numEncodings // the number of codings above, for arrays indexed by one
)

// String returns the coding's token as Content-Encoding and
// Accept-Encoding spell it ("" for identity).
func (e contentEncoding) String() string {
	switch e {
	case encBrotli:
		return "br"
	case encZstd:
		return "zstd"
	case encGzip:
		return "gzip"
	}
	return ""
}

// siblingExt returns the extension of a precompressed sibling holding a
// file in coding e ("app.js.br" for "app.js"), "" for identity.
func (e contentEncoding) siblingExt() string {
	switch e {
	case encBrotli:
		return ".br"
	case encZstd:
		return ".zst"
	case encGzip:
		return ".gz"
	}
	return ""
}

// encodingSet is a set of content codings, one bit per coding.
type encodingSet uint8

func (s encodingSet) has(e contentEncoding) bool { return s&(1<<e) != 0 }

func (s encodingSet) with(e contentEncoding) encodingSet { return s | 1<<e }

// negotiateEncoding returns the coding, among offered and identity, that
// a client sending the Accept-Encoding values ae prefers (RFC 9110
// section 12.5.3). A coding is acceptable when its own q, else the q of
// "*", is above 0; "x-gzip" counts as gzip. The highest q wins, and a tie
// goes to the coding listed first above, identity last. Identity is
// acceptable unless refused with "identity;q=0", or with "*;q=0" that
// does not name identity; when it is refused and no offered coding is
// acceptable, ok is false.
func negotiateEncoding(ae []string, offered encodingSet) (enc contentEncoding, ok bool) {
	if len(ae) == 0 {
		return encIdentity, true
	}
	var q [numEncodings]int
	for i := range q {
		q[i] = -1 // not listed
	}
	qAny := -1
	staticEachElem(ae, func(token string, tq int) {
		e := encIdentity
		switch {
		case token == "*":
			qAny = max(qAny, tq)
			return
		case strings.EqualFold(token, "identity"):
		case strings.EqualFold(token, "br"):
			e = encBrotli
		case strings.EqualFold(token, "zstd"):
			e = encZstd
		case strings.EqualFold(token, "gzip"), strings.EqualFold(token, "x-gzip"):
			e = encGzip
		default:
			return
		}
		q[e] = max(q[e], tq)
	})
	best, bestQ := encIdentity, 0
	for e := encIdentity + 1; e < numEncodings; e++ {
		if !offered.has(e) {
			continue
		}
		eq := q[e]
		if eq < 0 {
			eq = qAny
		}
		if eq > bestQ {
			best, bestQ = e, eq
		}
	}
	qID := q[encIdentity]
	if qID < 0 {
		qID = qAny
	}
	switch {
	case qID < 0:
		// Not named, not even by "*": acceptable, but after any coding.
		return best, true
	case qID > bestQ:
		return encIdentity, true
	case best == encIdentity:
		return encIdentity, qID > 0
	}
	return best, true
}

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
