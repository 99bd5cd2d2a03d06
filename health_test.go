package frontdoor

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// balTestReopenable is a backend answering its name on a fixed address,
// which a test closes and opens again.
type balTestReopenable struct {
	t    *testing.T
	name string
	addr string
	srv  *httptest.Server
}

func newBalTestReopenable(t *testing.T, name string) *balTestReopenable {
	rb := &balTestReopenable{t: t, name: name}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	rb.addr = ln.Addr().String()
	rb.start(ln)
	return rb
}

func (rb *balTestReopenable) URL() string { return "http://" + rb.addr }

func (rb *balTestReopenable) start(ln net.Listener) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, rb.name) }))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	rb.t.Cleanup(srv.Close)
	rb.srv = srv
}

// reopen listens on the same address again.
func (rb *balTestReopenable) reopen() {
	ln, err := net.Listen("tcp", rb.addr)
	require.NoError(rb.t, err)
	rb.start(ln)
}

func TestBalancerRecoveryAfterReopen(t *testing.T) {
	clk := newTestClock()
	live := newBalTestBackend(t, "live")
	flaky := newBalTestReopenable(t, "flaky")
	var events []StateChange
	var mu sync.Mutex
	b := newBalTestBalancer(t, []string{flaky.URL(), live.URL}, withBalTestClock(clk),
		WithOnStateChange(func(c StateChange) { mu.Lock(); events = append(events, c); mu.Unlock() }))

	flaky.srv.Close()
	// Refused connections are tried once a second (quarantine); the third
	// in a row ejects the backend for BaseEjection.
	for range 3 {
		for range 4 {
			code, body := balTestDo(b, http.MethodGet, "")
			require.Equal(t, http.StatusOK, code)
			require.Equal(t, "live", body)
		}
		clk.advance(time.Second)
	}
	st := balTestStatus(t, b, flaky.URL())
	require.Equal(t, StateEjected, st.State)
	assert.WithinDuration(t, clk.now().Add(time.Second), st.EjectedUntil, 0)

	// Reopen on the same address; before the ejection ends it gets nothing.
	flaky.reopen()
	clk.advance(999 * time.Millisecond)
	for range 4 {
		_, body := balTestDo(b, http.MethodGet, "")
		assert.Equal(t, "live", body)
	}
	clk.advance(time.Millisecond)
	seen := map[string]int{}
	for range 10 {
		_, body := balTestDo(b, http.MethodGet, "")
		seen[body]++
	}
	assert.Equal(t, 5, seen["flaky"], "traffic returns after the ejection: %v", seen)
	assert.Equal(t, StateHealthy, balTestStatus(t, b, flaky.URL()).State)
	mu.Lock()
	defer mu.Unlock()
	var got []string
	for _, e := range events {
		got = append(got, e.From.String()+">"+e.To.String())
	}
	assert.Equal(t, []string{"healthy>ejected", "ejected>half-open", "half-open>healthy"}, got)
}

// A backend that dies for 1.5 s at a time (its requests break) is out for
// BaseEjection, 2 s, each time, however often it restarts: it has traffic
// again 0.5 s after it is back. Only failed trials lengthen the ejection.
func TestBalancerShortOutagesStayShort(t *testing.T) {
	clk := newTestClock()
	a, live := newBalTestBackend(t, "a"), newBalTestBackend(t, "live")
	b := newBalTestBalancer(t, []string{a.URL, live.URL}, withBalTestClock(clk))
	const step = 100 * time.Millisecond
	for outage := range 5 {
		down := clk.now()
		a.mode.Store(balModeHangup)
		var back, ejection time.Duration
		for elapsed := time.Duration(0); back == 0 && elapsed < time.Minute; elapsed += step {
			if elapsed == 1500*time.Millisecond {
				a.mode.Store(balModeOK)
			}
			for range 2 {
				code, body := balTestDo(b, http.MethodGet, "")
				require.Equal(t, http.StatusOK, code, "a GET is retried")
				if body == "a" {
					back = clk.now().Sub(down)
				}
				if st := balTestStatus(t, b, a.URL); ejection == 0 && st.State == StateEjected {
					ejection = st.EjectedUntil.Sub(clk.now())
				}
			}
			clk.advance(step)
		}
		assert.Equal(t, 2*time.Second, ejection, "outage %d: ejected for BaseEjection", outage)
		assert.GreaterOrEqual(t, back, 2*time.Second, "outage %d", outage)
		assert.LessOrEqual(t, back, 2*time.Second+step, "outage %d: traffic again at the first trial", outage)
		clk.advance(8 * time.Second) // a restart every 10 s or so
	}
}

// With the real clock and real listeners: a backend that goes away under
// traffic and listens again 1.5 s later has traffic again within about
// BaseEjection (2 s) of its return, not after a 10 s ejection.
func TestBalancerBackAfterShortOutageGetsTrafficSoon(t *testing.T) {
	flaky, live := newBalTestReopenable(t, "flaky"), newBalTestBackend(t, "live")
	b := newBalTestBalancer(t, []string{flaky.URL(), live.URL})
	var back atomic.Int64 // Unix nanoseconds of the first answer from flaky after the outage
	var outage atomic.Bool
	var failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, body := balTestDo(b, http.MethodGet, "")
				if code != http.StatusOK {
					failed.Add(1)
				}
				if body == "flaky" && outage.Load() {
					back.CompareAndSwap(0, time.Now().UnixNano())
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	defer func() { close(stop); wg.Wait() }()

	time.Sleep(100 * time.Millisecond)
	flaky.srv.Close()
	outage.Store(true)
	time.Sleep(1500 * time.Millisecond)
	flaky.reopen()
	reopened := time.Now()
	deadline := reopened.Add(8 * time.Second)
	for back.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	require.NotZero(t, back.Load(), "flaky got no traffic within 8 s of its return")
	wait := time.Unix(0, back.Load()).Sub(reopened)
	t.Logf("traffic again %v after the backend was back", wait.Round(time.Millisecond))
	assert.Less(t, wait, 3*time.Second, "within about BaseEjection (2 s)")
	assert.Zero(t, failed.Load(), "every GET was answered")
}

// A backend that refuses connections while the max-ejection cap forbids
// ejecting it is skipped for a second after each refusal: it costs one
// try a second, and it is no ejection (no event, still healthy).
func TestBalancerQuarantineWhenEjectionCapped(t *testing.T) {
	clk := newTestClock()
	h, live := newBalTestBackend(t, "h"), newBalTestBackend(t, "live")
	d := newBalTestReopenable(t, "d")
	var mu sync.Mutex
	var events []string
	b := newBalTestBalancer(t, []string{h.URL, d.URL(), live.URL}, withBalTestClock(clk),
		WithOnStateChange(func(c StateChange) {
			mu.Lock()
			events = append(events, c.Backend+" "+c.To.String())
			mu.Unlock()
		}))
	h.mode.Store(balModeHangup)
	for range 10 {
		code, _ := balTestDo(b, http.MethodGet, "")
		require.Equal(t, http.StatusOK, code)
	}
	require.Equal(t, StateEjected, balTestStatus(t, b, h.URL).State, "h takes the one ejection 3 backends allow")

	d.srv.Close()
	before := balTestStatus(t, b, d.URL()).Requests
	for second := range 4 {
		for range 10 {
			code, body := balTestDo(b, http.MethodGet, "")
			require.Equal(t, http.StatusOK, code)
			assert.Equal(t, "live", body)
		}
		st := balTestStatus(t, b, d.URL())
		assert.Equal(t, before+int64(second)+1, st.Requests, "one try a second")
		assert.Equal(t, StateHealthy, st.State, "not ejected: the cap forbids it")
		clk.advance(time.Second) // h's trials fail meanwhile: it stays out
	}
	mu.Lock()
	for _, e := range events {
		assert.NotContains(t, e, d.URL(), "the quarantine is not reported")
	}
	mu.Unlock()
}

// When every backend is ejected or quarantined, the Balancer still tries
// them all (panic mode) rather than answer 503, and serves from the first
// one that is back.
func TestBalancerQuarantinedPoolStillTried(t *testing.T) {
	clk := newTestClock()
	d1, d2 := newBalTestReopenable(t, "d1"), newBalTestReopenable(t, "d2")
	b := newBalTestBalancer(t, []string{d1.URL(), d2.URL()}, withBalTestClock(clk))
	d1.srv.Close()
	d2.srv.Close()
	for range 2 {
		code, _ := balTestDo(b, http.MethodGet, "")
		assert.Equal(t, http.StatusBadGateway, code, "tried, not refused with 503")
	}
	for _, st := range b.Backends() {
		assert.EqualValues(t, 2, st.Requests, "each request tried each backend")
		assert.Equal(t, StateHealthy, st.State)
	}
	d2.reopen()
	code, body := balTestDo(b, http.MethodGet, "")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "d2", body)
}

func TestBalancerHalfOpenSingleTrial(t *testing.T) {
	clk := newTestClock()
	a, live := newBalTestBackend(t, "a"), newBalTestBackend(t, "live")
	b := newBalTestBalancer(t, []string{a.URL, live.URL}, withBalTestClock(clk))
	a.mode.Store(balModeHangup)
	for range 6 {
		code, _ := balTestDo(b, http.MethodGet, "")
		require.Equal(t, http.StatusOK, code)
	}
	require.Equal(t, StateEjected, balTestStatus(t, b, a.URL).State)
	hits := a.hits.Load()

	a.mode.Store(balModeBlock)
	clk.advance(10 * time.Second)
	trial := make(chan string, 1)
	go func() {
		for {
			_, body := balTestDo(b, http.MethodGet, "")
			if body != "live" {
				trial <- body
				return
			}
		}
	}()
	<-a.entered // the trial is in flight and blocked
	assert.Equal(t, StateHalfOpen, balTestStatus(t, b, a.URL).State)
	for range 10 {
		_, body := balTestDo(b, http.MethodGet, "")
		assert.Equal(t, "live", body, "no second request during the trial")
	}
	assert.Equal(t, hits+1, a.hits.Load())
	close(a.release)
	assert.Equal(t, "a", <-trial)
	assert.Equal(t, StateHealthy, balTestStatus(t, b, a.URL).State)
}

// balTestTrial sends requests until the backend at url has taken one more
// request (a half-open trial) or was ejected, with the clock stopped.
func balTestTrial(t *testing.T, b *Balancer, url string) {
	t.Helper()
	before := balTestStatus(t, b, url).Requests
	for range 10 {
		balTestDo(b, http.MethodGet, "")
		if balTestStatus(t, b, url).Requests > before {
			return
		}
	}
	t.Fatal("no trial request reached the backend")
}

func TestBalancerGrowingEjectionAndDecay(t *testing.T) {
	clk := newTestClock()
	a, live := newBalTestBackend(t, "a"), newBalTestBackend(t, "live")
	b := newBalTestBalancer(t, []string{a.URL, live.URL}, withBalTestClock(clk),
		WithPassiveHealth(PassiveHealth{BaseEjection: 10 * time.Second, MaxEjection: time.Minute, Decay: time.Minute}))
	a.mode.Store(balModeHangup)
	for range 6 {
		balTestDo(b, http.MethodGet, "")
	}
	ejections := []time.Duration{10 * time.Second}
	// Each failed trial doubles the ejection, up to MaxEjection.
	for _, want := range []time.Duration{20 * time.Second, 40 * time.Second, time.Minute, time.Minute} {
		clk.advance(ejections[len(ejections)-1])
		balTestTrial(t, b, a.URL) // the trial fails: ejected again, for longer
		st := balTestStatus(t, b, a.URL)
		require.Equal(t, StateEjected, st.State)
		assert.WithinDuration(t, clk.now().Add(want), st.EjectedUntil, 0)
		ejections = append(ejections, want)
	}

	// The trial succeeds: one step back (level 3 to 2). The backend stays
	// healthy for one Decay (level 1) and fails again: 20 s.
	a.mode.Store(balModeOK)
	clk.advance(time.Minute)
	balTestTrial(t, b, a.URL)
	require.Equal(t, StateHealthy, balTestStatus(t, b, a.URL).State)
	clk.advance(time.Minute)
	a.mode.Store(balModeHangup)
	for range 6 {
		balTestDo(b, http.MethodGet, "")
	}
	st := balTestStatus(t, b, a.URL)
	require.Equal(t, StateEjected, st.State)
	assert.WithinDuration(t, clk.now().Add(20*time.Second), st.EjectedUntil, 0)

	// Its trial succeeds at once (level 0): the next ejection is the base.
	a.mode.Store(balModeOK)
	clk.advance(20 * time.Second)
	balTestTrial(t, b, a.URL)
	require.Equal(t, StateHealthy, balTestStatus(t, b, a.URL).State)
	a.mode.Store(balModeHangup)
	for range 6 {
		balTestDo(b, http.MethodGet, "")
	}
	st = balTestStatus(t, b, a.URL)
	require.Equal(t, StateEjected, st.State)
	assert.WithinDuration(t, clk.now().Add(10*time.Second), st.EjectedUntil, 0)
}

func TestBalancerMaxEjectionPercent(t *testing.T) {
	var urls []string
	var bad []*balTestBackend
	for i := range 4 {
		tb := newBalTestBackend(t, fmt.Sprint(i))
		if i > 0 {
			tb.mode.Store(balModeHangup)
			bad = append(bad, tb)
		}
		urls = append(urls, tb.URL)
	}
	b := newBalTestBalancer(t, urls, WithPassiveHealth(PassiveHealth{MaxEjectionPercent: 50}))
	for range 40 {
		balTestDo(b, http.MethodGet, "")
	}
	ejected := 0
	for _, st := range b.Backends() {
		if st.State == StateEjected {
			ejected++
		}
	}
	assert.Equal(t, 2, ejected, "at most half of 4 backends are ejected")
}

func TestBalancerPanicMode(t *testing.T) {
	clk := newTestClock()
	a, c := newBalTestBackend(t, "a"), newBalTestBackend(t, "c")
	a.mode.Store(balModeHangup)
	c.mode.Store(balModeHangup)
	b := newBalTestBalancer(t, []string{a.URL, c.URL}, withBalTestClock(clk),
		WithPassiveHealth(PassiveHealth{MaxEjectionPercent: 100}))
	for range 3 {
		code, _ := balTestDo(b, http.MethodGet, "")
		assert.Equal(t, http.StatusBadGateway, code)
	}
	for _, st := range b.Backends() {
		require.Equal(t, StateEjected, st.State)
	}
	hits := a.hits.Load() + c.hits.Load()
	code, _ := balTestDo(b, http.MethodGet, "")
	assert.Equal(t, http.StatusBadGateway, code, "tried anyway, not refused with 503")
	assert.Equal(t, hits+1, a.hits.Load()+c.hits.Load(), "one try only: no retries in panic mode")

	c.mode.Store(balModeOK)
	var bodies []string
	for range 2 { // round-robin: one of two requests reaches c
		code, body := balTestDo(b, http.MethodGet, "")
		bodies = append(bodies, fmt.Sprint(code, body))
	}
	assert.Contains(t, bodies, "200c")
	assert.Equal(t, StateHealthy, balTestStatus(t, b, c.URL).State, "a success in panic mode brings it back")
	assert.Equal(t, StateEjected, balTestStatus(t, b, a.URL).State)
}

func TestBalancerStateChangesLoggedAndReported(t *testing.T) {
	clk := newTestClock()
	a, live := newBalTestBackend(t, "a"), newBalTestBackend(t, "live")
	var logs bytes.Buffer
	var mu sync.Mutex
	var events []StateChange
	b, err := NewBalancer([]string{a.URL, live.URL}, withBalTestClock(clk),
		WithLogger(slog.New(slog.NewTextHandler(&balTestSyncWriter{w: &logs}, nil))),
		WithOnStateChange(func(c StateChange) { mu.Lock(); events = append(events, c); mu.Unlock() }))
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	a.mode.Store(balModeHangup)
	for range 6 {
		balTestDo(b, http.MethodGet, "")
	}
	a.mode.Store(balModeOK)
	clk.advance(2 * time.Second)
	balTestTrial(t, b, a.URL)

	mu.Lock()
	require.Len(t, events, 3)
	assert.Equal(t, StateChange{Backend: a.URL, From: StateHealthy, To: StateEjected,
		Until: clk.now(), Err: events[0].Err}, events[0])
	assert.ErrorIs(t, events[0].Err, ErrBroken)
	mu.Unlock()
	out := logs.String()
	assert.Contains(t, out, `level=WARN msg="frontdoor: backend down" backend=`+a.URL)
	assert.Contains(t, out, `level=INFO msg="frontdoor: backend up" backend=`+a.URL)
	assert.NotContains(t, out, "level=DEBUG", "per-request failures stay at Debug")

	st := balTestStatus(t, b, a.URL)
	assert.Equal(t, StateHealthy, st.State)
	assert.EqualValues(t, 3, st.Failures)
	assert.Positive(t, st.Requests)
	assert.Zero(t, st.InFlight)
	assert.Positive(t, balTestStatus(t, b, live.URL).Retries)
}

type balTestSyncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *balTestSyncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func TestBalancerCount5xxAndSlow(t *testing.T) {
	clk := newTestClock()
	busy, live := newBalTestBackend(t, "busy"), newBalTestBackend(t, "live")
	busy.mode.Store(balMode503)
	plain := newBalTestBalancer(t, []string{busy.URL, live.URL})
	counting := newBalTestBalancer(t, []string{busy.URL, live.URL}, withBalTestClock(clk),
		WithPassiveHealth(PassiveHealth{Count5xx: true}))
	for range 6 {
		code, _ := balTestDo(plain, http.MethodGet, "")
		assert.Contains(t, []int{200, 503}, code, "a 5xx goes to the client, never retried")
		balTestDo(counting, http.MethodGet, "")
	}
	assert.Equal(t, StateHealthy, balTestStatus(t, plain, busy.URL).State)
	assert.Equal(t, StateEjected, balTestStatus(t, counting, busy.URL).State)

	slowHandler := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		clk.advance(2 * time.Second)
		io.WriteString(w, "slow")
	}))
	t.Cleanup(slowHandler.Close)
	slow := newBalTestBalancer(t, []string{slowHandler.URL, live.URL}, withBalTestClock(clk),
		WithPassiveHealth(PassiveHealth{SlowThreshold: time.Second}))
	for range 6 {
		code, _ := balTestDo(slow, http.MethodGet, "")
		assert.Equal(t, 200, code)
	}
	assert.Equal(t, StateEjected, balTestStatus(t, slow, slowHandler.URL).State)
}

func TestBalancerClientGoneNeverCounts(t *testing.T) {
	a := newBalTestBackend(t, "a")
	b := newBalTestBalancer(t, []string{a.URL})
	be := b.set.Load().members[0]
	for range 10 {
		b.record(attempt{be: be, ignore: true, err: &BackendError{Class: ErrClientGone}}, time.Now())
	}
	assert.Zero(t, be.consec.Load())
	assert.Zero(t, be.failures.Load())
	assert.Equal(t, StateHealthy, BackendState(be.phase.Load()))
}

func TestHealthCheckEjectsAndRestores(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	var checks atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/healthz" {
			checks.Add(1)
			if !healthy.Load() {
				http.Error(w, "down", http.StatusInternalServerError)
			}
			return
		}
		io.WriteString(w, "a")
	}))
	t.Cleanup(srv.Close)
	live := newBalTestBackend(t, "live")
	b := newBalTestBalancer(t, []string{srv.URL + "/api/", live.URL}, WithHealthCheck(HealthCheck{
		Path: "/healthz", Interval: 30 * time.Millisecond, Timeout: 30 * time.Millisecond,
		HealthyThreshold: 2, UnhealthyThreshold: 2,
	}))
	url := srv.URL + "/api/"
	require.Eventually(t, func() bool { return checks.Load() >= 1 }, 5*time.Second, 5*time.Millisecond,
		"the check requests Path under the backend URL's path")
	healthy.Store(false)
	require.Eventually(t, func() bool { return balTestStatus(t, b, url).State == StateEjected },
		5*time.Second, 5*time.Millisecond, "two failed checks eject it with no request sent")
	for range 4 {
		_, body := balTestDo(b, http.MethodGet, "")
		assert.Equal(t, "live", body)
	}
	healthy.Store(true)
	require.Eventually(t, func() bool { return balTestStatus(t, b, url).State == StateHealthy },
		5*time.Second, 5*time.Millisecond, "two passed checks bring it back before the ejection ends")
	assert.Zero(t, balTestStatus(t, b, url).Requests, "checks are not counted as requests")
}

// balTestCheckerGoroutines counts goroutines running the health checker.
func balTestCheckerGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "(*activeChecker)")
}

func TestBalancerCloseStopsHealthChecks(t *testing.T) {
	var checks atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { checks.Add(1) }))
	t.Cleanup(srv.Close)
	baseline := runtime.NumGoroutine()
	b, err := NewBalancer([]string{srv.URL}, balTestQuiet,
		WithHealthCheck(HealthCheck{Interval: 5 * time.Millisecond, Timeout: 5 * time.Millisecond}))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return checks.Load() >= 3 }, 5*time.Second, 5*time.Millisecond)
	require.Positive(t, balTestCheckerGoroutines())
	require.NoError(t, b.Close())
	assert.Zero(t, balTestCheckerGoroutines(), "Close waits for the checker")
	n := checks.Load()
	// Polled by hand: assert.Eventually runs its condition in goroutines
	// of its own, which would be counted.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > baseline && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), baseline, "no goroutine outlives Close")
	time.Sleep(20 * time.Millisecond)
	assert.Equal(t, n, checks.Load(), "no check after Close")
	require.NoError(t, b.Close(), "Close is idempotent")
	assert.Error(t, b.SetBackends([]BackendSpec{{URL: srv.URL}}))
}
