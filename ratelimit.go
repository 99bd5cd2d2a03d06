package frontdoor

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// A RateLimiter decides whether a request may pass a rate limit. A [Mux]
// route asks it once per request, before the route's handler, when given
// [WithRateLimit] (which builds the in-memory limiter of one process) or
// [WithRateLimiter] (any other, such as the Redis-backed limiter of the
// redisrate module, which holds one limit across many gateways).
//
// Allow takes cost units (at least 1; a route always asks for 1) from the
// quota of key and returns the decision. ctx is the request's context.
// Allow must be safe for concurrent use and return promptly.
//
// When it cannot decide, because the store it asks is slow or down, Allow
// returns a non-nil error and says in the decision's Allowed field whether
// the request passes anyway (fail open) or not (fail closed). The limiter
// that can fail owns that choice and how long it waits, so there is one
// place to configure both; the in-memory limiter never fails.
type RateLimiter interface {
	Allow(ctx context.Context, key string, cost int) (RateLimitDecision, error)
}

// RateLimitDecision is a [RateLimiter]'s answer for one request, with what
// the Retry-After, RateLimit-Policy and RateLimit headers of a refusal need.
// The quota is a token bucket: Limit units when full, refilled at a steady
// rate that takes Window to fill it from empty.
type RateLimitDecision struct {
	// Allowed reports whether the request may pass.
	Allowed bool
	// Limit is the quota of a full bucket (the burst). Zero means the
	// limiter does not say, and a refusal then carries no RateLimit-Policy
	// or RateLimit header.
	Limit int
	// Window is the time an empty bucket takes to fill up.
	Window time.Duration
	// Remaining is the quota left after this decision.
	Remaining int
	// RetryAfter is, when Allowed is false, how long until a request of the
	// same cost could pass.
	RetryAfter time.Duration
}

// RateLimitOutcome classifies one decision of a rate-limited route, so that
// allowed, limited and failed decisions can be counted.
type RateLimitOutcome uint8

const (
	// RateLimitAllowed: the limiter let the request through.
	RateLimitAllowed RateLimitOutcome = iota
	// RateLimitLimited: the client was over its quota and got 429.
	RateLimitLimited
	// RateLimitErrored: the limiter could not decide; the request passed
	// (fail open) or got 503 (fail closed), as the limiter said.
	RateLimitErrored
)

// String returns "allowed", "limited" or "errored".
func (o RateLimitOutcome) String() string {
	switch o {
	case RateLimitAllowed:
		return "allowed"
	case RateLimitLimited:
		return "limited"
	case RateLimitErrored:
		return "errored"
	}
	return "RateLimitOutcome(" + strconv.Itoa(int(o)) + ")"
}

// rateLimitConfig is what WithRateLimit sets.
type rateLimitConfig struct {
	limit rate.Limit
	burst int
}

// WithRateLimit limits each client of the route to limit requests per second
// on average, with bursts of up to burst requests (the token bucket of
// [golang.org/x/time/rate.Limiter]), counted in this process. A request over the
// limit is not passed on: it gets 429 Too Many Requests with a Retry-After
// header giving the whole seconds until the client may try again, and the
// RateLimit-Policy and RateLimit headers of the IETF httpapi draft (see
// [WithRateLimiter]).
//
// A client is its IP address, read as [WithTrustedProxies] says (by default
// the TCP peer, so a client cannot spoof X-Forwarded-For); an IPv6 client is
// counted per /64 network, since one host commonly holds a whole /64.
// [WithRateLimitKey] counts by something else. Memory stays bounded however
// many clients appear: a client idle long enough for its bucket to refill is
// forgotten (nothing is lost, a fresh bucket is full), and past 10,000
// active clients per route the least recently seen is forgotten early,
// which can only let it through sooner. No goroutine is started.
//
// limit must be positive (or [golang.org/x/time/rate.Inf], which disables
// the limit) and burst at least 1; anything else makes [Mux.Handle] panic.
// By default a route is not rate limited. WithRateLimit and
// [WithRateLimiter] replace each other; the last one given wins.
func WithRateLimit(limit rate.Limit, burst int) RouteOption {
	return routeOptionFunc(func(c *routeConfig) {
		c.rateLimit = &rateLimitConfig{limit: limit, burst: burst}
		c.rateLimiter = nil
	})
}

// WithRateLimiter limits the route with l, a [RateLimiter] of the user's
// or another module's (for one limit across many gateways, the redisrate
// module's Redis-backed limiter). Clients are keyed as for [WithRateLimit].
//
// A request l refuses gets 429 Too Many Requests, as with WithRateLimit,
// with these headers: Retry-After, the whole seconds of the decision's
// RetryAfter (at least 1); and, when the decision gives its Limit,
// RateLimit-Policy: "default";q=Limit;w=Window (whole seconds, at least 1)
// and RateLimit: "default";r=Remaining;t=Retry-After, in the structured-field
// syntax of the IETF httpapi RateLimit header fields draft. The body is
// application/problem+json for clients that accept JSON, else short text.
// Allowed requests carry no rate-limit header: the headers cost every
// request some work, and the answer there belongs to the route's handler
// (a backend behind a [Balancer] may send its own).
//
// When l fails (Allow returns an error), the request passes if the
// decision allows it (fail open), else it gets 503 Service Unavailable
// (fail closed: the client did nothing wrong, the gateway cannot serve it
// now). Failures are logged at Warn at most once every 10 seconds, with
// how many decisions failed meanwhile, and recovery once at Info.
//
// A nil l, the default, leaves the route unlimited. WithRateLimiter and
// [WithRateLimit] replace each other; the last one given wins.
func WithRateLimiter(l RateLimiter) RouteOption {
	return routeOptionFunc(func(c *routeConfig) {
		c.rateLimiter = l
		c.rateLimit = nil
	})
}

// WithRateLimitKey sets the key the route's rate limit counts a request
// against: key(r), or the client address (as [WithRateLimit] describes)
// when key returns "". Use it to count per API key or per user; key runs
// before the route's handler, so an authentication middleware whose user
// id it reads must wrap the [Mux]. Return keys clients cannot forge (a
// verified user id, not a raw header) or a client can spend another's
// quota, and hash secrets such as API keys: a shared limiter stores the
// key (redisrate in a Redis key name). Nil, the default, keys by client
// address. Without [WithRateLimit] or [WithRateLimiter] it has no effect.
func WithRateLimitKey(key func(r *http.Request) string) RouteOption {
	return routeOptionFunc(func(c *routeConfig) { c.rateLimitKey = key })
}

// rateLimitWarnEvery is how often a failing limiter is logged at most.
const rateLimitWarnEvery = 10 * time.Second

// rateLimitHandler enforces a route's rate limit in front of next.
type rateLimitHandler struct {
	next    http.Handler
	limiter RateLimiter
	keyFunc func(*http.Request) string // nil: the client address
	trusted trustedNets
	logger  *slog.Logger
	route   string // the route's prefix, for logs

	// warn throttles the warning of a failing limiter; failures counts the
	// failed decisions since the last warning, failing whether the last
	// decision failed (so recovery is logged once).
	warn     rate.Sometimes
	failures atomic.Int64
	failing  atomic.Bool
}

// newRateLimitHandler validates the route's rate-limit options and wraps
// next, or returns next when the route is not limited.
func newRateLimitHandler(next http.Handler, c *routeConfig, route string) (http.Handler, error) {
	nets, err := parseTrustedNets(c.trustedCIDRs)
	if err != nil {
		return nil, err
	}
	lim := c.rateLimiter
	if rl := c.rateLimit; rl != nil {
		if math.IsNaN(float64(rl.limit)) || rl.limit <= 0 {
			return nil, fmt.Errorf("frontdoor: WithRateLimit: limit %v must be positive", float64(rl.limit))
		}
		if rl.limit == rate.Inf {
			return next, nil
		}
		if rl.burst < 1 {
			return nil, fmt.Errorf("frontdoor: WithRateLimit: burst %d must be at least 1", rl.burst)
		}
		lim = newRateLimitTable(rl.limit, rl.burst, rateLimitMaxClients, time.Now)
	}
	if lim == nil {
		return next, nil
	}
	return &rateLimitHandler{
		next:    next,
		limiter: lim,
		keyFunc: c.rateLimitKey,
		trusted: nets,
		logger:  c.logger,
		route:   route,
		warn:    rate.Sometimes{Interval: rateLimitWarnEvery},
	}, nil
}

func (h *rateLimitHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d, outcome := h.decide(r)
	switch {
	case d.Allowed:
		h.next.ServeHTTP(w, r)
	case outcome == RateLimitErrored:
		writeProxyProblem(w, r, http.StatusServiceUnavailable)
	default:
		writeRateLimited(w, r, d)
	}
}

// decide asks the limiter about r and classifies the answer; it is the one
// place every decision of the route passes through. A failure is logged as
// WithRateLimiter says, a refusal at Debug.
func (h *rateLimitHandler) decide(r *http.Request) (RateLimitDecision, RateLimitOutcome) {
	d, err := h.limiter.Allow(r.Context(), h.key(r), 1)
	if err != nil {
		h.failed(r.Context(), d.Allowed, err)
		return d, RateLimitErrored
	}
	if h.failing.Load() && h.failing.CompareAndSwap(true, false) {
		h.logger.LogAttrs(r.Context(), slog.LevelInfo, "frontdoor: rate limiter answers again",
			slog.String("route", h.route))
	}
	if d.Allowed {
		return d, RateLimitAllowed
	}
	if h.logger.Enabled(r.Context(), slog.LevelDebug) {
		h.logger.LogAttrs(r.Context(), slog.LevelDebug, "frontdoor: rate limited",
			slog.String("client", h.trusted.clientIP(r).String()), slog.String("method", r.Method), slog.String("path", r.URL.Path))
	}
	return d, RateLimitLimited
}

// failed counts a failed decision and logs it at most once per
// rateLimitWarnEvery, saying whether requests pass or are refused.
func (h *rateLimitHandler) failed(ctx context.Context, pass bool, err error) {
	if !h.failing.Load() {
		h.failing.Store(true)
	}
	h.failures.Add(1)
	h.warn.Do(func() {
		msg := "frontdoor: rate limiter failed; requests pass unlimited"
		if !pass {
			msg = "frontdoor: rate limiter failed; requests are refused with 503"
		}
		h.logger.LogAttrs(ctx, slog.LevelWarn, msg, slog.String("route", h.route),
			slog.Int64("failures", h.failures.Swap(0)), slog.Any("err", err))
	})
}

// key returns the key r is counted against.
func (h *rateLimitHandler) key(r *http.Request) string {
	if h.keyFunc != nil {
		if k := h.keyFunc(r); k != "" {
			return k
		}
	}
	return rateLimitClientKey(h.trusted.clientAddr(r))
}

// rateLimitClientKey returns the key of the client at a, parsed from text:
// the address for IPv4 (text itself when it is already canonical, so the
// common case formats nothing), its /64 network for IPv6, and "" for a
// client with no IP address.
func rateLimitClientKey(a netip.Addr, text string) string {
	switch {
	case !a.IsValid():
		return ""
	case a.Is4():
		if isDottedQuad(text) {
			// netip.ParseAddr accepts no leading zeros, so a dotted quad
			// that parsed is the canonical form.
			return text
		}
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return a.String()
	}
	return p.String()
}

// isDottedQuad reports whether s holds only digits and dots.
func isDottedQuad(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// writeRateLimited answers 429 for the refusal d, with the headers
// WithRateLimiter lists.
func writeRateLimited(w http.ResponseWriter, r *http.Request, d RateLimitDecision) {
	h := w.Header()
	retry := max(ceilSeconds(d.RetryAfter), 1)
	h.Set("Retry-After", strconv.FormatInt(retry, 10))
	if d.Limit > 0 {
		h.Set("RateLimit-Policy", `"default";q=`+strconv.Itoa(d.Limit)+`;w=`+strconv.FormatInt(max(ceilSeconds(d.Window), 1), 10))
		h.Set("RateLimit", `"default";r=`+strconv.Itoa(max(d.Remaining, 0))+`;t=`+strconv.FormatInt(retry, 10))
	}
	writeProxyProblem(w, r, http.StatusTooManyRequests)
}

// ceilSeconds returns d in whole seconds, rounded up.
func ceilSeconds(d time.Duration) int64 {
	s := int64(d / time.Second)
	if d%time.Second > 0 {
		s++
	}
	return s
}
