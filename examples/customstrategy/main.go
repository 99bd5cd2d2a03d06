// Command customstrategy shows a user-written load-balancing Strategy, a
// canary split: one request in N, and every request that asks for it with
// the header "X-Canary: 1", goes to the canary backend; the rest go in turn
// to the stable backends.
//
//	go run ./examples/customstrategy
//
// It starts two stable backends and a canary on 127.0.0.1, sends requests
// through a Balancer that uses the strategy, prints how many each backend
// answered, and exits.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"time"

	"github.com/frontdoor-go/frontdoor"
)

// canarySplit returns a Strategy that sends every request carrying
// "X-Canary: 1", and one request in every (counted per strategy), to the
// backends whose host is canaryHost, and the others round-robin to the
// remaining backends. every below 1 means only requests that ask.
//
// The Balancer passes only the backends it considers healthy, so the split
// degrades on its own: with the canary down everything goes to the stable
// backends, and with every stable backend down the canary takes all.
//
// Like every Strategy it does not block and is safe for concurrent use: its
// only state is atomic counters, and it allocates nothing per request.
func canarySplit(canaryHost string, every uint64) frontdoor.Strategy {
	var split atomic.Uint64   // counts requests, for the one-in-every share
	var turn [2]atomic.Uint64 // rotation within the stable [0] and canary [1] groups
	return frontdoor.StrategyFunc(func(r *http.Request, backends []*frontdoor.Backend) *frontdoor.Backend {
		canaries := 0
		for _, be := range backends {
			if be.URL().Host == canaryHost {
				canaries++
			}
		}
		wantCanary := r.Header.Get("X-Canary") == "1" || (every > 0 && split.Add(1)%every == 0)
		switch {
		case canaries == 0:
			wantCanary = false
		case canaries == len(backends):
			wantCanary = true
		}
		// Take the group's backends in turn.
		group, g := len(backends)-canaries, 0
		if wantCanary {
			group, g = canaries, 1
		}
		k := int((turn[g].Add(1) - 1) % uint64(group))
		for _, be := range backends {
			if (be.URL().Host == canaryHost) != wantCanary {
				continue
			}
			if k == 0 {
				return be
			}
			k--
		}
		return backends[0] // unreachable: the group is not empty
	})
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "customstrategy:", err)
		os.Exit(1)
	}
}

// run starts the backends, sends the requests and prints the tally.
func run(out io.Writer) error {
	names := []string{"stable-1", "stable-2", "canary"}
	var urls []string
	for _, name := range names {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
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
	canaryHost := urls[2][len("http://"):]

	lb, err := frontdoor.NewBalancer(urls, frontdoor.WithStrategy(canarySplit(canaryHost, 10)))
	if err != nil {
		return err
	}
	defer lb.Close()

	send := func(n int, header string) map[string]int {
		tally := map[string]int{}
		for range n {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if header != "" {
				req.Header.Set("X-Canary", header)
			}
			rec := httptest.NewRecorder()
			lb.ServeHTTP(rec, req)
			tally[rec.Body.String()]++
		}
		return tally
	}
	print := func(title string, tally map[string]int) {
		fmt.Fprintf(out, "%s:", title)
		for _, name := range names {
			fmt.Fprintf(out, " %s=%d", name, tally[name])
		}
		fmt.Fprintln(out)
	}
	print("100 ordinary requests", send(100, ""))
	print("5 requests with X-Canary: 1", send(5, "1"))
	return nil
}
