package frontdoor

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A body over an http.MaxBytesReader limit is the client's fault: 413,
// never a 499 the live client would see, and the backend is not blamed.
func TestBalancerFixBodyTooLarge(t *testing.T) {
	be := newBalTestBackend(t, "a")
	b := newBalTestBalancer(t, []string{be.URL})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 10)
		b.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	res, err := http.Post(front.URL+"/up", "text/plain", strings.NewReader(strings.Repeat("x", 64<<10)))
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)
	assert.Equal(t, "Request Entity Too Large\n", string(body))
	assert.Zero(t, balTestStatus(t, b, be.URL).Failures, "the backend is not blamed")

	code, _ := balTestDo(b, http.MethodGet, "")
	assert.Equal(t, http.StatusOK, code, "the backend stays in the pool")
}

// A chunked upload cut by a malformed chunk while the client is still
// connected is answered 400 (or the connection is closed), never 499.
func TestBalancerFixTruncatedChunkedUpload(t *testing.T) {
	be := newBalTestBackend(t, "a")
	b := newBalTestBalancer(t, []string{be.URL})
	front := httptest.NewServer(b)
	t.Cleanup(front.Close)
	conn, err := net.Dial("tcp", front.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = io.WriteString(conn, "POST /up HTTP/1.1\r\nHost: front\r\nTransfer-Encoding: chunked\r\n\r\n"+
		"5\r\nhello\r\nzz-not-hex\r\n")
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		// The server may close the connection instead: fine, but
		// then nothing was answered at all.
		return
	}
	res.Body.Close()
	assert.NotEqual(t, StatusClientClosedRequest, res.StatusCode)
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Zero(t, balTestStatus(t, b, be.URL).Failures, "the backend is not blamed")
}

// CONNECT is refused before any backend is picked or counted, so it is
// 405 even when every backend is down and never a backend request.
func TestBalancerFixConnectRefused(t *testing.T) {
	be := newBalTestBackend(t, "a")
	b := newBalTestBalancer(t, []string{be.URL})
	dead := newBalTestBalancer(t, []string{balTestDeadURL(t), balTestDeadURL(t)})
	var zero Balancer
	for name, h := range map[string]http.Handler{"live": b, "all down": dead, "zero": &zero} {
		front := httptest.NewServer(h)
		t.Cleanup(front.Close)
		conn, err := net.Dial("tcp", front.Listener.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		_, err = io.WriteString(conn, "CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n")
		require.NoError(t, err)
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err, name)
		res.Body.Close()
		assert.Equal(t, http.StatusMethodNotAllowed, res.StatusCode, name)
		assert.NotEmpty(t, res.Header.Get("Allow"), name)
	}
	assert.Zero(t, be.hits.Load(), "the backend was not contacted")
	assert.Zero(t, balTestStatus(t, b, be.URL).Requests, "CONNECT is not a backend request")
}

// When a hash sends a key to a dead backend, the retry goes to another
// backend without calling the strategy on a slice of its own, which would
// replace the strategy's per-slice cache on every such retry.
func TestBalancerFixHashRetryKeepsCache(t *testing.T) {
	a, c := newBalTestBackend(t, "a"), newBalTestBackend(t, "c")
	dead := balTestDeadURL(t)
	st := HashHeader("X-Key")
	b := newBalTestBalancer(t, []string{a.URL, dead, c.URL}, WithStrategy(st),
		WithPassiveHealth(PassiveHealth{MaxFails: -1}))
	hs := st.(*hashStrategy)
	list := b.eligible(b.set.Load(), time.Now()).list
	key := ""
	for i := 0; key == "" && i < 1000; i++ {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("X-Key", strconv.Itoa(i))
		if be := st.Pick(r, list); be.URL().String() == dead {
			key = strconv.Itoa(i)
		}
	}
	require.NotEmpty(t, key, "a key of the dead backend")
	cache := hs.ids.p.Load()
	require.NotNil(t, cache)

	var first string
	for range 3 {
		code, body := balTestDo(b, http.MethodGet, "", "X-Key", key)
		assert.Equal(t, http.StatusOK, code)
		assert.Contains(t, []string{"a", "c"}, body)
		if first == "" {
			first = body
		}
		assert.Equal(t, first, body, "the key's fallback is stable")
	}
	assert.Same(t, cache, hs.ids.p.Load(), "the strategy's cache was not replaced")
}

// A retry token is only spent on a retry that happens: a one-backend pool
// failing over and over has nothing to retry on and leaves the budget
// whole for a pool that does.
func TestBalancerFixBudgetNotSpentWithoutRetry(t *testing.T) {
	clk := newTestClock() // frozen: the budget never refills
	hang := newBalTestBackend(t, "hang")
	hang.mode.Store(balModeHangup)
	b := newBalTestBalancer(t, []string{hang.URL}, withBalTestClock(clk),
		WithPassiveHealth(PassiveHealth{MaxFails: -1}),
		WithRetryPolicy(RetryPolicy{BudgetFloor: 2, BudgetRatio: 0.001}))
	for range 5 {
		code, _ := balTestDo(b, http.MethodGet, "")
		assert.Equal(t, http.StatusBadGateway, code)
	}
	live := newBalTestBackend(t, "live")
	require.NoError(t, b.SetBackends([]BackendSpec{{URL: hang.URL, Weight: 1}, {URL: live.URL, Weight: 1}}))
	// Each of these may start on the broken backend (round robin moved on
	// for the retry too): their retries need the two tokens the budget
	// holds, which the failures above must not have taken.
	for range 2 {
		code, body := balTestDo(b, http.MethodGet, "")
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, "live", body)
	}
}
