package frontdoor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// balTestPool hand-builds backends named a, b, c, ... with the given
// weights, for strategy tests that need no network.
func balTestPool(weights ...int) []*Backend {
	bs := make([]*Backend, len(weights))
	for i, w := range weights {
		u := &url.URL{Scheme: "http", Host: fmt.Sprintf("b%d.test:80", i)}
		be := &Backend{url: u, name: u.String()}
		be.hashID = fnv64(be.name)
		be.weight.Store(int64(w))
		bs[i] = be
	}
	return bs
}

func balTestIndex(bs []*Backend, be *Backend) int {
	for i, b := range bs {
		if b == be {
			return i
		}
	}
	return -1
}

func balTestCount(s Strategy, r *http.Request, bs []*Backend, n int) []int {
	counts := make([]int, len(bs))
	for range n {
		counts[balTestIndex(bs, s.Pick(r, bs))]++
	}
	return counts
}

func TestStrategyRoundRobinSmoothWeights(t *testing.T) {
	tests := []struct {
		give []int
		want string
	}{
		{give: []int{5, 1, 1}, want: "aabacaa"},
		{give: []int{1, 1, 1}, want: "abc"},
		{give: []int{2, 1}, want: "aba"},
		{give: []int{10, 5, 5}, want: "abca"}, // reduced by the gcd
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.give), func(t *testing.T) {
			bs := balTestPool(tt.give...)
			s := RoundRobin()
			var got strings.Builder
			for range 3 * len(tt.want) {
				got.WriteByte(byte('a' + balTestIndex(bs, s.Pick(nil, bs))))
			}
			assert.Equal(t, strings.Repeat(tt.want, 3), got.String())
		})
	}
}

func TestStrategyRoundRobinNewSliceRecomputes(t *testing.T) {
	bs := balTestPool(5, 1, 1)
	s := RoundRobin()
	s.Pick(nil, bs)
	bs2 := []*Backend{bs[1], bs[2]}
	counts := balTestCount(s, nil, bs2, 100)
	assert.Equal(t, []int{50, 50}, counts)
}

func TestStrategyRandomWeighted(t *testing.T) {
	bs := balTestPool(1, 2, 7)
	const n = 100000
	counts := balTestCount(Random(), nil, bs, n)
	for i, w := range []float64{0.1, 0.2, 0.7} {
		assert.InDelta(t, w, float64(counts[i])/n, 0.01, "backend %d", i)
	}
	counts = balTestCount(Random(), nil, balTestPool(1, 1, 1, 1), n)
	for i := range counts {
		assert.InDelta(t, 0.25, float64(counts[i])/n, 0.01, "backend %d", i)
	}
}

func TestStrategyPowerOfTwo(t *testing.T) {
	bs := balTestPool(1, 1, 1)
	bs[0].load.inflight.Store(0)
	bs[1].load.inflight.Store(5)
	bs[2].load.streams.Store(10)
	const n = 30000
	counts := balTestCount(PowerOfTwo(), nil, bs, n)
	// Pairs are distinct, so the most loaded never wins and the least
	// loaded wins every pair it is in: 2/3 of them.
	assert.Zero(t, counts[2])
	assert.InDelta(t, 2.0/3, float64(counts[0])/n, 0.02)
	assert.InDelta(t, 1.0/3, float64(counts[1])/n, 0.02)

	// Weight counts: 4 in flight on weight 8 beats 1 on weight 1.
	ws := balTestPool(8, 1)
	ws[0].load.inflight.Store(4)
	ws[1].load.inflight.Store(1)
	counts = balTestCount(PowerOfTwo(), nil, ws, 1000)
	assert.Greater(t, counts[0], counts[1])

	// Pairs are distinct with unequal weights too: the light backend, idle
	// while the heavy one is swamped, is in (nearly) every pair and wins
	// it, far above its 1/9 weight share. Drawing both independently put
	// it in only 21% of pairs.
	ws[0].load.inflight.Store(80) // 10 per weight
	ws[1].load.inflight.Store(0)
	counts = balTestCount(PowerOfTwo(), nil, ws, 3000)
	assert.Greater(t, float64(counts[1])/3000, 0.9, "light idle backend share")
	ws[0].lat.v.Store(mathFloat64bits(float64(100e6)))
	ws[1].lat.v.Store(mathFloat64bits(float64(10e6)))
	counts = balTestCount(LeastLatency(), nil, ws, 3000)
	assert.Greater(t, float64(counts[1])/3000, 0.9, "LeastLatency: light fast backend share")
}

func TestStrategyLeastConn(t *testing.T) {
	bs := balTestPool(1, 1, 1, 2)
	bs[0].load.inflight.Store(3)
	bs[1].load.inflight.Store(1)
	bs[2].load.streams.Store(1)
	bs[3].load.inflight.Store(4) // 4/2 = 2 per weight
	counts := balTestCount(LeastConn(), nil, bs, 2000)
	assert.Zero(t, counts[0])
	assert.Zero(t, counts[3])
	// Ties between b and c are broken at random.
	assert.InDelta(t, 1000, counts[1], 150)
	assert.InDelta(t, 1000, counts[2], 150)

	bs[3].load.inflight.Store(0)
	assert.Same(t, bs[3], LeastConn().Pick(nil, bs))
}

func TestStrategyLeastLatency(t *testing.T) {
	bs := balTestPool(1, 1)
	bs[0].lat.v.Store(mathFloat64bits(float64(100e6)))
	bs[1].lat.v.Store(mathFloat64bits(float64(10e6)))
	counts := balTestCount(LeastLatency(), nil, bs, 100)
	assert.Equal(t, []int{0, 100}, counts)
	// 10 ms with 20 in flight scores worse than 100 ms idle.
	bs[1].load.inflight.Store(20)
	counts = balTestCount(LeastLatency(), nil, bs, 100)
	assert.Equal(t, []int{100, 0}, counts)
}

func TestStrategyHashSticky(t *testing.T) {
	bs := balTestPool(1, 1, 1, 1, 1)
	tests := []struct {
		name string
		give Strategy
		set  func(r *http.Request, key string)
	}{
		{"header", HashHeader("x-user"), func(r *http.Request, k string) { r.Header.Set("X-User", k) }},
		{"cookie", HashCookie("session"), func(r *http.Request, k string) {
			r.Header.Set("Cookie", "a=1; session="+k+"; b=2")
		}},
		{"ip", HashClientIP(), func(r *http.Request, k string) { r.RemoteAddr = "10.0.0." + k + ":1234" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen := map[*Backend]bool{}
			for k := range 50 {
				r := httptest.NewRequest(http.MethodGet, "/", nil)
				tt.set(r, fmt.Sprint(k+1))
				first := tt.give.Pick(r, bs)
				seen[first] = true
				for range 5 {
					require.Same(t, first, tt.give.Pick(r, bs), "key %d", k)
				}
				// Another instance (another gateway) agrees.
				other, err := ParseStrategy("hash:" + map[string]string{"header": "header:X-User", "cookie": "cookie:session", "ip": "ip"}[tt.name])
				require.NoError(t, err)
				assert.Same(t, first, other.Pick(r, bs))
			}
			assert.Len(t, seen, len(bs), "50 keys spread over every backend")
		})
	}
}

func TestStrategyHashMovesOneNth(t *testing.T) {
	const n, keys = 10, 20000
	bs := balTestPool(1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
	fewer := append(append([]*Backend{}, bs[:3]...), bs[4:]...)
	s := HashHeader("X-Key")
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	moved, on3 := 0, 0
	for k := range keys {
		r.Header.Set("X-Key", fmt.Sprint("user-", k))
		before, after := s.Pick(r, bs), s.Pick(r, fewer)
		if before == bs[3] {
			on3++
		}
		if before != after {
			moved++
			assert.Same(t, bs[3], before, "only keys of the removed backend move")
		}
	}
	assert.Equal(t, on3, moved)
	assert.InDelta(t, keys/n, moved, keys/n/5)
}

func TestStrategyHashWeighted(t *testing.T) {
	bs := balTestPool(1, 3)
	s := HashHeader("X-Key")
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	counts := make([]int, 2)
	for k := range 20000 {
		r.Header.Set("X-Key", fmt.Sprint(k))
		counts[balTestIndex(bs, s.Pick(r, bs))]++
	}
	assert.InDelta(t, 0.75, float64(counts[1])/20000, 0.02)
}

func TestStrategyHashNoKeySpreads(t *testing.T) {
	bs := balTestPool(1, 1)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	counts := balTestCount(HashCookie("session"), r, bs, 2000)
	assert.InDelta(t, 1000, counts[0], 150)
}

func TestCookieValue(t *testing.T) {
	h := http.Header{"Cookie": {`a=1; sess="x y"`, "other=2;session=abc"}}
	v, ok := cookieValue(h, "session")
	assert.True(t, ok)
	assert.Equal(t, "abc", v)
	v, ok = cookieValue(h, "sess")
	assert.True(t, ok)
	assert.Equal(t, "x y", v)
	_, ok = cookieValue(h, "none")
	assert.False(t, ok)
}

func TestParseStrategy(t *testing.T) {
	tests := []struct {
		give    string
		want    any
		wantErr bool
	}{
		{give: "", want: &roundRobin{}},
		{give: "round-robin", want: &roundRobin{}},
		{give: "least-conn", want: &leastConn{}},
		{give: "random", want: &random{}},
		{give: "p2c", want: &p2c{}},
		{give: "ewma", want: &leastLatency{}},
		{give: "latency", want: &leastLatency{}},
		{give: "hash:ip", want: &hashStrategy{}},
		{give: "hash:header:X-User", want: &hashStrategy{}},
		{give: "hash:cookie:session", want: &hashStrategy{}},
		{give: "hash:header:", wantErr: true},
		{give: "fastest", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			s, err := ParseStrategy(tt.give)
			if tt.wantErr {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "round-robin, least-conn")
				return
			}
			require.NoError(t, err)
			assert.IsType(t, tt.want, s)
		})
	}
}

func TestStrategyFunc(t *testing.T) {
	bs := balTestPool(1, 1)
	s := StrategyFunc(func(_ *http.Request, bs []*Backend) *Backend { return bs[len(bs)-1] })
	assert.Same(t, bs[1], s.Pick(nil, bs))
}

func mathFloat64bits(f float64) uint64 { return math.Float64bits(f) }

// FuzzStrategyPick checks that any strategy name either fails to parse or
// gives a strategy that picks a member of the pool for any request, the
// same one every time for the hash strategies.
func FuzzStrategyPick(f *testing.F) {
	f.Add("round-robin", "session=abc", "10.0.0.1:80", "user")
	f.Add("hash:cookie:session", `a=1; session="x"; ;=;`, "[::1]:1", "")
	f.Add("hash:ip", "", "not-an-addr", "")
	f.Add("hash:header:X-User", "", "", "alice")
	f.Add("least-conn", "", "", "")
	f.Fuzz(func(t *testing.T, name, cookie, remote, user string) {
		s, err := ParseStrategy(name)
		if err != nil {
			return
		}
		bs := balTestPool(1, 2, 3)
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Cookie", cookie)
		r.Header.Set("X-User", user)
		r.RemoteAddr = remote
		be := s.Pick(r, bs)
		if balTestIndex(bs, be) < 0 {
			t.Fatalf("%q picked a backend outside the pool", name)
		}
		if _, ok := s.(*hashStrategy); ok {
			if _, keyed := s.(*hashStrategy).key(r); keyed && s.Pick(r, bs) != be {
				t.Fatalf("%q is not sticky", name)
			}
		}
	})
}

// TestHashRendezvousPruningKeepsWinner checks that skipping the logarithm
// for backends whose score bound cannot win changes no pick: the weighted
// rendezvous must pick what scoring every backend picks.
func TestHashRendezvousPruningKeepsWinner(t *testing.T) {
	full := func(h *hashIDs, key uint64) int {
		best, bestScore := 0, math.Inf(-1)
		for i, id := range h.ids {
			u := (float64(mix64(key^id)>>11) + 0.5) / (1 << 53)
			if sc := -h.weights[i] / math.Log(u); sc > bestScore {
				best, bestScore = i, sc
			}
		}
		return best
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{2, 3, 10, 100, 1000} {
		h := &hashIDs{n: n, ids: make([]uint64, n), weights: make([]float64, n)}
		for i := range n {
			h.ids[i] = rnd.Uint64()
			h.weights[i] = float64(1 + rnd.IntN(maxWeight))
			if i%3 == 0 {
				h.weights[i] = 1 // many light backends next to heavy ones
			}
			if i%5 == 0 {
				h.weights[i] = 5 // and groups of more than one
			}
		}
		h.index()
		for range 20000 {
			key := rnd.Uint64()
			require.Equal(t, full(h, key), h.rendezvous(key), "n=%d key=%#x", n, key)
		}
	}
}
