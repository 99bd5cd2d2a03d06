package frontdoor

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/textproto"
	"strings"
	"testing"
)

// proxyFuzzTransport answers every request in memory with the response
// headers it is given, and keeps the last request it saw.
type proxyFuzzTransport struct {
	resHeader http.Header
	got       *http.Request
}

func (rt *proxyFuzzTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.got = r
	return &http.Response{StatusCode: http.StatusOK, Header: rt.resHeader.Clone(), Body: http.NoBody, Request: r}, nil
}

// proxyFuzzHopHeaders must never cross the proxy, whatever Connection says.
var proxyFuzzHopHeaders = []string{"Keep-Alive", "Proxy-Connection", "Proxy-Authorization", "Proxy-Authenticate", "Transfer-Encoding", "Upgrade", "Trailer"}

// connectionTokens returns the header names listed in Connection values.
func proxyFuzzConnectionTokens(vals []string) []string {
	var toks []string
	for _, v := range vals {
		for tok := range strings.SplitSeq(v, ",") {
			if tok = textproto.TrimString(tok); tok != "" && isToken(tok) {
				toks = append(toks, http.CanonicalHeaderKey(tok))
			}
		}
	}
	return toks
}

func FuzzProxyConnectionHeaders(f *testing.F) {
	f.Add("X-Secret, keep-alive", "X-Secret", "1")
	f.Add("x-forwarded-for,X-Forwarded-Proto", "X-Forwarded-For", "6.6.6.6")
	f.Add("Upgrade, HTTP2-Settings", "HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")
	f.Add(" ,, te ,", "Te", "trailers, deflate")
	f.Add("close", "Connection", "X-A")
	f.Fuzz(func(t *testing.T, connection, name, value string) {
		if !isToken(name) || !proxyFuzzValidValue(value) ||
			!proxyFuzzValidValue(connection) || strings.EqualFold(name, "Host") {
			t.Skip()
		}
		hdr := http.Header{}
		hdr.Set("Connection", connection)
		hdr.Add(name, value)
		hdr.Set("Keep-Alive", "300")
		hdr.Set("Proxy-Connection", "keep-alive")
		rt := &proxyFuzzTransport{resHeader: hdr}

		var cfg proxyConfig
		cfg.transport = rt
		if err := cfg.validate(); err != nil {
			t.Fatal(err)
		}
		fw, err := newForwarder(mustParseProxyTestURL(t, "http://backend.invalid"), &cfg, &load{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.RemoteAddr = "192.0.2.1:1234"
		for k, v := range hdr {
			req.Header[k] = append([]string(nil), v...)
		}
		rec := httptest.NewRecorder()
		if err := fw.forward(rec, req); err != nil {
			t.Fatalf("forward: %v", err)
		}
		if rt.got == nil {
			t.Fatal("request not forwarded")
		}
		out := rt.got.Header
		ours := map[string]bool{"X-Forwarded-For": true, "X-Forwarded-Host": true, "X-Forwarded-Proto": true, "X-Real-Ip": true, "User-Agent": true}
		for _, tok := range proxyFuzzConnectionTokens(hdr["Connection"]) {
			if tok == "Te" {
				if v := out.Get("Te"); v != "" && v != "trailers" {
					t.Errorf("Te %q forwarded", v)
				}
				continue
			}
			if ours[tok] {
				continue
			}
			if _, ok := out[tok]; ok {
				t.Errorf("request header %q named in Connection was forwarded", tok)
			}
			if _, ok := rec.Header()[tok]; ok {
				t.Errorf("response header %q named in Connection was passed back", tok)
			}
		}
		for _, h := range append(proxyFuzzHopHeaders, "Connection") {
			if _, ok := out[h]; ok {
				t.Errorf("hop-by-hop request header %q forwarded", h)
			}
			if _, ok := rec.Header()[h]; ok {
				t.Errorf("hop-by-hop response header %q passed back", h)
			}
		}
		if got := out.Get("X-Forwarded-For"); got != "192.0.2.1" {
			t.Errorf("X-Forwarded-For = %q", got)
		}
		if got := out["X-Real-Ip"]; len(got) != 1 || got[0] != "192.0.2.1" {
			t.Errorf("X-Real-IP = %q", got)
		}

		// The 101 path strips with stripConnectionHeaders, keeping Upgrade.
		h101 := hdr.Clone()
		stripConnectionHeaders(h101, "Upgrade")
		for _, tok := range proxyFuzzConnectionTokens(hdr["Connection"]) {
			if tok == "Upgrade" || tok == "Connection" {
				continue
			}
			if _, ok := h101[tok]; ok {
				t.Errorf("101: header %q named in Connection kept", tok)
			}
		}
	})
}

func FuzzProxyXForwardedFor(f *testing.F) {
	f.Add("127.0.0.1:1", "6.6.6.6, 198.51.100.1, 10.1.2.3", true)
	f.Add("203.0.113.9:4000", "1.1.1.1", false)
	f.Add("[::1]:80", "[2001:db8::1]:443, garbage,, ", true)
	f.Add("[::ffff:127.0.0.1]:1", "", true)
	f.Add("not-an-addr", "1.2.3.4", true)
	trusted, err := parseTrustedNets([]string{"127.0.0.0/8", "::1", "10.0.0.0/8"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, remote, xff string, trust bool) {
		nets := trustedNets(nil)
		if trust {
			nets = trusted
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		peer, _ := peerAddr(r)

		ip := nets.clientIP(r)
		if ip.IsValid() != peer.IsValid() {
			t.Fatalf("clientIP %v for peer %v", ip, peer)
		}
		if !peer.IsValid() || !nets.contains(peer) {
			if ip != peer {
				t.Fatalf("untrusted peer %v: clientIP %v, want the peer", peer, ip)
			}
		} else if ip != peer && !proxyFuzzListed(xff, ip) {
			t.Fatalf("clientIP %v is neither the peer nor listed in %q", ip, xff)
		}

		cfg := proxyConfig{trusted: nets}
		out := http.Header{}
		cfg.setForwarded(r, out)
		host, _, splitErr := net.SplitHostPort(remote)
		got := out.Get("X-Forwarded-For")
		switch {
		case splitErr != nil:
			if got != "" {
				t.Fatalf("X-Forwarded-For %q without a peer address", got)
			}
		case peer.IsValid() && nets.contains(peer) && strings.TrimSpace(xff) != "":
			if want := strings.TrimSpace(xff) + ", " + host; got != want {
				t.Fatalf("trusted: X-Forwarded-For %q, want %q", got, want)
			}
		default:
			if got != host {
				t.Fatalf("untrusted: X-Forwarded-For %q, want only the peer %q", got, host)
			}
		}
		// X-Real-IP is the peer, or behind a trusted proxy (which sent
		// none here) the client its X-Forwarded-For names, as for rate
		// limits; without a peer address there is none.
		want := host
		switch {
		case splitErr != nil:
			want = ""
		case peer.IsValid() && nets.contains(peer):
			want = ip.String()
		}
		if realIP := out["X-Real-Ip"]; want == "" && len(realIP) != 0 ||
			want != "" && (len(realIP) != 1 || realIP[0] != want) {
			t.Fatalf("X-Real-IP %q, want %q", realIP, want)
		}
	})
}

// proxyFuzzListed reports whether ip is one of the elements of xff.
func proxyFuzzListed(xff string, ip netip.Addr) bool {
	for part := range strings.SplitSeq(xff, ",") {
		if a, ok := parseForwardedAddr(part); ok && a == ip {
			return true
		}
	}
	return false
}

// proxyFuzzValidValue reports whether v could arrive as a header value: no
// control characters but tab.
func proxyFuzzValidValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
