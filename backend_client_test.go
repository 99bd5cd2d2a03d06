package frontdoor

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// backendTestLogs keeps what a test's logs received: the messages of the
// Balancer's slog records at Info or above, and the lines of the standard
// logger (net/http's Transport logs through it) and of the front server's
// ErrorLog.
type backendTestLogs struct {
	mu   sync.Mutex
	msgs []string
	std  bytes.Buffer // the standard logger and the front's ErrorLog
}

func (l *backendTestLogs) Enabled(context.Context, slog.Level) bool { return true }
func (l *backendTestLogs) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *backendTestLogs) WithGroup(string) slog.Handler            { return l }
func (l *backendTestLogs) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.Level >= slog.LevelInfo {
		l.msgs = append(l.msgs, r.Message)
	}
	return nil
}

func (l *backendTestLogs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.std.Write(p)
}

// loud returns the slog messages at Info or above about stray bytes, and
// the lines logged through the standard logger or the front's ErrorLog.
func (l *backendTestLogs) loud() (strays []string, lines []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := strings.TrimSpace(l.std.String()); s != "" {
		lines = strings.Split(s, "\n")
	}
	for _, m := range l.msgs {
		if strings.Contains(m, "beyond its response") {
			strays = append(strays, m)
		}
	}
	return strays, lines
}

// newBackendTestFront starts a front server for a Balancer over backend,
// whose logs, the front's ErrorLog and the standard logger go to the
// returned counter for the rest of the test.
func newBackendTestFront(t *testing.T, backend string, opts ...BalancerOption) (*httptest.Server, *backendTestLogs) {
	t.Helper()
	logs := &backendTestLogs{}
	prev := log.Writer()
	log.SetOutput(logs)
	t.Cleanup(func() { log.SetOutput(prev) })
	opts = append([]BalancerOption{WithLogger(slog.New(logs))}, opts...)
	b, err := NewBalancer([]string{backend}, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	front := httptest.NewUnstartedServer(b)
	front.Config.ErrorLog = log.New(logs, "front: ", 0)
	front.Start()
	t.Cleanup(front.Close)
	return front, logs
}

// newBackendTestHostile starts a raw backend that answers each request with
// answer(id), the id being the request's "id" query parameter, written in
// one piece, then waits for pause (if any) and writes after.
func newBackendTestHostile(t *testing.T, answer func(id string) string, pause time.Duration, after string) string {
	t.Helper()
	return newProxyTestRawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			if _, err := io.WriteString(c, answer(req.URL.Query().Get("id"))); err != nil {
				return
			}
			if after != "" {
				time.Sleep(pause)
				if _, err := io.WriteString(c, after); err != nil {
					return
				}
			}
		}
	})
}

// backendTestLength answers "id:<id>" with a Content-Length.
func backendTestLength(id string) string {
	body := "id:" + id
	return "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

// backendTestChunked answers "id:<id>" in one chunk.
func backendTestChunked(id string) string {
	body := "id:" + id
	return fmt.Sprintf("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(body), body)
}

const backendTestSmuggled = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nSMUGGLED"

// backendTestHammer sends requests from clients concurrent clients, each
// tagged with a unique id, and checks that every client gets its own answer
// (its id in the body or in X-Id) or a 502, never anything else. It returns
// how many got their answer.
func backendTestHammer(t *testing.T, front string, clients, each int, pace time.Duration) int {
	t.Helper()
	var ok atomic.Int32
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			tr := &http.Transport{DisableCompression: true}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			for i := range each {
				id := fmt.Sprintf("c%d-r%d", c, i)
				res, err := client.Get(front + "/?id=" + id)
				if !assert.NoError(t, err) {
					return
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode < 300 && (string(body) == "id:"+id || res.Header.Get("X-Id") == id) {
					ok.Add(1)
				} else {
					assert.Equal(t, http.StatusBadGateway, res.StatusCode,
						"client %s got another answer: %q", id, body)
				}
				time.Sleep(pace)
			}
		})
	}
	wg.Wait()
	return int(ok.Load())
}

func TestBackendClientNeverCrossesResponses(t *testing.T) {
	for _, tt := range []struct {
		name   string
		answer func(id string) string
		after  string
	}{
		{"content-length then a second response", func(id string) string { return backendTestLength(id) + backendTestSmuggled }, ""},
		{"an answer sent twice", func(id string) string { return backendTestLength(id) + backendTestLength(id) }, ""},
		{"chunked then extra bytes", func(id string) string { return backendTestChunked(id) + backendTestSmuggled }, ""},
		{"chunked then a stray CRLF", func(id string) string { return backendTestChunked(id) + "\r\n" }, ""},
		{"204 with a body", func(id string) string {
			return "HTTP/1.1 204 No Content\r\nX-Id: " + id + "\r\n\r\n" + backendTestLength(id)
		}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			backend := newBackendTestHostile(t, tt.answer, 0, tt.after)
			front, logs := newBackendTestFront(t, backend)
			got := backendTestHammer(t, front.URL, 8, 100, 0)
			assert.Positive(t, got, "honest answers pass")
			strays, lines := logs.loud()
			assert.Len(t, strays, 1, "stray bytes are logged, once a minute at most")
			assert.Empty(t, lines, "nothing on the standard logger or the ErrorLog")
		})
	}
}

func TestBackendClientStrayBytesOnIdleConnection(t *testing.T) {
	// Some milliseconds after each answer the backend sends bytes nobody
	// asked for. A connection that holds them is never used again, and
	// they are not logged one line per connection.
	backend := newBackendTestHostile(t, backendTestLength, 2*time.Millisecond, "XSTRAY\r\n")
	front, logs := newBackendTestFront(t, backend)
	got := backendTestHammer(t, front.URL, 4, 10, 20*time.Millisecond)
	assert.Positive(t, got)
	strays, lines := logs.loud()
	assert.Len(t, strays, 1, "logged, once a minute at most")
	assert.Empty(t, lines, "no \"Unsolicited response\" line per connection")
}

func TestBackendClientStrayBytesAreNotReused(t *testing.T) {
	// Sequential requests: each connection that received stray bytes while
	// idle is closed before the next request, which gets a new one.
	var accepted atomic.Int32
	strayed := make(chan struct{}, 4)
	backend := newProxyTestRawBackend(t, func(c net.Conn) {
		accepted.Add(1)
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.WriteString(c, backendTestLength(req.URL.Query().Get("id")))
			time.Sleep(time.Millisecond)
			io.WriteString(c, backendTestSmuggled)
			strayed <- struct{}{} // on loopback, written is delivered
		}
	})
	env := newProxyTestEnv(t, backend)
	for i := range 3 {
		if i > 0 {
			<-strayed
		}
		res, body := env.get(t, "/?id="+strconv.Itoa(i))
		assert.Equal(t, http.StatusOK, res.StatusCode)
		assert.Equal(t, "id:"+strconv.Itoa(i), body)
	}
	assert.Equal(t, int32(3), accepted.Load(), "one connection per request")
	assert.Equal(t, int64(2), env.f.client.strayCount.Load())
}

func TestBackendClientMalformedResponsesAre502(t *testing.T) {
	for _, tt := range []struct {
		name, give string
	}{
		{"space before the colon", "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nokEXTRA"},
		{"status 600", "HTTP/1.1 600 Big\r\nContent-Length: 2\r\n\r\nok"},
		{"status 999", "HTTP/1.1 999 Huge\r\nContent-Length: 2\r\n\r\nok"},
		{"status 99", "HTTP/1.1 099 Small\r\nContent-Length: 2\r\n\r\nok"},
		{"status of four digits", "HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok"},
		{"conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!"},
		{"length and chunked", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"},
		{"gzip transfer coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"},
		{"folded header", "HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\nContent-Length: 2\r\n\r\nok"},
		{"not HTTP", "SSH-2.0-OpenSSH_9.6\r\n\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			backend := newProxyTestRawBackend(t, func(c net.Conn) {
				if proxyTestReadRequest(bufio.NewReader(c)) == nil {
					io.WriteString(c, tt.give)
				}
			})
			env := newProxyTestEnv(t, backend)
			res, body := env.get(t, "/")
			assert.Equal(t, http.StatusBadGateway, res.StatusCode)
			assert.Equal(t, "Bad Gateway\n", body)
			assert.ErrorIs(t, env.lastErr(t), ErrBroken)
		})
	}
}

func TestBackendClientTLSBytesPastResponse(t *testing.T) {
	// A TLS record carries the end of a response and stray bytes after
	// it: they wait inside the TLS layer, where only tlsDrained sees them.
	cert := httptest.NewUnstartedServer(http.NotFoundHandler())
	cert.StartTLS()
	t.Cleanup(cert.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var accepted atomic.Int32
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	body := strings.Repeat("b", 10000) // larger than the read buffer
	wg.Go(func() {
		for {
			raw, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			wg.Go(func() {
				c := tls.Server(raw, cert.TLS)
				defer c.Close()
				br := bufio.NewReader(c)
				for proxyTestReadRequest(br) == nil {
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n"+body+"EXTRA")
				}
			})
		}
	})
	tlsConf := cert.Client().Transport.(*http.Transport).TLSClientConfig
	env := newProxyTestEnv(t, "https://"+ln.Addr().String(), WithTLSClientConfig(tlsConf))
	for range 2 {
		res, got := env.get(t, "/")
		assert.Equal(t, http.StatusOK, res.StatusCode)
		assert.Equal(t, body, got)
	}
	assert.Equal(t, int32(2), accepted.Load(), "the first connection was not reused")
	assert.Equal(t, int64(2), env.f.client.strayCount.Load())
}

func TestBackendClientLeavesNoGoroutine(t *testing.T) {
	baseline := runtime.NumGoroutine()
	func() {
		backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			io.WriteString(w, "ok")
		}))
		defer backend.Close()
		front, _ := newBackendTestFront(t, backend.URL)
		client := front.Client()
		for _, body := range []io.Reader{nil, strings.NewReader("sized"), &proxyTestCountingBody{r: strings.NewReader("chunked")}} {
			req, _ := http.NewRequest(http.MethodPost, front.URL+"/", body)
			res, err := client.Do(req)
			require.NoError(t, err)
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		client.CloseIdleConnections()
		front.Close()
	}()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > baseline && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), baseline, "no writer, timer or pool goroutine is left")
}

func TestBackendClientRefusesNonASCIIHost(t *testing.T) {
	_, err := NewBalancer([]string{"http://bücher.example"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cher.example")
	assert.Contains(t, err.Error(), "punycode")
	b, err := NewBalancer([]string{"http://xn--bcher-kva.example"})
	require.NoError(t, err)
	b.Close()
}
