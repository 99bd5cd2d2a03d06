package frontdoor

import (
	"crypto/rand"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/textproto"
	"strings"
)

// rewrite builds the outbound request. ReverseProxy has already removed the
// hop-by-hop headers, every header named in Connection, and the inbound
// Forwarded and X-Forwarded-* headers from pr.Out, and re-added Upgrade and
// "Connection: Upgrade" if the client asked to switch protocols; what
// rewrite adds comes after that stripping (CVE-2021-33197).
func (f *forwarder) rewrite(pr *httputil.ProxyRequest) {
	in, out := pr.In, pr.Out
	// The query goes byte for byte: ReverseProxy re-encodes a query it
	// cannot parse, and re-encoding changes what the backend sees.
	out.URL.RawQuery = in.URL.RawQuery
	// Scheme, host and base path of the backend, whatever the client named:
	// an absolute-form request never goes to the host it names.
	pr.SetURL(f.target)
	if f.cfg.preserveHost {
		out.Host = in.Host
	}
	if up, ok := out.Header["Upgrade"]; ok && !f.cfg.upgradeAllowed(in, up) {
		delete(out.Header, "Upgrade")
		delete(out.Header, "Connection")
	}
	f.cfg.setForwarded(in, out.Header)
	if in.Trailer != nil {
		// The server fills in's Trailer map as the body ends; the clone
		// ReverseProxy made of it would stay empty.
		out.Trailer = in.Trailer
	}
	if f.cfg.requestID {
		setRequestID(out.Header)
	}
}

// upgradeAllowed reports whether a client may switch to the protocol named
// in up: WebSocket, or one named WithUpgrades, and only over HTTP/1.
func (c *proxyConfig) upgradeAllowed(in *http.Request, up []string) bool {
	if in.ProtoMajor != 1 || len(up) != 1 {
		return false
	}
	if strings.EqualFold(up[0], "websocket") {
		return true
	}
	for _, p := range c.upgrades {
		if strings.EqualFold(up[0], p) {
			return true
		}
	}
	return false
}

// setForwarded sets X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto,
// X-Real-IP and, if enabled, Forwarded on the outbound headers h. The
// inbound values are kept (and X-Forwarded-For and Forwarded appended to)
// only when the peer is a trusted proxy; otherwise they are what this hop
// saw. X-Real-IP is always set anew, to the client address as the rate
// limiter reads it: behind trusted proxies, the one their X-Forwarded-For
// gives. An inbound X-Real-IP is never kept, since many proxies pass a
// client's one on unchanged while they append to X-Forwarded-For.
func (c *proxyConfig) setForwarded(in *http.Request, h http.Header) {
	peer, _, err := net.SplitHostPort(in.RemoteAddr)
	if err != nil {
		peer = ""
	}
	trusted := false
	if peer != "" && len(c.trusted) > 0 {
		a, err := netip.ParseAddr(peer)
		trusted = err == nil && c.trusted.contains(a)
	}
	proto := "http"
	if in.TLS != nil {
		proto = "https"
	}
	host := in.Host
	xff, realIP := peer, peer
	if trusted {
		if a := c.trusted.clientIP(in); a.IsValid() {
			realIP = a.String()
		}
		if prior := joinHeaderValues(in.Header["X-Forwarded-For"]); prior != "" {
			xff = prior + ", " + peer
		}
		if v := in.Header.Get("X-Forwarded-Proto"); v == "http" || v == "https" {
			proto = v
		}
		if v := in.Header.Get("X-Forwarded-Host"); v != "" {
			host = v
		}
	}
	// One backing array for the four headers: one allocation, not four.
	vals := make([]string, 4)
	vals[0], vals[1], vals[2], vals[3] = xff, host, proto, realIP
	if xff != "" {
		h["X-Forwarded-For"] = vals[0:1:1]
	}
	if realIP != "" {
		h["X-Real-Ip"] = vals[3:4:4]
	} else {
		delete(h, "X-Real-Ip")
	}
	if host != "" {
		h["X-Forwarded-Host"] = vals[1:2:2]
	}
	h["X-Forwarded-Proto"] = vals[2:3:3]
	if c.forwarded {
		fwd := forwardedElement(peer, in.Host, proto)
		if prior := joinHeaderValues(in.Header["Forwarded"]); trusted && prior != "" {
			fwd = prior + ", " + fwd
		}
		h["Forwarded"] = []string{fwd}
	}
}

// joinHeaderValues joins the non-blank values of a list header with ", ".
func joinHeaderValues(vals []string) string {
	switch len(vals) {
	case 0:
		return ""
	case 1:
		return strings.TrimSpace(vals[0])
	}
	var b strings.Builder
	for _, v := range vals {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(v)
	}
	return b.String()
}

// forwardedElement formats one RFC 7239 forwarded-element. IPv6 addresses
// and hosts with a port are quoted, as the RFC requires.
func forwardedElement(peer, host, proto string) string {
	var b strings.Builder
	if peer != "" {
		b.WriteString("for=")
		if strings.Contains(peer, ":") {
			b.WriteString(`"[` + peer + `]"`)
		} else {
			b.WriteString(peer)
		}
		b.WriteByte(';')
	}
	if host != "" && isForwardedHost(host) {
		b.WriteString("host=")
		if isToken(host) {
			b.WriteString(host)
		} else {
			b.WriteString(`"` + host + `"`)
		}
		b.WriteByte(';')
	}
	b.WriteString("proto=")
	b.WriteString(proto)
	return b.String()
}

// isForwardedHost reports whether host can go in a quoted-string without
// escaping: no quotes, backslashes or control characters.
func isForwardedHost(host string) bool {
	for i := 0; i < len(host); i++ {
		if c := host[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// isToken reports whether s is an RFC 9110 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// setRequestID keeps a sane X-Request-ID or replaces it with a random one.
func setRequestID(h http.Header) {
	const key = "X-Request-Id"
	if v := h[key]; len(v) == 1 && len(v[0]) > 0 && len(v[0]) <= 128 && isPrintableASCII(v[0]) {
		return
	}
	h[key] = []string{rand.Text()}
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// modifyProxyResponse adjusts a backend response before it is copied. It
// honours "X-Accel-Buffering: no" by making ReverseProxy flush every write
// (it flushes responses of unknown length at once), and removes that header
// as nginx does. On a 101 response, which ReverseProxy passes with its
// hop-by-hop headers, it removes the headers named in Connection other than
// Upgrade.
func modifyProxyResponse(res *http.Response) error {
	if res.StatusCode == http.StatusSwitchingProtocols {
		// ReverseProxy rejects a switch to another protocol than the one
		// asked for, or to none, but then leaves the backend connection
		// open; an error here makes it close the connection.
		if res.Request == nil || !strings.EqualFold(upgradeOf(res.Request.Header), upgradeOf(res.Header)) ||
			upgradeOf(res.Header) == "" {
			return errUnaskedUpgrade
		}
		stripConnectionHeaders(res.Header, "Upgrade")
		return nil
	}
	if v, ok := res.Header["X-Accel-Buffering"]; ok {
		if len(v) > 0 && strings.EqualFold(strings.TrimSpace(v[0]), "no") {
			res.ContentLength = -1
		}
		delete(res.Header, "X-Accel-Buffering")
	}
	return nil
}

// errUnaskedUpgrade is the error of a backend that switched protocols when
// the request did not ask for that protocol.
var errUnaskedUpgrade = errors.New("frontdoor: backend switched to a protocol not asked for")

// upgradeOf returns the protocol h asks to switch to: its Upgrade value if
// its Connection header lists "upgrade", else "".
func upgradeOf(h http.Header) string {
	for _, v := range h["Connection"] {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(textproto.TrimString(tok), "upgrade") {
				return h.Get("Upgrade")
			}
		}
	}
	return ""
}

// stripConnectionHeaders removes from h every header named in its
// Connection header, except the names in keep, and the RFC 9110 hop-by-hop
// headers other than Connection and Upgrade.
func stripConnectionHeaders(h http.Header, keep ...string) {
	for _, v := range h["Connection"] {
		for tok := range strings.SplitSeq(v, ",") {
			tok = textproto.TrimString(tok)
			if tok == "" || containsFoldAny(keep, tok) || strings.EqualFold(tok, "Connection") {
				continue
			}
			h.Del(tok)
		}
	}
	for _, k := range []string{"Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Proxy-Authenticate", "Proxy-Authorization"} {
		delete(h, k)
	}
}

func containsFoldAny(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// containsFold reports whether substr is within s, ignoring ASCII case.
func containsFold(s, substr string) bool {
	n := len(substr)
	for i := 0; i+n <= len(s); i++ {
		if strings.EqualFold(s[i:i+n], substr) {
			return true
		}
	}
	return false
}
