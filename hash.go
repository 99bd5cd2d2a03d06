package frontdoor

import (
	"cmp"
	"math"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"sync/atomic"
)

// HashHeader returns a sticky strategy keyed by the value of the request
// header name (for example "X-User"): see [HashClientIP] for the hashing.
// Requests without the header are spread at random by weight. The returned
// Strategy is safe for concurrent use.
func HashHeader(name string) Strategy {
	return &hashStrategy{kind: hashHeader, name: textproto.CanonicalMIMEHeaderKey(name), rnd: newStrategyRand()}
}

// HashCookie returns a sticky strategy keyed by the value of the cookie
// name (for example a session cookie): see [HashClientIP] for the hashing.
// Requests without the cookie are spread at random by weight. The returned
// Strategy is safe for concurrent use.
func HashCookie(name string) Strategy {
	return &hashStrategy{kind: hashCookie, name: name, rnd: newStrategyRand()}
}

// HashClientIP returns a sticky strategy keyed by the client's address:
// the request's TCP peer (RemoteAddr), or, when the Balancer was given
// [WithTrustedProxies] and the peer is trusted, the client address those
// proxies reported in X-Forwarded-For (the same rule as for rate limits).
//
// The hash strategies use weighted rendezvous hashing: every backend scores
// the key with a hash of (key, backend URL) and the highest score wins. The
// same key therefore reaches the same backend on every gateway instance
// with no shared state (as long as the instances spell the backend URLs
// and weights alike), and removing one of n backends moves only the keys
// that were on it, about 1/n. While a backend is ejected its keys spread
// over the others and come back when it recovers. A pick costs O(n) cheap
// hash steps (about 150 ns over 100 backends); unequal weights add a
// logarithm for each distinct weight that could still win. The returned
// Strategy is safe for concurrent use.
func HashClientIP() Strategy { return &hashStrategy{kind: hashIP, rnd: newStrategyRand()} }

type hashKind uint8

const (
	hashIP hashKind = iota
	hashHeader
	hashCookie
)

type hashStrategy struct {
	kind    hashKind
	name    string
	trusted trustedNets // for hashIP: proxies whose X-Forwarded-For counts
	rnd     *strategyRand
	ids     hashCache
	seq     seqCache // for requests without a key
}

func (s *hashStrategy) Pick(r *http.Request, bs []*Backend) *Backend {
	key, ok := s.key(r)
	if !ok {
		return s.seq.get(bs).pick(bs, s.rnd)
	}
	return bs[s.ids.get(bs).rendezvous(key)]
}

// key returns the FNV-1a hash of the request's key, or false if it has none.
func (s *hashStrategy) key(r *http.Request) (uint64, bool) {
	switch s.kind {
	case hashHeader:
		if v := r.Header[s.name]; len(v) > 0 && v[0] != "" {
			return fnv64(v[0]), true
		}
	case hashCookie:
		if v, ok := cookieValue(r.Header, s.name); ok {
			return fnv64(v), true
		}
	default:
		if a := s.trusted.clientIP(r); a.IsValid() {
			b := a.As16()
			h := uint64(fnvOffset)
			for _, c := range b {
				h = (h ^ uint64(c)) * fnvPrime
			}
			return h, true
		}
	}
	return 0, false
}

// hashIDs is the per-slice data rendezvous needs, laid out contiguously:
// each backend's URL hash and weight, whether all weights are equal, and
// for unequal weights the backends grouped by weight.
type hashIDs struct {
	base    *(*Backend)
	n       int
	ids     []uint64
	weights []float64
	uniform bool
	groups  []hashGroup // by weight, heaviest first; nil when uniform
	gids    []uint64    // ids in group order
	gidx    []int       // the backend index of each of gids
}

// hashGroup is the backends of one weight: gids[lo:hi].
type hashGroup struct {
	w      float64
	lo, hi int
}

// hashCache holds the hashIDs of the last slice seen; safe for concurrent
// use like seqCache.
type hashCache struct{ p atomic.Pointer[hashIDs] }

func (c *hashCache) get(bs []*Backend) *hashIDs {
	if h := c.p.Load(); h != nil && h.base == &bs[0] && h.n == len(bs) {
		return h
	}
	h := &hashIDs{base: &bs[0], n: len(bs), ids: make([]uint64, len(bs)), weights: make([]float64, len(bs))}
	for i, be := range bs {
		h.ids[i], h.weights[i] = be.hashID, float64(be.Weight())
	}
	h.index()
	c.p.Store(h)
	return h
}

// index computes uniform and, for unequal weights, the groups, from ids
// and weights.
func (h *hashIDs) index() {
	h.uniform = !slices.ContainsFunc(h.weights, func(w float64) bool { return w != h.weights[0] })
	h.groups, h.gids, h.gidx = nil, nil, nil
	if h.uniform {
		return
	}
	order := make([]int, len(h.ids))
	for i := range order {
		order[i] = i
	}
	// Heaviest first, so that the bound below prunes most groups; the
	// backends of a group stay in index order.
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(h.weights[b], h.weights[a]) })
	h.gids, h.gidx = make([]uint64, len(order)), order
	for j, i := range order {
		h.gids[j] = h.ids[i]
		if len(h.groups) == 0 || h.groups[len(h.groups)-1].w != h.weights[i] {
			h.groups = append(h.groups, hashGroup{w: h.weights[i], lo: j})
		}
		h.groups[len(h.groups)-1].hi = j + 1
	}
}

// rendezvous returns the index of the highest score for key (the lowest
// index among equal scores). With equal weights the score is the mixed
// hash itself; otherwise it is -weight/ln(u) for u the hash mapped into
// (0, 1), which gives each backend a share of keys proportional to its
// weight.
func (h *hashIDs) rendezvous(key uint64) int {
	best := 0
	if h.uniform {
		bestH := uint64(0)
		for i, id := range h.ids {
			if x := mix64(key ^ id); x > bestH || i == 0 {
				best, bestH = i, x
			}
		}
		return best
	}
	// Within a group of equal weights the score grows with u, so only the
	// group's highest u needs a score: a pick costs O(n) integer steps and
	// a logarithm per group at most.
	bestScore := math.Inf(-1)
	for _, g := range h.groups {
		top, topX := g.lo, mix64(key^h.gids[g.lo])>>11
		for j := g.lo + 1; j < g.hi; j++ {
			if x := mix64(key^h.gids[j]) >> 11; x > topX {
				top, topX = j, x
			}
		}
		u := (float64(topX) + 0.5) / (1 << 53)
		// -ln(u) >= 1-u, so the score is at most w/(1-u): a group whose
		// bound cannot beat the best so far needs no logarithm. The margin
		// covers rounding.
		if (1-u)*bestScore >= g.w*(1+1e-9) {
			continue
		}
		sc := -g.w / math.Log(u)
		if i := h.gidx[top]; sc > bestScore || sc == bestScore && i < best {
			best, bestScore = i, sc
		}
	}
	return best
}

// cookieValue finds cookie name in the Cookie headers without allocating.
func cookieValue(h http.Header, name string) (string, bool) {
	for _, line := range h["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			k, v, ok := strings.Cut(part, "=")
			if ok && k == name {
				v = strings.Trim(v, `"`)
				return v, v != ""
			}
		}
	}
	return "", false
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnv64(s string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

// withTrustedProxies returns st, or for a client-IP hash a copy that
// believes X-Forwarded-For from the trusted proxies. NewBalancer uses it so
// that a Strategy value is never changed behind its user's back.
func withTrustedProxies(st Strategy, nets trustedNets) Strategy {
	if h, ok := st.(*hashStrategy); ok && h.kind == hashIP && len(nets) > 0 {
		return &hashStrategy{kind: hashIP, trusted: nets, rnd: newStrategyRand()}
	}
	return st
}
