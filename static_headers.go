package frontdoor

import (
	"net/http"
	"strings"
)

// varyEncoding returns the Vary value due when a precompressed sibling
// exists, given vary, the value due otherwise (nil or Accept).
func (s *StaticFS) varyEncoding(vary []string) []string {
	if vary != nil {
		return s.hdr.varyBoth
	}
	return s.hdr.varyAE
}

// setEntityHeaders writes the headers that describe the representation m:
// Vary (vary, nil for none, added to any Vary a wrapper set), Content-Type,
// ETag, Cache-Control (when m has a policy) and Content-Encoding (enc, nil
// for identity). It is the only place these are written for a file.
func (s *StaticFS) setEntityHeaders(h http.Header, m *staticMeta, vary, enc []string) {
	if vary != nil {
		staticAddVary(h, vary)
	}
	h["Content-Type"] = m.ctype
	h["Etag"] = m.etag
	if m.cc != nil {
		h["Cache-Control"] = m.cc
	}
	if enc != nil {
		h["Content-Encoding"] = enc
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
