package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests build the real binary and drive it as a user (or the bench
// harness) would: flags in, the ready line and HTTP out, signals and exit
// codes.

var (
	gwBinOnce sync.Once
	gwBinPath string
	gwBinErr  error
	gwBinDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if gwBinDir != "" {
		os.RemoveAll(gwBinDir)
	}
	os.Exit(code)
}

// gwBinary builds the gateway once per test run.
func gwBinary(t *testing.T) string {
	t.Helper()
	gwBinOnce.Do(func() {
		gwBinDir, gwBinErr = os.MkdirTemp("", "gateway-test-")
		if gwBinErr != nil {
			return
		}
		gwBinPath = filepath.Join(gwBinDir, "gateway")
		out, err := exec.Command("go", "build", "-o", gwBinPath, ".").CombinedOutput()
		if err != nil {
			gwBinErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, gwBinErr)
	return gwBinPath
}

// gwProc is one running gateway.
type gwProc struct {
	cmd    *exec.Cmd
	url    string // http://HOST:PORT from the ready line
	stdout *bytes.Buffer
	stderr *bytes.Buffer
	mu     sync.Mutex // guards stdout after the ready line
	done   chan struct{}
	err    error // from Wait, valid after done
}

// gwStart runs the gateway with args (plus -addr 127.0.0.1:0 unless args
// has -addr) and waits for its ready line.
func gwStart(t *testing.T, args ...string) *gwProc {
	t.Helper()
	if !strings.Contains(strings.Join(args, " "), "-addr") {
		args = append([]string{"-addr", "127.0.0.1:0"}, args...)
	}
	p := &gwProc{stdout: new(bytes.Buffer), stderr: new(bytes.Buffer), done: make(chan struct{})}
	p.cmd = exec.Command(gwBinary(t), args...)
	p.cmd.Stderr = &lockedWriter{mu: &p.mu, w: p.stderr}
	out, err := p.cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, p.cmd.Start())
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})

	ready := make(chan string, 1)
	go func() {
		br := bufio.NewReader(out)
		line, _ := br.ReadString('\n')
		p.mu.Lock()
		p.stdout.WriteString(line)
		p.mu.Unlock()
		ready <- line
		rest, _ := io.ReadAll(br)
		p.mu.Lock()
		p.stdout.Write(rest)
		p.mu.Unlock()
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	select {
	case line := <-ready:
		require.Regexp(t, `^listening on http://127\.0\.0\.1:[1-9][0-9]*\n$`, line, "the ready line; stderr: %s", p.stderrText())
		p.url = strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	case <-time.After(20 * time.Second):
		t.Fatalf("no ready line; stderr: %s", p.stderrText())
	}
	return p
}

func (p *gwProc) stderrText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

func (p *gwProc) stdoutText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stdout.String()
}

// stop sends sig and returns the exit code.
func (p *gwProc) stop(t *testing.T, sig os.Signal) int {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(sig))
	return p.wait(t)
}

func (p *gwProc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatal("gateway did not exit")
	}
	return p.cmd.ProcessState.ExitCode()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// gwGet fetches url and returns status, Content-Type and body.
func gwGet(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// gwBackend is a test backend that names itself and echoes the request URI.
func gwBackend(t *testing.T, name string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%s %s", name, r.URL.RequestURI())
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestGatewayDefaultDemo(t *testing.T) {
	p := gwStart(t)

	code, ctype, body := gwGet(t, p.url+"/")
	assert.Equal(t, 200, code)
	assert.Equal(t, "text/html; charset=utf-8", ctype)
	assert.Contains(t, body, "<title>frontdoor demo</title>")

	for file, want := range map[string]string{
		"/app.js":    "text/javascript",
		"/style.css": "text/css",
		"/logo.svg":  "image/svg+xml",
	} {
		code, ctype, _ := gwGet(t, p.url+file)
		assert.Equal(t, 200, code, file)
		assert.Contains(t, ctype, want, file)
	}

	seen := map[string]int{}
	for range 6 {
		code, ctype, body := gwGet(t, p.url+"/api/hello?x=1")
		require.Equal(t, 200, code)
		assert.Equal(t, "application/json", ctype)
		var reply demoReply
		require.NoError(t, json.Unmarshal([]byte(body), &reply))
		assert.Equal(t, "/api/hello", reply.Path, "the path reaches the backend unchanged")
		assert.Equal(t, "x=1", reply.Query)
		seen[reply.Backend]++
	}
	assert.Equal(t, map[string]int{"backend-1": 2, "backend-2": 2, "backend-3": 2}, seen, "round-robin over three demo backends")

	// An unknown API path is the API's answer, never the frontend's page.
	code, ctype, body = gwGet(t, p.url+"/api/no/such/thing")
	assert.Equal(t, "application/json", ctype)
	assert.NotContains(t, body, "<html")
	assert.Equal(t, 200, code, "the demo backends answer every path")

	assert.Equal(t, 0, p.stop(t, syscall.SIGTERM))
	assert.Equal(t, "listening on "+p.url+"\n", p.stdoutText(), "exactly one line on stdout")
}

func TestGatewayRouteFlag(t *testing.T) {
	b1, b2, b3 := gwBackend(t, "b1"), gwBackend(t, "b2"), gwBackend(t, "b3")
	p := gwStart(t,
		"-route", "/api="+b1.URL+","+b2.URL,
		"-route", "/api/v2="+b3.URL,
		"-strategy", "round-robin")

	var got []string
	for range 4 {
		code, _, body := gwGet(t, p.url+"/api/users?id=7&x=%2F")
		require.Equal(t, 200, code)
		got = append(got, body)
	}
	assert.ElementsMatch(t, []string{
		"b1 /api/users?id=7&x=%2F", "b2 /api/users?id=7&x=%2F",
		"b1 /api/users?id=7&x=%2F", "b2 /api/users?id=7&x=%2F",
	}, got, "path and query forwarded unchanged, alternating")
	assert.NotEqual(t, got[0], got[1], "round-robin alternates")

	_, _, body := gwGet(t, p.url+"/api/v2/orders")
	assert.Equal(t, "b3 /api/v2/orders", body, "the longest prefix wins")
	_, _, body = gwGet(t, p.url+"/api/v22")
	assert.Contains(t, []string{"b1 /api/v22", "b2 /api/v22"}, body, "matching is by segment")
	_, _, body = gwGet(t, p.url+"/api")
	assert.Contains(t, []string{"b1 /api", "b2 /api"}, body)

	code, ctype, _ := gwGet(t, p.url+"/apix")
	assert.Equal(t, 404, code, "/apix is not under /api and the demo frontend has no such file")
	assert.NotContains(t, ctype, "json")

	code, _, body = gwGet(t, p.url+"/")
	assert.Equal(t, 200, code)
	assert.Contains(t, body, "frontdoor demo", "without -static the demo frontend serves /")

	assert.Equal(t, 0, p.stop(t, syscall.SIGINT))
}

// TestGatewayRouteRoot is the bench harness's proxy-only shape.
func TestGatewayRouteRoot(t *testing.T) {
	b1, b2 := gwBackend(t, "b1"), gwBackend(t, "b2")
	p := gwStart(t, "-route", "/="+b1.URL+","+b2.URL, "-strategy", "round-robin")
	seen := map[string]bool{}
	for range 4 {
		code, _, body := gwGet(t, p.url+"/index.html?q=1")
		require.Equal(t, 200, code)
		name, uri, _ := strings.Cut(body, " ")
		assert.Equal(t, "/index.html?q=1", uri)
		seen[name] = true
	}
	assert.Equal(t, map[string]bool{"b1": true, "b2": true}, seen)
	assert.Equal(t, 0, p.stop(t, syscall.SIGTERM))
}

// TestGatewayStrategies checks that -strategy reaches the Balancer: every
// name the usage lists starts a gateway that serves, round-robin alternates
// the two backends, and a header hash sends each key to one backend every
// time while different keys reach both.
func TestGatewayStrategies(t *testing.T) {
	b1, b2 := gwBackend(t, "b1"), gwBackend(t, "b2")
	backendOf := func(t *testing.T, url, user string) string {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, url+"/x", nil)
		require.NoError(t, err)
		req.Header.Set("X-User", user)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, 200, resp.StatusCode)
		require.Regexp(t, `^b[12] /x$`, string(b))
		return strings.Fields(string(b))[0]
	}
	for _, name := range []string{"round-robin", "least-conn", "random", "p2c", "ewma", "hash:ip", "hash:cookie:sid"} {
		t.Run(name, func(t *testing.T) {
			p := gwStart(t, "-route", "/="+b1.URL+","+b2.URL, "-strategy", name)
			seen := map[string]bool{}
			for range 4 {
				seen[backendOf(t, p.url, "")] = true
			}
			if name == "round-robin" {
				assert.Len(t, seen, 2, "round-robin alternates the backends")
			}
			assert.Equal(t, 0, p.stop(t, syscall.SIGTERM))
		})
	}
	t.Run("hash:header:X-User", func(t *testing.T) {
		p := gwStart(t, "-route", "/="+b1.URL+","+b2.URL, "-strategy", "hash:header:X-User")
		spread := map[string]bool{}
		for i := range 20 {
			user := fmt.Sprintf("user-%d", i)
			first := backendOf(t, p.url, user)
			for range 3 {
				assert.Equal(t, first, backendOf(t, p.url, user), "%s sticks to one backend", user)
			}
			spread[first] = true
		}
		assert.Len(t, spread, 2, "different keys reach both backends")
		assert.Equal(t, 0, p.stop(t, syscall.SIGTERM))
	})
}

// TestGatewayStaticFlag is the bench harness's static-only shape.
func TestGatewayStaticFlag(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "index.html"), []byte("<h1>mine</h1>"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "site.css"), []byte("h1{}"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "img"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "img", "a.svg"), []byte("<svg xmlns='http://www.w3.org/2000/svg'/>"), 0o644))

	p := gwStart(t, "-static", dir)
	code, ctype, body := gwGet(t, p.url+"/")
	assert.Equal(t, 200, code)
	assert.Equal(t, "text/html; charset=utf-8", ctype)
	assert.Equal(t, "<h1>mine</h1>", body)
	code, ctype, body = gwGet(t, p.url+"/site.css")
	assert.Equal(t, 200, code)
	assert.Equal(t, "text/css; charset=utf-8", ctype)
	assert.Equal(t, "h1{}", body)
	code, ctype, _ = gwGet(t, p.url+"/img/a.svg")
	assert.Equal(t, 200, code)
	assert.True(t, strings.HasPrefix(ctype, "image/svg+xml"), "Content-Type %q", ctype)
	code, _, _ = gwGet(t, p.url+"/app.js")
	assert.Equal(t, 404, code, "-static replaces the demo frontend")

	// /api still goes to the three demo backends.
	code, ctype, _ = gwGet(t, p.url+"/api/hello")
	assert.Equal(t, 200, code)
	assert.Equal(t, "application/json", ctype)

	assert.Equal(t, 0, p.stop(t, syscall.SIGTERM))
}

func TestGatewayAddrFlag(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	p := gwStart(t, "-addr", addr)
	assert.Equal(t, "http://"+addr, p.url, "the ready line names the address asked for")
	code, _, _ := gwGet(t, p.url+"/")
	assert.Equal(t, 200, code)
	assert.Equal(t, 0, p.stop(t, syscall.SIGTERM))
}

func TestGatewayBadFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file.txt")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { busy.Close() })

	tests := []struct {
		name string
		args []string
		want string // the flag the error names
	}{
		{"route without =", []string{"-route", "/api"}, "-route"},
		{"route relative prefix", []string{"-route", "api=http://127.0.0.1:1"}, "-route"},
		{"route no URL", []string{"-route", "/api="}, "-route"},
		{"route empty URL in list", []string{"-route", "/api=http://127.0.0.1:1,"}, "-route"},
		{"route bad scheme", []string{"-route", "/api=ftp://127.0.0.1:1"}, "-route"},
		{"route no host", []string{"-route", "/api=http://"}, "-route"},
		{"route twice", []string{"-route", "/api=http://127.0.0.1:1", "-route", "/api/=http://127.0.0.1:2"}, "-route"},
		{"route missing value", []string{"-route"}, "-route"},
		{"unknown strategy", []string{"-strategy", "fastest"}, "-strategy"},
		{"missing static dir", []string{"-static", filepath.Join(dir, "nope")}, "-static"},
		{"static is a file", []string{"-static", file}, "-static"},
		{"static and route /", []string{"-static", dir, "-route", "/=http://127.0.0.1:1"}, "-static"},
		{"addr without port", []string{"-addr", "127.0.0.1"}, "-addr"},
		{"addr port out of range", []string{"-addr", "127.0.0.1:70000"}, "-addr"},
		{"addr in use", []string{"-addr", busy.Addr().String()}, "-addr"},
		{"unknown flag", []string{"-listen", ":80"}, "-listen"},
		{"positional argument", []string{"serve"}, "serve"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(gwBinary(t), tt.args...)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit)
			assert.Equal(t, 2, exit.ExitCode())
			assert.Empty(t, stdout.String(), "no ready line")
			msg := stderr.String()
			assert.Equal(t, 1, strings.Count(msg, "\n"), "exactly one line: %q", msg)
			assert.True(t, strings.HasSuffix(msg, "\n"), "%q", msg)
			assert.True(t, strings.HasPrefix(msg, "gateway: "), "%q", msg)
			assert.Contains(t, msg, tt.want)
			assert.NotContains(t, msg, "panic")
			assert.NotContains(t, msg, "goroutine")
		})
	}
}

func TestGatewayHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(gwBinary(t), "-h")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run())
	for _, flag := range []string{"-addr", "-static", "-route", "-strategy"} {
		assert.Contains(t, stdout.String(), flag)
	}
	assert.Empty(t, stderr.String())
}

// TestGatewaySIGTERMDrains sends SIGTERM while a slow request is in flight:
// the request completes and the gateway exits 0.
func TestGatewaySIGTERMDrains(t *testing.T) {
	started := make(chan struct{}, 1)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		time.Sleep(700 * time.Millisecond)
		io.WriteString(w, "slow answer")
	}))
	t.Cleanup(slow.Close)
	p := gwStart(t, "-route", "/slow="+slow.URL)

	type result struct {
		code int
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Get(p.url + "/slow/x")
		if err != nil {
			res <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		res <- result{code: resp.StatusCode, body: string(b), err: err}
	}()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the slow request never reached the backend")
	}
	sent := time.Now()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))

	r := <-res
	require.NoError(t, r.err)
	assert.Equal(t, 200, r.code)
	assert.Equal(t, "slow answer", r.body, "the in-flight request completes")
	assert.Equal(t, 0, p.wait(t))
	assert.Less(t, time.Since(sent), drainTimeout, "the drain is bounded")

	_, err := http.Get(p.url + "/")
	assert.Error(t, err, "the listener is closed")
}

// gwStream opens an upgraded stream through the gateway at p to a backend
// that echoes bytes, and checks that it echoes.
func gwStream(t *testing.T, p *gwProc) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.url, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	// Not real WebSocket framing: after the 101 the test backend just
	// echoes bytes, which is all a proxy may assume of an upgraded stream.
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	io.WriteString(conn, "ping\n")
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ping\n", line, "the stream echoes through the gateway")
	return conn, br
}

// gwStreamBackend answers an upgrade with 101 and then echoes bytes.
func gwStreamBackend(t *testing.T) *httptest.Server {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "want upgrade", http.StatusBadRequest)
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
		brw.Flush()
		io.Copy(conn, brw)
	}))
	t.Cleanup(backend.Close)
	return backend
}

// TestGatewaySIGTERMWithOpenStream: an upgraded (WebSocket) stream that
// stays open holds shutdown up for the grace period only; then the client
// sees it closed and the gateway exits 0.
func TestGatewaySIGTERMWithOpenStream(t *testing.T) {
	p := gwStart(t, "-route", "/ws="+gwStreamBackend(t).URL)
	conn, br := gwStream(t, p)

	sent := time.Now()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	io.WriteString(conn, "still there\n")
	line, err := br.ReadString('\n')
	require.NoError(t, err, "the stream lives on during the grace period")
	assert.Equal(t, "still there\n", line)
	assert.Equal(t, 0, p.wait(t))
	assert.Less(t, time.Since(sent), drainTimeout, "the drain is bounded")
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = br.ReadString('\n')
	assert.ErrorIs(t, err, io.EOF, "the stream is closed once the gateway is gone")
	assert.Contains(t, p.stderrText(), "closed upgraded streams still open after the grace period")
}

// TestGatewaySIGTERMStreamEndsInGrace: a stream that its client ends
// during the grace period lets the gateway exit at once, with 0.
func TestGatewaySIGTERMStreamEndsInGrace(t *testing.T) {
	p := gwStart(t, "-route", "/ws="+gwStreamBackend(t).URL)
	conn, _ := gwStream(t, p)

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	time.Sleep(100 * time.Millisecond) // let shutdown begin; the grace is far longer
	closed := time.Now()
	require.NoError(t, conn.Close())
	assert.Equal(t, 0, p.wait(t))
	assert.Less(t, time.Since(closed), streamGrace, "no wait once the last stream ended")
	assert.NotContains(t, p.stderrText(), "closed upgraded streams")
}

// gwGetEncoded fetches url with Accept-Encoding ae, leaving the body as
// sent, and returns the Content-Encoding and the body decoded.
func gwGetEncoded(t *testing.T, url, ae string) (string, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	require.NoError(t, err)
	req.Header.Set("Accept-Encoding", ae)
	resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	var r io.Reader = resp.Body
	enc := resp.Header.Get("Content-Encoding")
	switch enc {
	case "gzip":
		zr, err := gzip.NewReader(resp.Body)
		require.NoError(t, err)
		r = zr
	case "zstd":
		zr, err := zstd.NewReader(resp.Body)
		require.NoError(t, err)
		defer zr.Close()
		r = zr
	}
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	return enc, b
}

// TestGatewayCompression checks that static files are compressed by
// default and proxied responses only with -compress.
func TestGatewayCompression(t *testing.T) {
	dir := t.TempDir()
	js := []byte(strings.Repeat("export const answer = () => 42;\n", 200))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "app.js"), js, 0o644))
	doc := `{"items":[` + strings.Repeat(`{"id":1,"name":"thing"},`, 100) + `{}]}`
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, doc)
	}))
	t.Cleanup(backend.Close)

	for _, compress := range []bool{false, true} {
		args := []string{"-static", dir, "-route", "/api=" + backend.URL}
		if compress {
			args = append(args, "-compress")
		}
		p := gwStart(t, args...)
		for _, ae := range []string{"gzip", "zstd"} {
			enc, body := gwGetEncoded(t, p.url+"/app.js", ae)
			assert.Equal(t, ae, enc, "static files are compressed by default")
			assert.Equal(t, js, body)
			enc, body = gwGetEncoded(t, p.url+"/api/items", ae)
			assert.Equal(t, doc, string(body))
			if compress {
				assert.Equal(t, ae, enc, "-compress compresses proxied responses")
			} else {
				assert.Empty(t, enc, "proxied responses are left alone without -compress")
			}
		}
		assert.Equal(t, 0, p.stop(t, syscall.SIGTERM))
	}
}
