package frontdoor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
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

// rateLimitTestMux returns a Mux with one rate-limited route, "/api", whose
// handler answers 200 "api", and a quiet logger unless opts give one.
func rateLimitTestMux(opts ...RouteOption) *Mux {
	m := NewMux()
	m.Handle("/api", muxTestHandler("api"), append([]RouteOption{WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	return m
}

func rateLimitTestServe(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestRateLimitThroughMux(t *testing.T) {
	m := NewMux()
	m.Handle("/api", muxTestHandler("api"), WithRateLimit(1, 3))
	m.Handle("/", muxTestHandler("root"))

	for i := range 3 {
		rec := rateLimitTestServe(m, rateLimitTestReq("192.0.2.1:1000"))
		require.Equal(t, http.StatusOK, rec.Code, "request %d is within the burst", i)
		assert.Empty(t, rec.Header().Get("RateLimit"), "allowed answers carry no rate-limit header")
	}
	rec := rateLimitTestServe(m, rateLimitTestReq("192.0.2.1:1001"))
	assert.Equal(t, http.StatusTooManyRequests, rec.Code, "the fourth request in a burst of 3 is refused")
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))
	assert.Equal(t, `"default";q=3;w=3`, rec.Header().Get("RateLimit-Policy"))
	assert.Equal(t, `"default";r=0;t=1`, rec.Header().Get("RateLimit"))
	assert.NotContains(t, rec.Body.String(), "api", "the handler is not called")

	rec = rateLimitTestServe(m, rateLimitTestReq("192.0.2.2:1000"))
	assert.Equal(t, http.StatusOK, rec.Code, "another client has its own bucket")

	rec = rateLimitTestServe(m, httptest.NewRequest(http.MethodGet, "/other", nil))
	assert.Equal(t, http.StatusOK, rec.Code, "other routes are not limited")
}

func TestRateLimitRetryAfter(t *testing.T) {
	clk := newTestClock()
	tbl := newRateLimitTable(rate.Every(10*time.Second), 1, 100, clk.now)
	h := &rateLimitHandler{next: muxTestHandler("x"), limiter: tbl, logger: slog.New(slog.DiscardHandler)}
	require.Equal(t, 200, rateLimitTestServe(h, rateLimitTestReq("192.0.2.1:5")).Code)
	clk.advance(500 * time.Millisecond)
	rec := rateLimitTestServe(h, rateLimitTestReq("192.0.2.1:5"))
	assert.Equal(t, http.StatusTooManyRequests, rec.Code)
	assert.Equal(t, "10", rec.Header().Get("Retry-After"), "9.5 s in whole seconds, rounded up")
	assert.Equal(t, `"default";r=0;t=10`, rec.Header().Get("RateLimit"), "the effective window ends when Retry-After does")
	assert.Equal(t, `"default";q=1;w=10`, rec.Header().Get("RateLimit-Policy"))
}

// TestRateLimitHeaders pins the 429's headers for a range of decisions, in
// the structured-field syntax of the IETF httpapi RateLimit draft.
func TestRateLimitHeaders(t *testing.T) {
	tests := []struct {
		name       string
		give       RateLimitDecision
		wantRetry  string
		wantPolicy string
		wantLimit  string
	}{
		{"a second", RateLimitDecision{Limit: 10, Window: 5 * time.Second, RetryAfter: time.Second},
			"1", `"default";q=10;w=5`, `"default";r=0;t=1`},
		{"rounded up", RateLimitDecision{Limit: 20, Window: 2001 * time.Millisecond, RetryAfter: 1001 * time.Millisecond},
			"2", `"default";q=20;w=3`, `"default";r=0;t=2`},
		{"sub-second window", RateLimitDecision{Limit: 1, Window: 10 * time.Millisecond, RetryAfter: 10 * time.Millisecond},
			"1", `"default";q=1;w=1`, `"default";r=0;t=1`},
		{"zero retry", RateLimitDecision{Limit: 3, Window: time.Minute},
			"1", `"default";q=3;w=60`, `"default";r=0;t=1`},
		{"remaining for a larger cost", RateLimitDecision{Limit: 3, Window: time.Minute, Remaining: 2, RetryAfter: 20 * time.Second},
			"20", `"default";q=3;w=60`, `"default";r=2;t=20`},
		{"negative remaining", RateLimitDecision{Limit: 3, Window: time.Minute, Remaining: -4, RetryAfter: time.Second},
			"1", `"default";q=3;w=60`, `"default";r=0;t=1`},
		{"limit unknown", RateLimitDecision{RetryAfter: 90 * time.Second},
			"90", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			writeRateLimited(rec, httptest.NewRequest(http.MethodGet, "/", nil), tt.give)
			assert.Equal(t, http.StatusTooManyRequests, rec.Code)
			assert.Equal(t, tt.wantRetry, rec.Header().Get("Retry-After"))
			assert.Equal(t, tt.wantPolicy, rec.Header().Get("RateLimit-Policy"))
			assert.Equal(t, tt.wantLimit, rec.Header().Get("RateLimit"))
		})
	}
}

func TestRateLimitTrustedProxies(t *testing.T) {
	m := rateLimitTestMux(WithRateLimit(1, 1), WithTrustedProxies("10.0.0.0/8"))
	serve := func(r *http.Request) int { return rateLimitTestServe(m, r).Code }
	// Behind a trusted proxy, each forwarded client has its own bucket.
	assert.Equal(t, 200, serve(rateLimitTestReq("10.0.0.1:1", "198.51.100.1")))
	assert.Equal(t, 200, serve(rateLimitTestReq("10.0.0.1:1", "198.51.100.2")))
	assert.Equal(t, 429, serve(rateLimitTestReq("10.0.0.2:1", "198.51.100.1")), "same client through another proxy")

	// An untrusted peer cannot escape its bucket by spoofing the header.
	assert.Equal(t, 200, serve(rateLimitTestReq("203.0.113.5:1", "1.1.1.1")))
	assert.Equal(t, 429, serve(rateLimitTestReq("203.0.113.5:1", "2.2.2.2")))
}

func TestRateLimitIPv6Per64(t *testing.T) {
	m := rateLimitTestMux(WithRateLimit(1, 1))
	serve := func(remote string) int { return rateLimitTestServe(m, rateLimitTestReq(remote)).Code }
	assert.Equal(t, 200, serve("[2001:db8:1:2::1]:1"))
	assert.Equal(t, 429, serve("[2001:db8:1:2:ffff::9]:1"), "same /64")
	assert.Equal(t, 200, serve("[2001:db8:1:3::1]:1"), "another /64")
	assert.Equal(t, 200, serve("[::ffff:192.0.2.7]:1"), "mapped IPv4 is per address")
	assert.Equal(t, 429, serve("192.0.2.7:1"), "and the same address as plain IPv4")
}

// TestRateLimitClientKey pins the key a client is counted against: the key
// a RateLimiter sees, and so the Redis key of a shared limiter.
func TestRateLimitClientKey(t *testing.T) {
	tests := []struct {
		give    string
		xff     string
		trusted bool
		want    string
	}{
		{give: "192.0.2.1:1000", want: "192.0.2.1"},
		{give: "192.0.2.1", want: "192.0.2.1"},
		{give: "[::ffff:192.0.2.7]:1", want: "192.0.2.7"},
		{give: "[2001:db8:1:2:3:4:5:6]:443", want: "2001:db8:1:2::/64"},
		{give: "[fe80::1%eth0]:1", want: "fe80::/64"},
		{give: "@unix", want: ""},
		{give: "", want: ""},
		{give: "10.0.0.1:1", xff: "198.51.100.1", want: "10.0.0.1"},
		{give: "10.0.0.1:1", xff: "198.51.100.1", trusted: true, want: "198.51.100.1"},
		{give: "10.0.0.1:1", xff: " 198.51.100.1:8080 ", trusted: true, want: "198.51.100.1"},
		{give: "10.0.0.1:1", xff: "[2001:db8::1]", trusted: true, want: "2001:db8::/64"},
		{give: "10.0.0.1:1", xff: "::ffff:198.51.100.3, 10.0.0.9", trusted: true, want: "198.51.100.3"},
		{give: "10.0.0.1:1", xff: "bogus", trusted: true, want: "10.0.0.1"},
	}
	nets, err := parseTrustedNets([]string{"10.0.0.0/8"})
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run(tt.give+"|"+tt.xff, func(t *testing.T) {
			r := rateLimitTestReq(tt.give)
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			h := &rateLimitHandler{}
			if tt.trusted {
				h.trusted = nets
			}
			assert.Equal(t, tt.want, h.key(r))
		})
	}

	h := &rateLimitHandler{trusted: nets}
	for _, r := range []*http.Request{rateLimitTestReq("192.0.2.1:1000"), rateLimitTestReq("10.0.0.1:1", "198.51.100.1")} {
		allocs := testing.AllocsPerRun(100, func() { h.key(r) })
		assert.Zero(t, allocs, "an IPv4 client's key is a substring of the request, not a new string")
	}
}

// FuzzRateLimitClientKey checks the key taken from the request's text
// against the key formatted from the parsed address, for any peer and
// X-Forwarded-For.
func FuzzRateLimitClientKey(f *testing.F) {
	f.Add("192.0.2.1:1000", "", false)
	f.Add("10.0.0.1:1", "198.51.100.1, 10.0.0.2", true)
	f.Add("10.0.0.1:1", "[::ffff:1.2.3.4]:80", true)
	f.Add("[2001:db8::1]:1", "", false)
	f.Add("10.0.0.1:1", "01.2.3.4", true)
	nets, err := parseTrustedNets([]string{"10.0.0.0/8", "2001:db8::/32"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, remote, xff string, trust bool) {
		h := &rateLimitHandler{}
		if trust {
			h.trusted = nets
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		a := h.trusted.clientIP(r)
		want := ""
		switch {
		case a.Is4():
			want = a.String()
		case a.IsValid():
			p, err := a.Prefix(64)
			if err != nil {
				t.Fatalf("prefix of %v: %v", a, err)
			}
			want = p.String()
		}
		if got := h.key(r); got != want {
			t.Fatalf("key %q, want %q for client %v", got, want, a)
		}
	})
}

func TestWithRateLimitKey(t *testing.T) {
	m := rateLimitTestMux(WithRateLimit(rate.Every(time.Hour), 1),
		WithRateLimitKey(func(r *http.Request) string { return r.Header.Get("X-Api-Key") }))
	serve := func(remote, key string) int {
		r := rateLimitTestReq(remote)
		if key != "" {
			r.Header.Set("X-Api-Key", key)
		}
		return rateLimitTestServe(m, r).Code
	}
	assert.Equal(t, 200, serve("192.0.2.1:1", "alice"))
	assert.Equal(t, 200, serve("192.0.2.1:1", "bob"), "another key from the same address has its own bucket")
	assert.Equal(t, 429, serve("192.0.2.2:1", "alice"), "the same key from another address shares its bucket")
	assert.Equal(t, 200, serve("192.0.2.1:1", ""), "no key: counted by client address")
	assert.Equal(t, 429, serve("192.0.2.1:1", ""))
	assert.Equal(t, 200, serve("192.0.2.3:1", ""))
}

// rateLimitTestLimiter is a user-written RateLimiter: it allows every
// request, or fails with err and the decision allow, and counts its calls.
type rateLimitTestLimiter struct {
	mu    sync.Mutex
	err   error
	allow bool
	keys  []string
	calls atomic.Int64
}

func (l *rateLimitTestLimiter) Allow(_ context.Context, key string, cost int) (RateLimitDecision, error) {
	l.calls.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keys = append(l.keys, fmt.Sprintf("%s/%d", key, cost))
	if l.err != nil {
		return RateLimitDecision{Allowed: l.allow}, l.err
	}
	return RateLimitDecision{Allowed: true, Limit: 1, Remaining: 1}, nil
}

func (l *rateLimitTestLimiter) set(err error, allow bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.err, l.allow = err, allow
}

// rateLimitTestLog records log lines.
type rateLimitTestLog struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *rateLimitTestLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *rateLimitTestLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *rateLimitTestLog) WithGroup(string) slog.Handler            { return l }
func (l *rateLimitTestLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r.Clone())
	return nil
}

// lines returns "LEVEL message" for each record at or above min, with the
// value of attr appended when the record has it.
func (l *rateLimitTestLog) lines(min slog.Level, attr string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.recs {
		if r.Level < min {
			continue
		}
		s := r.Level.String() + " " + r.Message
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == attr {
				s += " " + attr + "=" + a.Value.String()
			}
			return true
		})
		out = append(out, s)
	}
	return out
}

func TestWithRateLimiterFailOpen(t *testing.T) {
	lim := &rateLimitTestLimiter{}
	logs := &rateLimitTestLog{}
	m := NewMux()
	m.Handle("/api", muxTestHandler("api"), WithRateLimiter(lim), WithLogger(slog.New(logs)))

	require.Equal(t, 200, rateLimitTestServe(m, rateLimitTestReq("192.0.2.1:1")).Code)
	lim.set(errors.New("store unreachable"), true)
	for range 100 {
		rec := rateLimitTestServe(m, rateLimitTestReq("192.0.2.1:1"))
		require.Equal(t, 200, rec.Code, "a limiter that fails open lets requests through")
		require.Equal(t, "api /api/x", rec.Body.String())
	}
	assert.Equal(t, []string{"WARN frontdoor: rate limiter failed; requests pass unlimited failures=1"},
		logs.lines(slog.LevelInfo, "failures"), "one warning, not one per request")

	lim.set(nil, false)
	for range 3 {
		require.Equal(t, 200, rateLimitTestServe(m, rateLimitTestReq("192.0.2.1:1")).Code)
	}
	assert.Equal(t, []string{
		"WARN frontdoor: rate limiter failed; requests pass unlimited failures=1",
		"INFO frontdoor: rate limiter answers again",
	}, logs.lines(slog.LevelInfo, "failures"), "recovery is logged once")
	assert.Equal(t, int64(104), lim.calls.Load(), "one decision per request")
}

func TestWithRateLimiterFailClosed(t *testing.T) {
	lim := &rateLimitTestLimiter{}
	lim.set(errors.New("store unreachable"), false)
	logs := &rateLimitTestLog{}
	m := NewMux()
	m.Handle("/api", muxTestHandler("api"), WithRateLimiter(lim), WithLogger(slog.New(logs)))

	for range 10 {
		r := rateLimitTestReq("192.0.2.1:1")
		r.Header.Set("Accept", "application/json")
		rec := rateLimitTestServe(m, r)
		require.Equal(t, http.StatusServiceUnavailable, rec.Code, "a limiter that fails closed refuses with 503")
		assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
		assert.JSONEq(t, `{"type":"about:blank","title":"Service Unavailable","status":503}`, rec.Body.String())
		assert.Empty(t, rec.Header().Get("Retry-After"), "nobody knows when the limiter is back")
		assert.Empty(t, rec.Header().Get("RateLimit"), "the client is not over any quota")
	}
	assert.Equal(t, []string{"WARN frontdoor: rate limiter failed; requests are refused with 503"}, logs.lines(slog.LevelInfo, ""))
}

// TestRateLimitOutcome checks that every decision is classified once, for
// the counters an observer keeps.
func TestRateLimitOutcome(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		allow     bool
		want      RateLimitOutcome
		wantPass  bool
		wantLabel string
	}{
		{"answered", nil, false, RateLimitAllowed, true, "allowed"},
		{"failed open", errors.New("x"), true, RateLimitErrored, true, "errored"},
		{"failed closed", errors.New("x"), false, RateLimitErrored, false, "errored"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lim := &rateLimitTestLimiter{}
			lim.set(tt.err, tt.allow)
			h := &rateLimitHandler{limiter: lim, logger: slog.New(slog.DiscardHandler), warn: rate.Sometimes{Interval: time.Hour}}
			d, got := h.decide(rateLimitTestReq("192.0.2.1:1"))
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.wantPass, d.Allowed)
			assert.Equal(t, tt.wantLabel, got.String())
		})
	}

	h := &rateLimitHandler{limiter: newRateLimitTable(1, 1, 10, time.Now), logger: slog.New(slog.DiscardHandler)}
	_, got := h.decide(rateLimitTestReq("192.0.2.1:1"))
	assert.Equal(t, RateLimitAllowed, got)
	_, got = h.decide(rateLimitTestReq("192.0.2.1:1"))
	assert.Equal(t, RateLimitLimited, got)
	assert.Equal(t, "limited", got.String())
	assert.Equal(t, "RateLimitOutcome(9)", RateLimitOutcome(9).String())
}

func TestWithRateLimiterPassesKeyAndCost(t *testing.T) {
	lim := &rateLimitTestLimiter{}
	m := rateLimitTestMux(WithRateLimiter(lim), WithTrustedProxies("10.0.0.1"))
	rateLimitTestServe(m, rateLimitTestReq("10.0.0.1:1", "198.51.100.7"))
	rateLimitTestServe(m, rateLimitTestReq("[2001:db8:a:b:c::1]:1"))
	assert.Equal(t, []string{"198.51.100.7/1", "2001:db8:a:b::/64/1"}, lim.keys)
}

// TestRateLimitOptionsReplaceEachOther checks that of WithRateLimit and
// WithRateLimiter, the last one given wins, and that nil means no limit.
func TestRateLimitOptionsReplaceEachOther(t *testing.T) {
	lim := &rateLimitTestLimiter{}
	m := rateLimitTestMux(WithRateLimiter(lim), WithRateLimit(rate.Every(time.Hour), 1))
	rateLimitTestServe(m, rateLimitTestReq("192.0.2.1:1"))
	assert.Equal(t, 429, rateLimitTestServe(m, rateLimitTestReq("192.0.2.1:1")).Code, "WithRateLimit came last")
	assert.Zero(t, lim.calls.Load())

	m = rateLimitTestMux(WithRateLimit(rate.Every(time.Hour), 1), WithRateLimiter(lim))
	for range 3 {
		assert.Equal(t, 200, rateLimitTestServe(m, rateLimitTestReq("192.0.2.1:1")).Code, "WithRateLimiter came last")
	}
	assert.Equal(t, int64(3), lim.calls.Load())

	m = rateLimitTestMux(WithRateLimit(rate.Every(time.Hour), 1), WithRateLimiter(nil))
	for range 3 {
		assert.Equal(t, 200, rateLimitTestServe(m, rateLimitTestReq("192.0.2.1:1")).Code, "a nil limiter leaves the route unlimited")
	}
}

// TestRateLimitHandlerMemoryBound sends 20k IPv6 clients through a route:
// its table stays within its bound.
func TestRateLimitHandlerMemoryBound(t *testing.T) {
	h, err := newRateLimitHandler(muxTestHandler("x"), &routeConfig{rateLimit: &rateLimitConfig{limit: 1, burst: 1}}, "/")
	require.NoError(t, err)
	rl := h.(*rateLimitHandler)
	for i := range 20_000 {
		rec := rateLimitTestServe(rl, rateLimitTestReq(fmt.Sprintf("[2001:db8:%x:%x::1]:1", i>>16, i&0xffff)))
		require.Equal(t, 200, rec.Code)
	}
	assert.LessOrEqual(t, rl.limiter.(*rateLimitTable).len(), rateLimitMaxClients)
}

func TestRateLimitConcurrent(t *testing.T) {
	m := rateLimitTestMux(WithRateLimit(1, 50))
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for g := range 4 {
		wg.Go(func() {
			for i := range 500 {
				rec := rateLimitTestServe(m, rateLimitTestReq(fmt.Sprintf("192.0.2.%d:1", (g*500+i)%20)))
				mu.Lock()
				codes[rec.Code]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	// 20 clients with a burst of 50 each; a few tokens may refill while
	// the test runs, but far fewer than the 2000 requests sent.
	assert.GreaterOrEqual(t, codes[200], 20*50)
	assert.Less(t, codes[200], 20*50+200)
	assert.Equal(t, 2000, codes[200]+codes[429])
}

func TestRateLimitInfDisables(t *testing.T) {
	next := muxTestHandler("x")
	h, err := newRateLimitHandler(next, &routeConfig{rateLimit: &rateLimitConfig{limit: rate.Inf, burst: 0}}, "/")
	require.NoError(t, err)
	_, isLimiter := h.(*rateLimitHandler)
	assert.False(t, isLimiter, "rate.Inf leaves the route unlimited")
}

func BenchmarkRateLimit(b *testing.B) {
	h, err := newRateLimitHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
		&routeConfig{rateLimit: &rateLimitConfig{limit: 1e9, burst: 1 << 30}, logger: slog.New(slog.DiscardHandler)}, "/")
	require.NoError(b, err)
	require.IsType(b, &rateLimitHandler{}, h)
	req := rateLimitTestReq("192.0.2.1:1")
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}
