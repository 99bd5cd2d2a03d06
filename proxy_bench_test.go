package frontdoor

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
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

// runProxyBenchMethod sends method requests, with a small body unless GET,
// through front with a keep-alive client.
func runProxyBenchMethod(b *testing.B, front http.Handler, method string) {
	b.Helper()
	srv := httptest.NewServer(front)
	b.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}
	b.Cleanup(client.CloseIdleConnections)
	req, err := http.NewRequest(method, srv.URL+"/bench/path?q=1", nil)
	if err != nil {
		b.Fatal(err)
	}
	const payload = `{"name":"frontdoor","kind":"bench"}`
	b.ReportAllocs()
	for b.Loop() {
		if method != http.MethodGet {
			req.Body = io.NopCloser(strings.NewReader(payload))
			req.ContentLength = int64(len(payload))
		}
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

func BenchmarkProxy(b *testing.B) { benchmarkProxy(b, http.MethodGet) }

// BenchmarkProxyPOST is BenchmarkProxy with a request body, the path on
// which forward traces the connection to tell a not-sent failure.
func BenchmarkProxyPOST(b *testing.B) { benchmarkProxy(b, http.MethodPost) }

func benchmarkProxy(b *testing.B, method string) {
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
	runProxyBenchMethod(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := f.forward(w, r); err != nil {
			cfg.writeError(w, r, err)
		}
	}), method)
}

func BenchmarkStdlibReverseProxy(b *testing.B) { benchmarkStdlibReverseProxy(b, http.MethodGet) }

// BenchmarkStdlibReverseProxyPOST is the baseline of BenchmarkProxyPOST.
func BenchmarkStdlibReverseProxyPOST(b *testing.B) { benchmarkStdlibReverseProxy(b, http.MethodPost) }

func benchmarkStdlibReverseProxy(b *testing.B, method string) {
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
		Transport:  tr,
		BufferPool: &proxyBenchStdlibPool{},
	}
	runProxyBenchMethod(b, rp, method)
}

// proxyBenchStdlibPool is the sync.Pool of 32 KiB copy buffers a careful
// ReverseProxy user would give it, so that the baseline does not allocate
// a buffer per request. It pools array pointers, as staticcheck's SA6002
// advises, so that Put does not allocate either.
type proxyBenchStdlibPool struct{ p sync.Pool }

func (bp *proxyBenchStdlibPool) Get() []byte {
	if b, ok := bp.p.Get().(*[32 << 10]byte); ok {
		return b[:]
	}
	return new([32 << 10]byte)[:]
}

func (bp *proxyBenchStdlibPool) Put(b []byte) {
	if cap(b) >= 32<<10 {
		bp.p.Put((*[32 << 10]byte)(b[:32<<10]))
	}
}
