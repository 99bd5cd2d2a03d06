// Command gateway serves a web frontend and load-balances API calls over
// backends, all from one origin, with the frontdoor library.
//
//	go run ./examples/gateway [flags]
//
//	-addr HOST:PORT        listen address (default 127.0.0.1:8080; port 0 picks a free port)
//	-static DIR            serve DIR at "/" through StaticFS
//	                       (default: the demo frontend embedded in the binary)
//	-route PREFIX=URL[,URL...]
//	                       repeatable; requests whose path is PREFIX or lies under
//	                       it go to a Balancer over the listed backends, the longest
//	                       prefix winning. Path and query are forwarded unchanged.
//	                       -route /=URL proxies everything.
//	-strategy NAME         round-robin | least-conn | random (default round-robin),
//	                       also p2c, ewma, hash:ip, hash:header:NAME, hash:cookie:NAME
//
// With no -route it starts three demo backends on 127.0.0.1 and routes /api
// to them, so the embedded frontend has something to call. When ready it
// prints exactly one line to stdout, "listening on http://HOST:PORT". A bad
// flag is one line on stderr naming the flag and exit status 2. SIGINT or
// SIGTERM shut it down gracefully: in-flight requests finish, upgraded
// streams get a short grace period to end by themselves and are then
// closed, all within drainTimeout, and it exits 0.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/frontdoor-go/frontdoor"
)

// drainTimeout bounds the whole graceful shutdown: in-flight requests, then
// upgraded streams.
const drainTimeout = 10 * time.Second

// streamGrace bounds, within drainTimeout, how long shutdown waits for
// upgraded streams (WebSockets) to end by themselves. Most never do before
// their client reconnects, so waiting longer only delays the restart.
const streamGrace = 2 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, a second one ends the process at once instead
	// of waiting for the drain.
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program; it returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stdout)
	if errors.Is(err, errHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "gateway: %v\n", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	g, err := build(cfg, logger)
	if err != nil {
		fmt.Fprintf(stderr, "gateway: %v\n", err)
		return 2
	}
	defer g.close()

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		fmt.Fprintf(stderr, "gateway: -addr %s: %v\n", cfg.addr, unwrapOpError(err))
		return 2
	}
	// frontdoor.Server answers plain GETs of small static files itself and
	// hands everything else to the http.Server.
	srv, _ := frontdoor.NewServer(&http.Server{
		Handler:           g.mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())

	select {
	case err := <-served:
		fmt.Fprintf(stderr, "gateway: serve: %v\n", err)
		return 1
	case <-ctx.Done():
	}
	drainCtx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if err := srv.Shutdown(drainCtx); err != nil {
		logger.Warn("gateway: drain timed out, closing open connections", "err", err)
		srv.Close()
	}
	<-served
	g.shutdown(drainCtx, logger)
	return 0
}

// unwrapOpError drops the "listen tcp ADDR:" part that the flag name
// already says.
func unwrapOpError(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

// gateway is the built handler tree and everything that must be closed.
type gateway struct {
	mux       *frontdoor.Mux
	balancers []*frontdoor.Balancer
	demo      *demoBackends
}

// build wires the handlers cfg asks for.
func build(cfg *config, logger *slog.Logger) (*gateway, error) {
	g := &gateway{mux: frontdoor.NewMux()}
	ok := false
	defer func() {
		if !ok {
			g.close()
		}
	}()

	routes := cfg.routes
	if len(routes) == 0 {
		demo, err := startDemoBackends(3)
		if err != nil {
			return nil, fmt.Errorf("demo backends: %w", err)
		}
		g.demo = demo
		routes = []route{{prefix: "/api", urls: demo.urls()}}
	}

	hasRoot := false
	for _, rt := range routes {
		strategy, err := frontdoor.ParseStrategy(cfg.strategy)
		if err != nil {
			return nil, fmt.Errorf("-strategy %q: %v", cfg.strategy, trimLibPrefix(err))
		}
		b, err := frontdoor.NewBalancer(rt.urls, frontdoor.WithStrategy(strategy), frontdoor.WithLogger(logger))
		if err != nil {
			return nil, fmt.Errorf("-route %s: %v", rt.raw(), trimLibPrefix(err))
		}
		g.balancers = append(g.balancers, b)
		var opts []frontdoor.RouteOption
		if cfg.compress {
			opts = append(opts, frontdoor.WithCompression(frontdoor.Compression{}))
		}
		g.mux.Handle(rt.prefix, b, opts...)
		hasRoot = hasRoot || rt.prefix == "/"
	}

	if !hasRoot {
		site, err := frontendFS(cfg.static)
		if err != nil {
			return nil, fmt.Errorf("-static %s: %v", cfg.static, trimLibPrefix(err))
		}
		static, err := frontdoor.NewStaticFS(site, frontdoor.WithLogger(logger))
		if err != nil {
			return nil, fmt.Errorf("-static %s: %v", cfg.static, trimLibPrefix(err))
		}
		g.mux.Handle("/", static)
	}
	ok = true
	return g, nil
}

// shutdown gives the balancers' upgraded streams what is left of ctx, at
// most streamGrace, to end, then closes them. No request arrives any more:
// the server was shut down before.
func (g *gateway) shutdown(ctx context.Context, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, streamGrace)
	defer cancel()
	forced := false
	for _, b := range g.balancers {
		if b.Shutdown(ctx) != nil {
			forced = true
		}
	}
	if forced {
		logger.Info("gateway: closed upgraded streams still open after the grace period")
	}
}

// close releases the balancers (closing upgraded streams) and stops the
// demo backends.
func (g *gateway) close() {
	for _, b := range g.balancers {
		b.Close()
	}
	if g.demo != nil {
		g.demo.close()
	}
}
