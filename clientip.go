package frontdoor

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// trustedNets is a parsed list of trusted proxy networks. The zero value
// trusts nobody.
type trustedNets []netip.Prefix

// parseTrustedNets parses CIDRs or bare addresses.
func parseTrustedNets(cidrs []string) (trustedNets, error) {
	var nets trustedNets
	for _, s := range cidrs {
		s = strings.TrimSpace(s)
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("frontdoor: trusted proxy %q: %w", s, err)
			}
			nets = append(nets, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("frontdoor: trusted proxy %q: %w", s, err)
		}
		a = a.Unmap()
		nets = append(nets, netip.PrefixFrom(a, a.BitLen()))
	}
	return nets, nil
}

// contains reports whether a is inside a trusted network.
func (t trustedNets) contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerAddr returns the address of the TCP peer of r, or the zero Addr when
// RemoteAddr is not an IP (a unix socket, a test that left it empty), and
// the text it was parsed from (a substring of RemoteAddr).
func peerAddr(r *http.Request) (netip.Addr, string) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, ""
	}
	return a.Unmap(), host
}

// clientIP returns the address of the client that sent r. When the peer is
// trusted, X-Forwarded-For is walked from the right and the first address
// that is not itself trusted is the client; malformed entries stop the walk
// (the peer's claim cannot be checked past them) and the last trusted hop is
// returned. Otherwise the peer's address is the client.
func (t trustedNets) clientIP(r *http.Request) netip.Addr {
	a, _ := t.clientAddr(r)
	return a
}

// clientAddr is clientIP, also returning the text the address was parsed
// from: a substring of RemoteAddr or of an X-Forwarded-For value, so a
// caller that needs a string may use it without formatting the address.
func (t trustedNets) clientAddr(r *http.Request) (netip.Addr, string) {
	peer, peerText := peerAddr(r)
	if len(t) == 0 || !peer.IsValid() || !t.contains(peer) {
		return peer, peerText
	}
	client, clientText := peer, peerText
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		for v != "" {
			var part string
			if j := strings.LastIndexByte(v, ','); j >= 0 {
				part, v = v[j+1:], v[:j]
			} else {
				part, v = v, ""
			}
			a, ok := parseForwardedAddr(part)
			if !ok {
				return client, clientText
			}
			client, clientText = a, strings.TrimSpace(part)
			if !t.contains(a) {
				return client, clientText
			}
		}
	}
	return client, clientText
}

// parseForwardedAddr parses one X-Forwarded-For element: an IPv4 or IPv6
// address, optionally bracketed and optionally with a port.
func parseForwardedAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return a.Unmap(), true
		}
	}
	return netip.Addr{}, false
}
