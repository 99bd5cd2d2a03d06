package frontdoor

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
)

func rateLimitTestReq(remote string, xff ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/api/x", nil)
	r.RemoteAddr = remote
	for _, v := range xff {
		r.Header.Add("X-Forwarded-For", v)
	}
	return r
}

func TestRateLimitThroughMux(t *testing.T) {
	m := NewMux()
	m.Handle("/api", muxTestHandler("api"), WithRateLimit(1, 3))
	m.Handle("/", muxTestHandler("root"))

	serve := func(r *http.Request) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		m.ServeHTTP(rec, r)
		return rec
	}
	for i := range 3 {
		rec := serve(rateLimitTestReq("192.0.2.1:1000"))
		require.Equal(t, http.StatusOK, rec.Code, "request %d is within the burst", i)
	}
	rec := serve(rateLimitTestReq("192.0.2.1:1001"))
	assert.Equal(t, http.StatusTooManyRequests, rec.Code, "the fourth request in a burst of 3 is refused")
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))
	assert.NotContains(t, rec.Body.String(), "api", "the handler is not called")

	rec = serve(rateLimitTestReq("192.0.2.2:1000"))
	assert.Equal(t, http.StatusOK, rec.Code, "another client has its own bucket")

	rec = serve(httptest.NewRequest(http.MethodGet, "/other", nil))
	assert.Equal(t, http.StatusOK, rec.Code, "other routes are not limited")
}

func TestRateLimitRetryAfter(t *testing.T) {
	clk := newTestClock()
	tbl := newRateLimitTable(rate.Every(10*time.Second), 1, 100, clk.now)
	key := netip.MustParseAddr("192.0.2.1")
	ok, _ := tbl.allow(key)
	require.True(t, ok)
	ok, wait := tbl.allow(key)
	require.False(t, ok)
	assert.InDelta(t, 10*time.Second, wait, float64(time.Millisecond))

	clk.advance(4 * time.Second)
	ok, wait = tbl.allow(key)
	require.False(t, ok)
	assert.InDelta(t, 6*time.Second, wait, float64(time.Millisecond))

	clk.advance(6 * time.Second)
	ok, _ = tbl.allow(key)
	assert.True(t, ok, "the bucket refilled")

	h := &rateLimitHandler{next: muxTestHandler("x"), logger: discardLoggerForRateLimit(), table: tbl}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, rateLimitTestReq("192.0.2.1:5"))
	assert.Equal(t, http.StatusTooManyRequests, rec.Code)
	assert.Equal(t, "10", rec.Header().Get("Retry-After"), "whole seconds, rounded up")
}

func TestRateLimitTrustedProxies(t *testing.T) {
	h, err := newRateLimitHandler(muxTestHandler("x"), rateLimitConfig{limit: 1, burst: 1}, []string{"10.0.0.0/8"}, discardLoggerForRateLimit())
	require.NoError(t, err)
	serve := func(r *http.Request) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code
	}
	// Behind a trusted proxy, each forwarded client has its own bucket.
	assert.Equal(t, 200, serve(rateLimitTestReq("10.0.0.1:1", "198.51.100.1")))
	assert.Equal(t, 200, serve(rateLimitTestReq("10.0.0.1:1", "198.51.100.2")))
	assert.Equal(t, 429, serve(rateLimitTestReq("10.0.0.2:1", "198.51.100.1")), "same client through another proxy")

	// An untrusted peer cannot escape its bucket by spoofing the header.
	assert.Equal(t, 200, serve(rateLimitTestReq("203.0.113.5:1", "1.1.1.1")))
	assert.Equal(t, 429, serve(rateLimitTestReq("203.0.113.5:1", "2.2.2.2")))
}

func TestRateLimitIPv6Per64(t *testing.T) {
	h, err := newRateLimitHandler(muxTestHandler("x"), rateLimitConfig{limit: 1, burst: 1}, nil, discardLoggerForRateLimit())
	require.NoError(t, err)
	serve := func(remote string) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, rateLimitTestReq(remote))
		return rec.Code
	}
	assert.Equal(t, 200, serve("[2001:db8:1:2::1]:1"))
	assert.Equal(t, 429, serve("[2001:db8:1:2:ffff::9]:1"), "same /64")
	assert.Equal(t, 200, serve("[2001:db8:1:3::1]:1"), "another /64")
	assert.Equal(t, 200, serve("[::ffff:192.0.2.7]:1"), "mapped IPv4 is per address")
	assert.Equal(t, 429, serve("192.0.2.7:1"), "and the same address as plain IPv4")
}

// TestRateLimitMemoryBound feeds 100k distinct clients through one table and
// checks it never holds more than its bound.
func TestRateLimitMemoryBound(t *testing.T) {
	const bound = 1000
	clk := newTestClock()
	tbl := newRateLimitTable(10, 5, bound, clk.now)
	maxSeen := 0
	for i := range 100_000 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		ok, _ := tbl.allow(a)
		require.True(t, ok, "a new client has a full bucket")
		if n := tbl.len(); n > maxSeen {
			maxSeen = n
		}
		if i%100 == 0 {
			clk.advance(time.Millisecond)
		}
	}
	assert.LessOrEqual(t, maxSeen, bound)
	assert.Equal(t, bound, maxSeen, "the table did fill up to its bound")

	// Same through the handler with real request parsing and IPv6 clients.
	h, err := newRateLimitHandler(muxTestHandler("x"), rateLimitConfig{limit: 1, burst: 1}, nil, discardLoggerForRateLimit())
	require.NoError(t, err)
	rl := h.(*rateLimitHandler)
	for i := range 20_000 {
		rec := httptest.NewRecorder()
		rl.ServeHTTP(rec, rateLimitTestReq(fmt.Sprintf("[2001:db8:%x:%x::1]:1", i>>16, i&0xffff)))
		require.Equal(t, 200, rec.Code)
	}
	assert.LessOrEqual(t, rl.table.len(), rateLimitMaxClients)
}

func TestRateLimitEvictsIdle(t *testing.T) {
	clk := newTestClock()
	// burst 2 at 1/s: a bucket is full again 2 s after its last use.
	tbl := newRateLimitTable(1, 2, 1000, clk.now)
	for i := range 100 {
		tbl.allow(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}))
	}
	require.Equal(t, 100, tbl.len())

	// A busy client keeps its state across the sweep.
	busy := netip.MustParseAddr("198.51.100.1")
	tbl.allow(busy)
	tbl.allow(busy)
	ok, _ := tbl.allow(busy)
	require.False(t, ok)

	clk.advance(2 * time.Second)
	// Every insert sweeps up to rateLimitSweep idle entries.
	for i := range 20 {
		tbl.allow(netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}))
	}
	assert.Equal(t, 20, tbl.len(), "the 100 idle clients and the refilled busy one were evicted")
	ok, _ = tbl.allow(busy)
	assert.True(t, ok, "the busy client's bucket had refilled, so forgetting it lost nothing")
}

func TestRateLimitLRUKeepsActiveClient(t *testing.T) {
	clk := newTestClock()
	tbl := newRateLimitTable(rate.Every(time.Hour), 1, 10, clk.now)
	busy := netip.MustParseAddr("198.51.100.1")
	ok, _ := tbl.allow(busy)
	require.True(t, ok)
	for i := range 1000 {
		tbl.allow(netip.AddrFrom4([4]byte{192, 0, byte(i >> 8), byte(i)}))
		// The busy client keeps coming back, so it is never the least
		// recently used and keeps its (empty) bucket.
		ok, _ := tbl.allow(busy)
		require.False(t, ok, "iteration %d: the busy client must stay limited", i)
	}
	assert.LessOrEqual(t, tbl.len(), 10)
}

func TestRateLimitConcurrent(t *testing.T) {
	h, err := newRateLimitHandler(muxTestHandler("x"), rateLimitConfig{limit: 1, burst: 50}, nil, discardLoggerForRateLimit())
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, rateLimitTestReq(fmt.Sprintf("192.0.2.%d:1", (g*500+i)%20)))
				mu.Lock()
				codes[rec.Code]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// 20 clients with a burst of 50 each; a few tokens may refill while
	// the test runs, but far fewer than the 2000 requests sent.
	assert.GreaterOrEqual(t, codes[200], 20*50)
	assert.Less(t, codes[200], 20*50+200)
	assert.Equal(t, 2000, codes[200]+codes[429])
}

func TestRateLimitTinyLimitNeverIdle(t *testing.T) {
	clk := newTestClock()
	tbl := newRateLimitTable(1e-15, 1000, 10, clk.now)
	assert.Equal(t, time.Duration(math.MaxInt64), tbl.idle, "no overflow into a negative idle time")
	key := netip.MustParseAddr("192.0.2.1")
	tbl.allow(key)
	clk.advance(24 * time.Hour)
	tbl.allow(netip.MustParseAddr("192.0.2.2"))
	assert.Equal(t, 2, tbl.len(), "the first client is not idle after a day")
}

func TestRateLimitInfDisables(t *testing.T) {
	next := muxTestHandler("x")
	h, err := newRateLimitHandler(next, rateLimitConfig{limit: rate.Inf, burst: 0}, nil, discardLoggerForRateLimit())
	require.NoError(t, err)
	_, isLimiter := h.(*rateLimitHandler)
	assert.False(t, isLimiter, "rate.Inf leaves the route unlimited")
}

func discardLoggerForRateLimit() *slog.Logger { return slog.New(slog.DiscardHandler) }

func BenchmarkRateLimit(b *testing.B) {
	h, err := newRateLimitHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
		rateLimitConfig{limit: 1e9, burst: 1 << 30}, nil, discardLoggerForRateLimit())
	require.NoError(b, err)
	require.IsType(b, &rateLimitHandler{}, h)
	req := rateLimitTestReq("192.0.2.1:1")
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}
