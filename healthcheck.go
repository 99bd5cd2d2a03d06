package frontdoor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// HealthCheck configures active health checks; see [WithHealthCheck]. Every
// zero field means its default.
type HealthCheck struct {
	// Path is requested with GET on every backend; a status from 200 to
	// 399 passes. Default "/". It is appended to the backend URL's path.
	Path string
	// Interval between two rounds of checks. Default 10 s.
	Interval time.Duration
	// Timeout of one check. Default 2 s; at most Interval.
	Timeout time.Duration
	// HealthyThreshold consecutive passes bring an ejected backend back.
	// Default 2.
	HealthyThreshold int
	// UnhealthyThreshold consecutive failures eject a healthy backend
	// (within the max-ejection percent of [PassiveHealth]). Default 3.
	UnhealthyThreshold int
}

func (hc HealthCheck) withDefaults() (HealthCheck, error) {
	hc.Path = cmp.Or(hc.Path, "/")
	hc.Interval = cmp.Or(hc.Interval, 10*time.Second)
	hc.Timeout = cmp.Or(hc.Timeout, min(2*time.Second, hc.Interval))
	hc.HealthyThreshold = cmp.Or(hc.HealthyThreshold, 2)
	hc.UnhealthyThreshold = cmp.Or(hc.UnhealthyThreshold, 3)
	if !strings.HasPrefix(hc.Path, "/") || hc.Interval < 0 || hc.Timeout < 0 || hc.Timeout > hc.Interval ||
		hc.HealthyThreshold < 0 || hc.UnhealthyThreshold < 0 {
		return hc, fmt.Errorf("frontdoor: WithHealthCheck: bad value in %+v", hc)
	}
	return hc, nil
}

// WithHealthCheck turns on active health checks: one goroutine per
// Balancer requests hc.Path on every backend each hc.Interval and drives
// the same ejection state as failed requests do (see [PassiveHealth]).
// Checks reach a backend the way requests do: through the RoundTripper of
// [WithTransport] if set, else through a transport with the same dial
// timeout, TLS settings ([WithTLSClientConfig]) and protocols as the
// request transport, but a new connection per check. [Balancer.Close] and
// [Balancer.Shutdown] stop the checks. By default there are no active
// checks.
func WithHealthCheck(hc HealthCheck) BalancerOption {
	return balancerOptionFunc(func(c *balancerConfig) { c.check = &hc })
}

// activeChecker runs the health-check rounds of one Balancer.
type activeChecker struct {
	cancel context.CancelFunc
	done   chan struct{}
	rt     http.RoundTripper
}

func startActiveChecker(b *Balancer, hc HealthCheck) *activeChecker {
	ctx, cancel := context.WithCancel(context.Background())
	c := &activeChecker{
		cancel: cancel,
		done:   make(chan struct{}),
		rt:     newCheckTransport(&b.cfg.proxy),
	}
	go c.run(ctx, b, hc)
	return c
}

// stop ends the checks and waits until no check goroutine is left.
func (c *activeChecker) stop() {
	c.cancel()
	<-c.done
	if ci, ok := c.rt.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// newCheckTransport returns the RoundTripper of health checks, so that a
// check reaches exactly what a request reaches: the custom one of
// WithTransport, else a transport built like the forwarders' (dialer, TLS
// config, protocols) with keep-alives off, so that each check also proves
// that a connection can be made.
func newCheckTransport(c *proxyConfig) http.RoundTripper {
	if c.transport != nil {
		return c.transport
	}
	t := c.newTransport()
	t.DisableKeepAlives = true
	return t
}

func (c *activeChecker) run(ctx context.Context, b *Balancer, hc HealthCheck) {
	defer close(c.done)
	t := time.NewTicker(hc.Interval)
	defer t.Stop()
	for {
		if s := b.set.Load(); s != nil {
			var wg sync.WaitGroup
			for _, be := range s.members {
				wg.Go(func() {
					err := c.probe(ctx, be, hc)
					if ctx.Err() == nil {
						b.checked(be, err, hc)
					}
				})
			}
			wg.Wait()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// probe runs one check of be; nil means it passed.
func (c *activeChecker) probe(ctx context.Context, be *Backend, hc HealthCheck) error {
	ctx, cancel := context.WithTimeout(ctx, hc.Timeout)
	defer cancel()
	u := *be.url
	u.Path = strings.TrimSuffix(u.Path, "/") + hc.Path
	u.RawPath, u.RawQuery, u.Fragment = "", "", ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := c.rt.RoundTrip(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 399 {
		return fmt.Errorf("frontdoor: health check answered %d", resp.StatusCode)
	}
	return nil
}

// errCheckFailed marks ejections decided by active checks in logs.
var errCheckFailed = errors.New("frontdoor: health check failed")

// checked feeds one check result into be's health state.
func (b *Balancer) checked(be *Backend, err error, hc HealthCheck) {
	now := b.cfg.now()
	b.hmu.Lock()
	var ev []StateChange
	st := BackendState(be.phase.Load())
	switch {
	case be.draining.Load():
	case err == nil:
		be.checkFail = 0
		be.checkOK++
		if st != StateHealthy && be.checkOK >= hc.HealthyThreshold {
			ev = append(ev, b.setHealthy(be, st, now))
		}
	default:
		be.checkOK = 0
		be.checkFail++
		if st == StateHalfOpen || (st == StateHealthy && be.checkFail >= hc.UnhealthyThreshold) {
			ev = b.eject(be, st, now, fmt.Errorf("%w: %w", errCheckFailed, err), ev)
		}
	}
	b.hmu.Unlock()
	b.emit(ev)
}
