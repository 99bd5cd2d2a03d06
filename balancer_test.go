package frontdoor

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func withBalTestClock(c *testClock) BalancerOption {
	return balancerOptionFunc(func(cfg *balancerConfig) { cfg.now = c.now })
}

var balTestQuiet = WithLogger(slog.New(slog.DiscardHandler))

// balTestBackend is a real backend whose behaviour a test switches:
// answer "name" (or "name:body" when there is a body), hang up without a
// response (a broken exchange), or block until released.
type balTestBackend struct {
	*httptest.Server
	name    string
	mode    atomic.Int32 // balModeOK, balModeHangup, balModeBlock
	hits    atomic.Int64
	release chan struct{}
	entered chan struct{}
}

const (
	balModeOK int32 = iota
	balModeHangup
	balModeBlock
	balMode503
)

func newBalTestBackend(t *testing.T, name string) *balTestBackend {
	t.Helper()
	tb := &balTestBackend{name: name, release: make(chan struct{}), entered: make(chan struct{}, 100)}
	tb.Server = httptest.NewServer(http.HandlerFunc(tb.serve))
	t.Cleanup(tb.Close)
	return tb
}

func (tb *balTestBackend) serve(w http.ResponseWriter, r *http.Request) {
	tb.hits.Add(1)
	switch tb.mode.Load() {
	case balModeHangup:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	case balModeBlock:
		tb.entered <- struct{}{}
		<-tb.release
	case balMode503:
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	body, _ := io.ReadAll(r.Body)
	if len(body) > 0 {
		fmt.Fprintf(w, "%s:%s", tb.name, body)
		return
	}
	io.WriteString(w, tb.name)
}

// balTestDeadURL returns the URL of a listener that was closed: dialing it
// is refused.
func balTestDeadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return "http://" + addr
}

func newBalTestBalancer(t *testing.T, urls []string, opts ...BalancerOption) *Balancer {
	t.Helper()
	b, err := NewBalancer(urls, append([]BalancerOption{balTestQuiet}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// balTestDo sends one request through h and returns status and body.
func balTestDo(h http.Handler, method, body string, hdr ...string) (int, string) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, "/x", rd)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

func balTestStatus(t *testing.T, b *Balancer, url string) BackendStatus {
	t.Helper()
	for _, st := range b.Backends() {
		if st.URL == url {
			return st
		}
	}
	t.Fatalf("backend %s not in snapshot", url)
	return BackendStatus{}
}

func TestBalancerRoundRobinSequence(t *testing.T) {
	a, bb, c := newBalTestBackend(t, "a"), newBalTestBackend(t, "b"), newBalTestBackend(t, "c")
	b := newBalTestBalancer(t, []string{a.URL, bb.URL, c.URL}, WithWeights(5, 1, 1))
	var got []string
	for range 14 {
		code, body := balTestDo(b, http.MethodGet, "")
		require.Equal(t, http.StatusOK, code)
		got = append(got, body)
	}
	assert.Equal(t, "aabacaaaabacaa", strings.Join(got, ""))
	assert.Positive(t, balTestStatus(t, b, a.URL).Latency)
	assert.EqualValues(t, 10, balTestStatus(t, b, a.URL).Requests)
}

func TestBalancerLeastConnAvoidsSlowBackend(t *testing.T) {
	slow, fast := newBalTestBackend(t, "slow"), newBalTestBackend(t, "fast")
	slow.mode.Store(balModeBlock)
	b := newBalTestBalancer(t, []string{slow.URL, fast.URL}, WithStrategy(LeastConn()))
	done := make(chan int, 1)
	// Until the slow backend holds a request, ties go either way: send
	// requests until one blocks there.
	go func() {
		for {
			code, body := balTestDo(b, http.MethodGet, "")
			if body == "slow" || code != http.StatusOK {
				done <- code
				return
			}
		}
	}()
	<-slow.entered
	for range 20 {
		_, body := balTestDo(b, http.MethodGet, "")
		assert.Equal(t, "fast", body)
	}
	close(slow.release)
	assert.Equal(t, http.StatusOK, <-done)
}

// A backend whose connections are refused costs no request: the one that
// meets it is retried on the next backend, later ones skip it for a
// second (quarantine), and after MaxFails such seconds it is ejected.
func TestBalancerFailover(t *testing.T) {
	clk := newTestClock()
	a, bb, c := newBalTestBackend(t, "a"), newBalTestBackend(t, "b"), newBalTestBackend(t, "c")
	b := newBalTestBalancer(t, []string{a.URL, bb.URL, c.URL}, withBalTestClock(clk))
	for range 6 {
		code, _ := balTestDo(b, http.MethodGet, "")
		require.Equal(t, http.StatusOK, code)
	}
	bb.Close() // mid-run: dials to b are refused from now on
	for second := range 3 {
		for range 10 {
			code, body := balTestDo(b, http.MethodGet, "")
			assert.Equal(t, http.StatusOK, code)
			assert.NotEqual(t, "b", body)
		}
		st := balTestStatus(t, b, bb.URL)
		assert.EqualValues(t, 2+second+1, st.Requests, "one try per second")
		assert.EqualValues(t, second+1, st.Failures)
		clk.advance(time.Second)
	}
	st := balTestStatus(t, b, bb.URL)
	assert.Equal(t, StateEjected, st.State, "ejected after MaxFails")
	assert.WithinDuration(t, clk.now().Add(time.Second), st.EjectedUntil, 0, "for BaseEjection, 2 s")
}

func TestBalancerRetryNotSentPOSTKeepsBody(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprint("chunked=", chunked), func(t *testing.T) {
			echo := newBalTestBackend(t, "echo")
			dead := balTestDeadURL(t)
			b := newBalTestBalancer(t, []string{dead, echo.URL})
			r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader("payload"))
			if chunked {
				r.Body = io.NopCloser(strings.NewReader("payload"))
				r.ContentLength = -1
			}
			w := httptest.NewRecorder()
			b.ServeHTTP(w, r)
			assert.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, "echo:payload", w.Body.String())
			assert.EqualValues(t, 1, balTestStatus(t, b, dead).Failures)
			assert.EqualValues(t, 1, balTestStatus(t, b, echo.URL).Retries)
		})
	}
}

// balTestReadThenRefuse is a transport that reads a request's whole body
// and then fails as if the dial to host had been refused: what HTTP/1
// transports do when the connection dies before they write (their writer
// may read the body while RoundTrip is already failing). Other hosts go
// through next.
type balTestReadThenRefuse struct {
	host string
	next http.RoundTripper
}

func (rt balTestReadThenRefuse) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != rt.host {
		return rt.next.RoundTrip(r)
	}
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
}

// A request that was not sent goes to the next backend with its body even
// when the failed attempt read that body (BufferBody 0).
func TestBalancerRetryNotSentPOSTAfterBodyRead(t *testing.T) {
	a, echo := newBalTestBackend(t, "a"), newBalTestBackend(t, "echo")
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	first := StrategyFunc(func(_ *http.Request, bs []*Backend) *Backend { return bs[0] })
	b := newBalTestBalancer(t, []string{a.URL, echo.URL}, WithStrategy(first),
		WithPassiveHealth(PassiveHealth{MaxFails: -1}), // a stays first
		WithTransport(balTestReadThenRefuse{host: strings.TrimPrefix(a.URL, "http://"), next: tr}))
	for _, body := range []string{"payload", strings.Repeat("y", 60<<10)} {
		code, got := balTestDo(b, http.MethodPost, body)
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, "echo:"+body, got)
	}
	assert.Zero(t, a.hits.Load())
	code, _ := balTestDo(b, http.MethodPost, strings.Repeat("z", unsentKeep+1))
	assert.Equal(t, http.StatusBadGateway, code, "a body over 64 KiB that was read is gone")
}

func TestBalancerRetryAfterRequestLeft(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		body     string
		hdr      []string
		buffer   int64
		wantCode int
		wantBody string
	}{
		{name: "GET retried", method: http.MethodGet, wantCode: 200, wantBody: "echo"},
		{name: "DELETE retried", method: http.MethodDelete, wantCode: 200, wantBody: "echo"},
		{name: "POST not retried", method: http.MethodPost, body: "x", wantCode: 502},
		{name: "bodiless POST not retried", method: http.MethodPost, wantCode: 502},
		{name: "POST with key, body lost", method: http.MethodPost, body: "x", hdr: []string{"Idempotency-Key", "k1"}, wantCode: 502},
		{name: "POST with key, body buffered", method: http.MethodPost, body: "payload", hdr: []string{"Idempotency-Key", "k1"}, buffer: 1 << 10, wantCode: 200, wantBody: "echo:payload"},
		{name: "PUT buffered", method: http.MethodPut, body: "payload", buffer: 1 << 10, wantCode: 200, wantBody: "echo:payload"},
		{name: "PUT over the buffer", method: http.MethodPut, body: strings.Repeat("y", 100), buffer: 10, wantCode: 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hang, echo := newBalTestBackend(t, "hang"), newBalTestBackend(t, "echo")
			hang.mode.Store(balModeHangup)
			b := newBalTestBalancer(t, []string{hang.URL, echo.URL}, WithRetryPolicy(RetryPolicy{BufferBody: tt.buffer}))
			code, body := balTestDo(b, tt.method, tt.body, tt.hdr...)
			assert.Equal(t, tt.wantCode, code)
			if tt.wantBody != "" {
				assert.Equal(t, tt.wantBody, body)
			}
			assert.EqualValues(t, 1, hang.hits.Load())
			if tt.wantCode == 502 {
				assert.Zero(t, echo.hits.Load(), "never sent twice")
			}
		})
	}
}

func TestBalancerRetryBudgetExhausted(t *testing.T) {
	clk := newTestClock()
	live, hang := newBalTestBackend(t, "live"), newBalTestBackend(t, "hang")
	hang.mode.Store(balModeHangup)
	b := newBalTestBalancer(t, []string{hang.URL, live.URL}, withBalTestClock(clk),
		WithPassiveHealth(PassiveHealth{MaxFails: -1}),
		WithRetryPolicy(RetryPolicy{BudgetFloor: 1, BudgetRatio: 0.5}))
	var codes []int
	// Round-robin picks: hang then the retry on live, hang (no retry
	// left), live, hang (no retry left).
	for range 4 {
		code, _ := balTestDo(b, http.MethodGet, "")
		codes = append(codes, code)
	}
	assert.Equal(t, []int{200, 502, 200, 502}, codes, "one retry per second, then none")
	clk.advance(time.Second)
	codes = codes[:0]
	for range 2 { // live, then hang with a retry on live
		code, _ := balTestDo(b, http.MethodGet, "")
		codes = append(codes, code)
	}
	assert.Equal(t, []int{200, 200}, codes, "the budget refills")
}

// A request that was not sent is tried on every backend in turn, even
// with MaxTries 1 and an empty budget: a refused connection cost the
// backend nothing.
func TestBalancerNotSentRetriesIgnoreBudgetAndMaxTries(t *testing.T) {
	clk := newTestClock() // frozen: the budget never refills
	live := newBalTestBackend(t, "live")
	dead := []string{balTestDeadURL(t), balTestDeadURL(t), balTestDeadURL(t)}
	first := StrategyFunc(func(_ *http.Request, bs []*Backend) *Backend { return bs[0] })
	b := newBalTestBalancer(t, append(dead, live.URL), withBalTestClock(clk), WithStrategy(first),
		WithPassiveHealth(PassiveHealth{MaxFails: -1}),
		WithRetryPolicy(RetryPolicy{MaxTries: 1, BudgetFloor: 0.001, BudgetRatio: 0.001}))
	for i := range 10 {
		method, body := http.MethodGet, ""
		if i%2 == 1 {
			method, body = http.MethodPost, "order"
		}
		code, got := balTestDo(b, method, body)
		assert.Equal(t, http.StatusOK, code, method)
		assert.Equal(t, strings.TrimSuffix("live:"+body, ":"), got)
	}
	for _, u := range dead {
		assert.EqualValues(t, 10, balTestStatus(t, b, u).Requests, "every request tried every dead backend")
	}
	assert.EqualValues(t, 10, balTestStatus(t, b, live.URL).Retries)
}

// A pool whose backends answer 5xx, time out or break is not hammered: a
// 5xx is never retried, and retries of requests that reached a backend
// stay within the budget (here 2 tokens, never refilled).
func TestBalancerRetryBudgetSparesFailingPool(t *testing.T) {
	for _, tt := range []struct {
		name     string
		mode     int32
		wantCode int
		wantMore int64 // attempts beyond one per request
	}{
		{"5xx", balMode503, http.StatusServiceUnavailable, 0},
		{"slow", balModeBlock, http.StatusGatewayTimeout, 2},
		{"broken", balModeHangup, http.StatusBadGateway, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := newTestClock()
			var urls []string
			for i := range 3 {
				tb := newBalTestBackend(t, fmt.Sprint(i))
				tb.mode.Store(tt.mode)
				t.Cleanup(func() { close(tb.release) }) // before tb closes
				urls = append(urls, tb.URL)
			}
			b := newBalTestBalancer(t, urls, withBalTestClock(clk),
				WithResponseHeaderTimeout(20*time.Millisecond),
				WithPassiveHealth(PassiveHealth{MaxFails: -1}),
				WithRetryPolicy(RetryPolicy{BudgetFloor: 2, BudgetRatio: 0.001}))
			const requests = 20
			for range requests {
				code, _ := balTestDo(b, http.MethodGet, "")
				assert.Equal(t, tt.wantCode, code)
			}
			var attempts int64
			for _, st := range b.Backends() {
				attempts += st.Requests
			}
			assert.Equal(t, requests+tt.wantMore, attempts)
		})
	}
}

func TestBalancerAllDownAnswersFast(t *testing.T) {
	b := newBalTestBalancer(t, []string{balTestDeadURL(t), balTestDeadURL(t), balTestDeadURL(t)})
	start := time.Now()
	for range 5 {
		code, body := balTestDo(b, http.MethodGet, "")
		assert.Contains(t, []int{http.StatusBadGateway, http.StatusServiceUnavailable}, code)
		assert.NotContains(t, body, "127.0.0.1", "no address leaks to the client")
	}
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestBalancerDrainOnRemoval(t *testing.T) {
	slow, fast := newBalTestBackend(t, "slow"), newBalTestBackend(t, "fast")
	slow.mode.Store(balModeBlock)
	var mu sync.Mutex
	var events []StateChange
	b := newBalTestBalancer(t, []string{slow.URL, fast.URL}, WithDrainTimeout(50*time.Millisecond),
		WithOnStateChange(func(c StateChange) { mu.Lock(); events = append(events, c); mu.Unlock() }))
	done := make(chan string, 1)
	go func() {
		code, body := balTestDo(b, http.MethodGet, "")
		done <- fmt.Sprint(code, body)
	}()
	<-slow.entered
	require.NoError(t, b.SetBackends([]BackendSpec{{URL: fast.URL}}))
	st := balTestStatus(t, b, slow.URL)
	assert.Equal(t, StateDraining, st.State)
	assert.EqualValues(t, 1, st.InFlight)
	for range 10 {
		_, body := balTestDo(b, http.MethodGet, "")
		assert.Equal(t, "fast", body)
	}
	close(slow.release)
	assert.Equal(t, "200slow", <-done, "the in-flight request finishes")
	assert.Eventually(t, func() bool { return len(b.Backends()) == 1 }, 5*time.Second, 10*time.Millisecond,
		"the drained backend leaves after the drain timeout")
	mu.Lock()
	assert.Equal(t, StateDraining, events[0].To)
	mu.Unlock()
}

func TestBalancerSetBackendsKeepsStateAndReAdds(t *testing.T) {
	a, c := newBalTestBackend(t, "a"), newBalTestBackend(t, "c")
	b := newBalTestBalancer(t, []string{a.URL, c.URL}, WithDrainTimeout(time.Hour))
	balTestDo(b, http.MethodGet, "")
	require.NoError(t, b.SetBackends([]BackendSpec{{URL: a.URL, Weight: 3}}))
	require.Len(t, b.Backends(), 2)
	require.NoError(t, b.SetBackends([]BackendSpec{{URL: a.URL, Weight: 3}, {URL: c.URL}}))
	sts := b.Backends()
	require.Len(t, sts, 2, "re-added, no longer draining")
	assert.Equal(t, 3, sts[0].Weight)
	assert.EqualValues(t, 1, sts[0].Requests, "counters survive an update")
	assert.Equal(t, StateHealthy, sts[1].State)

	for _, give := range [][]BackendSpec{nil, {{URL: "ftp://x"}}, {{URL: a.URL}, {URL: a.URL}}, {{URL: a.URL, Weight: -1}}} {
		assert.Error(t, b.SetBackends(give), "%v", give)
	}
	assert.Len(t, b.Backends(), 2, "a bad update changes nothing")
}

func TestNewBalancerErrors(t *testing.T) {
	ok := []string{"http://127.0.0.1:1"}
	tests := []struct {
		name string
		urls []string
		opts []BalancerOption
		want string
	}{
		{"empty", nil, nil, "no backends"},
		{"scheme", []string{"ftp://x"}, nil, "bad backend URL"},
		{"no host", []string{"http://"}, nil, "bad backend URL"},
		{"garbage", []string{"://"}, nil, "bad backend URL"},
		{"weights count", ok, []BalancerOption{WithWeights(1, 2)}, "WithWeights"},
		{"weight zero", ok, []BalancerOption{WithWeights(0)}, "WithWeights"},
		{"drain", ok, []BalancerOption{WithDrainTimeout(-1)}, "WithDrainTimeout"},
		{"percent", ok, []BalancerOption{WithPassiveHealth(PassiveHealth{MaxEjectionPercent: 101})}, "WithPassiveHealth"},
		{"ejection", ok, []BalancerOption{WithPassiveHealth(PassiveHealth{BaseEjection: -time.Second})}, "WithPassiveHealth"},
		{"retry", ok, []BalancerOption{WithRetryPolicy(RetryPolicy{MaxTries: -1})}, "WithRetryPolicy"},
		{"check path", ok, []BalancerOption{WithHealthCheck(HealthCheck{Path: "healthz"})}, "WithHealthCheck"},
		{"check timeout", ok, []BalancerOption{WithHealthCheck(HealthCheck{Interval: time.Second, Timeout: time.Minute})}, "WithHealthCheck"},
		{"trusted proxy", ok, []BalancerOption{WithTrustedProxies("not-an-ip")}, "trusted proxy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewBalancer(tt.urls, tt.opts...)
			require.Error(t, err)
			assert.Nil(t, b)
			assert.Contains(t, err.Error(), tt.want)
			assert.True(t, strings.HasPrefix(err.Error(), "frontdoor: "), err.Error())
		})
	}
}

func TestBalancerZeroValue(t *testing.T) {
	var b Balancer
	code, _ := balTestDo(&b, http.MethodGet, "")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Empty(t, b.Backends())
	assert.Error(t, b.SetBackends([]BackendSpec{{URL: "http://127.0.0.1:1"}}))
	code, _ = balTestDo(&b, http.MethodGet, "")
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.NoError(t, b.Close())
}

func TestBalancerConcurrentTrafficFlipsAndUpdates(t *testing.T) {
	var urls []string
	var flappers []*balTestBackend
	for i := range 4 {
		tb := newBalTestBackend(t, fmt.Sprint(i))
		urls = append(urls, tb.URL)
		if i >= 2 {
			flappers = append(flappers, tb)
		}
	}
	extra := newBalTestBackend(t, "extra")
	b := newBalTestBalancer(t, urls, WithStrategy(PowerOfTwo()), WithDrainTimeout(10*time.Millisecond),
		WithPassiveHealth(PassiveHealth{MaxFails: 1, BaseEjection: time.Millisecond}),
		WithRetryPolicy(RetryPolicy{BudgetFloor: 1e6}),
		WithHealthCheck(HealthCheck{Interval: 2 * time.Millisecond, HealthyThreshold: 1, UnhealthyThreshold: 1}))
	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			flappers[i%2].mode.Store(int32(i % 2)) // ok <-> hangup
			specs := []BackendSpec{{URL: urls[0]}, {URL: urls[1]}, {URL: urls[2]}, {URL: urls[3]}}
			if i%2 == 0 {
				specs = append(specs, BackendSpec{URL: extra.URL, Weight: 2})
			}
			assert.NoError(t, b.SetBackends(specs))
			_ = b.Backends()
			time.Sleep(time.Millisecond)
		}
	})
	var ok, failed atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			for range 40 {
				code, _ := balTestDo(b, http.MethodGet, "")
				if code == http.StatusOK {
					ok.Add(1)
				} else {
					failed.Add(1)
					assert.Contains(t, []int{502, 503}, code)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	bg.Wait()
	assert.EqualValues(t, 2000, ok.Load()+failed.Load())
	assert.Greater(t, ok.Load(), int64(1900), "two backends always work and retries cover the flapping ones")
	for _, st := range b.Backends() {
		assert.Zero(t, st.InFlight, st.URL)
	}
}

func TestBalancerMaxTryDuration(t *testing.T) {
	clk := newTestClock()
	live := newBalTestBackend(t, "live")
	slowHang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		clk.advance(3 * time.Second)
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
		}
	}))
	t.Cleanup(slowHang.Close)
	b := newBalTestBalancer(t, []string{slowHang.URL, live.URL}, withBalTestClock(clk),
		WithRetryPolicy(RetryPolicy{MaxDuration: 2 * time.Second}))
	code, _ := balTestDo(b, http.MethodGet, "")
	assert.Equal(t, http.StatusBadGateway, code, "no new attempt after MaxDuration")
	assert.Zero(t, live.hits.Load())
}

// MaxTries 1 sends a request to one backend only, but a backend that
// refused the connection was never sent anything: the next one is tried.
func TestBalancerMaxTriesOne(t *testing.T) {
	live, hang := newBalTestBackend(t, "live"), newBalTestBackend(t, "hang")
	hang.mode.Store(balModeHangup)
	b := newBalTestBalancer(t, []string{hang.URL, live.URL}, WithRetryPolicy(RetryPolicy{MaxTries: 1}))
	code, _ := balTestDo(b, http.MethodGet, "")
	assert.Equal(t, http.StatusBadGateway, code, "reached hang: not retried")
	assert.Zero(t, live.hits.Load())
	code, _ = balTestDo(b, http.MethodGet, "")
	assert.Equal(t, http.StatusOK, code)

	refused := newBalTestBalancer(t, []string{balTestDeadURL(t), live.URL}, WithRetryPolicy(RetryPolicy{MaxTries: 1}))
	code, body := balTestDo(refused, http.MethodGet, "")
	assert.Equal(t, http.StatusOK, code, "not sent: tried on the next backend")
	assert.Equal(t, "live", body)
}

func TestBalancerStrategyReturnsNil(t *testing.T) {
	live := newBalTestBackend(t, "live")
	none := StrategyFunc(func(*http.Request, []*Backend) *Backend { return nil })
	b := newBalTestBalancer(t, []string{live.URL}, WithStrategy(none))
	code, _ := balTestDo(b, http.MethodGet, "")
	assert.Equal(t, http.StatusServiceUnavailable, code)
}

func TestBalancerCallbackMayUseBalancer(t *testing.T) {
	a, c := newBalTestBackend(t, "a"), newBalTestBackend(t, "c")
	var b *Balancer
	var seen atomic.Int64
	b = newBalTestBalancer(t, []string{a.URL, c.URL}, WithOnStateChange(func(StateChange) {
		seen.Add(int64(len(b.Backends()))) // must not deadlock
	}))
	require.NoError(t, b.SetBackends([]BackendSpec{{URL: a.URL}}))
	assert.EqualValues(t, 2, seen.Load())
}

func TestBalancerDrainKeepsStreamsThenClosesThem(t *testing.T) {
	ws, other := newStreamTestBackend(t), newBalTestBackend(t, "other")
	b := newBalTestBalancer(t, []string{ws.URL}, WithDrainTimeout(200*time.Millisecond))
	front := httptest.NewServer(b)
	t.Cleanup(front.Close)

	c := streamTestUpgrade(t, front.Listener.Addr().String())
	require.Equal(t, http.StatusSwitchingProtocols, c.resp.StatusCode)
	got, err := c.echo("one")
	require.NoError(t, err)
	require.Equal(t, "echo: one", got)
	require.EqualValues(t, 1, balTestStatus(t, b, ws.URL).Streams)

	require.NoError(t, b.SetBackends([]BackendSpec{{URL: other.URL}}))
	_, body := balTestDo(b, http.MethodGet, "")
	assert.Equal(t, "other", body, "new requests avoid the removed backend")
	got, err = c.echo("two")
	require.NoError(t, err, "the open stream survives the removal")
	assert.Equal(t, "echo: two", got)
	assert.Equal(t, StateDraining, balTestStatus(t, b, ws.URL).State)

	require.NoError(t, c.conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = c.br.ReadString('\n')
	assert.Error(t, err, "the stream is closed once the drain timeout passed")
}

func TestBalancerNoRetryAfterResponseStarted(t *testing.T) {
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run(method, func(t *testing.T) {
			var cutHits atomic.Int64
			cut := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				cutHits.Add(1)
				w.Header().Set("Content-Length", "100")
				w.WriteHeader(http.StatusOK)
				io.WriteString(w, "partial")
				w.(http.Flusher).Flush()
				if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
					_ = conn.Close() // reset mid-response
				}
			}))
			t.Cleanup(cut.Close)
			echo := newBalTestBackend(t, "echo")
			b := newBalTestBalancer(t, []string{cut.URL, echo.URL})
			front := httptest.NewServer(b)
			t.Cleanup(front.Close)

			req, err := http.NewRequest(method, front.URL+"/x", strings.NewReader("body"))
			require.NoError(t, err)
			resp, err := front.Client().Do(req)
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			assert.Error(t, err, "the client sees the truncation")
			assert.EqualValues(t, 1, cutHits.Load())
			assert.Zero(t, echo.hits.Load(), "a response that started is never retried")
		})
	}
}

func TestBalancerHashClientIPBehindTrustedProxy(t *testing.T) {
	var urls []string
	for i := range 4 {
		urls = append(urls, newBalTestBackend(t, fmt.Sprint(i)).URL)
	}
	// httptest requests come from 192.0.2.1.
	direct := newBalTestBalancer(t, urls, WithStrategy(HashClientIP()))
	behind := newBalTestBalancer(t, urls, WithStrategy(HashClientIP()), WithTrustedProxies("192.0.2.1"))
	directSeen, behindSeen := map[string]bool{}, map[string]bool{}
	for i := range 40 {
		client := fmt.Sprintf("198.51.100.%d", i)
		_, body := balTestDo(direct, http.MethodGet, "", "X-Forwarded-For", client)
		directSeen[body] = true
		_, first := balTestDo(behind, http.MethodGet, "", "X-Forwarded-For", client)
		_, again := balTestDo(behind, http.MethodGet, "", "X-Forwarded-For", client)
		assert.Equal(t, first, again, "one client sticks to one backend")
		behindSeen[first] = true
	}
	assert.Len(t, directSeen, 1, "an untrusted X-Forwarded-For is ignored: one peer, one backend")
	assert.Len(t, behindSeen, 4, "clients behind a trusted proxy spread by their own address")
}

func TestBalancerHashSameBackendOnEveryInstance(t *testing.T) {
	var urls []string
	for i := range 5 {
		urls = append(urls, newBalTestBackend(t, fmt.Sprint(i)).URL)
	}
	// Two gateways that share nothing and list the backends in another
	// order, as two service-discovery clients may.
	reversed := slices.Clone(urls)
	slices.Reverse(reversed)
	one := newBalTestBalancer(t, urls, WithStrategy(HashHeader("X-User")))
	two := newBalTestBalancer(t, reversed, WithStrategy(HashHeader("X-User")))
	seen := map[string]bool{}
	// 200 keys: the backend ports are random, and with 40 keys one of five
	// backends got none about once in 1,500 runs.
	for k := range 200 {
		user := fmt.Sprintf("user-%d", k)
		codeA, a := balTestDo(one, http.MethodGet, "", "X-User", user)
		codeB, b := balTestDo(two, http.MethodGet, "", "X-User", user)
		require.Equal(t, http.StatusOK, codeA, "key %s: %s", user, a)
		require.Equal(t, http.StatusOK, codeB, "key %s: %s", user, b)
		assert.Equal(t, a, b, "key %s", user)
		seen[a] = true
	}
	assert.Len(t, seen, 5, "the keys spread over every backend")
}

// TestBalancerTimeoutByMethod: a backend that accepts and never answers
// costs the response-header timeout, counts as a failure, and is retried
// elsewhere only for a method that may be sent twice.
func TestBalancerTimeoutByMethod(t *testing.T) {
	for _, tt := range []struct {
		method   string
		wantCode int
	}{
		{http.MethodGet, http.StatusOK},
		{http.MethodPost, http.StatusGatewayTimeout},
	} {
		t.Run(tt.method, func(t *testing.T) {
			mute, live := newBalTestBackend(t, "mute"), newBalTestBackend(t, "live")
			mute.mode.Store(balModeBlock)
			t.Cleanup(func() { close(mute.release) }) // before mute closes
			b := newBalTestBalancer(t, []string{mute.URL, live.URL},
				WithStrategy(StrategyFunc(func(_ *http.Request, bs []*Backend) *Backend { return bs[0] })),
				WithResponseHeaderTimeout(100*time.Millisecond))
			code, body := balTestDo(b, tt.method, "")
			assert.Equal(t, tt.wantCode, code)
			st := balTestStatus(t, b, mute.URL)
			assert.EqualValues(t, 1, st.Requests)
			assert.EqualValues(t, 1, st.Failures, "a timeout counts against the backend")
			if tt.wantCode == http.StatusOK {
				assert.Equal(t, "live", body)
				assert.EqualValues(t, 1, balTestStatus(t, b, live.URL).Retries)
			} else {
				assert.Zero(t, live.hits.Load(), "a POST that may have arrived is not sent twice")
			}
		})
	}
}
