package redisrate

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/frontdoor-go/frontdoor"
)

// reportLatency reports the median and 99th percentile of lat, in ns.
func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkAllow measures one decision in a Redis on loopback: its
// latency (p50, p99) and the allocations it costs the gateway.
func BenchmarkAllow(b *testing.B) {
	srv := startRedis(b)
	lim := mustNew(b, newTestClient(b, srv.addr()), 1e6, 1<<30, WithTimeout(time.Second))
	ctx := context.Background()
	if _, err := lim.Allow(ctx, "198.51.100.7", 1); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, 1<<16)
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		d, err := lim.Allow(ctx, "198.51.100.7", 1)
		lat = append(lat, time.Since(start))
		if err != nil || !d.Allowed {
			b.Fatal(d, err)
		}
	}
	reportLatency(b, lat)
}

// BenchmarkMuxRoute measures a request through a Mux route with no limit,
// the in-memory limit and the Redis limit (loopback), so the latency a
// shared limit adds per request is the difference of their p50 and p99.
func BenchmarkMuxRoute(b *testing.B) {
	srv := startRedis(b)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	routes := []struct {
		name string
		opts []frontdoor.RouteOption
	}{
		{"none", nil},
		{"memory", []frontdoor.RouteOption{frontdoor.WithRateLimit(1e9, 1<<30)}},
		{"redis", []frontdoor.RouteOption{frontdoor.WithRateLimiter(
			mustNew(b, newTestClient(b, srv.addr()), 1e6, 1<<30, WithTimeout(time.Second)))}},
	}
	for _, rt := range routes {
		b.Run(rt.name, func(b *testing.B) {
			m := frontdoor.NewMux()
			m.Handle("/api", ok, rt.opts...)
			req := httptest.NewRequest(http.MethodGet, "/api/x", nil)
			req.RemoteAddr = "198.51.100.7:40000"
			lat := make([]time.Duration, 0, 1<<16)
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				start := time.Now()
				m.ServeHTTP(rec, req)
				lat = append(lat, time.Since(start))
				if rec.Code != http.StatusOK {
					b.Fatal(rec.Code)
				}
			}
			reportLatency(b, lat)
		})
	}
}
