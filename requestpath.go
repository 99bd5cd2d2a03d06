package frontdoor

import (
	"net/http"
	"strings"
)

// The request targets that the Mux and the Balancer refuse before routing
// or forwarding anything. A route is chosen by the path as the Mux reads
// it and the request forwarded as the client sent it; a dot segment is
// where the two could part: "/api/private/../public/x" would be routed
// to "/api/public" and reach a backend that resolves it as
// "/api/public/x", or one that matches raw prefixes as "/api/private".
// Refusing such paths, as Traefik's path sanitizing and Envoy's
// normalize_path keep them from a backend, makes the routed path the
// forwarded one.

// refuseRequestTarget answers 400 Bad Request, and reports true, for a
// request that must be neither routed nor forwarded: an asterisk-form
// target ("GET * HTTP/1.1", with "Connection: close", as
// [net/http.ServeMux] answers it) or a path with a dot segment
// ([hasDotSegment]).
func refuseRequestTarget(w http.ResponseWriter, r *http.Request) bool {
	switch {
	case r.RequestURI == "*":
		if r.ProtoAtLeast(1, 1) {
			w.Header().Set("Connection", "close")
		}
	case hasDotSegment(r.URL.Path):
	default:
		return false
	}
	writeProxyProblem(w, r, http.StatusBadRequest)
	return true
}

// hasDotSegment reports whether the decoded path p has a segment that a
// server could resolve as "." or "..": p is split at "/" and at "\" (which
// Windows servers read as "/"), and each segment read up to a ";" (Java
// servlet containers drop path parameters before resolving). So
// "/a/../b", "/a/%2e%2E/b", "/a/.%2e", "/a%2F..%2Fb", "/a/..;x/b" and
// "/a\..\b" have one; "/a/..b", "/a/.well-known" and "/a//b" do not.
func hasDotSegment(p string) bool {
	if strings.IndexByte(p, '.') < 0 {
		return false
	}
	for p != "" {
		seg := p
		if i := strings.IndexAny(p, `/\`); i >= 0 {
			seg, p = p[:i], p[i+1:]
		} else {
			p = ""
		}
		if i := strings.IndexByte(seg, ';'); i >= 0 {
			seg = seg[:i]
		}
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}
