package frontdoor

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The two benchmarks below proxy the same GET to the same backend, through
// the same kind of front server and client; only the proxy differs. Run
// them together:
//
//	go test -run '^$' -bench 'Proxy$' -benchmem .
//
// BenchmarkProxy must show no more allocs/op and ns/op than
// BenchmarkStdlibReverseProxy.

var proxyBenchBody = strings.Repeat("frontdoor ", 100) // 1000 bytes

func newProxyBenchBackend(b *testing.B) *url.URL {
	b.Helper()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, proxyBenchBody)
	}))
	b.Cleanup(backend.Close)
	u, err := url.Parse(backend.URL)
	if err != nil {
		b.Fatal(err)
	}
	return u
}

// runProxyBench sends GETs through front with a keep-alive client.
func runProxyBench(b *testing.B, front http.Handler) {
	b.Helper()
	srv := httptest.NewServer(front)
	b.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
	b.Cleanup(client.CloseIdleConnections)
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/bench/path?q=1", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("status %d", res.StatusCode)
		}
	}
}

func BenchmarkProxy(b *testing.B) {
	target := newProxyBenchBackend(b)
	var cfg proxyConfig
	if err := cfg.validate(); err != nil {
		b.Fatal(err)
	}
	f, err := newForwarder(target, &cfg, &load{}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(f.closeIdle)
	runProxyBench(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := f.forward(w, r); err != nil {
			cfg.writeError(w, r, err)
		}
	}))
}

func BenchmarkStdlibReverseProxy(b *testing.B) {
	target := newProxyBenchBackend(b)
	tr := &http.Transport{
		MaxIdleConnsPerHost:   defaultMaxIdleConnsPerHost,
		IdleConnTimeout:       defaultIdleConnTimeout,
		ResponseHeaderTimeout: defaultResponseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
	b.Cleanup(tr.CloseIdleConnections)
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		Transport: tr,
	}
	runProxyBench(b, rp)
}
