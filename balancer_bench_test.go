package frontdoor

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkBalancerPick measures the Balancer's side of a pick: the cached
// view of eligible backends, the strategy (round robin) and admission,
// with every backend healthy and with one ejected and one quarantined.
// Target: 0 allocs/op either way; the health filters cost nothing per
// request while the view is valid.
func BenchmarkBalancerPick(b *testing.B) {
	for _, tt := range []struct {
		name  string
		setup func(*Balancer, []*Backend, time.Time)
	}{
		{"healthy", func(*Balancer, []*Backend, time.Time) {}},
		{"one-out", func(lb *Balancer, bs []*Backend, now time.Time) {
			lb.hmu.Lock()
			lb.eject(bs[0], StateHealthy, now, nil, nil)
			bs[1].skipUntil.Store(now.Add(time.Hour).UnixNano())
			lb.invalidate()
			lb.hmu.Unlock()
		}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			lb, err := NewBalancer([]string{"http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3", "http://127.0.0.1:4"},
				balTestQuiet, WithPassiveHealth(PassiveHealth{BaseEjection: time.Hour, MaxEjectionPercent: 100}))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { lb.Close() })
			s := lb.set.Load()
			now := time.Now()
			tt.setup(lb, s.members, now)
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			b.ReportAllocs()
			for b.Loop() {
				if be, _ := lb.pick(r, s, nil, now); be == nil {
					b.Fatal("nil pick")
				}
			}
		})
	}
}

// BenchmarkBalancer is BenchmarkProxy through a Balancer of one backend:
// the same request, plus picking, health bookkeeping and, for POST, the
// retry body that keeps the bytes read for a replay.
func BenchmarkBalancer(b *testing.B) {
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		b.Run(method, func(b *testing.B) {
			lb, err := NewBalancer([]string{newProxyBenchBackend(b).String()}, balTestQuiet)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { lb.Close() })
			runProxyBenchMethod(b, lb, method)
		})
	}
}
