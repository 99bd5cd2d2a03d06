package frontdoor

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"
)

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

// SetBackends replaces the backend set, as service discovery would. A
// backend whose URL stays keeps its health and counters and takes its new
// weight; a removed backend drains: it gets no new requests, its in-flight
// requests and streams go on, and its streams are closed after the drain
// timeout ([WithDrainTimeout]). An empty list, a bad URL or weight, or a
// duplicate URL is an error and leaves the set unchanged. SetBackends is
// safe for concurrent use with requests and with itself.
func (b *Balancer) SetBackends(specs []BackendSpec) error {
	if b.cfg.now == nil {
		return errors.New("frontdoor: SetBackends: Balancer not made by NewBalancer")
	}
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
	// Build what is new first, so that an error changes nothing.
	members := make([]*Backend, len(specs))
	for i, u := range urls {
		if members[i] = known[u.String()]; members[i] == nil {
			be, err := b.newBackend(u)
			if err != nil {
				return nil, err
			}
			members[i] = be
		}
	}
	var ev []StateChange
	for i, be := range members {
		if known[be.url.String()] == be && be.draining.Load() {
			be.drainStop()
			be.draining.Store(false)
			b.draining = slices.DeleteFunc(b.draining, func(d *Backend) bool { return d == be })
			ev = append(ev, StateChange{Backend: be.name, From: StateDraining, To: BackendState(be.phase.Load())})
		}
		be.weight.Store(int64(max(1, specs[i].Weight)))
		delete(known, be.url.String())
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
