package frontdoor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// balancerConfig is what BalancerOptions set.
type balancerConfig struct {
	logger   *slog.Logger
	strategy Strategy
	proxy    proxyConfig
	weights  []int
	passive  PassiveHealth
	retry    RetryPolicy
	check    *HealthCheck
	drain    time.Duration
	onChange func(StateChange)
	now      func() time.Time // the clock; tests replace it
}

// maxWeight bounds a backend's weight.
const maxWeight = 10000

// WithStrategy sets how the Balancer picks a backend. Nil, the default, means
// [RoundRobin]. Give each Balancer its own Strategy value.
func WithStrategy(s Strategy) BalancerOption {
	return balancerOptionFunc(func(c *balancerConfig) { c.strategy = s })
}

// WithWeights gives the backends passed to [NewBalancer] weights, in the
// same order: a backend of weight 2 gets twice the share of one of weight
// 1. By default every weight is 1. [NewBalancer] fails unless there is one
// weight per backend, each from 1 to 10000. [Balancer.SetBackends] sets
// weights later.
func WithWeights(weights ...int) BalancerOption {
	return balancerOptionFunc(func(c *balancerConfig) { c.weights = weights })
}

// Balancer is an [net/http.Handler] that reverse-proxies each request to one
// of several backends chosen by a [Strategy]. Backends that fail are ejected
// for a while (see [PassiveHealth]); failed requests are retried on another
// backend when that is safe (see [RetryPolicy]). When no backend is eligible
// it answers 503; when every attempt failed, 502 (504 for a timeout).
// Trailers pass both ways: a client's go to the backend after the request
// body when that is sent chunked (as every body of unknown length is; a
// body with a Content-Length cannot carry them), and a backend's reach the
// client; fields that frame, route or authenticate a
// message (Content-Length, Host, Authorization and the like) never pass as
// trailers.
//
// The path and query go to the backend as the client sent them, byte for
// byte ("//" and "%2F" included), after the backend URL's own path. A path
// with a dot segment ("/a/../b", "/a/%2e%2e/b"; see [Mux] for the whole
// rule) is refused with 400 Bad Request instead, so that what a backend
// resolves is what a route in front of it matched. To forward without a
// leading prefix, mount the Balancer on a Mux route with [WithStripPrefix],
// or behind [net/http.StripPrefix].
//
// The backend set is an immutable snapshot replaced atomically by
// [Balancer.SetBackends]: serving a request takes no lock. A Balancer is safe
// for concurrent use and must not be copied. The zero Balancer has no
// backends and answers 503.
type Balancer struct {
	cfg     balancerConfig
	set     atomic.Pointer[backendSet]
	budget  *retryBudget
	checker *activeChecker

	// hmu serializes health transitions (see health.go).
	hmu sync.Mutex

	// setMu serializes SetBackends and Close; it guards draining and closed.
	setMu    sync.Mutex
	draining []*Backend
	closed   bool
	stopOnce sync.Once // see stop
}

var _ http.Handler = (*Balancer)(nil)

// backendSet is one immutable backend set; view caches its eligible backends.
type backendSet struct {
	members []*Backend
	view    atomic.Pointer[eligibleView]
}

// NewBalancer returns a Balancer over the backends at the given http or
// https URLs. An empty list, a bad URL or a bad option value is an error
// naming it. Call Close or Shutdown when done with the Balancer.
//
// With no options every backend has weight 1 and is picked by
// [RoundRobin]; failing backends are ejected and tried again as the zero
// [PassiveHealth] says, failed requests retried as the zero [RetryPolicy]
// says; there are no active health checks ([HealthCheck]); a removed
// backend drains ([WithDrainTimeout]); state changes are logged to
// [slog.Default].
func NewBalancer(backends []string, opts ...BalancerOption) (*Balancer, error) {
	if len(backends) == 0 {
		return nil, errors.New("frontdoor: NewBalancer: no backends")
	}
	b := &Balancer{cfg: balancerConfig{drain: 30 * time.Second}}
	for _, o := range opts {
		if o != nil {
			o.applyBalancer(&b.cfg)
		}
	}
	if err := b.cfg.validate(len(backends)); err != nil {
		return nil, err
	}
	specs := make([]BackendSpec, len(backends))
	for i, u := range backends {
		specs[i] = BackendSpec{URL: u, Weight: 1}
		if b.cfg.weights != nil {
			specs[i].Weight = b.cfg.weights[i]
		}
	}
	if err := b.SetBackends(specs); err != nil {
		return nil, err
	}
	b.budget = newRetryBudget(b.cfg.retry.BudgetRatio, b.cfg.retry.BudgetFloor, b.cfg.now())
	if b.cfg.check != nil {
		b.checker = startActiveChecker(b, *b.cfg.check)
	}
	return b, nil
}

// validate fills in defaults and checks every option once.
func (c *balancerConfig) validate(n int) error {
	if c.strategy == nil {
		c.strategy = RoundRobin()
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.logger = defaultLogger(c.logger)
	if err := c.proxy.validate(); err != nil {
		return err
	}
	c.strategy = withTrustedProxies(c.strategy, c.proxy.trusted)
	if c.weights != nil {
		if len(c.weights) != n {
			return fmt.Errorf("frontdoor: WithWeights: %d weights for %d backends", len(c.weights), n)
		}
		for _, w := range c.weights {
			if w < 1 || w > maxWeight {
				return fmt.Errorf("frontdoor: WithWeights: weight %d out of range 1..%d", w, maxWeight)
			}
		}
	}
	if c.drain < 0 {
		return fmt.Errorf("frontdoor: WithDrainTimeout: negative duration %v", c.drain)
	}
	p := c.passive
	if p.BaseEjection < 0 || p.MaxEjection < 0 || p.Decay < 0 || p.SlowThreshold < 0 ||
		p.MaxEjectionPercent < 0 || p.MaxEjectionPercent > 100 {
		return fmt.Errorf("frontdoor: WithPassiveHealth: bad value in %+v", p)
	}
	c.passive = p.withDefaults()
	r := c.retry
	if r.MaxDuration == 0 {
		// Retries start only within one dial timeout of the first attempt,
		// so a pool whose dials all hang is answered after about one dial
		// timeout, not one per backend.
		r.MaxDuration = c.proxy.dialTimeout
	}
	if r.MaxTries < 0 || r.MaxDuration < 0 || r.BudgetRatio < 0 || r.BudgetFloor < 0 || r.BufferBody < 0 {
		return fmt.Errorf("frontdoor: WithRetryPolicy: negative value in %+v", r)
	}
	c.retry = r.withDefaults()
	if c.check != nil {
		hc, err := c.check.withDefaults()
		if err != nil {
			return err
		}
		c.check = &hc
	}
	return nil
}

// ServeHTTP forwards r to a backend, retrying on another one when the
// [RetryPolicy] allows, and answers 503/502/504 itself when no attempt
// produced a response. CONNECT is answered 405 before any backend is
// picked: this is a reverse proxy, not a tunnel. A path with a dot
// segment, and an asterisk-form target, are answered 400 by the rule of
// [Mux]: the Balancer applies it too, for when no Mux is in front.
func (b *Balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		writeProxyMethodNotAllowed(w)
		return
	}
	if refuseRequestTarget(w, r) {
		return
	}
	s := b.set.Load()
	if s == nil {
		b.cfg.proxy.writeError(w, r, ErrNoBackend)
		return
	}
	now := b.cfg.now()
	b.budget.request(now)
	var body *retryBody
	if orig := r.Body; orig != nil && orig != http.NoBody {
		body = newRetryBody(orig, b.cfg.retry.BufferBody)
		defer func() { r.Body = orig }()
	}
	if err := b.serve(w, r, s, body, now); err != nil {
		b.cfg.proxy.writeError(w, r, err)
	}
}

// serve runs the attempts for one request. It returns the error to answer
// with, or nil once a response went to the client. RetryPolicy.next
// decides what follows each failed attempt.
func (b *Balancer) serve(w http.ResponseWriter, r *http.Request, s *backendSet, body *retryBody, start time.Time) error {
	var triedBuf [4]*Backend
	tried := triedBuf[:0]
	err := ErrNoBackend
	sent := 0       // attempts that reached a backend
	next := tryFree // the first attempt needs no token
	now := start
	for {
		// An empty budget is seen before picking, so that a refused
		// retry does not move the strategy on (round robin would skip a
		// backend), but a token is taken only for a retry that will
		// happen: a pool with nothing left to try must not drain it.
		if next == tryPaid && !b.budget.ready(now) {
			b.budgetExhausted(r)
			break
		}
		be, kind := b.pick(r, s, tried, now)
		if be == nil {
			break
		}
		if next == tryPaid && !b.budget.allow(now) { // another request took the last token
			if kind == pickTrial {
				be.trial.Store(false) // the trial slot admit took is not used
			}
			b.budgetExhausted(r)
			break
		}
		tried = append(tried, be)
		be.requests.Add(1)
		if len(tried) > 1 {
			be.retries.Add(1)
		}
		if body != nil {
			r.Body = body.attempt()
		}
		err = b.try(w, r, be, kind)
		if err == nil {
			return nil
		}
		if berr, ok := errors.AsType[*BackendError](err); ok && berr.responded {
			return nil
		}
		b.cfg.logger.LogAttrs(r.Context(), slog.LevelDebug, "frontdoor: attempt failed",
			slog.String("backend", be.name), slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Int("try", len(tried)), slog.Any("err", err))
		class := failureClass(err)
		if class != ErrNotSent {
			sent++
		}
		now = b.cfg.now()
		next = b.cfg.retry.next(r, class, body.state(), sent, now.Sub(start), kind == pickPanic)
		if next == tryNone {
			break
		}
	}
	return err
}

// budgetExhausted logs a retry refused by the budget.
func (b *Balancer) budgetExhausted(r *http.Request) {
	b.cfg.logger.LogAttrs(r.Context(), slog.LevelDebug, "frontdoor: retry budget exhausted",
		slog.String("method", r.Method), slog.String("path", r.URL.Path))
}

// pickKind says how a backend was admitted, for passive health.
type pickKind uint8

const (
	pickNormal pickKind = iota
	pickTrial           // the one trial request of a half-open backend
	pickPanic           // an unhealthy backend picked in panic mode
)

// pick chooses an eligible backend not tried yet for this request.
func (b *Balancer) pick(r *http.Request, s *backendSet, tried []*Backend, now time.Time) (*Backend, pickKind) {
	v := b.eligible(s, now)
	var last *Backend
	for range 3 {
		be := b.cfg.strategy.Pick(r, v.list)
		if be == nil {
			return nil, pickNormal
		}
		last = be
		if slices.Contains(tried, be) {
			continue
		}
		if ok, kind := b.admit(be, v); ok {
			return be, kind
		}
	}
	// The strategy keeps choosing backends already tried (a hash does):
	// take the next untried, admitted one after its choice in the list.
	// Calling Pick again on another slice would replace the strategy's
	// per-slice caches and allocate on every retry.
	n := len(v.list)
	at := max(0, slices.Index(v.list, last))
	for k := 1; k <= n; k++ {
		be := v.list[(at+k)%n]
		if slices.Contains(tried, be) {
			continue
		}
		if ok, kind := b.admit(be, v); ok {
			return be, kind
		}
	}
	return nil, pickNormal
}

// try runs one attempt on be and records its outcome for passive health.
// When the response was cut short on a connection forward could not close
// (HTTP/2), it panics with [http.ErrAbortHandler] after recording, so that
// the server resets the stream.
func (b *Balancer) try(w http.ResponseWriter, r *http.Request, be *Backend, kind pickKind) error {
	t, err := be.fwd.forwardTap(w, r, attemptTap{b: b, be: be, kind: kind, t0: b.cfg.now()})
	now := b.cfg.now()
	a := attempt{be: be, kind: kind, err: err}
	if t.settled {
		a.kind = pickNormal // the trial was recorded at the headers
	}
	var hdr attempt
	if t.code != 0 {
		hdr = b.judgeHeaders(&t)
	}
	switch {
	case err != nil && errors.Is(err, ErrClientGone):
		a.ignore = true
	case t.settled && hdr.failed:
		a.ignore = true // counted at the headers already
	case err != nil:
		a.failed = true
	case hdr.failed:
		a.failed, a.err = true, hdr.err
	case t.code == 0:
		// Answered without going through the attempt's writer (CONNECT).
		be.lat.observe(now.Sub(t.t0), now)
	}
	b.record(a, now)
	if berr, ok := errors.AsType[*BackendError](err); ok && berr.abort {
		panic(http.ErrAbortHandler)
	}
	return err
}

// Close stops the Balancer's health checks and drain timers, closes idle
// connections and open upgraded streams to every backend at once, and makes
// SetBackends fail. It does not wait for anything. Close is idempotent,
// safe for concurrent use, may follow or interrupt [Balancer.Shutdown] (it
// then ends the streams Shutdown is waiting for) and always returns nil.
//
// To stop a server gracefully, call [net/http.Server.Shutdown] first, so
// that no new request arrives and in-flight ones finish, then
// [Balancer.Shutdown] to give upgraded streams (which Server.Shutdown does
// not track) a grace period. Call Close when no grace is wanted, or after a
// failed Shutdown as a last resort.
func (b *Balancer) Close() error {
	for _, be := range b.stop() {
		be.fwd.closeStreams()
		be.fwd.closeIdle()
	}
	return nil
}

// shutdownPollMax bounds the interval at which Shutdown polls the counters.
const shutdownPollMax = 50 * time.Millisecond

// Shutdown closes the Balancer gracefully, as [net/http.Server.Shutdown]
// does a server: it stops health checks and drain timers and closes idle
// connections like [Balancer.Close], then waits until no backend (draining
// ones included) has a request in flight or an open upgraded stream, or
// until ctx is done. In the latter case it closes the remaining streams and
// connections and returns ctx.Err(); otherwise it returns nil.
//
// Shutdown does not refuse new requests: call it after Server.Shutdown has
// returned, with what is left of the same deadline, so that only streams
// (and requests of servers not shut down) are waited for. It polls every few
// milliseconds. It is safe for concurrent use; calling it after Close, or
// Close during or after it, is fine.
func (b *Balancer) Shutdown(ctx context.Context) error {
	all := b.stop()
	for _, be := range all {
		be.fwd.closeIdle()
	}
	wait := time.Millisecond
	t := time.NewTimer(wait)
	defer t.Stop()
	for balancerBusy(all) {
		select {
		case <-ctx.Done():
			for _, be := range all {
				be.fwd.closeStreams()
				be.fwd.closeIdle()
			}
			return ctx.Err()
		case <-t.C:
			wait = min(2*wait, shutdownPollMax)
			t.Reset(wait)
		}
	}
	for _, be := range all {
		be.fwd.closeIdle()
	}
	return nil
}

// balancerBusy reports whether a backend has a request in flight or an
// open stream.
func balancerBusy(all []*Backend) bool {
	for _, be := range all {
		if be.InFlight() > 0 || be.Streams() > 0 {
			return true
		}
	}
	return false
}

// stop stops, once, everything the Balancer started: drain timers and the
// health checker; SetBackends fails from then on. Concurrent callers return
// once it is done. It returns every backend, current and draining.
func (b *Balancer) stop() []*Backend {
	b.stopOnce.Do(func() {
		b.setMu.Lock()
		b.closed = true
		for _, be := range b.draining {
			be.drainStop()
		}
		b.setMu.Unlock()
		if b.checker != nil {
			b.checker.stop()
		}
	})
	var all []*Backend
	if s := b.set.Load(); s != nil {
		all = s.members
	}
	b.setMu.Lock()
	defer b.setMu.Unlock()
	return slices.Concat(all, b.draining)
}
