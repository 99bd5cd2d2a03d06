package frontdoor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"sync/atomic"
	"time"
)

// Backend is one upstream server of a [Balancer]. Strategies read its
// weight and load; the Balancer alone updates them. All methods are safe for
// concurrent use. A Backend must not be copied.
type Backend struct {
	url    *url.URL
	name   string // url.Redacted(), for logs and snapshots
	hashID uint64 // FNV-1a of name, for rendezvous hashing
	weight atomic.Int64
	load   load
	lat    latencyEWMA
	fwd    *forwarder

	requests atomic.Int64 // attempts sent to this backend
	failures atomic.Int64 // attempts that counted as failures
	retries  atomic.Int64 // attempts that were retries of a failure elsewhere

	// Passive-health state. The atomics are read without a lock; they and
	// the plain fields below change only with Balancer.hmu held.
	phase     atomic.Int32 // a BackendState, never StateDraining
	trial     atomic.Bool  // a half-open trial request is in flight
	downUntil atomic.Int64 // end of the ejection, Unix nanoseconds
	skipUntil atomic.Int64 // end of the connect-failure quarantine, Unix nanoseconds
	consec    atomic.Int64 // consecutive failures
	level     int          // ejection level: BaseEjection doubles per level (see eject)
	upSince   time.Time    // when the backend last became healthy
	checkOK   int          // consecutive passed active checks
	checkFail int          // consecutive failed active checks

	// draining is set once the backend left the set; drainStop stops its
	// drain timer. drainStop changes only with Balancer.setMu held.
	draining  atomic.Bool
	drainStop func() bool
}

// URL returns the backend's URL. The caller must not modify it.
func (be *Backend) URL() *url.URL { return be.url }

// Weight returns the backend's weight (at least 1).
func (be *Backend) Weight() int { return int(be.weight.Load()) }

// InFlight returns the number of requests being forwarded to the backend.
func (be *Backend) InFlight() int64 { return be.load.inflight.Load() }

// Streams returns the number of open upgraded streams to the backend.
func (be *Backend) Streams() int64 { return be.load.streams.Load() }

// Latency returns the backend's peak-EWMA latency: it jumps to any slower
// sample and decays towards faster ones with a 10 s time constant. A sample
// is the time from the start of an attempt to its response headers (or its
// 101 Switching Protocols), whatever the strategy, so a long body or stream
// does not count; attempts without response headers, and responses that
// [PassiveHealth] counts as failures by their status or slowness, give
// none. Zero until the first sample.
func (be *Backend) Latency() time.Duration { return time.Duration(be.lat.value()) }

// loadCount is the load LeastConn and PowerOfTwo compare.
func (be *Backend) loadCount() int64 { return be.load.inflight.Load() + be.load.streams.Load() }

// BackendState is the health state of a backend.
type BackendState int32

const (
	// StateHealthy backends receive traffic.
	StateHealthy BackendState = iota
	// StateEjected backends receive no traffic until their ejection ends
	// (except in panic mode, when every backend is ejected).
	StateEjected
	// StateHalfOpen backends had their ejection end; one trial request
	// decides whether they become healthy or are ejected again, for longer.
	StateHalfOpen
	// StateDraining backends were removed from the set: they get no new
	// requests while their in-flight requests and streams finish.
	StateDraining
)

func (s BackendState) String() string {
	switch s {
	case StateHealthy:
		return "healthy"
	case StateEjected:
		return "ejected"
	case StateHalfOpen:
		return "half-open"
	case StateDraining:
		return "draining"
	}
	return "unknown"
}

// StateChange reports one backend changing state, to the function set with
// [WithOnStateChange].
type StateChange struct {
	Backend string       // the backend's URL, without user info
	From    BackendState // the state it left
	To      BackendState // the state it entered
	Until   time.Time    // for StateEjected, when the ejection ends
	Err     error        // for StateEjected, the last failure; else nil
}

// PassiveHealth configures how a [Balancer] takes failing backends out of
// rotation from the outcome of real requests; see [WithPassiveHealth].
// Every zero field means its default.
//
// MaxFails consecutive failures eject a backend for BaseEjection; then one
// trial request decides: a success returns it to service, a failure ejects
// it again for twice as long (up to MaxEjection). Each return to service,
// and each Decay of healthy time after it, halves the next ejection back
// towards BaseEjection. So a backend that restarts, however often, is out
// for about BaseEjection each time, while one that stays down is tried
// less and less often.
//
// A backend that fails to connect (refused, reset or timed out while
// connecting) is, besides, skipped by other requests for one second (or
// BaseEjection if shorter), even when MaxEjectionPercent forbids ejecting
// it. This quarantine is not an ejection: it is not reported, does not
// count against MaxEjectionPercent, and costs nothing but a timestamp.
// When every backend is ejected or quarantined, they are all tried again
// (panic mode).
type PassiveHealth struct {
	// MaxFails consecutive failures eject a backend. Default 3; a negative
	// value disables passive health, quarantine included. Requests that
	// were not sent, timed out or broke mid-exchange count; a client that
	// went away never does.
	MaxFails int
	// BaseEjection is the first ejection time, and the shortest. Default
	// 2 s: a backend that restarts is tried again soon after it is back.
	BaseEjection time.Duration
	// MaxEjection caps the ejection time. Default 5 min.
	MaxEjection time.Duration
	// Decay is how long a backend must stay healthy for its next ejection
	// time to halve once more (one step back per Decay). Default 1 min.
	Decay time.Duration
	// MaxEjectionPercent of the backends may be ejected at once (at least
	// one always may). Default 50.
	MaxEjectionPercent int
	// Count5xx also counts responses with status 500 and above as failures.
	// Such responses still go to the client; they are never retried.
	Count5xx bool
	// SlowThreshold, when positive, counts responses whose headers took
	// longer than this as failures. Default 0: off.
	SlowThreshold time.Duration
}

// connectQuarantine is how long a backend that failed to connect is
// skipped (see PassiveHealth). A refused connection means nothing listens
// now; a restart takes about a second or more, so probing more often
// would only meet more refusals, and one request a second (retried for
// free elsewhere) is all a dead backend costs while MaxEjectionPercent
// keeps it in rotation.
const connectQuarantine = time.Second

// withDefaults returns p with its zero fields set to the defaults.
func (p PassiveHealth) withDefaults() PassiveHealth {
	p.MaxFails = cmp.Or(p.MaxFails, 3)
	p.BaseEjection = cmp.Or(p.BaseEjection, 2*time.Second)
	p.MaxEjection = cmp.Or(p.MaxEjection, 5*time.Minute)
	p.Decay = cmp.Or(p.Decay, time.Minute)
	p.MaxEjectionPercent = cmp.Or(p.MaxEjectionPercent, 50)
	return p
}

// quarantine is how long a backend that failed to connect is skipped.
func (p PassiveHealth) quarantine() time.Duration { return min(connectQuarantine, p.BaseEjection) }

// WithPassiveHealth sets the passive health rules; the zero PassiveHealth
// is the default. Negative durations or a percent above 100 make
// [NewBalancer] fail.
func WithPassiveHealth(p PassiveHealth) BalancerOption {
	return balancerOptionFunc(func(c *balancerConfig) { c.passive = p })
}

// WithOnStateChange sets a function called on every backend state change
// (ejected, half-open, healthy again, draining), after it is logged. It may
// be called from several goroutines at once and must not block. Nil, the
// default, means none.
func WithOnStateChange(f func(StateChange)) BalancerOption {
	return balancerOptionFunc(func(c *balancerConfig) { c.onChange = f })
}

// eligibleView is the list of backends a strategy chooses from, valid until
// the Unix nanosecond until (the end of the earliest ejection or
// quarantine).
type eligibleView struct {
	list  []*Backend
	until int64
	panic bool // every backend is ejected or quarantined; list holds them all
}

// eligible returns the current view of s, rebuilding it when an ejection
// has ended or health changed since it was built.
func (b *Balancer) eligible(s *backendSet, now time.Time) *eligibleView {
	if v := s.view.Load(); v != nil && now.UnixNano() < v.until {
		return v
	}
	b.hmu.Lock()
	v := s.view.Load()
	var ev []StateChange
	if v == nil || now.UnixNano() >= v.until {
		v, ev = buildView(s, now)
		s.view.Store(v)
	}
	b.hmu.Unlock()
	b.emit(ev)
	return v
}

// buildView moves backends whose ejection ended to half-open and lists the
// backends that may take a request: neither ejected, nor half-open with a
// trial in flight, nor quarantined. b.hmu must be held.
func buildView(s *backendSet, now time.Time) (*eligibleView, []StateChange) {
	var ev []StateChange
	v := &eligibleView{until: math.MaxInt64, list: make([]*Backend, 0, len(s.members))}
	for _, be := range s.members {
		switch BackendState(be.phase.Load()) {
		case StateEjected:
			if d := be.downUntil.Load(); now.UnixNano() < d {
				v.until = min(v.until, d)
				continue
			}
			be.phase.Store(int32(StateHalfOpen))
			ev = append(ev, StateChange{Backend: be.name, From: StateEjected, To: StateHalfOpen})
			fallthrough
		case StateHalfOpen:
			if be.trial.Load() {
				continue
			}
		}
		if q := be.skipUntil.Load(); now.UnixNano() < q {
			v.until = min(v.until, q)
			continue
		}
		v.list = append(v.list, be)
	}
	if len(v.list) == 0 {
		v.list, v.panic = s.members, true
	}
	return v, ev
}

// admit reports whether be may take the request, and how: a half-open
// backend takes one trial at a time (outside panic mode).
func (b *Balancer) admit(be *Backend, v *eligibleView) (bool, pickKind) {
	st := BackendState(be.phase.Load())
	switch {
	case st == StateHealthy:
		return true, pickNormal
	case v.panic:
		return true, pickPanic
	case st != StateHalfOpen:
		return true, pickNormal // a stale view; the failure rules still apply
	case !be.trial.CompareAndSwap(false, true):
		return false, pickNormal
	}
	b.hmu.Lock()
	b.invalidate()
	b.hmu.Unlock()
	return true, pickTrial
}

// invalidate drops the current view so the next request rebuilds it.
// b.hmu must be held.
func (b *Balancer) invalidate() {
	if s := b.set.Load(); s != nil {
		s.view.Store(nil)
	}
}

// attempt is the outcome of one forwarding attempt, for passive health.
type attempt struct {
	be     *Backend
	kind   pickKind
	failed bool  // counts as a failure
	ignore bool  // counts as nothing (the client went away)
	err    error // the failure, if any
}

// attemptTap follows one Balancer attempt through forwardTap, which copies
// it into the attempt's writer and returns it. The writer sets code when
// the final response headers (or a 101) go out, and tells b through
// headersOut, which times them. The zero value, without a Balancer, only
// notes the status.
type attemptTap struct {
	b       *Balancer
	be      *Backend
	kind    pickKind
	t0      time.Time // when the attempt started
	code    int       // status of the final response headers; 0 if none went out
	at      time.Time // when they went out
	settled bool      // the trial's outcome was recorded at the headers
}

// headersOut runs as the final response headers of an attempt go to the
// client. It takes the latency sample (time to headers) and, for a
// half-open trial, records the outcome at once, so that a long response
// (a stream, a download, a WebSocket) neither holds the trial slot nor
// counts as latency. A failure of the body after this counts separately.
func (b *Balancer) headersOut(t *attemptTap) {
	t.at = b.cfg.now()
	a := b.judgeHeaders(t)
	if !a.failed {
		t.be.lat.observe(t.at.Sub(t.t0), t.at)
	}
	if t.kind == pickTrial {
		t.settled = true
		b.record(a, t.at)
	}
}

// judgeHeaders applies the 5xx and slow-response rules to the response
// headers t noted.
func (b *Balancer) judgeHeaders(t *attemptTap) attempt {
	p := &b.cfg.passive
	a := attempt{be: t.be, kind: t.kind}
	switch {
	case p.Count5xx && t.code >= 500:
		a.failed, a.err = true, fmt.Errorf("frontdoor: backend answered %d", t.code)
	case p.SlowThreshold > 0 && t.at.Sub(t.t0) > p.SlowThreshold:
		a.failed, a.err = true, fmt.Errorf("frontdoor: backend slower than %v", p.SlowThreshold)
	}
	return a
}

// record updates be's health after an attempt. The common case, a success
// on a healthy backend with no failures behind it, takes no lock.
func (b *Balancer) record(a attempt, now time.Time) {
	be := a.be
	if a.failed {
		be.failures.Add(1)
	}
	off := b.cfg.passive.MaxFails < 0 || be.draining.Load()
	if a.kind == pickNormal && (a.ignore || (!a.failed && be.consec.Load() == 0)) {
		return
	}
	b.hmu.Lock()
	var ev []StateChange
	switch {
	case a.ignore || (off && !a.failed):
		// Nothing learned; only free the trial slot.
	case !a.failed:
		be.consec.Store(0)
		if st := BackendState(be.phase.Load()); st != StateHealthy && a.kind != pickNormal {
			ev = append(ev, b.setHealthy(be, st, now))
		}
	case off:
	default:
		n := be.consec.Add(1)
		switch BackendState(be.phase.Load()) {
		case StateHealthy:
			if n >= int64(b.cfg.passive.MaxFails) {
				ev = b.eject(be, StateHealthy, now, a.err, ev)
			}
			if BackendState(be.phase.Load()) == StateHealthy && connectFailed(a.err) {
				be.skipUntil.Store(now.Add(b.cfg.passive.quarantine()).UnixNano())
				b.invalidate()
			}
		case StateHalfOpen:
			ev = b.eject(be, StateHalfOpen, now, a.err, ev)
		}
	}
	if a.kind == pickTrial && be.trial.CompareAndSwap(true, false) {
		b.invalidate()
	}
	b.hmu.Unlock()
	b.emit(ev)
}

// setHealthy returns be to service, one ejection level lower. b.hmu must
// be held.
func (b *Balancer) setHealthy(be *Backend, from BackendState, now time.Time) StateChange {
	be.phase.Store(int32(StateHealthy))
	be.level = max(0, be.level-1)
	be.consec.Store(0)
	be.checkFail = 0
	be.upSince = now
	b.invalidate()
	return StateChange{Backend: be.name, From: from, To: StateHealthy}
}

// eject takes be out of rotation, unless that would eject more than the
// allowed share of the set, and appends the change to ev. The ejection
// lasts BaseEjection doubled per level, up to the cap: a failed trial
// (from half-open) raises the level until the cap is reached; setHealthy
// lowers it by one, and each Decay of healthy time since by one more.
// b.hmu must be held.
func (b *Balancer) eject(be *Backend, from BackendState, now time.Time, err error, ev []StateChange) []StateChange {
	p := b.cfg.passive
	if from == StateHealthy {
		s := b.set.Load()
		if s == nil {
			return ev
		}
		out := 0
		for _, m := range s.members {
			if m != be && BackendState(m.phase.Load()) != StateHealthy {
				out++
			}
		}
		if out >= max(1, len(s.members)*p.MaxEjectionPercent/100) {
			b.cfg.logger.LogAttrs(context.Background(), slog.LevelDebug, "frontdoor: ejection skipped: too many backends ejected",
				slog.String("backend", be.name))
			return ev
		}
		if !be.upSince.IsZero() {
			be.level = max(0, be.level-int(now.Sub(be.upSince)/p.Decay))
		}
	} else if ejectionTime(p, be.level) < p.MaxEjection {
		be.level++
	}
	until := now.Add(ejectionTime(p, be.level))
	be.downUntil.Store(until.UnixNano())
	be.phase.Store(int32(StateEjected))
	be.consec.Store(0)
	be.checkOK = 0
	b.invalidate()
	return append(ev, StateChange{Backend: be.name, From: from, To: StateEjected, Until: until, Err: err})
}

// ejectionTime is BaseEjection doubled level times, capped at MaxEjection.
func ejectionTime(p PassiveHealth, level int) time.Duration {
	if level >= 62 || p.BaseEjection > p.MaxEjection>>level {
		return p.MaxEjection
	}
	return p.BaseEjection << level
}

// connectFailed reports whether err is a failure to connect to the backend
// (refused, reset or timed out during the dial): nothing listens there now.
func connectFailed(err error) bool {
	op, ok := errors.AsType[*net.OpError](err)
	return ok && op.Op == "dial"
}

// emit logs state changes and hands them to the OnStateChange function.
// It must be called without b.hmu held.
func (b *Balancer) emit(ev []StateChange) {
	for _, c := range ev {
		ctx := context.Background()
		switch c.To {
		case StateEjected:
			attrs := []slog.Attr{slog.String("backend", c.Backend), slog.Time("until", c.Until)}
			if c.Err != nil {
				attrs = append(attrs, slog.Any("err", c.Err))
			}
			b.cfg.logger.LogAttrs(ctx, slog.LevelWarn, "frontdoor: backend down", attrs...)
		case StateHealthy:
			b.cfg.logger.LogAttrs(ctx, slog.LevelInfo, "frontdoor: backend up", slog.String("backend", c.Backend))
		default:
			b.cfg.logger.LogAttrs(ctx, slog.LevelInfo, "frontdoor: backend "+c.To.String(), slog.String("backend", c.Backend))
		}
		if b.cfg.onChange != nil {
			b.cfg.onChange(c)
		}
	}
}

// latencyEWMA is a peak-sensitive moving average of attempt latency in
// nanoseconds: a slower sample replaces it, a faster one decays it.
type latencyEWMA struct {
	v     atomic.Uint64 // float64 bits
	stamp atomic.Int64  // Unix nanoseconds of the last sample
}

const ewmaTau = float64(10 * time.Second)

func (l *latencyEWMA) value() float64 { return math.Float64frombits(l.v.Load()) }

func (l *latencyEWMA) observe(d time.Duration, now time.Time) {
	x, t := float64(d), now.UnixNano()
	old := l.value()
	prev := l.stamp.Swap(t)
	if x < old {
		w := math.Exp(-float64(max(0, t-prev)) / ewmaTau)
		x = old*w + x*(1-w)
	}
	l.v.Store(math.Float64bits(x))
}
