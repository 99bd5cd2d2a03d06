// Command customstrategy shows a user-written load-balancing Strategy:
// requests that carry the same X-User header stick to one backend (so its
// caches stay warm), and requests without one go to the backend with the
// fewest requests in flight.
//
//	go run ./examples/customstrategy
//
// It starts three backends on 127.0.0.1, sends a few requests through a
// Balancer that uses the strategy, prints which backend answered each, and
// exits.
package main

import (
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/frontdoor-go/frontdoor"
)

// stickyByHeader returns a Strategy that sends every request carrying the
// same value of header to the same backend, and a request without it to the
// backend with the fewest requests in flight.
//
// It uses rendezvous hashing: each backend scores hash(value, backend URL)
// and the highest score wins. The choice depends only on the value and the
// URLs, so it is the same in every gateway instance and after a restart,
// and when a backend leaves the set (the Balancer passes only healthy
// backends) only the users of that backend move; they come back when it
// recovers.
//
// Like every Strategy it does not block and is safe for concurrent use: it
// only reads the request and the backends' counters.
func stickyByHeader(header string) frontdoor.Strategy {
	return frontdoor.StrategyFunc(func(r *http.Request, backends []*frontdoor.Backend) *frontdoor.Backend {
		if key := r.Header.Get(header); key != "" {
			var best *frontdoor.Backend
			var bestScore uint64
			for _, be := range backends {
				h := fnv.New64a()
				io.WriteString(h, key)
				h.Write([]byte{0})
				io.WriteString(h, be.URL().Host)
				if score := h.Sum64(); best == nil || score > bestScore {
					best, bestScore = be, score
				}
			}
			return best
		}
		best := backends[0]
		for _, be := range backends[1:] {
			if be.InFlight() < best.InFlight() {
				best = be
			}
		}
		return best
	})
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "customstrategy:", err)
		os.Exit(1)
	}
}

// run starts the backends, sends the requests and prints the answers.
func run(out io.Writer) error {
	var urls []string
	for i := range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		name := fmt.Sprintf("backend-%d", i+1)
		srv := &http.Server{
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, name)
			}),
			ReadHeaderTimeout: 10 * time.Second,
		}
		go srv.Serve(ln)
		defer srv.Close()
		urls = append(urls, "http://"+ln.Addr().String())
	}

	lb, err := frontdoor.NewBalancer(urls, frontdoor.WithStrategy(stickyByHeader("X-User")))
	if err != nil {
		return err
	}
	defer lb.Close()

	for _, user := range []string{"alice", "bob", "carol", "dave", "erin", "alice", "bob", "carol", "dave", "erin", ""} {
		req := httptest.NewRequest(http.MethodGet, "/profile", nil)
		if user != "" {
			req.Header.Set("X-User", user)
		}
		rec := httptest.NewRecorder()
		lb.ServeHTTP(rec, req)
		if user == "" {
			user = "(anonymous)"
		}
		fmt.Fprintf(out, "%-12s -> %d %s\n", user, rec.Code, rec.Body)
	}
	return nil
}
