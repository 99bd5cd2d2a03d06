package frontdoor

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStripURLPrefix(t *testing.T) {
	tests := []struct {
		give, prefix string
		want         string // the escaped path after stripping
		stripped     bool
	}{
		{"/api/users", "/api", "/users", true},
		{"/api", "/api", "/", true},
		{"/api/", "/api", "/", true},
		{"/apix/users", "/api", "/apix/users", false},
		{"/other", "/api", "/other", false},
		{"/api/a%2Fb", "/api", "/a%2Fb", true},         // escaping kept
		{"/ap%69/x", "/api", "/x", true},               // escaped prefix: the decoded rest
		{"/ap%69/a%2Fb", "/api", "/a%2Fb", true},       // decoded rest, re-escaped
		{"/api/%E2%9C%93", "/api", "/%E2%9C%93", true}, // non-ASCII
		{"/v1/api/x", "/v1/api", "/x", true},           // multi-segment prefix
		{"/v1/apis/x", "/v1/api", "/v1/apis/x", false}, // segment boundary
		{"/api%2Fx", "/api", "/api%2Fx", false},        // %2F is not a separator
		{"/api/x?y", "/api", "/x%3Fy", true},           // a literal ? in the path stays escaped
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			u, err := url.Parse("http://h" + tt.give)
			require.NoError(t, err)
			if tt.give == "/api/x?y" {
				u = &url.URL{Scheme: "http", Host: "h", Path: "/api/x?y"}
			}
			assert.Equal(t, tt.stripped, stripURLPrefix(u, u.Path, tt.prefix))
			assert.Equal(t, tt.want, u.EscapedPath())
		})
	}
}

func TestCleanStripPrefix(t *testing.T) {
	for give, want := range map[string]string{"": "", "/": "", "/api": "/api", "/api/": "/api", "/a//b/../c": "/a/c"} {
		got, err := cleanStripPrefix(give)
		require.NoError(t, err, give)
		assert.Equal(t, want, got, give)
	}
	for _, bad := range []string{"api", "/api?x", "/api#x"} {
		_, err := cleanStripPrefix(bad)
		assert.Error(t, err, bad)
	}
}

// TestStripPrefixSameOnBalancerAndMux sends the same raw paths through a
// Balancer with WithStripPrefix and through a Mux route with it, and
// requires the backend to see the same path both ways.
func TestStripPrefixSameOnBalancerAndMux(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.EscapedPath())
	}))
	t.Cleanup(backend.Close)
	quiet := WithLogger(slog.New(slog.DiscardHandler))

	viaBalancer, err := NewBalancer([]string{backend.URL}, WithStripPrefix("/api"), quiet)
	require.NoError(t, err)
	t.Cleanup(func() { viaBalancer.Close() })
	plain, err := NewBalancer([]string{backend.URL}, quiet)
	require.NoError(t, err)
	t.Cleanup(func() { plain.Close() })
	mux := NewMux()
	mux.Handle("/api", plain, WithStripPrefix("/api"))

	for _, raw := range []string{"/api/users", "/api", "/api/a%2Fb", "/ap%69/x", "/api/%E2%9C%93"} {
		get := func(h http.Handler) string {
			r := httptest.NewRequest(http.MethodGet, raw, nil)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			require.Equal(t, http.StatusOK, w.Code, raw)
			return w.Body.String()
		}
		b, m := get(viaBalancer), get(mux)
		assert.Equal(t, b, m, "%s: Balancer and Mux strip alike", raw)
		assert.NotContains(t, b, "/api", raw)
	}
}
