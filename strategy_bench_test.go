package frontdoor

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

var balBenchStrategies = []struct {
	name string
	new  func() Strategy
}{
	{"round-robin", RoundRobin},
	{"random", Random},
	{"p2c", PowerOfTwo},
	{"ewma", LeastLatency},
	{"least-conn", LeastConn},
	{"hash-header", func() Strategy { return HashHeader("X-User") }},
	{"hash-ip", HashClientIP},
}

// balBenchSetup returns n backends (weights 1..5 when weighted) and a
// request carrying every hash key.
func balBenchSetup(n int, weighted bool) ([]*Backend, *http.Request) {
	ws := make([]int, n)
	for i := range ws {
		ws[i] = 1
		if weighted {
			ws[i] = 1 + i%5
		}
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("X-User", "user-42")
	r.RemoteAddr = "192.0.2.7:5555"
	return balTestPool(ws...), r
}

// BenchmarkPick measures one Pick of every built-in strategy over 3, 100
// and 1000 equal-weight backends, and over weights 1..5. Targets (equal
// weights): 0 allocs/op; at most 50 ns/op for round-robin, random and p2c;
// at most 200 ns/op for a hash over 100 backends.
func BenchmarkPick(b *testing.B) {
	for _, st := range balBenchStrategies {
		for _, n := range []int{3, 100, 1000} {
			for _, weighted := range []bool{false, true} {
				name := fmt.Sprintf("%s/n=%d", st.name, n)
				if weighted {
					name += "/weighted"
				}
				b.Run(name, func(b *testing.B) {
					bs, r := balBenchSetup(n, weighted)
					s := st.new()
					b.ReportAllocs()
					for b.Loop() {
						if s.Pick(r, bs) == nil {
							b.Fatal("nil pick")
						}
					}
				})
			}
		}
	}
}

// BenchmarkPickParallel shows the cost of contention on a strategy's
// shared counter or random state when every P picks at once.
func BenchmarkPickParallel(b *testing.B) {
	for _, st := range balBenchStrategies[:3] {
		b.Run(st.name+"/n=100", func(b *testing.B) {
			bs, r := balBenchSetup(100, false)
			s := st.new()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if s.Pick(r, bs) == nil {
						b.Fatal("nil pick")
					}
				}
			})
		})
	}
}
