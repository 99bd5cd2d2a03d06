package frontdoor

import (
	"bufio"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// poolTestConn records that it was closed.
type poolTestConn struct {
	net.Conn
	closed atomic.Bool
}

func (c *poolTestConn) Close() error {
	c.closed.Store(true)
	return c.Conn.Close()
}

// newPoolTestConn returns an idle-able connection over one end of a pipe;
// closed reports whether it was closed.
func newPoolTestConn(t *testing.T) (c *backendConn, closed func() bool) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	pc := &poolTestConn{Conn: a}
	return &backendConn{Conn: pc, raw: pc, br: bufio.NewReader(pc)}, pc.closed.Load
}

func TestBackendPoolLIFO(t *testing.T) {
	p := newBackendPool(2, time.Minute)
	t.Cleanup(p.closeIdle)
	now := time.Now()
	c1, closed1 := newPoolTestConn(t)
	c2, _ := newPoolTestConn(t)
	c3, closed3 := newPoolTestConn(t)
	require.True(t, p.put(c1, now))
	require.True(t, p.put(c2, now.Add(time.Second)))
	assert.False(t, p.put(c3, now.Add(2*time.Second)), "at most max idle")
	assert.False(t, closed3(), "the caller closes what put refused")

	assert.Same(t, c2, p.get(now.Add(3*time.Second)), "most recently used first")
	assert.Same(t, c1, p.get(now.Add(3*time.Second)))
	assert.Nil(t, p.get(now.Add(3*time.Second)))
	assert.False(t, closed1())
	assert.True(t, c1.reused, "a pooled connection counts as reused")
}

func TestBackendPoolExpiry(t *testing.T) {
	p := newBackendPool(4, time.Minute)
	t.Cleanup(p.closeIdle)
	now := time.Now()
	c1, closed1 := newPoolTestConn(t)
	c2, closed2 := newPoolTestConn(t)
	p.put(c1, now)
	p.put(c2, now.Add(time.Second))
	assert.Nil(t, p.get(now.Add(time.Minute+time.Second)), "the most recent expired, so have all")
	assert.True(t, closed1())
	assert.True(t, closed2())
}

func TestBackendPoolTimerClosesIdle(t *testing.T) {
	p := newBackendPool(4, 20*time.Millisecond)
	c, closed := newPoolTestConn(t)
	require.True(t, p.put(c, time.Now()))
	assert.Eventually(t, closed, 5*time.Second, 5*time.Millisecond, "closed once idle for the timeout")
	p.mu.Lock()
	defer p.mu.Unlock()
	assert.Empty(t, p.idle)
	assert.False(t, p.armed, "no timer left without idle connections")
}

func TestBackendPoolCloseIdle(t *testing.T) {
	p := newBackendPool(4, time.Hour)
	c, closed := newPoolTestConn(t)
	p.put(c, time.Now())
	p.closeIdle()
	assert.True(t, closed())
	assert.Nil(t, p.get(time.Now()))
	assert.False(t, p.armed)
}

func TestBackendPoolLearnKeepAlive(t *testing.T) {
	for _, tt := range []struct {
		give string
		want time.Duration
	}{
		{"timeout=5, max=100", 4 * time.Second},
		{"max=100, timeout=\"3\"", 2 * time.Second},
		{"timeout=1", minIdleConnTimeout},
		{"timeout=3600", time.Minute},
		{"timeout=x", time.Minute},
		{"max=5", time.Minute},
	} {
		p := newBackendPool(1, time.Minute)
		p.learnKeepAlive(tt.give)
		assert.Equal(t, tt.want, p.idleTimeout(), tt.give)
	}
	p := newBackendPool(1, time.Minute)
	p.learnKeepAlive("timeout=5")
	p.learnKeepAlive("timeout=30")
	assert.Equal(t, 4*time.Second, p.idleTimeout(), "never lengthened")
}
