package frontdoor

import (
	"fmt"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// balTestBlackholeURL returns the URL of a 127.0.0.1 listener that never
// accepts and whose accept queue is full: the kernel drops further SYNs, so
// a dial to it hangs until its timeout, as with a host that went away.
// Linux only: the queue is made to hold one connection with a backlog of 0.
func balTestBlackholeURL(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	t.Cleanup(func() { syscall.Close(fd) })
	require.NoError(t, syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	require.NoError(t, syscall.Listen(fd, 0))
	sa, err := syscall.Getsockname(fd)
	require.NoError(t, err)
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	filler, err := net.DialTimeout("tcp", addr, time.Second)
	require.NoError(t, err, "the one queued connection")
	t.Cleanup(func() { filler.Close() })
	_, err = net.DialTimeout("tcp", addr, 50*time.Millisecond)
	require.Error(t, err, "the queue is full: dials hang")
	return "http://" + addr
}

func TestBalancerAllDownAnswersWithinDialTimeout(t *testing.T) {
	const dial = 200 * time.Millisecond
	urls := []string{balTestBlackholeURL(t), balTestBlackholeURL(t)}
	b := newBalTestBalancer(t, urls, WithDialTimeout(dial),
		WithPassiveHealth(PassiveHealth{MaxFails: 1, MaxEjectionPercent: 100}))
	requests := func() (n int64) {
		for _, st := range b.Backends() {
			n += st.Requests
		}
		return n
	}

	start := time.Now()
	code, body := balTestDo(b, http.MethodGet, "")
	elapsed := time.Since(start)
	assert.Equal(t, http.StatusBadGateway, code)
	assert.NotContains(t, body, "127.0.0.1")
	assert.GreaterOrEqual(t, elapsed, dial, "the dial did hang")
	assert.Less(t, elapsed, 2*dial, "answered after one dial timeout, not one per backend")
	assert.EqualValues(t, 1, requests(), "no retry starts after the dial timeout")

	// The next request goes to the backend not yet ejected and meets the
	// same fate, within one dial timeout too.
	start = time.Now()
	code, _ = balTestDo(b, http.MethodGet, "")
	elapsed = time.Since(start)
	assert.Equal(t, http.StatusBadGateway, code)
	assert.Less(t, elapsed, 2*dial)
	assert.EqualValues(t, 2, requests())
	for _, st := range b.Backends() {
		require.Equal(t, StateEjected, st.State)
	}

	// Every backend is ejected: panic mode gives a request one try, so the
	// answer comes within one dial timeout.
	start = time.Now()
	code, _ = balTestDo(b, http.MethodGet, "")
	elapsed = time.Since(start)
	assert.Equal(t, http.StatusBadGateway, code)
	assert.Less(t, elapsed, dial+time.Second)
	assert.EqualValues(t, 3, requests(), "a single try in panic mode")
}
