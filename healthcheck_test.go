package frontdoor

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newBalTestCheckedTLSBackend is an https backend with its own certificate
// that counts the health checks (GET /healthz) reaching its handler.
func newBalTestCheckedTLSBackend(t *testing.T, checks *atomic.Int64) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			checks.Add(1)
			return
		}
		io.WriteString(w, "tls")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes that fail on purpose
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestHealthCheckUsesTLSClientConfig(t *testing.T) {
	check := HealthCheck{Path: "/healthz", Interval: 50 * time.Millisecond, Timeout: 50 * time.Millisecond, UnhealthyThreshold: 1}

	t.Run("trusted", func(t *testing.T) {
		var checks atomic.Int64
		srv := newBalTestCheckedTLSBackend(t, &checks)
		roots := x509.NewCertPool()
		roots.AddCert(srv.Certificate())
		live := newBalTestBackend(t, "live")
		b := newBalTestBalancer(t, []string{srv.URL, live.URL}, WithHealthCheck(check),
			WithTLSClientConfig(&tls.Config{RootCAs: roots}))
		require.Eventually(t, func() bool { return checks.Load() >= 3 }, 5*time.Second, 5*time.Millisecond,
			"checks reach the https backend through the private CA")
		assert.Equal(t, StateHealthy, balTestStatus(t, b, srv.URL).State)
		_, first := balTestDo(b, http.MethodGet, "")
		_, second := balTestDo(b, http.MethodGet, "")
		assert.ElementsMatch(t, []string{"tls", "live"}, []string{first, second}, "requests reach it too")
	})

	t.Run("untrusted", func(t *testing.T) {
		var checks atomic.Int64
		srv := newBalTestCheckedTLSBackend(t, &checks)
		live := newBalTestBackend(t, "live")
		b := newBalTestBalancer(t, []string{srv.URL, live.URL}, WithHealthCheck(check))
		require.Eventually(t, func() bool { return balTestStatus(t, b, srv.URL).State == StateEjected },
			5*time.Second, 5*time.Millisecond, "without the CA the check fails its handshake")
		assert.Zero(t, checks.Load())
	})
}

// balTestMarkTransport is a custom RoundTripper that marks every request it
// carries.
type balTestMarkTransport struct {
	base http.RoundTripper
	used atomic.Int64
}

func (m *balTestMarkTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	m.used.Add(1)
	r = r.Clone(r.Context())
	r.Header.Set("X-Bal-Test-Mark", "1")
	return m.base.RoundTrip(r)
}

func TestHealthCheckUsesCustomTransport(t *testing.T) {
	var marked, unmarked atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Bal-Test-Mark") == "" {
			unmarked.Add(1)
			http.Error(w, "not through the custom transport", http.StatusForbidden)
			return
		}
		marked.Add(1)
	}))
	t.Cleanup(srv.Close)
	live := newBalTestBackend(t, "live")
	base := &http.Transport{}
	t.Cleanup(base.CloseIdleConnections)
	rt := &balTestMarkTransport{base: base}
	b := newBalTestBalancer(t, []string{srv.URL, live.URL}, WithTransport(rt), WithHealthCheck(HealthCheck{
		Interval: 20 * time.Millisecond, Timeout: 20 * time.Millisecond, UnhealthyThreshold: 1,
	}))
	require.Eventually(t, func() bool { return marked.Load() >= 3 }, 5*time.Second, 5*time.Millisecond,
		"checks go through the WithTransport RoundTripper")
	assert.Zero(t, unmarked.Load())
	assert.Equal(t, StateHealthy, balTestStatus(t, b, srv.URL).State)
}
