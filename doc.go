// Package frontdoor lets a Go service be its own front door: it serves the
// web frontend, reverse-proxies and load-balances the backend APIs, all from
// one origin, so the browser never meets a CORS problem and nothing has to
// sit in front of the service just for that.
//
// Three handlers do the work, each an [net/http.Handler]:
//
//   - [StaticFS] serves the files of any [io/fs.FS] (a directory opened with
//     [OpenDir], an embed.FS) with the right Content-Type on every OS, strong
//     ETags, ranges, conditional requests, gzip and zstd compression done
//     once per file version (or precompressed siblings), and no way out of
//     its root.
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
// A request is forwarded by the path it was routed by. [Mux] and
// [Balancer] refuse with 400 Bad Request any path with a dot segment, "."
// or "..", raw or percent-encoded ("%2e%2e", ".%2E"), and also when
// followed by ";params" or delimited by "\" or "%2F", as Java and Windows
// servers read them; so "/api/private/../public/x" cannot be routed to an
// open route and reach a backend as a private path. Other paths go on
// byte for byte ("//", "%2F" and other escapes kept). The asterisk-form
// "GET * HTTP/1.1" is a 400 too, as with [net/http.ServeMux].
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
// A Balancer speaks HTTP/1.1 to its backends through a client of its own,
// not net/http's Transport, so that no backend response can reach a client
// but the one that asked: a pooled connection is reused only when the
// backend sent exactly what its response's framing says, and is closed if
// any byte is left beyond it, as nginx does ("upstream sent more data than
// specified"). A backend with a Content-Length or response-splitting bug
// thus cannot hand one client's answer to another. Responses that could
// be framed two ways (a status outside 100-599, a field name followed by
// space before its colon, conflicting Content-Length values, a transfer
// coding other than chunked) are answered 502, and 1xx interim responses
// are forwarded to HTTP/1.1 and HTTP/2 clients only. [WithTransport] and
// HTTP/2 ([WithProtocols]) use net/http's Transport instead.
//
// # Performance
//
// [StaticFS] computes what it needs to know about a file once per version
// of the file (its name, size, mod time and, on Linux, inode change time,
// so that a rewrite in place is noticed even when size and mod time are
// kept) and keeps it in a cache per handler: up to 8192 file versions, and
// 32 MiB of content in all, the content of files up to 64 KiB and the
// gzip and zstd codings it makes of files up to 8 MiB, each made once per
// version of its file, by the first request that asks for it (concurrent
// ones wait for that one), at gzip level 9 and zstd level 19 (about 10 of
// the zstd command's; see [Compression]). When the cache is full, entries
// make room at random; a coding that does not fit is not sent. A small
// file or coding in memory is served after one stat of its file, without
// opening it. On Linux the stat of an [OpenDir] file is one fstatat per
// path component, with no allocation; an fs.FS without a Stat method (an
// embed.FS) is stat'ed by opening the file, which for an embed.FS stays in
// memory. Larger files from [OpenDir]
// and [os.DirFS] reach the connection through their *os.File, so the
// kernel's sendfile path is kept. A GET or HEAD without Range or If-*
// headers, which always gets the whole file, is answered without
// [net/http.ServeContent], from header values computed once per file
// version; the response is the same.
//
// [Server] answers those plain GETs and HEADs itself, writing the same
// response head, computed once per file version, and the same body,
// without net/http's per-request work.
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
//
// # Rate limits
//
// A [Mux] route limits each client with [WithRateLimit] (a token bucket per
// client IP, in this process) or [WithRateLimiter] (any [RateLimiter]; the
// redisrate module keeps the buckets in Redis, so many gateways hold one
// limit together). [WithRateLimitKey] counts by an API key or user id
// instead of the address. A refused request gets 429 with Retry-After and
// the RateLimit-Policy and RateLimit headers of the IETF httpapi draft.
package frontdoor
