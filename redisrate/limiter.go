// Package redisrate is a [frontdoor.RateLimiter] that keeps its buckets in
// Redis, so every gateway that shares one Redis (or Redis Cluster) holds one
// rate limit together: four instances behind an L4 balancer allow a client
// 10 requests/s in all, not 10 each, and a deploy resets nothing.
//
//	client := redis.NewClient(&redis.Options{
//		Addr:                  "redis:6379",
//		ContextTimeoutEnabled: true, // required: see New
//		MaxRetries:            -1,   // while Redis is down, fail at once
//		DialerRetries:         1,    // rather than retry within the timeout
//	})
//	limiter, err := redisrate.New(client, 10, 20) // 10/s, bursts of 20
//	if err != nil {
//		log.Fatal(err)
//	}
//	mux.Handle("/api", api, frontdoor.WithRateLimiter(limiter))
//
// Each decision is one round trip: one Lua script (GCRA, the token bucket
// of [frontdoor.WithRateLimit] kept as one number per key) reads the clock
// of Redis, not of the gateway, so gateways whose clocks disagree still
// agree, and leaves a key that expires when its bucket is full again. The
// gateway keeps nothing per client: its memory does not grow with the
// number of clients. Keys are hash-tagged by client, so a
// *redis.ClusterClient works as is.
//
// When Redis is slow or down, a decision waits at most [WithTimeout], then
// lets the request through ([frontdoor.WithRateLimiter] logs a warning at
// most every 10 seconds) or, with [WithFailClosed], refuses it with 503.
// It needs no restart: once Redis answers again, so does the limiter.
// go-redis retries failed commands and dials within that timeout unless
// told not to, as above; then a decision fails at once while Redis is
// down, and the client probes it once a second.
package redisrate

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/frontdoor-go/frontdoor"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
)

// gcraSource is the script of one decision; see gcra.lua.
//
//go:embed gcra.lua
var gcraSource string

// maxLimit bounds the rate: Redis's clock counts microseconds, and the
// script's float64 microsecond times stop adding sub-microsecond intervals.
const maxLimit = rate.Limit(1e6)

// maxWindow bounds the time a bucket takes to refill (burst/limit): past it,
// key expiry times stop being exact in Redis's milliseconds.
const maxWindow = 10 * 365 * 24 * time.Hour

// Limiter is a [frontdoor.RateLimiter] whose buckets live in Redis. It is
// safe for concurrent use; several routes given the same Limiter share its
// buckets. It does not own the client: close the client when done. Make
// one with [New]; the zero Limiter fails every decision, open.
type Limiter struct {
	client redis.UniversalClient
	script *redis.Script
	cfg    config

	interval float64 // microseconds per token
	burst    int
	window   time.Duration
	// intervalArg and burstArg are interval and burst as script arguments,
	// boxed once rather than on every decision.
	intervalArg, burstArg any
}

var _ frontdoor.RateLimiter = (*Limiter)(nil)

// config is what Options set.
type config struct {
	timeout    time.Duration // bounds one decision
	failClosed bool          // refuse what Redis cannot decide
	prefix     string        // starts every key
}

// defaultConfig is the configuration of New with no options.
func defaultConfig() config {
	return config{timeout: 50 * time.Millisecond, prefix: "frontdoor:ratelimit:"}
}

// validate checks the options once, naming the first bad one.
func (c *config) validate() error {
	if c.timeout <= 0 {
		return fmt.Errorf("redisrate: WithTimeout(%v): must be positive", c.timeout)
	}
	if strings.ContainsAny(c.prefix, "{}") {
		return fmt.Errorf("redisrate: WithPrefix(%q): must not contain braces", c.prefix)
	}
	return nil
}

// An Option configures a [Limiter] in [New].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithTimeout bounds how long one decision waits for Redis; past it, the
// request passes or, with [WithFailClosed], is refused. The default, 50 ms,
// is far above a LAN round trip (well under 1 ms): a decision that slow
// means Redis is in trouble, and requests should not wait for it. d must
// be positive.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.timeout = d })
}

// WithFailClosed refuses the requests Redis cannot decide in time, or at
// all: the route answers them 503 Service Unavailable (not 429: the client
// is not over its limit, the gateway cannot tell). By default they pass
// unlimited: a limiter that is down should not take the site with it.
func WithFailClosed() Option {
	return optionFunc(func(c *config) { c.failClosed = true })
}

// WithPrefix sets the start of every Redis key ("frontdoor:ratelimit:" by
// default); the client's key follows in braces, a Redis Cluster hash tag.
// Limiters with the same prefix share their buckets, so give limiters that
// must count apart, such as two routes with different limits, different
// prefixes. prefix must not contain "{" or "}".
func WithPrefix(prefix string) Option {
	return optionFunc(func(c *config) { c.prefix = prefix })
}

// New returns a Limiter that allows each key limit requests per second on
// average, with bursts of up to burst requests, as
// [frontdoor.WithRateLimit] does, but counted in Redis through client (a
// *redis.Client, *redis.ClusterClient or any [redis.UniversalClient]).
//
// client must be created with ContextTimeoutEnabled: true, or go-redis
// waits for its own socket timeouts (3 s by default) and a slow Redis
// holds requests past [WithTimeout]; New checks it on the clients it
// knows. limit must be positive and at most 1e6 per second (not
// rate.Inf), burst at least 1, and
// burst/limit at most ten years. New does not contact Redis.
func New(client redis.UniversalClient, limit rate.Limit, burst int, opts ...Option) (*Limiter, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if client == nil {
		return nil, errors.New("redisrate: nil client")
	}
	if !contextTimeouts(client) {
		return nil, errors.New("redisrate: the client must set ContextTimeoutEnabled, or a slow Redis holds requests past the decision timeout")
	}
	if limit == rate.Inf {
		return nil, errors.New("redisrate: limit rate.Inf: for no limit, install no limiter")
	}
	if math.IsNaN(float64(limit)) || limit <= 0 || limit > maxLimit {
		return nil, fmt.Errorf("redisrate: limit %v must be positive and at most %v", float64(limit), float64(maxLimit))
	}
	if burst < 1 {
		return nil, fmt.Errorf("redisrate: burst %d must be at least 1", burst)
	}
	window := float64(burst) / float64(limit) * float64(time.Second)
	if window > float64(maxWindow) {
		return nil, fmt.Errorf("redisrate: burst %d at limit %v takes longer than ten years to refill", burst, float64(limit))
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	l := &Limiter{
		client:   client,
		script:   redis.NewScript(gcraSource),
		cfg:      cfg,
		interval: 1e6 / float64(limit),
		burst:    burst,
		window:   time.Duration(math.Ceil(window)),
	}
	l.intervalArg, l.burstArg = l.interval, l.burst
	return l, nil
}

// contextTimeouts reports whether client honours context deadlines, as far
// as its type tells.
func contextTimeouts(client redis.UniversalClient) bool {
	switch c := client.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		return c.Options().ContextTimeoutEnabled
	}
	return true
}

// Allow takes cost tokens from key's bucket in one script run. It waits at
// most the limiter's timeout, even if ctx is cancelled sooner (the request's
// client went away), so the bucket is charged as it would be otherwise. When
// Redis does not answer in time or answers an error, Allow returns that
// error and a decision that allows the request, or refuses it under
// [WithFailClosed]. cost must be at least 1.
func (l *Limiter) Allow(ctx context.Context, key string, cost int) (frontdoor.RateLimitDecision, error) {
	if l.client == nil {
		return l.failed(errors.New("redisrate: Limiter not made by New"))
	}
	if cost < 1 {
		return l.failed(fmt.Errorf("redisrate: cost %d must be at least 1", cost))
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.cfg.timeout)
	defer cancel()
	res, err := l.script.Run(ctx, l.client, []string{l.key(key)}, l.intervalArg, l.burstArg, cost).Int64Slice()
	if err != nil {
		return l.failed(fmt.Errorf("redisrate: %w", err))
	}
	if len(res) != 3 {
		return l.failed(fmt.Errorf("redisrate: script answered %d values, want 3", len(res)))
	}
	return frontdoor.RateLimitDecision{
		Allowed:    res[0] == 1,
		Limit:      l.burst,
		Window:     l.window,
		Remaining:  int(res[1]),
		RetryAfter: time.Duration(res[2]) * time.Microsecond,
	}, nil
}

// failed returns the decision for a request Redis did not decide, with err.
func (l *Limiter) failed(err error) (frontdoor.RateLimitDecision, error) {
	return frontdoor.RateLimitDecision{Allowed: !l.cfg.failClosed}, err
}

// key returns the Redis key of a client key: the prefix and the key in
// braces, so Redis Cluster places it by the client's key alone.
func (l *Limiter) key(key string) string {
	return l.cfg.prefix + "{" + key + "}"
}
