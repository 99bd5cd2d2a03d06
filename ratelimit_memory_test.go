package frontdoor

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
)

func TestRateLimitTableRetryAfter(t *testing.T) {
	clk := newTestClock()
	tbl := newRateLimitTable(rate.Every(10*time.Second), 1, 100, clk.now)
	const key = "192.0.2.1"
	d := tbl.allow(key, 1)
	require.True(t, d.Allowed)
	d = tbl.allow(key, 1)
	require.False(t, d.Allowed)
	assert.InDelta(t, 10*time.Second, d.RetryAfter, float64(time.Millisecond))

	clk.advance(4 * time.Second)
	d = tbl.allow(key, 1)
	require.False(t, d.Allowed)
	assert.InDelta(t, 6*time.Second, d.RetryAfter, float64(time.Millisecond))

	clk.advance(6 * time.Second)
	assert.True(t, tbl.allow(key, 1).Allowed, "the bucket refilled")
}

// TestRateLimitTableDecision checks the quota figures a decision reports:
// the burst, the time to refill it, and what is left.
func TestRateLimitTableDecision(t *testing.T) {
	clk := newTestClock()
	tbl := newRateLimitTable(2, 5, 100, clk.now) // 5 at once, then 2/s
	tests := []struct {
		give    time.Duration // clock advance before the request
		want    bool
		wantRem int
		wantRA  time.Duration
	}{
		{0, true, 4, 0},
		{0, true, 3, 0},
		{0, true, 2, 0},
		{0, true, 1, 0},
		{0, true, 0, 0},
		{0, false, 0, 500 * time.Millisecond},
		{200 * time.Millisecond, false, 0, 300 * time.Millisecond},
		{300 * time.Millisecond, true, 0, 0},
		{1500 * time.Millisecond, true, 2, 0},
	}
	for i, tt := range tests {
		clk.advance(tt.give)
		d := tbl.allow("k", 1)
		assert.Equal(t, tt.want, d.Allowed, "request %d", i)
		assert.Equal(t, tt.wantRem, d.Remaining, "request %d", i)
		assert.InDelta(t, tt.wantRA, d.RetryAfter, float64(time.Millisecond), "request %d", i)
		assert.Equal(t, 5, d.Limit)
		assert.Equal(t, 2500*time.Millisecond, d.Window)
	}

	d, err := tbl.Allow(context.Background(), "other", 6)
	require.NoError(t, err, "the in-memory limiter never fails")
	assert.False(t, d.Allowed, "a cost above the burst never passes")
	d, err = tbl.Allow(context.Background(), "other", 5)
	require.NoError(t, err)
	assert.True(t, d.Allowed, "a cost equal to the burst passes on a full bucket")
	assert.Equal(t, 0, d.Remaining)
}

// TestRateLimitTableMemoryBound feeds 100k distinct clients through one
// table and checks it never holds more than its bound.
func TestRateLimitTableMemoryBound(t *testing.T) {
	const bound = 1000
	clk := newTestClock()
	tbl := newRateLimitTable(10, 5, bound, clk.now)
	maxSeen := 0
	for i := range 100_000 {
		key := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String()
		require.True(t, tbl.allow(key, 1).Allowed, "a new client has a full bucket")
		if n := tbl.len(); n > maxSeen {
			maxSeen = n
		}
		if i%100 == 0 {
			clk.advance(time.Millisecond)
		}
	}
	assert.LessOrEqual(t, maxSeen, bound)
	assert.Equal(t, bound, maxSeen, "the table did fill up to its bound")
}

// TestRateLimitTableKeepsNoRequestMemory checks that a key cut from a large
// header value does not keep that value alive in the table.
func TestRateLimitTableKeepsNoRequestMemory(t *testing.T) {
	tbl := newRateLimitTable(1, 1, 10, newTestClock().now)
	big := fmt.Sprintf("%s, 192.0.2.1", string(make([]byte, 1<<20)))
	key := big[len(big)-len("192.0.2.1"):]
	tbl.allow(key, 1)
	e := tbl.entries["192.0.2.1"]
	require.NotNil(t, e)
	assert.Equal(t, key, e.key)
	assert.NotSame(t, unsafe.StringData(key), unsafe.StringData(e.key), "the table holds a copy of the key, not the header it was cut from")
}

func TestRateLimitTableEvictsIdle(t *testing.T) {
	clk := newTestClock()
	// burst 2 at 1/s: a bucket is full again 2 s after its last use.
	tbl := newRateLimitTable(1, 2, 1000, clk.now)
	for i := range 100 {
		tbl.allow(fmt.Sprintf("192.0.2.%d", i), 1)
	}
	require.Equal(t, 100, tbl.len())

	// A busy client keeps its state across the sweep.
	const busy = "198.51.100.1"
	tbl.allow(busy, 1)
	tbl.allow(busy, 1)
	require.False(t, tbl.allow(busy, 1).Allowed)

	clk.advance(2 * time.Second)
	// Every insert sweeps up to rateLimitSweep idle entries.
	for i := range 20 {
		tbl.allow(fmt.Sprintf("203.0.113.%d", i), 1)
	}
	assert.Equal(t, 20, tbl.len(), "the 100 idle clients and the refilled busy one were evicted")
	assert.True(t, tbl.allow(busy, 1).Allowed, "the busy client's bucket had refilled, so forgetting it lost nothing")
}

func TestRateLimitTableLRUKeepsActiveClient(t *testing.T) {
	clk := newTestClock()
	tbl := newRateLimitTable(rate.Every(time.Hour), 1, 10, clk.now)
	const busy = "198.51.100.1"
	require.True(t, tbl.allow(busy, 1).Allowed)
	for i := range 1000 {
		tbl.allow(fmt.Sprintf("192.0.%d.%d", i>>8, i&0xff), 1)
		// The busy client keeps coming back, so it is never the least
		// recently used and keeps its (empty) bucket.
		require.False(t, tbl.allow(busy, 1).Allowed, "iteration %d: the busy client must stay limited", i)
	}
	assert.LessOrEqual(t, tbl.len(), 10)
}

func TestRateLimitTableTinyLimitNeverIdle(t *testing.T) {
	clk := newTestClock()
	tbl := newRateLimitTable(1e-15, 1000, 10, clk.now)
	assert.Equal(t, time.Duration(math.MaxInt64), tbl.idle, "no overflow into a negative idle time")
	tbl.allow("192.0.2.1", 1)
	clk.advance(24 * time.Hour)
	tbl.allow("192.0.2.2", 1)
	assert.Equal(t, 2, tbl.len(), "the first client is not idle after a day")
}

// TestRateLimitTableMatchesTokenBucket drives the table and a
// golang.org/x/time/rate.Limiter with the same random requests and checks
// they agree on every decision, on the tokens left and on the wait.
func TestRateLimitTableMatchesTokenBucket(t *testing.T) {
	tests := []struct {
		limit rate.Limit
		burst int
	}{
		{1, 1}, {2, 5}, {3, 3}, {10, 20}, {0.5, 4}, {1000, 1}, {7, 100},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v/%d", tt.limit, tt.burst), func(t *testing.T) {
			clk := newTestClock()
			tbl := newRateLimitTable(tt.limit, tt.burst, 10, clk.now)
			lim := rate.NewLimiter(tt.limit, tt.burst)
			interval := time.Duration(float64(time.Second) / float64(tt.limit))
			for i := range 20_000 {
				clk.advance(time.Duration(rng.Int64N(int64(interval) * 2 / int64(tt.burst+1))))
				cost := 1 + rng.IntN(min(tt.burst, 3))
				now := clk.now()
				want := lim.AllowN(now, cost)
				tokens := lim.TokensAt(now)
				d := tbl.allow("k", cost)
				require.Equal(t, want, d.Allowed, "request %d", i)
				require.Equal(t, int(math.Floor(tokens+rateLimitEpsilon)), d.Remaining, "request %d: tokens %v", i, tokens)
				if !want {
					wait := time.Duration((float64(cost) - tokens) / float64(tt.limit) * float64(time.Second))
					require.InDelta(t, wait, d.RetryAfter, float64(time.Microsecond), "request %d", i)
				}
			}
		})
	}
}
