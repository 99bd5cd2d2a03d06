package frontdoor

import (
	"context"
	"crypto/tls"
	"errors"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Server serves HTTP on a listener exactly like the [net/http.Server] it
// wraps, and answers the commonest request of a web frontend itself: a GET
// or HEAD, without conditions or ranges, of a file that a [StaticFS]
// serves whole. Such a response is the same, byte for byte (Date aside),
// as the one net/http would send through the handler, but costs a fraction
// of the work: no goroutine besides the connection's, no Request, no
// header maps; a small file kept in memory goes out with one read and one
// write system call, a large one with sendfile. On a small file this
// roughly halves the server's CPU time per request.
//
// The fast path applies only when the wrapped server's Handler is exactly a
// *[StaticFS], or exactly a *[Mux] whose route for the path is exactly a
// *StaticFS (with no [WithStripPrefix] or [WithRateLimit]). Any other
// handler sees every request through net/http: a type of your own that
// embeds a *Mux or a *StaticFS, [net/http.StripPrefix],
// [net/http.TimeoutHandler], a logging or auth middleware. So a wrapper
// that sets security headers or checks credentials always runs; the price
// is the fast path, which a Server over it does not use. A wrapper around
// one route's StaticFS, inside the Mux, costs the fast path of that route
// only.
//
// Everything else goes to the wrapped server: the first request on a
// connection that the fast path does not answer, and every later one, are
// read and served by net/http as if
// it had accepted the connection itself, so other methods, bodies,
// conditional and range requests, upgrades, HTTP/1.0, h2c, malformed
// requests (and their 400s), other routes and all handler wrapping behave
// exactly as with [net/http.Server.Serve]. Whatever the fast path is unsure
// of, it hands over.
//
// The wrapped server's ReadTimeout, ReadHeaderTimeout, WriteTimeout and
// IdleTimeout apply to the fast path as they do in net/http, to within a
// sixteenth of each (deadlines are moved only when they would move by more,
// to save system calls). A ConnState hook, or Protocols without HTTP/1,
// turns the fast path off, since it would not report its connections.
//
// The fast path is for plain HTTP, on its own or behind a TLS-terminating
// load balancer. For HTTPS, [Server.ServeTLS] and [Server.ListenAndServeTLS]
// do what net/http's do, HTTP/2 included, and net/http serves those
// connections. A TLS listener (from [crypto/tls.NewListener]) given to
// Serve is handed to net/http as it is too, but then HTTP/2 is offered only
// if that listener's tls.Config lists "h2" in NextProtos.
//
// The wrapped server's hooks see the connections it is handed: ConnContext
// may get a wrapper around the accepted net.Conn (replaying bytes already
// read; its RemoteAddr and LocalAddr are the real ones), and BaseContext a
// placeholder listener, not the one passed to Serve (from ServeTLS, a
// wrapper around the one passed).
//
// Use the Server's own Shutdown, Close and SetKeepAlivesEnabled rather than
// the wrapped server's: they cover both kinds of connection. Do not modify
// the wrapped server after calling Serve.
type Server struct {
	srv  *http.Server
	fast fastRouter // nil: every connection goes to srv

	handoff   *handoffListener
	startOnce sync.Once

	mu        sync.Mutex
	listeners map[*net.Listener]struct{}
	conns     map[*fastConn]struct{}

	closing      atomic.Bool // Shutdown or Close was called
	noKeepAlives atomic.Bool
	date         atomic.Pointer[fastDate]
}

// fastRouter finds the StaticFS that would answer a clean request path.
// *Mux and *StaticFS implement it; only fastRouterOf may pick one.
type fastRouter interface {
	fastStatic(path string) *StaticFS
}

var errServerNil = errors.New("frontdoor: NewServer: nil *http.Server")

// NewServer returns a Server over srv, which supplies the handler, the
// timeouts and everything else. It returns an error if srv is nil.
func NewServer(srv *http.Server) (*Server, error) {
	if srv == nil {
		return nil, errServerNil
	}
	s := &Server{srv: srv}
	s.handoff = newHandoffListener()
	if srv.ConnState == nil && (srv.Protocols == nil || srv.Protocols.HTTP1()) {
		s.fast = fastRouterOf(srv.Handler)
	}
	return s, nil
}

// fastRouterOf returns h as a fastRouter if its dynamic type is exactly
// *Mux or *StaticFS, else nil. A type that embeds one has fastStatic too,
// by promotion, but its own ServeHTTP (a security header, an auth check)
// must see every request, so it never gets the fast path.
func fastRouterOf(h http.Handler) fastRouter {
	switch h := h.(type) {
	case *Mux:
		if h != nil {
			return h
		}
	case *StaticFS:
		if h != nil {
			return h
		}
	}
	return nil
}

// Serve accepts connections on ln and serves them until ln fails or the
// Server is shut down, as [net/http.Server.Serve] does. It always returns a
// non-nil error; after Shutdown or Close it is [net/http.ErrServerClosed].
// Serve closes ln when it returns. Serve may be called on several
// listeners at once.
func (s *Server) Serve(ln net.Listener) error {
	defer ln.Close()
	if !s.trackListener(&ln, true) {
		return http.ErrServerClosed
	}
	defer s.trackListener(&ln, false)
	s.startOnce.Do(func() {
		go func() {
			s.srv.Serve(s.handoff)
			s.handoff.Close() // whatever ended it, handovers must not block
		}()
	})

	var delay time.Duration // how long to sleep on accept failure
	for {
		rw, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return http.ErrServerClosed
			}
			// As net/http does: back off on a transient failure such as
			// running out of file descriptors, and return on any other.
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.logf("frontdoor: Server: accept error: %v; retrying in %v", err, delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		if _, secure := rw.(connectionStater); s.fast == nil || secure {
			// A TLS connection goes to net/http as it is, which takes its
			// state (Request.TLS, the negotiated protocol) from it.
			s.handoff.give(rw)
			continue
		}
		c := newFastConn(s, rw)
		if !s.trackConn(c, true) {
			rw.Close()
			continue
		}
		go c.serve()
	}
}

// connectionStater is what net/http takes a connection's TLS state from:
// *tls.Conn, or any connection with such a method.
type connectionStater interface {
	ConnectionState() tls.ConnectionState
}

// isTemporary reports whether err says it is temporary, as the accept
// errors net/http retries do.
func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// logf logs through the wrapped server's ErrorLog, or the log package.
func (s *Server) logf(format string, args ...any) {
	if l := s.srv.ErrorLog; l != nil {
		l.Printf(format, args...)
		return
	}
	log.Printf(format, args...)
}

// ListenAndServe listens on the TCP address srv.Addr (":http" if empty)
// and calls Serve.
func (s *Server) ListenAndServe() error {
	if s.closing.Load() {
		return http.ErrServerClosed
	}
	addr := s.srv.Addr
	if addr == "" {
		addr = ":http"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// SetKeepAlivesEnabled controls whether connections are kept open between
// requests, as [net/http.Server.SetKeepAlivesEnabled] does; it applies to
// both the fast path and the wrapped server.
func (s *Server) SetKeepAlivesEnabled(v bool) {
	s.noKeepAlives.Store(!v)
	if !v {
		// As net/http does for its own: close the idle connections now.
		s.closeIdleFast()
	}
	s.srv.SetKeepAlivesEnabled(v)
}

// Shutdown stops the Server gracefully, as [net/http.Server.Shutdown]
// does: it closes the listeners, then closes each connection once it is
// idle (a request being answered is answered first, with "Connection:
// close"; a new connection gets 5 seconds to send its first request, as
// in net/http), and waits until all are closed or ctx is done, whose
// error it then returns, leaving the connections still busy to finish
// (Close closes them). Otherwise it returns the error of closing the
// listeners, if any. Serve returns [net/http.ErrServerClosed] at once.
//
// The fast path's connections are drained first: a request one of them
// hands to the wrapped server meanwhile is still served. Then the wrapped
// server is shut down with ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	lnerr := s.closeListeners()
	err := s.drainFast(ctx)
	s.startServing() // so that Shutdown below finds the handoff listener to close
	// Out of time, this only stops the wrapped server accepting and closes
	// its idle connections, and returns at once: as with net/http, the
	// requests in flight on either kind of connection are left to finish.
	if serr := s.srv.Shutdown(ctx); err == nil {
		err = serr
	}
	if err == nil {
		err = lnerr
	}
	return err
}

// Close closes the listeners and every connection at once, as
// [net/http.Server.Close] does.
func (s *Server) Close() error {
	s.closing.Store(true)
	err := s.closeListeners()
	s.closeFast()
	s.startServing()
	if cerr := s.srv.Close(); err == nil {
		err = cerr
	}
	return err
}

// startServing makes sure srv.Serve(handoff) ran, so that the wrapped
// server's Shutdown and Close see the handoff listener, and that
// connections handed over after it returned are closed, not stuck.
func (s *Server) startServing() {
	s.startOnce.Do(func() { s.handoff.Close() })
}

// drainFast closes the fast path's idle connections, and the others as
// they become idle, until none is left or ctx is done.
func (s *Server) drainFast(ctx context.Context) error {
	// Poll like net/http.Server.Shutdown: often at first, then less.
	wait := time.Millisecond
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		if s.closeIdleFast() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			wait = min(2*wait, 100*time.Millisecond)
			timer.Reset(wait)
		}
	}
}

// closeIdleFast closes the fast connections waiting for a request and
// reports whether none is left.
func (s *Server) closeIdleFast() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.closeIfIdle()
	}
	return len(s.conns) == 0
}

// closeFast closes every fast connection.
func (s *Server) closeFast() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.close()
	}
}

// closeListeners closes every listener Serve is accepting on.
func (s *Server) closeListeners() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	for ln := range s.listeners {
		if cerr := (*ln).Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return err
}

// trackListener adds or removes ln; adding fails once the Server is
// closing.
func (s *Server) trackListener(ln *net.Listener, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !add {
		delete(s.listeners, ln)
		return true
	}
	if s.closing.Load() {
		return false
	}
	if s.listeners == nil {
		s.listeners = make(map[*net.Listener]struct{})
	}
	s.listeners[ln] = struct{}{}
	return true
}

// trackConn adds or removes c; adding fails once the Server is closing.
func (s *Server) trackConn(c *fastConn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !add {
		delete(s.conns, c)
		return true
	}
	if s.closing.Load() {
		return false
	}
	if s.conns == nil {
		s.conns = make(map[*fastConn]struct{})
	}
	s.conns[c] = struct{}{}
	return true
}

// fastDate is the Date header value for one second.
type fastDate struct {
	sec int64
	b   []byte
}

// dateValue returns the Date header value for now, formatted once a second.
func (s *Server) dateValue(now time.Time) []byte {
	sec := now.Unix()
	if d := s.date.Load(); d != nil && d.sec == sec {
		return d.b
	}
	d := &fastDate{sec: sec, b: now.UTC().AppendFormat(nil, http.TimeFormat)}
	s.date.Store(d)
	return d.b
}
