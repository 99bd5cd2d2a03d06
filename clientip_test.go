package frontdoor

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseTrustedNets(t *testing.T) {
	nets, err := parseTrustedNets([]string{"10.0.0.0/8", "127.0.0.1", "::1", " 192.168.1.7/16 "})
	require.NoError(t, err)
	require.Len(t, nets, 4)
	assert.Equal(t, "192.168.0.0/16", nets[3].String(), "prefix is masked")

	for _, bad := range []string{"10.0.0.0/33", "nope", "", "1.2.3.4/x"} {
		_, err := parseTrustedNets([]string{bad})
		assert.Error(t, err, "%q", bad)
	}
}

func TestClientIP(t *testing.T) {
	trusted, err := parseTrustedNets([]string{"10.0.0.0/8", "127.0.0.1"})
	require.NoError(t, err)
	tests := []struct {
		name   string
		nets   trustedNets
		remote string
		xff    []string
		want   string
	}{
		{"no trust ignores header", nil, "203.0.113.9:4000", []string{"1.1.1.1"}, "203.0.113.9"},
		{"untrusted peer ignores header", trusted, "203.0.113.9:4000", []string{"1.1.1.1"}, "203.0.113.9"},
		{"trusted peer, one hop", trusted, "127.0.0.1:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"rightmost untrusted wins over spoofed left", trusted, "127.0.0.1:1", []string{"6.6.6.6, 198.51.100.1, 10.1.2.3"}, "198.51.100.1"},
		{"several header lines", trusted, "127.0.0.1:1", []string{"6.6.6.6", "198.51.100.2", "10.0.0.5"}, "198.51.100.2"},
		{"garbage stops the walk", trusted, "127.0.0.1:1", []string{"6.6.6.6, garbage, 10.0.0.9"}, "10.0.0.9"},
		{"all trusted gives leftmost", trusted, "127.0.0.1:1", []string{"10.0.0.1, 10.0.0.2"}, "10.0.0.1"},
		{"ipv6 with port and brackets", trusted, "127.0.0.1:1", []string{"[2001:db8::1]:443"}, "2001:db8::1"},
		{"mapped v4 peer", trusted, "[::ffff:127.0.0.1]:1", []string{"198.51.100.3"}, "198.51.100.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			assert.Equal(t, tt.want, tt.nets.clientIP(r).String())

			// clientAddr also says which text the address came from.
			a, text := tt.nets.clientAddr(r)
			back, ok := parseForwardedAddr(text)
			require.True(t, ok, "text %q", text)
			assert.Equal(t, a, back, "text %q", text)
			assert.True(t, strings.Contains(tt.remote+" "+strings.Join(tt.xff, " "), text),
				"text %q is cut from the request", text)
		})
	}
}
