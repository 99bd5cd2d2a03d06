package frontdoor

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// rateLimitConfig is what WithRateLimit sets.
type rateLimitConfig struct {
	limit rate.Limit
	burst int
}

// WithRateLimit limits each client of the route to limit requests per second
// on average, with bursts of up to burst requests (a token bucket,
// [golang.org/x/time/rate]). A request over the limit is not passed on: it
// gets 429 Too Many Requests with a Retry-After header giving the whole
// seconds until the client may try again.
//
// A client is its IP address, read as [WithTrustedProxies] says (by default
// the TCP peer, so a client cannot spoof X-Forwarded-For); an IPv6 client is
// counted per /64 network, since one host commonly holds a whole /64. Memory
// stays bounded however many clients appear: a client idle long enough for
// its bucket to refill is forgotten (nothing is lost, a fresh bucket is
// full), and past 10,000 active clients per route the least recently seen
// is forgotten early, which can only let it through sooner. No goroutine is
// started.
//
// limit must be positive (or [golang.org/x/time/rate.Inf], which disables
// the limit) and burst at least 1; anything else makes [Mux.Handle] panic.
// By default a route is not rate limited.
func WithRateLimit(limit rate.Limit, burst int) RouteOption {
	return routeOptionFunc(func(c *routeConfig) {
		c.rateLimit = &rateLimitConfig{limit: limit, burst: burst}
	})
}

// rateLimitMaxClients bounds the limiter table of one route.
const rateLimitMaxClients = 10_000

// rateLimitSweep bounds how many idle entries one insert evicts, so no
// request pays for a long sweep.
const rateLimitSweep = 8

// rateLimitHandler enforces a per-client rate limit in front of next.
type rateLimitHandler struct {
	next    http.Handler
	trusted trustedNets
	logger  *slog.Logger
	table   *rateLimitTable
}

// newRateLimitHandler validates c and wraps next.
func newRateLimitHandler(next http.Handler, c rateLimitConfig, cidrs []string, logger *slog.Logger) (http.Handler, error) {
	if math.IsNaN(float64(c.limit)) || c.limit <= 0 {
		return nil, fmt.Errorf("frontdoor: WithRateLimit: limit %v must be positive", float64(c.limit))
	}
	nets, err := parseTrustedNets(cidrs)
	if err != nil {
		return nil, err
	}
	if c.limit == rate.Inf {
		return next, nil
	}
	if c.burst < 1 {
		return nil, fmt.Errorf("frontdoor: WithRateLimit: burst %d must be at least 1", c.burst)
	}
	return &rateLimitHandler{
		next:    next,
		trusted: nets,
		logger:  logger,
		table:   newRateLimitTable(c.limit, c.burst, rateLimitMaxClients, time.Now),
	}, nil
}

func (h *rateLimitHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := rateLimitKey(h.trusted.clientIP(r))
	ok, wait := h.table.allow(key)
	if ok {
		h.next.ServeHTTP(w, r)
		return
	}
	if h.logger.Enabled(r.Context(), slog.LevelDebug) {
		h.logger.LogAttrs(r.Context(), slog.LevelDebug, "frontdoor: rate limited",
			slog.String("client", key.String()), slog.String("method", r.Method), slog.String("path", r.URL.Path))
	}
	secs := int64(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	writeProxyProblem(w, r, http.StatusTooManyRequests)
}

// rateLimitKey maps a client address to the key its limiter is filed under:
// the address itself for IPv4, its /64 network for IPv6.
func rateLimitKey(a netip.Addr) netip.Addr {
	if a.Is6() && !a.Is4In6() {
		p, err := a.Prefix(64)
		if err == nil {
			return p.Addr()
		}
	}
	return a
}

// rateLimitTable holds one token bucket per client, at most max of them, in
// least-recently-used order. mu guards every field below it.
type rateLimitTable struct {
	limit rate.Limit
	burst int
	max   int
	idle  time.Duration // a bucket untouched this long is full again
	now   func() time.Time

	mu      sync.Mutex
	entries map[netip.Addr]*rateLimitEntry
	// head is the most recently used entry, tail the least; both nil when
	// the table is empty.
	head, tail *rateLimitEntry
}

// rateLimitEntry is one client's bucket and its place in the LRU list.
type rateLimitEntry struct {
	key        netip.Addr
	lim        *rate.Limiter
	seen       time.Time
	prev, next *rateLimitEntry
}

func newRateLimitTable(limit rate.Limit, burst, max int, now func() time.Time) *rateLimitTable {
	// Time for an empty bucket to fill completely, rounded up; a limit so
	// low that this overflows means "never idle".
	idle := time.Duration(math.MaxInt64)
	if d := math.Ceil(float64(burst) / float64(limit) * float64(time.Second)); d < math.MaxInt64 {
		idle = time.Duration(d)
	}
	return &rateLimitTable{
		limit:   limit,
		burst:   burst,
		max:     max,
		idle:    idle,
		now:     now,
		entries: make(map[netip.Addr]*rateLimitEntry),
	}
}

// allow takes one token from key's bucket. When none is left it reports
// false and how long until one is.
func (t *rateLimitTable) allow(key netip.Addr) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	e := t.entries[key]
	if e == nil {
		t.evictLocked(now)
		e = &rateLimitEntry{key: key, lim: rate.NewLimiter(t.limit, t.burst)}
		t.entries[key] = e
	} else {
		t.unlinkLocked(e)
	}
	e.seen = now
	t.pushFrontLocked(e)
	if e.lim.AllowN(now, 1) {
		return true, 0
	}
	tokens := e.lim.TokensAt(now)
	wait := time.Duration((1 - tokens) / float64(t.limit) * float64(time.Second))
	return false, wait
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

// len returns the number of clients tracked.
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
