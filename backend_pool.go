package frontdoor

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// minIdleConnTimeout is the floor of an idle timeout learned from a
// backend's "Keep-Alive: timeout=N".
const minIdleConnTimeout = 500 * time.Millisecond

// backendPool keeps the idle connections of one backend. It hands out the
// most recently used first (LIFO), so that under light load a few
// connections stay warm while the others age out; keeps at most max; and
// closes a connection once it has been idle for the idle timeout, which a
// backend's "Keep-Alive: timeout=N" can shorten. It runs no goroutine: a
// timer, armed while a connection is idle, closes the expired ones. It is
// safe for concurrent use.
type backendPool struct {
	max     int
	timeout atomic.Int64 // the idle timeout, in nanoseconds

	mu    sync.Mutex     // guards idle, timer and armed
	idle  []*backendConn // oldest first
	timer *time.Timer    // runs prune; nil until first needed
	armed bool           // timer is set to fire
}

func newBackendPool(max int, timeout time.Duration) *backendPool {
	p := &backendPool{max: max}
	p.timeout.Store(int64(timeout))
	return p
}

// idleTimeout returns the current idle timeout.
func (p *backendPool) idleTimeout() time.Duration { return time.Duration(p.timeout.Load()) }

// get returns the most recently used connection that has not been idle for
// the idle timeout at now, or nil. It closes the expired ones it finds.
func (p *backendPool) get(now time.Time) *backendConn {
	p.mu.Lock()
	n := len(p.idle)
	if n == 0 {
		p.mu.Unlock()
		return nil
	}
	c := p.idle[n-1]
	if now.Sub(c.idleAt) < p.idleTimeout() {
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c
	}
	// The most recent has expired, so have all.
	expired := p.takeAll()
	p.mu.Unlock()
	closeAll(expired)
	return nil
}

// put makes c idle as of now. It reports false, keeping nothing, when max
// connections are idle already; the caller closes c then.
func (p *backendPool) put(c *backendConn, now time.Time) bool {
	c.idleAt = now
	c.reused = true
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) >= p.max {
		return false
	}
	p.idle = append(p.idle, c)
	if !p.armed {
		p.armed = true
		if p.timer == nil {
			p.timer = time.AfterFunc(p.idleTimeout(), p.prune)
		} else {
			p.timer.Reset(p.idleTimeout())
		}
	}
	return true
}

// prune closes the connections idle for the idle timeout and sets the
// timer for the next one to expire.
func (p *backendPool) prune() {
	now := time.Now()
	timeout := p.idleTimeout()
	p.mu.Lock()
	i := 0
	for i < len(p.idle) && now.Sub(p.idle[i].idleAt) >= timeout {
		i++
	}
	expired := append([]*backendConn(nil), p.idle[:i]...)
	clear(p.idle[:i])
	p.idle = p.idle[i:]
	p.armed = len(p.idle) > 0
	if p.armed {
		p.timer.Reset(p.idle[0].idleAt.Add(timeout).Sub(now))
	}
	p.mu.Unlock()
	closeAll(expired)
}

// closeIdle closes every idle connection now. Connections in use come
// back to the pool as usual.
func (p *backendPool) closeIdle() {
	p.mu.Lock()
	idle := p.takeAll()
	p.mu.Unlock()
	closeAll(idle)
}

// takeAll empties the pool and stops the timer, returning what it held.
// p.mu must be held.
func (p *backendPool) takeAll() []*backendConn {
	idle := p.idle
	p.idle = nil
	if p.armed {
		p.timer.Stop()
		p.armed = false
	}
	return idle
}

func closeAll(conns []*backendConn) {
	for _, c := range conns {
		c.close()
	}
}

// learnKeepAlive shortens the idle timeout to a second less than the one a
// backend announces in a Keep-Alive value ("timeout=5, max=100", as Apache
// and Node.js send), never below minIdleConnTimeout, so that we never send
// a request on a connection the backend is closing.
func (p *backendPool) learnKeepAlive(v string) {
	n, ok := parseKeepAliveTimeout(v)
	if !ok {
		return
	}
	d := int64(max(time.Duration(n)*time.Second-time.Second, minIdleConnTimeout))
	for {
		cur := p.timeout.Load()
		if d >= cur || p.timeout.CompareAndSwap(cur, d) {
			return
		}
	}
}

// parseKeepAliveTimeout returns N from a Keep-Alive header value such as
// "timeout=5, max=100".
func parseKeepAliveTimeout(v string) (int, bool) {
	for part := range strings.SplitSeq(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "timeout") {
			continue
		}
		n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(val), `"`))
		if err != nil || n <= 0 {
			return 0, false
		}
		return n, true
	}
	return 0, false
}
