package frontdoor

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// proxyTestWrap is a middleware ResponseWriter wrapper, as logging
// middleware has, that implements Unwrap only.
type proxyTestWrap struct{ http.ResponseWriter }

func (w proxyTestWrap) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func TestProxyWebSocketThroughWrappedWriter(t *testing.T) {
	backend := newStreamTestBackend(t)
	env := newProxyTestEnv(t, backend.URL)
	// The front handler wraps the ResponseWriter twice before forward.
	env.front.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env.serve(proxyTestWrap{proxyTestWrap{w}}, r)
	})

	c := streamTestUpgrade(t, env.front.Listener.Addr().String())
	res := c.resp
	assert.Equal(t, http.StatusSwitchingProtocols, res.StatusCode)
	assert.Equal(t, "yes", res.Header.Get("X-Ws"))
	assert.Empty(t, res.Header.Get("X-Hop"), "headers named in Connection are removed from a 101 too")

	line, err := c.echo("hello")
	require.NoError(t, err)
	assert.Equal(t, "echo: hello", line)
	assert.Equal(t, int64(1), env.ld.streams.Load(), "an open stream is counted as a stream")
	assert.Equal(t, int64(0), env.ld.inflight.Load(), "and not as in flight")

	env.f.closeStreams()
	_, err = c.br.ReadString('\n')
	assert.Error(t, err, "closeStreams ends the stream")
	assert.NoError(t, env.lastErr(t))
	assert.Equal(t, int64(0), env.ld.streams.Load())
	assert.Equal(t, int64(0), env.ld.inflight.Load())
}

func TestProxyInflightCounting(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
	}))
	t.Cleanup(backend.Close)
	env := newProxyTestEnv(t, backend.URL)
	done := make(chan struct{})
	go func() {
		defer close(done)
		res, err := env.front.Client().Get(env.front.URL + "/")
		if err == nil {
			res.Body.Close()
		}
	}()
	<-entered
	assert.Equal(t, int64(1), env.ld.inflight.Load())
	close(release)
	<-done
	assert.NoError(t, env.lastErr(t))
	assert.Equal(t, int64(0), env.ld.inflight.Load())
}

func TestProxyServerSentEventsFlushEachEvent(t *testing.T) {
	next := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			io.WriteString(w, "data: "+string(rune('a'+i))+"\n\n")
			http.NewResponseController(w).Flush()
			select { // the next event waits until the client saw this one
			case <-next:
			case <-r.Context().Done():
				return
			}
		}
	}))
	t.Cleanup(backend.Close)
	env := newProxyTestEnv(t, backend.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, env.front.URL+"/events", nil)
	res, err := env.front.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	for i := range 3 {
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		assert.Equal(t, "data: "+string(rune('a'+i))+"\n", line)
		br.ReadString('\n')
		next <- struct{}{}
	}
}

func TestProxyFlushesAsDataArrives(t *testing.T) {
	for _, tt := range []struct {
		name   string
		opts   []BalancerOption
		header map[string]string
	}{
		{"unknown length", nil, map[string]string{"Content-Type": "application/octet-stream"}},
		{"X-Accel-Buffering no", nil, map[string]string{"Content-Length": "10", "X-Accel-Buffering": "no"}},
		{"WithFlushInterval", []BalancerOption{WithFlushInterval(-1)}, map[string]string{"Content-Length": "10"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			next := make(chan struct{})
			backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				io.WriteString(w, "first")
				http.NewResponseController(w).Flush()
				<-next
				io.WriteString(w, "secnd")
			}))
			t.Cleanup(backend.Close)
			var once sync.Once
			release := func() { once.Do(func() { close(next) }) }
			t.Cleanup(release) // before backend.Close, should the test fail
			env := newProxyTestEnv(t, backend.URL, tt.opts...)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, env.front.URL+"/", nil)
			res, err := env.front.Client().Do(req)
			require.NoError(t, err)
			defer res.Body.Close()
			assert.Empty(t, res.Header.Get("X-Accel-Buffering"), "control header is not passed on")
			buf := make([]byte, 5)
			_, err = io.ReadFull(res.Body, buf)
			require.NoError(t, err, "first part arrives before the backend finishes")
			assert.Equal(t, "first", string(buf))
			release()
			rest, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			assert.Equal(t, "secnd", string(rest))
		})
	}
}

func TestProxyTrailers(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Announced")
		io.WriteString(w, "body")
		w.Header().Set("X-Announced", "a")
		w.Header().Set(http.TrailerPrefix+"X-Unannounced", "u")
	}))
	t.Cleanup(backend.Close)
	env := newProxyTestEnv(t, backend.URL)
	res, body := env.get(t, "/")
	assert.Equal(t, "body", body)
	assert.Equal(t, "a", res.Trailer.Get("X-Announced"))
	assert.Equal(t, "u", res.Trailer.Get("X-Unannounced"))
}

func TestProxyInterimResponses(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</app.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		b, _ := io.ReadAll(r.Body) // answers the client's 100-continue
		w.Header().Del("Link")
		io.WriteString(w, "got "+string(b))
	}))
	t.Cleanup(backend.Close)
	env := newProxyTestEnv(t, backend.URL)

	var mu sync.Mutex
	var interim []int
	var link string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		mu.Lock()
		defer mu.Unlock()
		interim = append(interim, code)
		if code == http.StatusEarlyHints {
			link = h.Get("Link")
		}
		return nil
	}}
	req, _ := http.NewRequest(http.MethodPost, env.front.URL+"/", strings.NewReader("data"))
	req.Header.Set("Expect", "100-continue")
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	tr := &http.Transport{ExpectContinueTimeout: 5 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	res, err := tr.RoundTrip(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Equal(t, "got data", string(b))
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, interim, http.StatusEarlyHints)
	assert.Contains(t, interim, http.StatusContinue)
	assert.Equal(t, "</app.css>; rel=preload", link)
}
