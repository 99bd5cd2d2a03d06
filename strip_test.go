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

// TestStripPrefixIsARouteOption: a path is stripped in one place, the
// Mux route, so "/legacy/legacy/x" can never lose both segments. The
// option is not a BalancerOption, which the compiler enforces.
func TestStripPrefixIsARouteOption(t *testing.T) {
	_, isBalancerOption := any(WithStripPrefix("/legacy")).(BalancerOption)
	assert.False(t, isBalancerOption)
}

// TestStripPrefixRouteOverBalancer checks what a backend sees through a
// Mux route that strips its prefix, with and without a base path on the
// backend URL: the rest of the path, its escaping kept.
func TestStripPrefixRouteOverBalancer(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.RequestURI)
	}))
	t.Cleanup(backend.Close)
	quiet := WithLogger(slog.New(slog.DiscardHandler))
	tests := []struct {
		base, strip, give, want string
	}{
		{"", "/api", "/api/users?id=7", "/users?id=7"},
		{"", "/api/", "/api", "/"},
		{"", "/api", "/api/a%2Fb", "/a%2Fb"},
		{"", "/api", "/ap%69/x", "/x"},
		{"", "/api", "/api/%E2%9C%93", "/%E2%9C%93"},
		{"", "/legacy", "/legacy/legacy/x", "/legacy/x"},
		{"/v1", "/api", "/api/a%2Fb", "/v1/a%2Fb"},
		{"/v1", "/api", "/api/users?id=7", "/v1/users?id=7"},
	}
	for _, tt := range tests {
		t.Run(tt.base+tt.give, func(t *testing.T) {
			bal, err := NewBalancer([]string{backend.URL + tt.base}, quiet)
			require.NoError(t, err)
			t.Cleanup(func() { bal.Close() })
			mux := NewMux()
			mux.Handle(tt.strip, bal, WithStripPrefix(tt.strip))
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tt.give, nil))
			require.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, tt.want, w.Body.String())
		})
	}
}

// TestStripPrefixStandaloneBalancer shows the way to strip for a Balancer
// used without a Mux: http.StripPrefix in front of it. The Balancer
// forwards what it is given.
func TestStripPrefixStandaloneBalancer(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.RequestURI)
	}))
	t.Cleanup(backend.Close)
	bal, err := NewBalancer([]string{backend.URL}, WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	t.Cleanup(func() { bal.Close() })
	h := http.StripPrefix("/api", bal)
	for give, want := range map[string]string{
		"/api/users?id=7": "/users?id=7",
		"/api/a%2Fb":      "/a%2Fb",
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, give, nil))
		require.Equal(t, http.StatusOK, w.Code, give)
		assert.Equal(t, want, w.Body.String(), give)
	}
}
