//go:build linux

package frontdoor

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The rolling-restart test below kills backends the hard way: the listener
// and every connection are reset at once, as when the process dies. Linux
// only: the kill peeks at what the kernel holds for each connection
// (MSG_PEEK) and empties the accept queue (accept4) before the reset, so
// that the backends' log of what reached them is exact.

// chaosIDLen is the length of a POST id: "chaos-id-" and seven digits.
const chaosIDLen = len("chaos-id-0000000")

// chaosLog records, for every POST id, whether the Balancer wrote it to a
// backend connection (sent), whether it reached a backend (read by it or
// waiting in its socket when it died) and how many times a backend
// executed it. One log is shared by all backends.
type chaosLog struct {
	mu       sync.Mutex
	sent     map[string]bool
	reached  map[string]bool
	executed map[string]int
}

func newChaosLog() *chaosLog {
	return &chaosLog{sent: map[string]bool{}, reached: map[string]bool{}, executed: map[string]int{}}
}

// chaosStream finds the ids in a byte stream that arrives in pieces, and
// marks them in one of the log's sets. tail holds the last bytes seen,
// which may start an id; mu guards it.
type chaosStream struct {
	log  *chaosLog
	set  func(*chaosLog) map[string]bool
	mu   sync.Mutex
	tail []byte
}

// saw logs the ids in what was seen so far.
func (st *chaosStream) saw(b []byte) {
	st.mu.Lock()
	defer st.mu.Unlock()
	buf := append(st.tail, b...)
	st.tail = append([]byte(nil), buf[max(0, len(buf)-chaosIDLen+1):]...)
	for {
		i := bytes.Index(buf, []byte("chaos-id-"))
		if i < 0 || len(buf)-i < chaosIDLen {
			return
		}
		st.log.mu.Lock()
		st.set(st.log)[string(buf[i:i+chaosIDLen])] = true
		st.log.mu.Unlock()
		buf = buf[i+chaosIDLen:]
	}
}

func chaosReached(l *chaosLog) map[string]bool { return l.reached }
func chaosSent(l *chaosLog) map[string]bool    { return l.sent }

// chaosDial makes the Balancer's connections to backends log the ids the
// Balancer writes to them: what left the proxy.
func chaosDial(l *chaosLog) BalancerOption {
	return balancerOptionFunc(func(c *balancerConfig) {
		d := &net.Dialer{Timeout: 5 * time.Second}
		c.proxy.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &chaosSentConn{Conn: conn, out: chaosStream{log: l, set: chaosSent}}, nil
		}
	})
}

// chaosSentConn is a Balancer's connection to a backend.
type chaosSentConn struct {
	net.Conn
	out chaosStream
}

func (c *chaosSentConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.out.saw(p[:n])
	}
	return n, err
}

// chaosConn is a backend's connection, which logs the ids reaching it.
type chaosConn struct {
	*net.TCPConn
	in chaosStream
}

func newChaosConn(tc *net.TCPConn, l *chaosLog) *chaosConn {
	return &chaosConn{TCPConn: tc, in: chaosStream{log: l, set: chaosReached}}
}

func (c *chaosConn) Read(p []byte) (int, error) {
	n, err := c.TCPConn.Read(p)
	if n > 0 {
		c.in.saw(p[:n])
	}
	return n, err
}

// reset resets the connection at once, logging what the kernel still
// held for it, unread.
func (c *chaosConn) reset() {
	if rc, err := c.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			if b := chaosReset(int(fd), true); len(b) > 0 {
				c.in.saw(b)
			}
		})
	}
	_ = c.Close()
}

// chaosReset closes socket fd as a dying process would, and returns the
// bytes that were waiting in it. With linger off, closing a connection
// sends a TCP reset and closing a listener resets its accept queue. The
// bytes are peeked at just before, with no other system call in between,
// so that nothing can arrive unseen. When the fd belongs to a Go
// connection (owned), the socket is closed by putting a placeholder in its
// place (dup3): Go's own Close would wait for the goroutine reading the
// connection, leaving time for more bytes to arrive; Go closes the
// placeholder later.
func chaosReset(fd int, owned bool) []byte {
	_ = syscall.SetsockoptLinger(fd, syscall.SOL_SOCKET, syscall.SO_LINGER, &syscall.Linger{Onoff: 1})
	placeholder := -1
	if owned {
		var err error
		if placeholder, err = syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0); err != nil {
			panic(err)
		}
		defer syscall.Close(placeholder)
	}
	buf := make([]byte, 64<<10)
	n, _, err := syscall.Recvfrom(fd, buf, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	if owned {
		_ = syscall.Dup3(placeholder, fd, syscall.O_CLOEXEC)
	} else {
		_ = syscall.Close(fd)
	}
	if err != nil || n <= 0 {
		return nil
	}
	return buf[:n]
}

// chaosBackend is an HTTP backend on a fixed 127.0.0.1 port that can be
// killed hard and started again on the same port. GET answers its name;
// POST executes the id in its body once (logging it) and answers it back.
type chaosBackend struct {
	t    *testing.T
	name string
	addr string
	log  *chaosLog

	mu    sync.Mutex
	ln    *net.TCPListener
	srv   *http.Server
	conns map[*chaosConn]struct{}
	down  bool
	wg    sync.WaitGroup // Serve goroutines
}

func newChaosBackend(t *testing.T, name string, log *chaosLog) *chaosBackend {
	cb := &chaosBackend{t: t, name: name, log: log}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cb.addr = ln.Addr().String()
	cb.serve(ln.(*net.TCPListener))
	return cb
}

func (cb *chaosBackend) handle(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		io.WriteString(w, cb.name)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil || len(body) != chaosIDLen {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	cb.log.mu.Lock()
	cb.log.executed[string(body)]++
	cb.log.mu.Unlock()
	fmt.Fprintf(w, "done %s", body)
}

// serve starts an incarnation of the backend on ln.
func (cb *chaosBackend) serve(ln *net.TCPListener) {
	srv := &http.Server{Handler: http.HandlerFunc(cb.handle), ErrorLog: log.New(io.Discard, "", 0)}
	cb.mu.Lock()
	cb.ln, cb.srv, cb.down = ln, srv, false
	cb.conns = make(map[*chaosConn]struct{})
	cb.mu.Unlock()
	cb.wg.Go(func() { _ = srv.Serve(chaosListener{ln, cb}) })
}

// chaosListener registers every accepted connection with its backend, or
// resets it when the backend was killed meanwhile.
type chaosListener struct {
	*net.TCPListener
	cb *chaosBackend
}

func (l chaosListener) Accept() (net.Conn, error) {
	for {
		tc, err := l.AcceptTCP()
		if err != nil {
			return nil, err
		}
		c := newChaosConn(tc, l.cb.log)
		l.cb.mu.Lock()
		down := l.cb.down
		if !down {
			l.cb.conns[c] = struct{}{}
		}
		l.cb.mu.Unlock()
		if !down {
			return c, nil
		}
		c.reset()
	}
}

// kill resets the listener, its accept queue and every connection at once,
// logging what reached the backend first.
func (cb *chaosBackend) kill() {
	cb.mu.Lock()
	cb.down = true
	ln, srv, conns := cb.ln, cb.srv, cb.conns
	cb.conns = nil
	cb.mu.Unlock()
	if rc, err := ln.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			// Take what the accept queue holds, then close the listener
			// right after the queue was seen empty.
			for {
				nfd, _, err := syscall.Accept4(int(fd), syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
				if err != nil {
					break
				}
				if b := chaosReset(nfd, false); len(b) > 0 {
					(&chaosStream{log: cb.log, set: chaosReached}).saw(b)
				}
			}
			chaosReset(int(fd), true)
		})
	}
	_ = ln.Close()
	for c := range conns {
		c.reset()
	}
	_ = srv.Close() // nothing left to close; ends the server's bookkeeping
}

// restart listens on the same port again.
func (cb *chaosBackend) restart() {
	var ln net.Listener
	var err error
	for range 50 { // the port is ours, but give the kernel a moment if needed
		if ln, err = net.Listen("tcp", cb.addr); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !assert.NoError(cb.t, err, "restart %s", cb.name) {
		return
	}
	cb.serve(ln.(*net.TCPListener))
}

// chaosStats counts the outcomes of the clients' requests.
type chaosStats struct {
	mu          sync.Mutex
	gets, posts int
	getFailed   int
	getFails    []string // the first few
	postFailed  []string // ids
	postWhy     map[string]string
	postOK      []string // ids
	outOfTime   []string // requests that failed after routeTime
}

// TestBalancerRollingRestartLosesNoSafeRequest kills one of three backends
// hard every 4 s and starts it again on its port 1.5 s later, under 100
// concurrent clients (80% GET, 20% POST with a unique id), through a
// Balancer with default options behind a real server. No GET may fail, no
// POST may run twice, and a POST may fail only if the Balancer had sent it
// to a backend that then died: it cannot know whether it ran. The log
// tells those apart: ran before the backend died, reached it (read, or
// waiting in its socket) without running, or written by the Balancer into
// a connection the backend had just reset, so that it never arrived.
func TestBalancerRollingRestartLosesNoSafeRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("a 21 s chaos run")
	}
	const (
		clients  = 100
		run      = 21 * time.Second
		firstAt  = 2 * time.Second
		every    = 4 * time.Second
		downFor  = 1500 * time.Millisecond
		reqLimit = 10 * time.Second
		// routeTime is RetryPolicy.MaxDuration by default: no retry
		// starts later. A request that failed after that long ran out of
		// time, which happens only when the machine starves the test.
		routeTime = 5 * time.Second
	)
	baseline := runtime.NumGoroutine()
	ids := newChaosLog()
	var backends []*chaosBackend
	var urls []string
	for i := range 3 {
		cb := newChaosBackend(t, fmt.Sprint("b", i), ids)
		backends = append(backends, cb)
		urls = append(urls, "http://"+cb.addr)
	}
	var changes []string
	var chMu sync.Mutex
	var start time.Time
	var debug bytes.Buffer // the Balancer's log, failed attempts included
	b, err := NewBalancer(urls, chaosDial(ids), WithLogger(slog.New(slog.NewTextHandler(&balTestSyncWriter{w: &debug},
		&slog.HandlerOptions{Level: slog.LevelDebug}))), WithOnStateChange(func(c StateChange) {
		chMu.Lock()
		defer chMu.Unlock()
		e := fmt.Sprintf("%v %s %s>%s", time.Since(start).Round(10*time.Millisecond), c.Backend[len(c.Backend)-5:], c.From, c.To)
		if c.To == StateEjected {
			e += fmt.Sprintf(" for %v", time.Until(c.Until).Round(10*time.Millisecond))
		}
		changes = append(changes, e)
	}))
	require.NoError(t, err)
	frontLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	front := &http.Server{Handler: b, ReadHeaderTimeout: reqLimit, ErrorLog: log.New(io.Discard, "", 0)}
	var frontWG sync.WaitGroup
	frontWG.Go(func() { _ = front.Serve(frontLn) })
	frontURL := "http://" + frontLn.Addr().String()
	client := &http.Client{Timeout: reqLimit, Transport: &http.Transport{
		MaxIdleConnsPerHost: clients, DisableCompression: true,
	}}

	ctx, cancel := context.WithTimeout(context.Background(), run)
	defer cancel()
	start = time.Now()

	// The killer: backend k%3 dies at firstAt + k*every, back downFor later.
	var kills atomic.Int32
	var bg sync.WaitGroup
	bg.Go(func() {
		for k := 0; ; k++ {
			at := start.Add(firstAt + time.Duration(k)*every)
			if at.Add(downFor).After(start.Add(run)) {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Until(at)):
			}
			victim := backends[k%len(backends)]
			t.Logf("%v kill %s", time.Since(start).Round(10*time.Millisecond), victim.addr)
			victim.kill()
			kills.Add(1)
			time.Sleep(downFor)
			victim.restart()
		}
	})

	stats := chaosStats{postWhy: map[string]string{}}
	var nextID atomic.Int64
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				post := (c+n)%5 == 0
				var id string
				var req *http.Request
				if post {
					id = fmt.Sprintf("chaos-id-%07d", nextID.Add(1))
					req, _ = http.NewRequest(http.MethodPost, frontURL+"/order/"+id, strings.NewReader(id))
				} else {
					req, _ = http.NewRequest(http.MethodGet, fmt.Sprintf("%s/item/get-%07d", frontURL, nextID.Add(1)), nil)
				}
				t0 := time.Now()
				res, err := client.Do(req)
				var got string
				code := 0
				if err == nil {
					body, rerr := io.ReadAll(res.Body)
					res.Body.Close()
					code, got, err = res.StatusCode, string(body), rerr
				}
				ok := err == nil && code == http.StatusOK
				if post {
					ok = ok && got == "done "+id
				} else {
					ok = ok && strings.HasPrefix(got, "b")
				}
				stats.mu.Lock()
				switch {
				case !ok && time.Since(t0) >= routeTime:
					stats.outOfTime = append(stats.outOfTime, fmt.Sprintf("%s: %d %v after %v",
						req.URL.Path, code, err, time.Since(t0).Round(time.Millisecond)))
				case post:
					stats.posts++
					if ok {
						stats.postOK = append(stats.postOK, id)
					} else {
						stats.postFailed = append(stats.postFailed, id)
						stats.postWhy[id] = fmt.Sprintf("%d %q %v after %v", code, got, err, time.Since(t0).Round(time.Millisecond))
					}
				default:
					stats.gets++
					if !ok {
						stats.getFailed++
						if len(stats.getFails) < 20 {
							stats.getFails = append(stats.getFails, fmt.Sprintf("%s: %d %q %v at %v after %v",
								req.URL.Path, code, got, err, time.Since(start).Round(time.Millisecond), time.Since(t0).Round(time.Millisecond)))
						}
					}
				}
				stats.mu.Unlock()
			}
		})
	}
	wg.Wait()
	bg.Wait()
	elapsed := time.Since(start)

	// Tear down, then check that nothing is left running.
	client.CloseIdleConnections()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	assert.NoError(t, front.Shutdown(sctx))
	frontWG.Wait()
	assert.NoError(t, b.Shutdown(sctx))
	for _, cb := range backends {
		cb.kill()
		cb.wg.Wait()
	}
	balTestNoGoroutineLeft(t, baseline)

	ids.mu.Lock()
	defer ids.mu.Unlock()
	var twice, ran, reached, sentOnly, unsent []string
	for id, n := range ids.executed {
		if n > 1 {
			twice = append(twice, id)
		}
	}
	for _, id := range stats.postFailed {
		switch {
		case ids.executed[id] > 0:
			ran = append(ran, id)
		case ids.reached[id]:
			reached = append(reached, id)
		case ids.sent[id]:
			sentOnly = append(sentOnly, id)
		default:
			unsent = append(unsent, id)
		}
	}
	var okNotOnce int
	for _, id := range stats.postOK {
		if ids.executed[id] != 1 {
			okNotOnce++
		}
	}
	t.Logf("%v, %d kills: %d GETs (%d failed), %d POSTs (%d failed: %d ran before their backend died, "+
		"%d reached it and did not run, %d were written as it died and never reached it, %d were never sent)",
		elapsed.Round(100*time.Millisecond), kills.Load(), stats.gets, stats.getFailed, stats.posts,
		len(stats.postFailed), len(ran), len(reached), len(sentOnly), len(unsent))
	for _, st := range b.Backends() {
		t.Logf("%s: %s, %d attempts, %d failures, %d retries", st.URL, st.State, st.Requests, st.Failures, st.Retries)
	}
	chMu.Lock()
	t.Logf("state changes: %s", strings.Join(changes, "; "))
	chMu.Unlock()
	if len(stats.outOfTime) > 0 {
		t.Logf("%d requests failed after the route's time (%v), the machine was starved: %q",
			len(stats.outOfTime), routeTime, stats.outOfTime[:min(len(stats.outOfTime), 5)])
	}
	// What the Balancer logged about the first few failures that must not
	// happen, and about POSTs that never reached a backend.
	var why []string
	for _, f := range stats.getFails[:min(len(stats.getFails), 3)] {
		why = append(why, f[:strings.Index(f, ":")])
	}
	for _, id := range slices.Concat(sentOnly, unsent)[:min(len(sentOnly)+len(unsent), 3)] {
		why = append(why, id)
	}
	for _, key := range why {
		for line := range strings.Lines(debug.String()) {
			if strings.Contains(line, key+" ") {
				t.Logf("%s (%s): %s", key, stats.postWhy[key], line)
			}
		}
	}
	assert.GreaterOrEqual(t, kills.Load(), int32(4), "backends were killed")
	assert.Greater(t, stats.gets, 5*clients, "the clients kept the Balancer busy")
	assert.Less(t, len(stats.outOfTime), (stats.gets+stats.posts)/100+1, "requests do not hang")
	assert.Zero(t, stats.getFailed, "no GET fails: %q", stats.getFails)
	assert.Zero(t, okNotOnce, "every POST answered 200 ran exactly once")
	assert.Empty(t, twice[:min(len(twice), 10)], "no POST runs twice (%d did)", len(twice))
	assert.Empty(t, unsent[:min(len(unsent), 10)],
		"a POST fails only if it was sent to a backend that died (%d were not sent)", len(unsent))
}
