// Package frontdoor lets a Go service be its own front door: it serves the
// web frontend, reverse-proxies and load-balances the backend APIs, all from
// one origin, so the browser never meets a CORS problem and nothing has to
// sit in front of the service just for that.
//
// Three handlers do the work, each an [net/http.Handler]:
//
//   - [StaticFS] serves the files of any [io/fs.FS] (a directory opened with
//     [OpenDir], an embed.FS) with the right Content-Type on every OS, strong
//     ETags, ranges, conditional requests, precompressed siblings and no way
//     out of its root.
//   - [Balancer] reverse-proxies each request unchanged (path and query byte
//     for byte) to one of several backends chosen by a [Strategy], takes
//     failing backends out of rotation on its own and retries on another
//     backend when that cannot duplicate a side effect.
//   - [Mux] stitches handlers together by path prefix, with optional
//     per-route rate limits.
//
// [Server], optional, wraps the [net/http.Server] that serves them: it
// answers plain GETs of a StaticFS's files itself, with the same bytes at
// about half the CPU per request, and hands every other request to the
// http.Server.
//
// A whole gateway:
//
//	site, err := frontdoor.OpenDir("./web")
//	if err != nil {
//		log.Fatal(err)
//	}
//	static, err := frontdoor.NewStaticFS(site, frontdoor.WithSPAFallback("index.html"))
//	if err != nil {
//		log.Fatal(err)
//	}
//	api, err := frontdoor.NewBalancer(
//		[]string{"http://10.0.0.1:8080", "http://10.0.0.2:8080"},
//		frontdoor.WithStrategy(frontdoor.LeastConn()))
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer api.Close()
//
//	mux := frontdoor.NewMux()
//	mux.Handle("/", static)
//	mux.Handle("/api", api)
//	log.Fatal(http.ListenAndServe(":8080", mux))
//
// Every constructor takes functional options and needs none for the common
// case. A malformed option value is an error from the constructor, never a
// panic; only [Mux.Handle], which returns nothing, panics on one, as it does
// on any other setup mistake (like [net/http.ServeMux.Handle]).
//
// # Security
//
// [StaticFS] never serves a file outside its fs.FS, whatever the spelling of
// the path. Open directories with [OpenDir], not [os.DirFS]: os.DirFS follows
// symlinks out of the directory. Dotfiles and dot-directories are not served,
// except under /.well-known/ ([WithDotfiles] changes that), and directories
// are not listed unless [WithDirectoryListing] asks for it.
//
// A [Balancer] is not an open proxy: absolute-form request targets go to its
// own backends, never to the host they name, and CONNECT is refused.
// X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host and Forwarded headers
// from clients are replaced, never appended to, unless the peer is listed in
// [WithTrustedProxies], and X-Real-IP is always set anew from the same rule,
// so a client cannot spoof its address to a backend or to a rate limit.
// Hop-by-hop headers, and every header named in Connection, are removed in
// both directions, and only WebSocket upgrades pass unless [WithUpgrades]
// allows more. Error responses never carry backend addresses or Go error
// text.
//
// # Strategies
//
// A [Strategy] picks one backend among those the Balancer hands it: the
// healthy ones, or all of them when every backend is ejected (panic mode).
// The built-ins are [RoundRobin] (smooth weighted, as nginx), [LeastConn],
// [Random], [PowerOfTwo], [LeastLatency] and the rendezvous hashes
// [HashHeader], [HashCookie] and [HashClientIP] for sticky sessions that
// agree across gateway instances without shared state. [ParseStrategy] maps
// the names a command-line flag would use. Writing a new one takes a
// [StrategyFunc] of a few lines; load counters live on [Backend].
//
// # Health and retries
//
// Health is tracked passively from the outcome of real requests (see
// [PassiveHealth]): a backend that fails to connect or times out repeatedly
// is ejected for a short while, then gets one trial request before full
// traffic returns; the ejection grows only while the trials fail. A backend
// that refuses a connection is, besides, skipped by other requests for a
// second. Clients that go away never count against a backend. Active checks
// ([WithHealthCheck]) are optional and drive the same state. A request that
// never reached a backend is retried on the next one for any method, its
// body intact, until every backend was tried; after the request left, only
// idempotent requests are retried, within a retry budget (see
// [RetryPolicy]), so an outage cannot multiply the load.
// [Balancer.Backends] and [WithOnStateChange] tell what the Balancer sees.
package frontdoor
