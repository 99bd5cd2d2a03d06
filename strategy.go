package frontdoor

import (
	"fmt"
	"net/http"
	"sync/atomic"
)

// Strategy picks the backend for a request.
//
// Pick must not block and must be safe for concurrent use. backends holds
// only the backends the Balancer considers eligible and is never empty; Pick
// must not modify or retain it.
type Strategy interface {
	Pick(r *http.Request, backends []*Backend) *Backend
}

// StrategyFunc adapts a function to [Strategy].
type StrategyFunc func(r *http.Request, backends []*Backend) *Backend

// Pick calls f(r, backends).
func (f StrategyFunc) Pick(r *http.Request, backends []*Backend) *Backend { return f(r, backends) }

// RoundRobin returns a strategy that takes backends in turn.
//
// SKELETON: issue 4 replaces this with smooth weighted round-robin.
func RoundRobin() Strategy {
	var n atomic.Uint64
	return StrategyFunc(func(_ *http.Request, bs []*Backend) *Backend {
		return bs[(n.Add(1)-1)%uint64(len(bs))]
	})
}

// ParseStrategy returns the built-in strategy called name.
func ParseStrategy(name string) (Strategy, error) {
	switch name {
	case "round-robin", "":
		return RoundRobin(), nil
	}
	return nil, fmt.Errorf("frontdoor: unknown strategy %q", name)
}
