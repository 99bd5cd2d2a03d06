package redisrate

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/frontdoor-go/frontdoor"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"
)

// testLog records a gateway's log lines.
type testLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *testLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *testLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *testLog) WithGroup(string) slog.Handler            { return l }
func (l *testLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, r.Level.String()+" "+r.Message)
	return nil
}

// atLeast returns the lines at level min or above ("WARN", "INFO", ...).
func (l *testLog) atLeast(min slog.Level) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, s := range l.lines {
		var lvl slog.Level
		if err := lvl.UnmarshalText([]byte(s[:strings.IndexByte(s, ' ')])); err == nil && lvl >= min {
			out = append(out, s)
		}
	}
	return out
}

// newTestGateway returns a Mux with one route, "/api", limited by opt, whose
// handler answers 200 "ok"; logs go to log, or nowhere when log is nil.
func newTestGateway(opt frontdoor.RouteOption, log *testLog) *frontdoor.Mux {
	var h slog.Handler = slog.DiscardHandler
	if log != nil {
		h = log
	}
	m := frontdoor.NewMux()
	m.Handle("/api", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }),
		opt, frontdoor.WithLogger(slog.New(h)))
	return m
}

// get sends GET /api/x from client to gw and returns the recorded answer.
func get(gw http.Handler, client string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/api/x", nil)
	r.RemoteAddr = client + ":40000"
	rec := httptest.NewRecorder()
	gw.ServeHTTP(rec, r)
	return rec
}

func mustNew(t testing.TB, c redis.UniversalClient, limit rate.Limit, burst int, opts ...Option) *Limiter {
	t.Helper()
	l, err := New(c, limit, burst, opts...)
	require.NoError(t, err)
	return l
}

// TestLimiterSharedAcrossGateways sends one client's requests alternately
// to two gateways for a while. Over one Redis they let through together
// what one limit allows (burst + rate × elapsed, within one request); with
// in-memory limits each lets through that much, twice in all.
func TestLimiterSharedAcrossGateways(t *testing.T) {
	srv := startRedis(t)
	// The burst takes 2 s to refill, longer than the run: however the
	// requests are spaced, no refilled token is lost to a full bucket.
	const limit, burst = 10, 20
	const run = 1500 * time.Millisecond

	// flood alternates requests between a and b for run and counts the
	// 200s, with the bounds of the time the limit had to refill: from the
	// end of the first request to the start of the last, and from the
	// start of the first to the end of the last.
	flood := func(a, b http.Handler) (ok int, lo, hi float64) {
		var firstStart, firstEnd, lastStart, lastEnd time.Time
		for i := 0; ; i++ {
			gw := a
			if i%2 == 1 {
				gw = b
			}
			start := time.Now()
			code := get(gw, "198.51.100.7").Code
			end := time.Now()
			require.Contains(t, []int{200, 429}, code)
			if code == 200 {
				ok++
			}
			if i == 0 {
				firstStart, firstEnd = start, end
			}
			lastStart, lastEnd = start, end
			if end.Sub(firstStart) >= run {
				break
			}
		}
		lo = burst + math.Floor(limit*lastStart.Sub(firstEnd).Seconds())
		hi = burst + math.Floor(limit*lastEnd.Sub(firstStart).Seconds())
		return ok, lo, hi
	}

	shared := func() http.Handler {
		return newTestGateway(frontdoor.WithRateLimiter(
			mustNew(t, newTestClient(t, srv.addr()), limit, burst, WithTimeout(5*time.Second))), nil)
	}
	ok, lo, hi := flood(shared(), shared())
	t.Logf("over one Redis: %d allowed, one limit allows %v..%v", ok, lo, hi)
	assert.GreaterOrEqual(t, float64(ok), lo-1, "the two gateways let through what one limit allows")
	assert.LessOrEqual(t, float64(ok), hi+1, "the two gateways let through what one limit allows")

	local := func() http.Handler { return newTestGateway(frontdoor.WithRateLimit(limit, burst), nil) }
	ok, lo, hi = flood(local(), local())
	t.Logf("in memory: %d allowed, one limit allows %v..%v", ok, lo, hi)
	assert.GreaterOrEqual(t, float64(ok), 2*lo-2, "two in-memory limits let through twice as much")
	assert.LessOrEqual(t, float64(ok), 2*hi+2)
}

// TestLimiterDecision checks the figures of a decision made in Redis: the
// burst, its refill time, the tokens left and the wait.
func TestLimiterDecision(t *testing.T) {
	srv := startRedis(t)
	lim := mustNew(t, newTestClient(t, srv.addr()), rate.Every(time.Minute), 3, WithTimeout(5*time.Second))
	ctx := context.Background()
	for i, want := range []int{2, 1, 0} {
		d, err := lim.Allow(ctx, "k", 1)
		require.NoError(t, err)
		assert.True(t, d.Allowed, "request %d", i)
		assert.Equal(t, want, d.Remaining, "request %d", i)
		assert.Equal(t, 3, d.Limit)
		assert.Equal(t, 3*time.Minute, d.Window)
		assert.Zero(t, d.RetryAfter)
	}
	d, err := lim.Allow(ctx, "k", 1)
	require.NoError(t, err)
	assert.False(t, d.Allowed, "the burst is spent")
	assert.Equal(t, 0, d.Remaining)
	assert.Greater(t, d.RetryAfter, 50*time.Second, "a token comes back a minute after the first request")
	assert.LessOrEqual(t, d.RetryAfter, time.Minute)

	d, err = lim.Allow(ctx, "other", 4)
	require.NoError(t, err)
	assert.False(t, d.Allowed, "a cost above the burst never passes")
	assert.Equal(t, 3, d.Remaining, "and takes nothing")
	d, err = lim.Allow(ctx, "other", 3)
	require.NoError(t, err)
	assert.True(t, d.Allowed, "a cost equal to the burst passes on a full bucket")

	_, err = lim.Allow(ctx, "other", 0)
	assert.EqualError(t, err, "redisrate: cost 0 must be at least 1")
}

// TestLimiterHeadersMatchInMemory checks that a refusal through Redis
// carries the same headers as one through the in-memory limit.
func TestLimiterHeadersMatchInMemory(t *testing.T) {
	srv := startRedis(t)
	limit, burst := rate.Every(time.Minute), 2
	for name, opt := range map[string]frontdoor.RouteOption{
		"in memory": frontdoor.WithRateLimit(limit, burst),
		"redis":     frontdoor.WithRateLimiter(mustNew(t, newTestClient(t, srv.addr()), limit, burst, WithTimeout(5*time.Second))),
	} {
		t.Run(name, func(t *testing.T) {
			gw := newTestGateway(opt, nil)
			require.Equal(t, 200, get(gw, "192.0.2.1").Code)
			require.Equal(t, 200, get(gw, "192.0.2.1").Code)
			rec := get(gw, "192.0.2.1")
			require.Equal(t, http.StatusTooManyRequests, rec.Code)
			assert.Equal(t, "60", rec.Header().Get("Retry-After"))
			assert.Equal(t, `"default";q=2;w=120`, rec.Header().Get("RateLimit-Policy"))
			assert.Equal(t, `"default";r=0;t=60`, rec.Header().Get("RateLimit"))
			assert.Equal(t, "Too Many Requests\n", rec.Body.String())
		})
	}
}

// TestLimiterFailsOpenWhenRedisStops stops Redis under a gateway: requests
// pass, each within the decision timeout, and one warning is logged for
// all of them.
func TestLimiterFailsOpenWhenRedisStops(t *testing.T) {
	srv := startRedis(t)
	const timeout = 200 * time.Millisecond
	log := &testLog{}
	gw := newTestGateway(frontdoor.WithRateLimiter(
		mustNew(t, newTestClient(t, srv.addr()), rate.Every(time.Hour), 1, WithTimeout(timeout))), log)
	require.Equal(t, 200, get(gw, "192.0.2.1").Code)
	require.Equal(t, 429, get(gw, "192.0.2.1").Code, "Redis limits before it stops")

	srv.stop()
	// 20 decisions of at most 200 ms each stay within the 10 s between
	// two warnings.
	for i := range 20 {
		start := time.Now()
		rec := get(gw, "192.0.2.1")
		took := time.Since(start)
		require.Equal(t, 200, rec.Code, "request %d passes while Redis is down", i)
		// Generous slack for a loaded machine; without the timeout a
		// dead connection would wait for the client's 30 s.
		require.Less(t, took, timeout+time.Second, "request %d waited past the timeout", i)
	}
	assert.Equal(t, []string{"WARN frontdoor: rate limiter failed; requests pass unlimited"}, log.atLeast(slog.LevelInfo),
		"one warning for 20 failed decisions")
}

// TestLimiterFailsFastWithoutRetries stops Redis under a limiter whose
// client neither retries commands nor redials (MaxRetries -1,
// DialerRetries 1), as the package doc suggests: decisions fail at once
// instead of spending the timeout on retries.
func TestLimiterFailsFastWithoutRetries(t *testing.T) {
	srv := startRedis(t)
	const timeout = 500 * time.Millisecond
	c := redis.NewClient(&redis.Options{Addr: srv.addr(), ContextTimeoutEnabled: true, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { c.Close() })
	lim := mustNew(t, c, rate.Every(time.Hour), 1, WithTimeout(timeout))
	ctx := context.Background()
	_, err := lim.Allow(ctx, "k", 1)
	require.NoError(t, err)

	srv.stop()
	const n = 40
	start := time.Now()
	for i := range n {
		d, err := lim.Allow(ctx, "k", 1)
		require.Error(t, err, "decision %d", i)
		require.True(t, d.Allowed, "fail open")
	}
	took := time.Since(start)
	t.Logf("%d failed decisions took %v", n, took)
	// Waiting out the timeout each time would take n*timeout = 20 s.
	assert.Less(t, took, n*timeout/4, "failed decisions do not wait for the timeout")
}

// TestLimiterFailsClosed stops Redis under a gateway whose limiter fails
// closed: requests get 503, not 429, within the timeout.
func TestLimiterFailsClosed(t *testing.T) {
	srv := startRedis(t)
	const timeout = 200 * time.Millisecond
	log := &testLog{}
	gw := newTestGateway(frontdoor.WithRateLimiter(
		mustNew(t, newTestClient(t, srv.addr()), rate.Every(time.Hour), 5, WithTimeout(timeout), WithFailClosed())), log)
	require.Equal(t, 200, get(gw, "192.0.2.1").Code)

	srv.stop()
	for i := range 20 {
		start := time.Now()
		rec := get(gw, "192.0.2.1")
		took := time.Since(start)
		require.Equal(t, http.StatusServiceUnavailable, rec.Code, "request %d", i)
		assert.Empty(t, rec.Header().Get("Retry-After"))
		require.Less(t, took, timeout+time.Second, "request %d waited past the timeout", i)
	}
	assert.Equal(t, []string{"WARN frontdoor: rate limiter failed; requests are refused with 503"}, log.atLeast(slog.LevelInfo))
}

// TestLimiterTimesOutOnHungRedis freezes Redis (it accepts, never answers):
// a decision gives up at the timeout, not at the client's 30 s socket
// timeout, open or closed as configured, and limiting resumes when Redis
// does.
func TestLimiterTimesOutOnHungRedis(t *testing.T) {
	srv := startRedis(t)
	const timeout = 100 * time.Millisecond
	open := newTestGateway(frontdoor.WithRateLimiter(
		mustNew(t, newTestClient(t, srv.addr()), rate.Every(time.Hour), 1, WithTimeout(timeout))), nil)
	closed := newTestGateway(frontdoor.WithRateLimiter(
		mustNew(t, newTestClient(t, srv.addr()), rate.Every(time.Hour), 1, WithTimeout(timeout), WithFailClosed(), WithPrefix("closed:"))), nil)
	require.Equal(t, 200, get(open, "192.0.2.1").Code)
	require.Equal(t, 200, get(closed, "192.0.2.1").Code)

	srv.pause()
	for i := range 5 {
		for _, tt := range []struct {
			gw   http.Handler
			want int
		}{{open, 200}, {closed, 503}} {
			start := time.Now()
			code := get(tt.gw, "192.0.2.1").Code
			took := time.Since(start)
			require.Equal(t, tt.want, code, "request %d", i)
			require.Less(t, took, timeout+time.Second, "request %d waited past the timeout", i)
		}
	}

	srv.resume()
	require.Eventually(t, func() bool { return get(open, "192.0.2.1").Code == 429 }, 10*time.Second, 20*time.Millisecond,
		"limiting resumes when Redis answers again")
	require.Eventually(t, func() bool { return get(closed, "192.0.2.1").Code == 429 }, 10*time.Second, 20*time.Millisecond)
}

// TestLimiterResumesAfterRedisRestart stops Redis and starts a new one on
// the same port: requests pass meanwhile, and limiting resumes by itself.
func TestLimiterResumesAfterRedisRestart(t *testing.T) {
	srv := startRedis(t)
	log := &testLog{}
	gw := newTestGateway(frontdoor.WithRateLimiter(
		mustNew(t, newTestClient(t, srv.addr()), rate.Every(time.Hour), 1, WithTimeout(200*time.Millisecond))), log)
	require.Equal(t, 200, get(gw, "192.0.2.1").Code)
	require.Equal(t, 429, get(gw, "192.0.2.1").Code)

	srv.stop()
	for range 5 {
		require.Equal(t, 200, get(gw, "192.0.2.1").Code)
	}
	srv.start()
	// The new Redis is empty, so the client gets its burst back, then
	// is limited again.
	require.Eventually(t, func() bool { return get(gw, "192.0.2.1").Code == 429 }, 15*time.Second, 20*time.Millisecond,
		"limiting resumes without a restart of the gateway")
	// A warning when Redis went away, a line when it came back (more, if
	// the wait outlasted the 10 s between warnings or a stale connection
	// failed once more).
	lines := log.atLeast(slog.LevelInfo)
	require.GreaterOrEqual(t, len(lines), 2)
	assert.Equal(t, "WARN frontdoor: rate limiter failed; requests pass unlimited", lines[0])
	assert.Equal(t, "INFO frontdoor: rate limiter answers again", lines[len(lines)-1])
}

// TestLimiterKeysExpire checks that a bucket's key expires when the bucket
// is full again, so Redis holds only active clients.
func TestLimiterKeysExpire(t *testing.T) {
	srv := startRedis(t)
	c := newTestClient(t, srv.addr())
	ctx := context.Background()

	slow := mustNew(t, c, rate.Every(time.Minute), 5, WithTimeout(5*time.Second), WithPrefix("slow:"))
	_, err := slow.Allow(ctx, "192.0.2.1", 1)
	require.NoError(t, err)
	ttl, err := c.TTL(ctx, "slow:{192.0.2.1}").Result()
	require.NoError(t, err)
	assert.InDelta(t, time.Minute, ttl, float64(2*time.Second), "one token spent: full again in a minute")
	_, err = slow.Allow(ctx, "192.0.2.1", 2)
	require.NoError(t, err)
	ttl, err = c.TTL(ctx, "slow:{192.0.2.1}").Result()
	require.NoError(t, err)
	assert.InDelta(t, 3*time.Minute, ttl, float64(2*time.Second), "three tokens spent: full again in three minutes")

	fast := mustNew(t, c, 10, 5, WithTimeout(5*time.Second)) // full again 100 ms per token
	for range 3 {
		_, err := fast.Allow(ctx, "192.0.2.2", 1)
		require.NoError(t, err)
	}
	key := "frontdoor:ratelimit:{192.0.2.2}"
	pttl, err := c.PTTL(ctx, key).Result()
	require.NoError(t, err)
	assert.Greater(t, pttl, 200*time.Millisecond)
	assert.LessOrEqual(t, pttl, 300*time.Millisecond)
	require.Eventually(t, func() bool { return c.Exists(ctx, key).Val() == 0 }, 5*time.Second, 20*time.Millisecond,
		"the key is gone once its bucket is full")
	d, err := fast.Allow(ctx, "192.0.2.2", 1)
	require.NoError(t, err)
	assert.Equal(t, 4, d.Remaining, "a missing key is a full bucket")
}

// TestLimiterKeyIsHashTagged checks the Redis key of a client: the prefix,
// then the client's key in braces (a Redis Cluster hash tag).
func TestLimiterKeyIsHashTagged(t *testing.T) {
	srv := startRedis(t)
	c := newTestClient(t, srv.addr())
	ctx := context.Background()
	gw := newTestGateway(frontdoor.WithRateLimiter(mustNew(t, c, 1, 5, WithTimeout(5*time.Second), WithPrefix("api:"))), nil)
	require.Equal(t, 200, get(gw, "198.51.100.7").Code)
	keys, err := c.Keys(ctx, "*").Result()
	require.NoError(t, err)
	assert.Equal(t, []string{"api:{198.51.100.7}"}, keys)
}

// TestLimiterReloadsFlushedScript flushes Redis's script cache: the next
// decision falls back from EVALSHA to EVAL and works.
func TestLimiterReloadsFlushedScript(t *testing.T) {
	srv := startRedis(t)
	c := newTestClient(t, srv.addr())
	ctx := context.Background()
	lim := mustNew(t, c, 1, 2, WithTimeout(5*time.Second))
	_, err := lim.Allow(ctx, "k", 1)
	require.NoError(t, err)
	require.NoError(t, c.ScriptFlush(ctx).Err())
	d, err := lim.Allow(ctx, "k", 1)
	require.NoError(t, err)
	assert.True(t, d.Allowed)
	assert.Equal(t, 0, d.Remaining, "the bucket survived the flush")
	exists, err := c.ScriptExists(ctx, lim.script.Hash()).Result()
	require.NoError(t, err)
	assert.Equal(t, []bool{true}, exists, "EVAL cached the script again")
}

// TestLimiterDecidesForGoneClient checks that a request whose context is
// already cancelled is still decided and charged.
func TestLimiterDecidesForGoneClient(t *testing.T) {
	srv := startRedis(t)
	lim := mustNew(t, newTestClient(t, srv.addr()), rate.Every(time.Hour), 1, WithTimeout(5*time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d, err := lim.Allow(ctx, "k", 1)
	require.NoError(t, err)
	assert.True(t, d.Allowed)
	d, err = lim.Allow(context.Background(), "k", 1)
	require.NoError(t, err)
	assert.False(t, d.Allowed, "the cancelled request was charged")
}

// TestLimiterHoldsNoPerClientState makes a million decisions for a million
// distinct clients and checks the gateway's heap did not grow with them.
func TestLimiterHoldsNoPerClientState(t *testing.T) {
	srv := startRedis(t)
	c := newTestClient(t, srv.addr())
	// 1000/s, burst 1: each key expires a millisecond after its request,
	// so Redis does not fill up either.
	lim := mustNew(t, c, 1000, 1, WithTimeout(5*time.Second))
	const clients = 1_000_000
	const workers = 8
	decide := func(from, to int) {
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				ctx := context.Background()
				for i := from + w; i < to; i += workers {
					d, err := lim.Allow(ctx, fmt.Sprintf("client-%d", i), 1)
					if err != nil || !d.Allowed {
						t.Errorf("client %d: allowed %v, %v", i, d.Allowed, err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	decide(0, 10_000) // warm the connection pool
	before := heap()
	decide(10_000, clients)
	after := heap()
	t.Logf("heap before %d KiB, after %d KiB of decisions for %d clients", before>>10, after>>10, clients)
	// Even 8 bytes per client would be 8 MB.
	assert.Less(t, int64(after)-int64(before), int64(2<<20), "the gateway's heap grew with the number of clients")
	n, err := c.DBSize(context.Background()).Result()
	require.NoError(t, err)
	assert.Less(t, n, int64(clients/10), "expired keys leave Redis too")
}

// TestLimiterThroughRedisCluster runs two gateways over a three-node Redis
// Cluster: clients' keys spread over the nodes, and each client's limit
// holds across both gateways.
func TestLimiterThroughRedisCluster(t *testing.T) {
	cluster := startRedisCluster(t)
	newClient := func() *redis.ClusterClient {
		c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cluster.addrs(), ContextTimeoutEnabled: true})
		t.Cleanup(func() { c.Close() })
		return c
	}
	gw := func() http.Handler {
		return newTestGateway(frontdoor.WithRateLimiter(
			mustNew(t, newClient(), rate.Every(time.Hour), 3, WithTimeout(5*time.Second))), nil)
	}
	a, b := gw(), gw()
	const clients = 30
	for i := range clients {
		client := fmt.Sprintf("192.0.2.%d", i)
		codes := []int{get(a, client).Code, get(b, client).Code, get(a, client).Code, get(b, client).Code, get(a, client).Code}
		assert.Equal(t, []int{200, 200, 200, 429, 429}, codes, "client %s: one burst of 3 across both gateways", client)
	}

	ctx := context.Background()
	holding, total := 0, int64(0)
	for _, n := range cluster.nodes {
		size, err := newTestClient(t, n.addr()).DBSize(ctx).Result()
		require.NoError(t, err)
		if size > 0 {
			holding++
		}
		total += size
	}
	assert.Equal(t, int64(clients), total, "one key per client")
	assert.Equal(t, 3, holding, "the keys are spread over every node")
}

func TestNewRejectsBadOptions(t *testing.T) {
	good := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	t.Cleanup(func() { good.Close() })
	noCtx := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { noCtx.Close() })
	noCtxCluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	t.Cleanup(func() { noCtxCluster.Close() })

	tests := []struct {
		name   string
		client redis.UniversalClient
		limit  rate.Limit
		burst  int
		opts   []Option
		want   string
	}{
		{"nil client", nil, 1, 1, nil, "redisrate: nil client"},
		{"no context timeouts", noCtx, 1, 1, nil, "redisrate: the client must set ContextTimeoutEnabled, or a slow Redis holds requests past the decision timeout"},
		{"cluster without context timeouts", noCtxCluster, 1, 1, nil, "redisrate: the client must set ContextTimeoutEnabled, or a slow Redis holds requests past the decision timeout"},
		{"zero limit", good, 0, 1, nil, "redisrate: limit 0 must be positive and at most 1e+06"},
		{"NaN limit", good, rate.Limit(math.NaN()), 1, nil, "redisrate: limit NaN must be positive and at most 1e+06"},
		{"infinite limit", good, rate.Inf, 1, nil, "redisrate: limit rate.Inf: for no limit, install no limiter"},
		{"above a million", good, 1e6 + 1, 1, nil, "redisrate: limit 1.000001e+06 must be positive and at most 1e+06"},
		{"zero burst", good, 1, 0, nil, "redisrate: burst 0 must be at least 1"},
		{"endless window", good, 1e-9, 1, nil, "redisrate: burst 1 at limit 1e-09 takes longer than ten years to refill"},
		{"zero timeout", good, 1, 1, []Option{WithTimeout(0)}, "redisrate: WithTimeout(0s): must be positive"},
		{"brace in prefix", good, 1, 1, []Option{WithPrefix("a{b}:")}, `redisrate: WithPrefix("a{b}:"): must not contain braces`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := New(tt.client, tt.limit, tt.burst, tt.opts...)
			assert.EqualError(t, err, tt.want)
			assert.Nil(t, l)
		})
	}

	d, err := new(Limiter).Allow(context.Background(), "k", 1)
	assert.EqualError(t, err, "redisrate: Limiter not made by New")
	assert.True(t, d.Allowed, "the zero Limiter fails open")

	l, err := New(good, 1, 1, nil, WithTimeout(time.Second))
	require.NoError(t, err, "a nil option is ignored")
	assert.Equal(t, time.Second, l.cfg.timeout)
	assert.Equal(t, defaultConfig().prefix, l.cfg.prefix)
	assert.False(t, l.cfg.failClosed, "fail open by default")
}
