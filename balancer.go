package frontdoor

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
)

// balancerConfig is what BalancerOptions set.
type balancerConfig struct {
	logger   *slog.Logger
	strategy Strategy
	proxy    proxyConfig
}

// WithStrategy sets how the Balancer picks a backend. Nil, the default, means
// [RoundRobin].
func WithStrategy(s Strategy) BalancerOption {
	return balancerOptionFunc(func(c *balancerConfig) { c.strategy = s })
}

// Balancer is an [net/http.Handler] that reverse-proxies each request to one
// of several backends.
//
// SKELETON: issue 4 replaces this with the full implementation.
type Balancer struct {
	cfg      balancerConfig
	backends []*Backend
}

var _ http.Handler = (*Balancer)(nil)

// NewBalancer returns a Balancer over the backends at the given URLs.
func NewBalancer(backends []string, opts ...BalancerOption) (*Balancer, error) {
	if len(backends) == 0 {
		return nil, errors.New("frontdoor: NewBalancer: no backends")
	}
	b := &Balancer{}
	for _, o := range opts {
		if o != nil {
			o.applyBalancer(&b.cfg)
		}
	}
	if b.cfg.strategy == nil {
		b.cfg.strategy = RoundRobin()
	}
	b.cfg.logger = defaultLogger(b.cfg.logger)
	if err := b.cfg.proxy.validate(); err != nil {
		return nil, err
	}
	for _, raw := range backends {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("frontdoor: NewBalancer: bad backend URL %q", raw)
		}
		be := &Backend{url: u, weight: 1}
		be.fwd, err = newForwarder(u, &b.cfg.proxy, &be.load, b.cfg.logger)
		if err != nil {
			return nil, err
		}
		b.backends = append(b.backends, be)
	}
	return b, nil
}

// ServeHTTP forwards r to a backend.
func (b *Balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if b == nil || len(b.backends) == 0 {
		b.cfg.proxy.writeError(w, r, ErrNoBackend)
		return
	}
	be := b.cfg.strategy.Pick(r, b.backends)
	if err := be.fwd.forward(w, r); err != nil {
		var berr *BackendError
		if errors.As(err, &berr) && berr.responded {
			return
		}
		b.cfg.proxy.writeError(w, r, err)
	}
}

// Close stops everything the Balancer started.
func (b *Balancer) Close() error {
	for _, be := range b.backends {
		be.fwd.closeIdle()
		be.fwd.closeStreams()
	}
	return nil
}
