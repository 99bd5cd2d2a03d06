package frontdoor

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Raw backend modes for balHealthRawBackend.
const (
	balHealthModeOK        int32 = iota // a complete 200 response
	balHealthModeCutMidway              // headers and part of the body, then a TCP reset
)

// balHealthRawBackend answers one request per connection as mode says.
func balHealthRawBackend(t *testing.T, mode *atomic.Int32) string {
	t.Helper()
	return newProxyTestRawBackend(t, func(c net.Conn) {
		if proxyTestReadRequest(bufio.NewReader(c)) != nil {
			return
		}
		if mode.Load() == balHealthModeOK {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
		time.Sleep(50 * time.Millisecond) // let the headers reach the client first
		c.(*net.TCPConn).SetLinger(0)
	})
}

// balHealthHTTP2Front serves h over TLS with HTTP/2, whose ResponseWriter
// cannot be hijacked.
func balHealthHTTP2Front(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	front := httptest.NewUnstartedServer(h)
	front.EnableHTTP2 = true
	front.StartTLS()
	t.Cleanup(front.Close)
	return front
}

// balHealthGetCut sends a GET over HTTP/2 whose response body must break.
func balHealthGetCut(t *testing.T, front *httptest.Server) {
	t.Helper()
	res, err := front.Client().Get(front.URL + "/")
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, 2, res.ProtoMajor)
	_, err = io.ReadAll(res.Body)
	assert.Error(t, err, "the stream is reset, not ended cleanly")
}

func TestBalancerCutOverHTTP2IsCounted(t *testing.T) {
	var mode atomic.Int32
	mode.Store(balHealthModeCutMidway)
	url := balHealthRawBackend(t, &mode)
	b := newBalTestBalancer(t, []string{url}, WithPassiveHealth(PassiveHealth{MaxFails: 1}))
	front := balHealthHTTP2Front(t, b)
	balHealthGetCut(t, front)
	assert.Eventually(t, func() bool {
		st := balTestStatus(t, b, url)
		return st.Failures == 1 && st.State == StateEjected
	}, 5*time.Second, time.Millisecond, "the cut counts before the stream is aborted")
	st := balTestStatus(t, b, url)
	assert.Equal(t, int64(1), st.Failures)
	assert.Equal(t, StateEjected, st.State)
	assert.Equal(t, int64(0), st.InFlight)
}

func TestBalancerCutTrialOverHTTP2IsNotStuck(t *testing.T) {
	var mode atomic.Int32
	mode.Store(balHealthModeCutMidway)
	url := balHealthRawBackend(t, &mode)
	clk := newTestClock()
	b := newBalTestBalancer(t, []string{url}, withBalTestClock(clk),
		WithPassiveHealth(PassiveHealth{MaxFails: 1, BaseEjection: 10 * time.Second}))
	be := b.set.Load().members[0]
	front := balHealthHTTP2Front(t, b)

	balHealthGetCut(t, front)
	require.Eventually(t, func() bool { return balTestStatus(t, b, url).State == StateEjected },
		5*time.Second, time.Millisecond)

	// The ejection ends: the next request is the half-open trial, and it is
	// cut too. Its headers made the backend healthy; the cut ejects it again.
	clk.advance(10 * time.Second)
	balHealthGetCut(t, front)
	assert.Eventually(t, func() bool { return balTestStatus(t, b, url).Failures == 2 },
		5*time.Second, time.Millisecond)
	assert.False(t, be.trial.Load(), "the trial slot is free")
	assert.Equal(t, StateEjected, balTestStatus(t, b, url).State)

	// Once that ejection ends, the backend is trialled again and recovers.
	clk.advance(time.Hour)
	mode.Store(balHealthModeOK)
	res, err := front.Client().Get(front.URL + "/")
	require.NoError(t, err)
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, "ok", string(body))
	assert.Equal(t, StateHealthy, balTestStatus(t, b, url).State)
	assert.False(t, be.trial.Load())
	assert.Equal(t, int64(3), balTestStatus(t, b, url).Requests)
}

func TestBalancerTrialSettlesAtHeaders(t *testing.T) {
	const (
		modeOK int32 = iota
		modeHangup
		modeStream // the first request streams until released
	)
	var (
		mode     atomic.Int32
		hits     atomic.Int64
		streamed atomic.Bool
		entered  = make(chan struct{}, 1)
		release  = make(chan struct{})
		once     sync.Once
	)
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch mode.Load() {
		case modeHangup:
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
			return
		case modeStream:
			if streamed.CompareAndSwap(false, true) {
				w.Header().Set("X-From", "a")
				io.WriteString(w, "first ")
				http.NewResponseController(w).Flush()
				entered <- struct{}{}
				select {
				case <-release:
				case <-r.Context().Done():
				}
				io.WriteString(w, "end")
				return
			}
		}
		w.Header().Set("X-From", "a")
		io.WriteString(w, "a")
	}))
	t.Cleanup(a.Close)
	t.Cleanup(func() { once.Do(func() { close(release) }) }) // before a.Close
	live := newBalTestBackend(t, "live")
	clk := newTestClock()
	b := newBalTestBalancer(t, []string{a.URL, live.URL}, withBalTestClock(clk),
		WithPassiveHealth(PassiveHealth{MaxFails: 1, BaseEjection: 10 * time.Second}))
	be := b.set.Load().members[0]
	front := httptest.NewServer(b)
	t.Cleanup(front.Close)

	mode.Store(modeHangup)
	for i := 0; i < 4 && balTestStatus(t, b, a.URL).State != StateEjected; i++ {
		balTestDo(b, http.MethodGet, "")
	}
	require.Equal(t, StateEjected, balTestStatus(t, b, a.URL).State)
	clk.advance(10 * time.Second)
	mode.Store(modeStream)

	// Send requests until one is the trial on a, and keep its body open.
	var trial *http.Response
	for range 10 {
		res, err := front.Client().Get(front.URL + "/")
		require.NoError(t, err)
		if res.Header.Get("X-From") == "a" {
			trial = res
			break
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	require.NotNil(t, trial, "no trial request reached a")
	defer trial.Body.Close()
	<-entered

	// The trial's headers settled it while its body still streams.
	assert.Equal(t, StateHealthy, balTestStatus(t, b, a.URL).State)
	assert.False(t, be.trial.Load(), "the trial slot is free while the body streams")
	before := hits.Load()
	for range 4 {
		balTestDo(b, http.MethodGet, "")
	}
	assert.Greater(t, hits.Load(), before, "a takes requests again while the trial streams")

	// The stream's lifetime is no latency sample: only the time to headers.
	clk.advance(time.Hour)
	once.Do(func() { close(release) })
	body, err := io.ReadAll(trial.Body)
	require.NoError(t, err)
	assert.Equal(t, "first end", string(body))
	assert.Eventually(t, func() bool { return balTestStatus(t, b, a.URL).InFlight == 0 },
		5*time.Second, time.Millisecond)
	assert.Less(t, balTestStatus(t, b, a.URL).Latency, time.Minute)
	assert.Equal(t, StateHealthy, balTestStatus(t, b, a.URL).State)
}

// balHealthHeaderSignal is a ResponseRecorder that reports when the
// response headers reach it.
type balHealthHeaderSignal struct {
	*httptest.ResponseRecorder
	headers chan struct{}
}

func (w *balHealthHeaderSignal) WriteHeader(code int) {
	w.ResponseRecorder.WriteHeader(code)
	w.headers <- struct{}{}
}

func TestBalancerLatencyIsTimeToHeadersForAnyStrategy(t *testing.T) {
	clk := newTestClock()
	headers := make(chan struct{}, 1)
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		clk.advance(time.Second) // before the headers
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
		select {
		case <-headers: // the proxy has passed them on
		case <-r.Context().Done():
			return
		}
		clk.advance(time.Minute) // while the body goes out
		io.WriteString(w, "a")
	}))
	t.Cleanup(a.Close)
	ll := LeastLatency()
	wrapped := StrategyFunc(func(r *http.Request, bs []*Backend) *Backend { return ll.Pick(r, bs) })
	for _, tc := range []struct {
		name string
		s    Strategy
	}{{"round-robin", nil}, {"least-latency", LeastLatency()}, {"wrapped least-latency", wrapped}} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBalTestBalancer(t, []string{a.URL}, withBalTestClock(clk), WithStrategy(tc.s))
			w := &balHealthHeaderSignal{ResponseRecorder: httptest.NewRecorder(), headers: headers}
			b.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/x", nil))
			require.Equal(t, http.StatusOK, w.Code)
			require.Equal(t, "a", w.Body.String())
			assert.Equal(t, time.Second, balTestStatus(t, b, a.URL).Latency)
		})
	}
}

func TestBalancerCanceledClientsNeverEject(t *testing.T) {
	const maxFails = 3
	for _, tc := range []struct {
		name   string
		cancel bool // the client cancels while the backend holds the request
	}{
		{name: "client canceled", cancel: true},
		{name: "backend reset"}, // the control: the same requests do eject
	} {
		t.Run(tc.name, func(t *testing.T) {
			entered := make(chan struct{}, maxFails+1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !tc.cancel {
					if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
						conn.(*net.TCPConn).SetLinger(0)
						conn.Close()
					}
					return
				}
				entered <- struct{}{}
				<-r.Context().Done() // held until the proxy gives up on it
			}))
			t.Cleanup(srv.Close)
			b := newBalTestBalancer(t, []string{srv.URL}, WithPassiveHealth(PassiveHealth{MaxFails: maxFails}))
			for range maxFails + 1 {
				ctx, cancel := context.WithCancel(context.Background())
				r := httptest.NewRequest(http.MethodGet, "/x", nil).WithContext(ctx)
				w := httptest.NewRecorder()
				done := make(chan struct{})
				go func() {
					defer close(done)
					b.ServeHTTP(w, r)
				}()
				if tc.cancel {
					<-entered
					cancel()
				}
				<-done
				cancel()
				if !tc.cancel {
					assert.Equal(t, http.StatusBadGateway, w.Code)
				}
			}
			st := balTestStatus(t, b, srv.URL)
			assert.Equal(t, int64(maxFails+1), st.Requests)
			if tc.cancel {
				assert.Equal(t, StateHealthy, st.State)
				assert.Zero(t, st.Failures)
				assert.Zero(t, st.ConsecutiveFailures)
			} else {
				assert.Equal(t, StateEjected, st.State)
				assert.Equal(t, int64(maxFails+1), st.Failures)
			}
		})
	}
}
