package frontdoor

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
)

// Strategy picks the backend for a request.
//
// Pick must not block and must be safe for concurrent use. backends holds
// only the backends the Balancer considers eligible (healthy ones, or every
// backend in panic mode) and is never empty; Pick must not modify it and
// must not retain it past the call. Pick returns one element of backends;
// nil makes the Balancer answer 503. The Balancer hands the same slice to
// Pick for as long as the eligible set does not change, so a strategy may
// cache work keyed to the slice's identity (its first element's address
// and its length), as [RoundRobin] does. Load counters ([Backend.InFlight],
// [Backend.Streams], [Backend.Latency]) live on the backends: strategies
// only read them.
type Strategy interface {
	Pick(r *http.Request, backends []*Backend) *Backend
}

// StrategyFunc adapts a function to [Strategy]. The function must follow
// the rules of [Strategy.Pick].
type StrategyFunc func(r *http.Request, backends []*Backend) *Backend

// Pick calls f(r, backends).
func (f StrategyFunc) Pick(r *http.Request, backends []*Backend) *Backend { return f(r, backends) }

// strategyNames lists what ParseStrategy accepts, for its error message.
const strategyNames = "round-robin, least-conn, random, p2c, ewma (or latency), " +
	"hash:ip, hash:header:NAME, hash:cookie:NAME"

// ParseStrategy returns a new built-in strategy by name, for command-line
// flags: "round-robin" (also ""), "least-conn", "random", "p2c", "ewma" (or
// "latency"), "hash:ip", "hash:header:NAME" and "hash:cookie:NAME". An
// unknown name is an error that lists the valid ones.
func ParseStrategy(name string) (Strategy, error) {
	switch name {
	case "round-robin", "":
		return RoundRobin(), nil
	case "least-conn":
		return LeastConn(), nil
	case "random":
		return Random(), nil
	case "p2c":
		return PowerOfTwo(), nil
	case "ewma", "latency":
		return LeastLatency(), nil
	case "hash:ip":
		return HashClientIP(), nil
	}
	if h, ok := strings.CutPrefix(name, "hash:header:"); ok && h != "" {
		return HashHeader(h), nil
	}
	if c, ok := strings.CutPrefix(name, "hash:cookie:"); ok && c != "" {
		return HashCookie(c), nil
	}
	return nil, fmt.Errorf("frontdoor: unknown strategy %q (valid: %s)", name, strategyNames)
}

// RoundRobin returns a strategy that takes backends in turn, in proportion
// to their weights, interleaving them smoothly as nginx does: weights 5, 1
// and 1 give a, a, b, a, c, a, a. A pick is one atomic increment over a
// sequence precomputed once per eligible set. Very large weight sums are
// scaled down proportionally to keep that sequence small.
//
// The returned Strategy is safe for concurrent use. Give each Balancer its
// own: two Balancers sharing one would keep recomputing the sequence.
func RoundRobin() Strategy { return &roundRobin{} }

type roundRobin struct {
	n   atomic.Uint64
	seq seqCache
}

func (s *roundRobin) Pick(_ *http.Request, bs []*Backend) *Backend {
	i := s.n.Add(1) - 1
	ws := s.seq.get(bs)
	if ws.seq == nil {
		return bs[i%uint64(len(bs))]
	}
	return bs[ws.seq[i%uint64(len(ws.seq))]]
}

// Random returns a strategy that picks a backend at random, in proportion
// to its weight. The returned Strategy is safe for concurrent use; it has
// its own random source.
func Random() Strategy { return &random{rnd: newStrategyRand()} }

type random struct {
	rnd *strategyRand
	seq seqCache
}

func (s *random) Pick(_ *http.Request, bs []*Backend) *Backend {
	return s.seq.get(bs).pick(bs, s.rnd)
}

// LeastConn returns a strategy that picks the backend with the fewest
// requests in flight plus open streams relative to its weight, breaking
// ties at random. It scans every eligible backend, so it costs O(n) per
// pick; [PowerOfTwo] is the O(1) alternative for large pools. The returned
// Strategy is safe for concurrent use.
func LeastConn() Strategy { return &leastConn{rnd: newStrategyRand()} }

type leastConn struct{ rnd *strategyRand }

func (s *leastConn) Pick(_ *http.Request, bs []*Backend) *Backend {
	var best *Backend
	var bestLoad, bestW int64
	ties := uint64(0)
	x := s.rnd.next() | 1 // xorshift state for reservoir sampling of ties
	for _, be := range bs {
		l, w := be.loadCount(), int64(be.Weight())
		if best != nil {
			// Compare l/w with bestLoad/bestW without dividing.
			switch c := l*bestW - bestLoad*w; {
			case c > 0:
				continue
			case c == 0:
				ties++
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
				if x%ties != 0 {
					continue
				}
			default:
				ties = 1
			}
		} else {
			ties = 1
		}
		best, bestLoad, bestW = be, l, w
	}
	return best
}

// PowerOfTwo returns a strategy that draws two backends at random (in
// proportion to their weights) and keeps the one with fewer requests in
// flight plus open streams relative to its weight: nearly as good as
// [LeastConn] at O(1) per pick. The returned Strategy is safe for
// concurrent use.
func PowerOfTwo() Strategy { return &p2c{rnd: newStrategyRand()} }

type p2c struct {
	rnd *strategyRand
	seq seqCache
}

func (s *p2c) Pick(_ *http.Request, bs []*Backend) *Backend {
	if len(bs) == 1 {
		return bs[0]
	}
	a, b := s.seq.get(bs).pick2(bs, s.rnd)
	if b.loadCount()*int64(a.Weight()) < a.loadCount()*int64(b.Weight()) {
		return b
	}
	return a
}

// LeastLatency returns a latency-aware strategy: it draws two backends at
// random (in proportion to their weights) and keeps the one with the lower
// peak-EWMA latency times (requests in flight + 1), divided by weight. A
// backend with no latency sample yet scores zero, so new backends are tried
// first. The returned Strategy is safe for concurrent use.
func LeastLatency() Strategy { return &leastLatency{rnd: newStrategyRand()} }

type leastLatency struct {
	rnd *strategyRand
	seq seqCache
}

func (s *leastLatency) Pick(_ *http.Request, bs []*Backend) *Backend {
	if len(bs) == 1 {
		return bs[0]
	}
	a, b := s.seq.get(bs).pick2(bs, s.rnd)
	sa := float64(a.lat.value()) * float64(a.loadCount()+1) / float64(a.Weight())
	sb := float64(b.lat.value()) * float64(b.loadCount()+1) / float64(b.Weight())
	if sb < sa || (sb == sa && b.loadCount() < a.loadCount()) {
		return b
	}
	return a
}

// strategyRand is a lock-free splitmix64 generator: one atomic add per
// number, safe for concurrent use. Each strategy owns one.
type strategyRand struct{ state atomic.Uint64 }

func newStrategyRand() *strategyRand {
	s := &strategyRand{}
	s.state.Store(rand.Uint64())
	return s
}

func (s *strategyRand) next() uint64 { return mix64(s.state.Add(0x9e3779b97f4a7c15)) }

// intn returns a number in [0, n) for 0 < n < 2^32.
func (s *strategyRand) intn(n int) int {
	return int((uint64(uint32(s.next())) * uint64(n)) >> 32)
}

// mix64 is the splitmix64 finalizer: a fast, well-spread bijection.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
