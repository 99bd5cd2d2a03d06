package frontdoor

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
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

	// headerLatency makes the latency sample the time to response headers
	// rather than the whole exchange; set for LeastLatency.
	headerLatency bool
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

// WithDrainTimeout sets how long a backend removed by
// [Balancer.SetBackends] may finish its in-flight requests and open streams
// before its streams are closed. Default 30 s; negative makes [NewBalancer]
// fail.
func WithDrainTimeout(d time.Duration) BalancerOption {
	return balancerOptionFunc(func(c *balancerConfig) { c.drain = d })
}

// BackendSpec names one backend for [Balancer.SetBackends].
type BackendSpec struct {
	URL    string // http or https URL of the backend
	Weight int    // share of the traffic relative to the others; 0 means 1
}

// Balancer is an [net/http.Handler] that reverse-proxies each request to one
// of several backends chosen by a [Strategy]. Backends that fail are ejected
// for a while (see [PassiveHealth]); failed requests are retried on another
// backend when that is safe (see [RetryPolicy]). When no backend is eligible
// it answers 503; when every attempt failed, 502 (504 for a timeout).
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
}

var _ http.Handler = (*Balancer)(nil)

// backendSet is one immutable backend set; view caches its eligible backends.
type backendSet struct {
	members []*Backend
	view    atomic.Pointer[eligibleView]
}

// NewBalancer returns a Balancer over the backends at the given http or
// https URLs. An empty list, a bad URL or a bad option value is an error
// naming it. Call Close when done with the Balancer.
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
	_, c.headerLatency = c.strategy.(*leastLatency)
	if c.now == nil {
		c.now = time.Now
	}
	c.logger = defaultLogger(c.logger)
	if err := c.proxy.validate(); err != nil {
		return err
	}
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

// SetBackends replaces the backend set, as service discovery would. A
// backend whose URL stays keeps its health and counters and takes its new
// weight; a removed backend drains: it gets no new requests, its in-flight
// requests and streams go on, and its streams are closed after the drain
// timeout ([WithDrainTimeout]). An empty list, a bad URL or weight, or a
// duplicate URL is an error and leaves the set unchanged. SetBackends is
// safe for concurrent use with requests and with itself.
func (b *Balancer) SetBackends(specs []BackendSpec) error {
	if len(specs) == 0 {
		return errors.New("frontdoor: SetBackends: no backends")
	}
	urls := make([]*url.URL, len(specs))
	seen := make(map[string]bool, len(specs))
	for i, sp := range specs {
		u, err := url.Parse(sp.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("frontdoor: bad backend URL %q", sp.URL)
		}
		if sp.Weight < 0 || sp.Weight > maxWeight {
			return fmt.Errorf("frontdoor: backend %q: weight %d out of range 1..%d", u.Redacted(), sp.Weight, maxWeight)
		}
		if seen[u.String()] {
			return fmt.Errorf("frontdoor: duplicate backend %q", u.Redacted())
		}
		seen[u.String()] = true
		urls[i] = u
	}

	ev, err := b.swapSet(specs, urls)
	b.emit(ev)
	return err
}

// swapSet installs the new set of checked specs under b.setMu and returns
// the state changes to report once the lock is released.
func (b *Balancer) swapSet(specs []BackendSpec, urls []*url.URL) ([]StateChange, error) {
	b.setMu.Lock()
	defer b.setMu.Unlock()
	if b.closed {
		return nil, errors.New("frontdoor: SetBackends: balancer closed")
	}
	known := make(map[string]*Backend)
	var old []*Backend
	if s := b.set.Load(); s != nil {
		old = s.members
	}
	for _, be := range slices.Concat(old, b.draining) {
		known[be.url.String()] = be
	}
	members := make([]*Backend, len(specs))
	var ev []StateChange
	for i, u := range urls {
		be := known[u.String()]
		if be == nil {
			var err error
			if be, err = b.newBackend(u); err != nil {
				return nil, err
			}
		} else if be.draining.Load() {
			be.drainStop()
			be.draining.Store(false)
			b.draining = slices.DeleteFunc(b.draining, func(d *Backend) bool { return d == be })
			ev = append(ev, StateChange{Backend: be.name, From: StateDraining, To: BackendState(be.phase.Load())})
		}
		be.weight.Store(int64(max(1, specs[i].Weight)))
		members[i] = be
		delete(known, u.String())
	}
	for _, be := range old {
		if known[be.url.String()] == be {
			ev = append(ev, b.startDrain(be))
		}
	}
	b.set.Store(&backendSet{members: members})
	return ev, nil
}

// newBackend builds the Backend for u with its forwarder.
func (b *Balancer) newBackend(u *url.URL) (*Backend, error) {
	be := &Backend{url: u, name: u.Redacted()}
	be.hashID = fnv64(be.name)
	be.weight.Store(1)
	fwd, err := newForwarder(u, &b.cfg.proxy, &be.load, b.cfg.logger)
	if err != nil {
		return nil, err
	}
	be.fwd = fwd
	return be, nil
}

// startDrain takes be out of service: new picks cannot see it, idle
// connections close now and streams when the drain timeout fires.
// b.setMu must be held.
func (b *Balancer) startDrain(be *Backend) StateChange {
	from := BackendState(be.phase.Load())
	be.draining.Store(true)
	b.draining = append(b.draining, be)
	t := time.AfterFunc(b.cfg.drain, func() { b.finishDrain(be) })
	be.drainStop = t.Stop
	be.fwd.closeIdle()
	return StateChange{Backend: be.name, From: from, To: StateDraining}
}

// finishDrain closes what is left of a drained backend, unless it was
// added back meanwhile.
func (b *Balancer) finishDrain(be *Backend) {
	b.setMu.Lock()
	gone := be.draining.Load() && slices.Contains(b.draining, be)
	if gone {
		b.draining = slices.DeleteFunc(b.draining, func(d *Backend) bool { return d == be })
	}
	b.setMu.Unlock()
	if gone {
		be.fwd.closeStreams()
		be.fwd.closeIdle()
	}
}

// ServeHTTP forwards r to a backend, retrying on another one when the
// [RetryPolicy] allows, and answers 503/502/504 itself when no attempt
// produced a response.
func (b *Balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
// with, or nil once a response went to the client.
func (b *Balancer) serve(w http.ResponseWriter, r *http.Request, s *backendSet, body *retryBody, start time.Time) error {
	var triedBuf [4]*Backend
	tried := triedBuf[:0]
	err := ErrNoBackend
	now := start
	for try := 0; try < b.cfg.retry.MaxTries; try++ {
		if try > 0 {
			now = b.cfg.now()
			if !retryable(r.Method, r.Header, failureClass(err), body.state()) ||
				now.Sub(start) >= b.cfg.retry.MaxDuration || r.Context().Err() != nil {
				break
			}
		}
		if try > 0 && !b.budget.allow(now) {
			b.cfg.logger.LogAttrs(r.Context(), slog.LevelDebug, "frontdoor: retry budget exhausted",
				slog.String("method", r.Method), slog.String("path", r.URL.Path))
			break
		}
		be, kind := b.pick(r, s, tried, now)
		if be == nil {
			break
		}
		tried = append(tried, be)
		be.requests.Add(1)
		if try > 0 {
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
			slog.String("path", r.URL.Path), slog.Int("try", try+1), slog.Any("err", err))
	}
	return err
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
	for range 3 {
		be := b.cfg.strategy.Pick(r, v.list)
		if be == nil {
			return nil, pickNormal
		}
		if slices.Contains(tried, be) {
			continue
		}
		if ok, kind := b.admit(be, v); ok {
			return be, kind
		}
	}
	// The strategy keeps choosing backends already tried (a hash does):
	// let it choose among the others.
	rest := make([]*Backend, 0, len(v.list))
	for _, c := range v.list {
		if !slices.Contains(tried, c) {
			rest = append(rest, c)
		}
	}
	for len(rest) > 0 {
		be := b.cfg.strategy.Pick(r, rest)
		if be == nil {
			return nil, pickNormal
		}
		if ok, kind := b.admit(be, v); ok {
			return be, kind
		}
		rest = slices.DeleteFunc(rest, func(c *Backend) bool { return c == be })
	}
	return nil, pickNormal
}

// try runs one attempt on be and records its outcome for passive health.
func (b *Balancer) try(w http.ResponseWriter, r *http.Request, be *Backend, kind pickKind) error {
	p := &b.cfg.passive
	t0 := b.cfg.now()
	var sw *statusWriter
	if p.Count5xx || p.SlowThreshold > 0 || b.cfg.headerLatency {
		sw = &statusWriter{ResponseWriter: w, now: b.cfg.now}
		w = sw
	}
	err := be.fwd.forward(w, r)
	t1 := b.cfg.now()
	a := attempt{be: be, kind: kind, err: err}
	switch {
	case err != nil && errors.Is(err, ErrClientGone):
		a.ignore = true
	case err != nil:
		a.failed = true
	case sw != nil && p.Count5xx && sw.code >= 500:
		a.failed, a.err = true, fmt.Errorf("frontdoor: backend answered %d", sw.code)
	case sw != nil && p.SlowThreshold > 0 && sw.at.Sub(t0) > p.SlowThreshold:
		a.failed, a.err = true, fmt.Errorf("frontdoor: backend slower than %v", p.SlowThreshold)
	case sw != nil && b.cfg.headerLatency && sw.code != 0:
		be.lat.observe(sw.at.Sub(t0), t1)
	default:
		be.lat.observe(t1.Sub(t0), t1)
	}
	b.record(a, t1)
	return err
}

// statusWriter notes the status code and when the response headers went
// out, for the 5xx and slow-response rules.
type statusWriter struct {
	http.ResponseWriter
	now  func() time.Time
	code int
	at   time.Time
}

func (sw *statusWriter) WriteHeader(code int) {
	if sw.code == 0 && code >= 200 {
		sw.code, sw.at = code, sw.now()
	}
	sw.ResponseWriter.WriteHeader(code)
}

func (sw *statusWriter) Write(p []byte) (int, error) {
	if sw.code == 0 {
		sw.code, sw.at = http.StatusOK, sw.now()
	}
	return sw.ResponseWriter.Write(p)
}

func (sw *statusWriter) Unwrap() http.ResponseWriter { return sw.ResponseWriter }

// Close stops the Balancer's health checks and drain timers, closes idle
// connections and open upgraded streams to every backend, and makes
// SetBackends fail. It does not wait for in-flight requests: call it after
// [net/http.Server.Shutdown] returned. Close is idempotent and always
// returns nil.
func (b *Balancer) Close() error {
	b.setMu.Lock()
	if b.closed {
		b.setMu.Unlock()
		return nil
	}
	b.closed = true
	var all []*Backend
	if s := b.set.Load(); s != nil {
		all = s.members
	}
	all = slices.Concat(all, b.draining)
	for _, be := range b.draining {
		be.drainStop()
	}
	b.draining = nil
	b.setMu.Unlock()
	if b.checker != nil {
		b.checker.stop()
	}
	for _, be := range all {
		be.fwd.closeStreams()
		be.fwd.closeIdle()
	}
	return nil
}

// BackendStatus is a point-in-time view of one backend, from
// [Balancer.Backends].
type BackendStatus struct {
	URL                 string        // without user info
	Weight              int           // current weight
	State               BackendState  // health state, or StateDraining once removed
	EjectedUntil        time.Time     // end of the current ejection; zero unless ejected
	ConsecutiveFailures int64         // failures since the last success
	InFlight            int64         // requests being forwarded now
	Streams             int64         // open upgraded streams
	Requests            int64         // attempts sent, retries included
	Failures            int64         // attempts that counted as failures
	Retries             int64         // attempts that retried a failure elsewhere
	Latency             time.Duration // peak-EWMA latency, see [Backend.Latency]
}

// Backends returns the status of every backend: the current set in order,
// then the draining ones. It is safe for concurrent use and takes no lock
// that a request takes.
func (b *Balancer) Backends() []BackendStatus {
	var all []*Backend
	if s := b.set.Load(); s != nil {
		all = s.members
	}
	b.setMu.Lock()
	all = slices.Concat(all, b.draining)
	b.setMu.Unlock()
	out := make([]BackendStatus, 0, len(all))
	for _, be := range all {
		st := BackendStatus{
			URL: be.name, Weight: be.Weight(), State: BackendState(be.phase.Load()),
			ConsecutiveFailures: be.consec.Load(),
			InFlight:            be.InFlight(), Streams: be.Streams(),
			Requests: be.requests.Load(), Failures: be.failures.Load(), Retries: be.retries.Load(),
			Latency: be.Latency(),
		}
		if st.State == StateEjected {
			st.EjectedUntil = time.Unix(0, be.downUntil.Load())
		}
		if be.draining.Load() {
			st.State = StateDraining
		}
		out = append(out, st)
	}
	return out
}
