// Package frontdoor lets a Go service be its own front door: it serves the
// web frontend, reverse-proxies and load-balances the backend APIs, all from
// one origin, so the browser never meets a CORS problem and nothing has to
// sit in front of the service just for that.
//
// Three handlers do the work, each an [net/http.Handler]:
//
//   - [StaticFS] serves the files of any [io/fs.FS] (a directory opened with
//     [OpenDir], an embed.FS) with correct Content-Types on every OS, strong
//     ETags, ranges and conditional requests, and no way out of its root.
//   - [Balancer] reverse-proxies each request unchanged to one of several
//     backends chosen by a [Strategy], and takes failing backends out of
//     rotation on its own.
//   - [Mux] stitches them together by path prefix.
//
// A whole gateway:
//
//	site, err := frontdoor.OpenDir("./web")
//	if err != nil { ... }
//	static, err := frontdoor.NewStaticFS(site)
//	if err != nil { ... }
//	api, err := frontdoor.NewBalancer([]string{"http://10.0.0.1:8080", "http://10.0.0.2:8080"},
//		frontdoor.WithStrategy(frontdoor.LeastConn()))
//	if err != nil { ... }
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
package frontdoor
