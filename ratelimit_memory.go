package frontdoor

import (
	"context"
	"math"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// rateLimitMaxClients bounds the limiter table of one route.
const rateLimitMaxClients = 10_000

// rateLimitSweep bounds how many idle entries one insert evicts, so no
// request pays for a long sweep.
const rateLimitSweep = 8

// rateLimitTable is the in-memory RateLimiter that WithRateLimit builds: one
// token bucket per key, at most max of them, in least-recently-used order.
//
// A bucket is kept as GCRA keeps it, the redisrate module too: as the
// theoretical arrival time (tat) at which it will be full again. A request
// of cost n at time now passes when max(tat, now) + n*interval - now is at
// most burst*interval, and then moves tat there; the tokens left are
// (burst*interval - (tat - now)) / interval. This is the token bucket of
// golang.org/x/time/rate, decided under the table's own lock: a
// rate.Limiter per key took a second lock per request, and a third to
// read the tokens left, which nearly doubled the cost of a decision
// (BenchmarkRateLimit). Times are float64 nanoseconds since epoch, so
// limits far below one per year do not overflow a Duration.
//
// mu guards every field below it.
type rateLimitTable struct {
	interval float64 // nanoseconds per token, 1e9/limit
	tau      float64 // nanoseconds to fill an empty bucket, burst*interval
	burst    int
	max      int
	idle     time.Duration // a bucket untouched this long is full again
	now      func() time.Time
	epoch    time.Time

	mu      sync.Mutex
	entries map[string]*rateLimitEntry
	// head is the most recently used entry, tail the least; both nil when
	// the table is empty.
	head, tail *rateLimitEntry
}

var _ RateLimiter = (*rateLimitTable)(nil)

// rateLimitEpsilon absorbs float64 rounding when a bucket is compared with
// a whole number of tokens, in tokens.
const rateLimitEpsilon = 1e-9

// rateLimitEntry is one key's bucket and its place in the LRU list.
type rateLimitEntry struct {
	key        string
	tat        float64 // when the bucket is full again, ns since the epoch
	seen       time.Time
	prev, next *rateLimitEntry
}

func newRateLimitTable(limit rate.Limit, burst, max int, now func() time.Time) *rateLimitTable {
	interval := 1e9 / float64(limit)
	// Time for an empty bucket to fill completely, rounded up; a limit so
	// low that this overflows means "never idle".
	idle := time.Duration(math.MaxInt64)
	if d := math.Ceil(float64(burst) * interval); d < math.MaxInt64 {
		idle = time.Duration(d)
	}
	return &rateLimitTable{
		interval: interval,
		tau:      float64(burst) * interval,
		burst:    burst,
		max:      max,
		idle:     idle,
		now:      now,
		epoch:    now(),
		entries:  make(map[string]*rateLimitEntry),
	}
}

// Allow takes cost tokens from key's bucket; it never fails.
func (t *rateLimitTable) Allow(_ context.Context, key string, cost int) (RateLimitDecision, error) {
	return t.allow(key, cost), nil
}

// allow takes cost tokens from key's bucket. When too few are left it
// takes none and reports how long until enough are.
func (t *rateLimitTable) allow(key string, cost int) RateLimitDecision {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	n := float64(now.Sub(t.epoch))
	e := t.entries[key]
	if e == nil {
		t.evictLocked(now)
		// Clone: key may be a substring of a large header value.
		e = &rateLimitEntry{key: strings.Clone(key), tat: n}
		t.entries[e.key] = e
	} else {
		t.unlinkLocked(e)
	}
	e.seen = now
	t.pushFrontLocked(e)

	d := RateLimitDecision{Limit: t.burst, Window: t.idle}
	tat := max(e.tat, n)
	next := tat + float64(cost)*t.interval
	if left := (t.tau - (next - n)) / t.interval; left >= -rateLimitEpsilon {
		e.tat = next
		d.Allowed = true
		d.Remaining = int(max(left+rateLimitEpsilon, 0))
		return d
	}
	d.Remaining = int(max((t.tau-(tat-n))/t.interval+rateLimitEpsilon, 0))
	d.RetryAfter = time.Duration(next - n - t.tau)
	return d
}

// evictLocked makes room for one entry: it drops up to rateLimitSweep idle
// entries from the tail, then, if the table is still full, the least
// recently used entry. t.mu must be held.
func (t *rateLimitTable) evictLocked(now time.Time) {
	for i := 0; i < rateLimitSweep && t.tail != nil && now.Sub(t.tail.seen) >= t.idle; i++ {
		t.removeLocked(t.tail)
	}
	for len(t.entries) >= t.max && t.tail != nil {
		t.removeLocked(t.tail)
	}
}

// len returns the number of keys tracked.
func (t *rateLimitTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}

func (t *rateLimitTable) removeLocked(e *rateLimitEntry) {
	t.unlinkLocked(e)
	delete(t.entries, e.key)
}

func (t *rateLimitTable) unlinkLocked(e *rateLimitEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		t.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		t.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (t *rateLimitTable) pushFrontLocked(e *rateLimitEntry) {
	e.next = t.head
	if t.head != nil {
		t.head.prev = e
	}
	t.head = e
	if t.tail == nil {
		t.tail = e
	}
}
