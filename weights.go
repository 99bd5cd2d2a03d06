package frontdoor

import "sync/atomic"

// maxSeqWork bounds the work of building one smooth weighted sequence
// (backends times the sum of weights); weights are scaled down beyond it.
const maxSeqWork = 1 << 22

// weightedSeq is the smooth weighted round-robin order of one eligible
// backend slice: seq holds indexes into that slice, each backend appearing
// weight times. seq is nil when every weight is equal, since the order is
// then plain index order.
type weightedSeq struct {
	base *(*Backend) // &backends[0] of the slice it was built for
	n    int
	seq  []int32
}

// seqCache holds the weightedSeq of the last slice a strategy saw. It is
// safe for concurrent use: a miss builds a new sequence and swaps it in.
type seqCache struct{ p atomic.Pointer[weightedSeq] }

// get returns the sequence for bs, building it if bs is not the slice the
// cache was built for.
func (c *seqCache) get(bs []*Backend) *weightedSeq {
	if ws := c.p.Load(); ws != nil && ws.base == &bs[0] && ws.n == len(bs) {
		return ws
	}
	ws := buildWeightedSeq(bs)
	c.p.Store(ws)
	return ws
}

// pick returns a backend of bs at random, in proportion to weight.
func (ws *weightedSeq) pick(bs []*Backend, rnd *strategyRand) *Backend {
	if ws.seq == nil {
		return bs[rnd.intn(len(bs))]
	}
	return bs[ws.seq[rnd.intn(len(ws.seq))]]
}

// pick2Redraws bounds how often pick2 redraws a second backend that came
// out equal to the first before it takes the next one instead.
const pick2Redraws = 3

// pick2 returns two distinct backends of bs drawn at random in proportion
// to weight. Drawn independently, a heavy backend would often be paired
// with itself (weights 8 and 1: 80% of pairs), leaving no choice to make;
// so the second is redrawn while it equals the first, a bounded number of
// times, and then is the first's successor in bs. len(bs) must be at
// least 2.
func (ws *weightedSeq) pick2(bs []*Backend, rnd *strategyRand) (*Backend, *Backend) {
	if ws.seq == nil {
		i := rnd.intn(len(bs))
		j := rnd.intn(len(bs) - 1)
		if j >= i {
			j++
		}
		return bs[i], bs[j]
	}
	i := ws.seq[rnd.intn(len(ws.seq))]
	j := ws.seq[rnd.intn(len(ws.seq))]
	for try := 0; j == i; try++ {
		if try == pick2Redraws {
			j = (i + 1) % int32(len(bs))
			break
		}
		j = ws.seq[rnd.intn(len(ws.seq))]
	}
	return bs[i], bs[j]
}

// buildWeightedSeq runs nginx's smooth weighted round-robin over one full
// cycle: each step every backend's current value grows by its weight, the
// largest is chosen and loses the total. Weights 5, 1, 1 give 0,0,1,0,2,0,0.
func buildWeightedSeq(bs []*Backend) *weightedSeq {
	ws := &weightedSeq{base: &bs[0], n: len(bs)}
	w := make([]int64, len(bs))
	uniform := true
	var total int64
	for i, be := range bs {
		w[i] = int64(be.Weight())
		total += w[i]
		uniform = uniform && w[i] == w[0]
	}
	if uniform {
		return ws
	}
	g := w[0]
	for _, x := range w[1:] {
		g = gcd(g, x)
	}
	total = 0
	for i := range w {
		w[i] /= g
		total += w[i]
	}
	if limit := int64(maxSeqWork / len(bs)); total > limit {
		var t int64
		for i := range w {
			w[i] = max(1, w[i]*limit/total)
			t += w[i]
		}
		total = t
	}
	cur := make([]int64, len(bs))
	ws.seq = make([]int32, total)
	for k := range ws.seq {
		best := 0
		for i := range cur {
			cur[i] += w[i]
			if cur[i] > cur[best] {
				best = i
			}
		}
		cur[best] -= total
		ws.seq[k] = int32(best)
	}
	return ws
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
