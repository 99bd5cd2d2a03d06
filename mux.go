package frontdoor

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// routeConfig is what RouteOptions set.
type routeConfig struct {
	logger       *slog.Logger
	trustedCIDRs []string
	stripPrefix  string
	rateLimit    *rateLimitConfig
	rateLimiter  RateLimiter
	rateLimitKey func(*http.Request) string
}

// Mux routes each request to the handler whose path prefix matches it, so a
// frontend, its APIs and the service's own handlers share one origin.
//
// Prefixes match whole path segments: the route "/api" takes "/api" and
// "/api/x" but not "/apix". The longest matching prefix wins, so a request
// under an API route is always answered by that route, even when it does not
// know the path: the "/" route (say, a [StaticFS] with an SPA fallback) never
// sees it. A request that no route matches gets 404 Not Found; add a "/"
// route to catch everything.
//
// A request whose path has a dot segment is refused with 400 Bad Request
// before any route sees it, so that a route is chosen by the path its
// handler gets: "/api/private/../public/x" cannot be routed to
// "/api/public" and then read by a backend as a private path. A dot
// segment is "." or "..", raw or percent-encoded ("%2e%2E", ".%2e"), also
// when followed by ";params" or delimited by "\" or "%2F", as some
// backends read those. Other paths are routed with repeated slashes
// merged ("//api//x" goes to "/api") and handed on as sent ("//", "%2F"
// and other escapes included, unless [WithStripPrefix] is given), so a
// [Balancer] route forwards requests 1:1. An asterisk-form request ("GET *
// HTTP/1.1") is refused with 400 and "Connection: close", as
// [net/http.ServeMux] refuses it; net/http's server itself answers
// "OPTIONS *" with 200 unless DisableGeneralOptionsHandler is set. A
// [StaticFS] route keeps its own checks against paths leading out of its
// fs.FS.
//
// The zero Mux is empty and answers 404 to every request it does not
// refuse. A Mux is safe for concurrent use: routes may be added while
// requests are being served. It must not be copied after first use.
type Mux struct {
	mu     sync.Mutex                 // serialises Handle
	routes atomic.Pointer[[]muxRoute] // sorted, longest prefix first; read-only
}

// muxRoute is one registered prefix.
type muxRoute struct {
	prefix  string // clean, starts with "/", no trailing slash except "/"
	handler http.Handler
	strip   string // prefix to strip, "" for none
}

var _ http.Handler = (*Mux)(nil)

// NewMux returns an empty Mux. It is the same as new(Mux).
func NewMux() *Mux { return &Mux{} }

// Handle routes prefix, and every path under it, to h.
//
// prefix must begin with "/"; a trailing slash and dot segments are cleaned
// away, so "/api/" and "/api" are the same route, and "/" is the catch-all.
// Options apply to this route only: [WithStripPrefix], [WithRateLimit] or
// [WithRateLimiter] (with [WithRateLimitKey] to count by something other
// than the client address, and [WithTrustedProxies] to say which
// X-Forwarded-For to believe when counting clients) and [WithLogger].
//
// Handle panics on a setup mistake, as [net/http.ServeMux.Handle] does: a
// prefix that does not begin with "/", a prefix already registered, a nil
// handler, or a malformed option value (a rate limit that is not positive,
// a burst below 1, a malformed trusted proxy). The panic message starts with
// "frontdoor: " and names the prefix and the bad value. Handle never fails
// otherwise.
func (m *Mux) Handle(prefix string, h http.Handler, opts ...RouteOption) {
	clean, err := cleanMuxPrefix(prefix)
	if err != nil {
		panic(err.Error())
	}
	if h == nil {
		panic(fmt.Sprintf("frontdoor: Mux.Handle(%q): nil handler", prefix))
	}
	var c routeConfig
	for _, o := range opts {
		if o != nil {
			o.applyRoute(&c)
		}
	}
	c.logger = defaultLogger(c.logger)
	strip, err := muxStripPrefix(c.stripPrefix, clean)
	if err != nil {
		panic(fmt.Sprintf("frontdoor: Mux.Handle(%q): %v", prefix, err))
	}
	h, err = newRateLimitHandler(h, &c, clean)
	if err != nil {
		panic(fmt.Sprintf("frontdoor: Mux.Handle(%q): %v", prefix, strings.TrimPrefix(err.Error(), "frontdoor: ")))
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	var old []muxRoute
	if p := m.routes.Load(); p != nil {
		old = *p
	}
	for _, rt := range old {
		if rt.prefix == clean {
			panic(fmt.Sprintf("frontdoor: Mux.Handle(%q): prefix %q is already registered", prefix, clean))
		}
	}
	routes := make([]muxRoute, 0, len(old)+1)
	routes = append(routes, old...)
	routes = append(routes, muxRoute{prefix: clean, handler: h, strip: strip})
	slices.SortStableFunc(routes, func(a, b muxRoute) int { return len(b.prefix) - len(a.prefix) })
	m.routes.Store(&routes)
}

// cleanMuxPrefix validates a route prefix and returns its canonical form.
func cleanMuxPrefix(prefix string) (string, error) {
	if prefix == "" || prefix[0] != '/' {
		return "", fmt.Errorf("frontdoor: Mux.Handle(%q): prefix must begin with \"/\"", prefix)
	}
	return path.Clean(prefix), nil
}

// muxStripPrefix validates a WithStripPrefix value for the route prefix
// route and returns the clean prefix to strip, "" for none.
func muxStripPrefix(strip, route string) (string, error) {
	clean, err := cleanStripPrefix(strip)
	if err != nil {
		return "", errors.New(strings.TrimPrefix(err.Error(), "frontdoor: "))
	}
	if clean != "" && !muxPrefixMatches(clean, route) {
		return "", fmt.Errorf("WithStripPrefix(%q): not a prefix of the route", strip)
	}
	return clean, nil
}

// ServeHTTP refuses r with 400 Bad Request if its target is "*" or its path
// has a dot segment, else sends it to the handler of the longest prefix
// that matches its path, or answers 404 Not Found.
func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if refuseRequestTarget(w, r) {
		return
	}
	rt, matched := m.match(r.URL.Path)
	if rt == nil {
		writeProxyProblem(w, r, http.StatusNotFound)
		return
	}
	if rt.strip != "" {
		r = stripMuxPrefix(r, rt.strip, matched)
	}
	rt.handler.ServeHTTP(w, r)
}

// fastStatic returns the StaticFS that answers the clean path p unchanged
// (the route's handler itself, with no prefix to strip), or nil. It is how
// the Server's fast path routes. The handler must be exactly a *StaticFS:
// a type embedding one has its own ServeHTTP, which must see the request.
func (m *Mux) fastStatic(p string) *StaticFS {
	rt, _ := m.match(p)
	if rt == nil || rt.strip != "" {
		return nil
	}
	s, _ := rt.handler.(*StaticFS)
	return s
}

// match returns the route for p and the path it matched against (p itself,
// or its cleaned form when p holds dot segments or repeated slashes). It
// allocates only for such unclean paths.
func (m *Mux) match(p string) (*muxRoute, string) {
	if m == nil {
		return nil, p
	}
	rp := m.routes.Load()
	if rp == nil || p == "" || p[0] != '/' {
		return nil, p
	}
	if !isCleanMuxPath(p) {
		p = cleanMuxPath(p)
	}
	routes := *rp
	for i := range routes {
		if muxPrefixMatches(routes[i].prefix, p) {
			return &routes[i], p
		}
	}
	return nil, p
}

// muxPrefixMatches reports whether the clean prefix matches the clean path p
// on a segment boundary.
func muxPrefixMatches(prefix, p string) bool {
	if prefix == "/" {
		return true
	}
	return strings.HasPrefix(p, prefix) && (len(p) == len(prefix) || p[len(prefix)] == '/')
}

// isCleanMuxPath reports whether p (which begins with "/") has no empty,
// "." or ".." segment except a final empty one (a trailing slash).
func isCleanMuxPath(p string) bool {
	for i := 0; i < len(p); i++ {
		if p[i] != '/' {
			continue
		}
		rest := p[i+1:]
		switch {
		case rest == "":
			return true // trailing slash is fine
		case rest[0] == '/':
			return false
		case rest[0] == '.':
			if len(rest) == 1 || rest[1] == '/' {
				return false
			}
			if rest[1] == '.' && (len(rest) == 2 || rest[2] == '/') {
				return false
			}
		}
	}
	return true
}

// cleanMuxPath resolves dot segments and merges slashes, keeping a trailing
// slash, like the cleaning net/http.ServeMux does.
func cleanMuxPath(p string) string {
	np := path.Clean(p)
	if strings.HasSuffix(p, "/") && np != "/" {
		np += "/"
	}
	return np
}

// stripMuxPrefix returns a shallow copy of r whose path has prefix removed.
// matched is the (possibly cleaned) path the route matched.
func stripMuxPrefix(r *http.Request, prefix, matched string) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	r2.URL = new(url.URL)
	*r2.URL = *r.URL
	stripURLPrefix(r2.URL, matched, prefix)
	return r2
}
