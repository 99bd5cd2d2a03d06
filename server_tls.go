package frontdoor

import (
	"net"
	"net/http"
	"sync"
)

// ServeTLS accepts connections on ln and serves them over TLS until ln
// fails or the Server is shut down, exactly as [net/http.Server.ServeTLS]
// does with the wrapped server: its TLSConfig (cloned) with the
// certificate and key loaded from certFile and keyFile, which may be empty
// when TLSConfig has Certificates, GetCertificate or GetConfigForClient (as
// from golang.org/x/crypto/acme/autocert), and HTTP/2 offered through ALPN
// unless the wrapped server's Protocols or TLSNextProto leave it out.
// net/http serves every TLS connection itself; the fast path is for plain
// HTTP only. It always returns a non-nil error; after Shutdown or Close it
// is [net/http.ErrServerClosed]. ServeTLS closes ln when it returns, and
// may be called on several listeners, beside Serve.
//
// As with net/http, when the same Server also serves plain HTTP and
// TLSConfig is set, list "h2" in TLSConfig.NextProtos: net/http sets up
// HTTP/2 once, on the first Serve or ServeTLS, and from a plain Serve only
// if that field asks for it.
func (s *Server) ServeTLS(ln net.Listener, certFile, keyFile string) error {
	// Shutdown and Close close it first, as they close Serve's listeners;
	// once-only, so that net/http closing it again is no error.
	var l net.Listener = &onceCloseListener{Listener: ln}
	defer l.Close()
	if !s.trackListener(&l, true) {
		return http.ErrServerClosed
	}
	defer s.trackListener(&l, false)
	err := s.srv.ServeTLS(l, certFile, keyFile)
	if s.closing.Load() {
		return http.ErrServerClosed
	}
	return err
}

// ListenAndServeTLS listens on the TCP address srv.Addr (":https" if
// empty) and calls ServeTLS.
func (s *Server) ListenAndServeTLS(certFile, keyFile string) error {
	if s.closing.Load() {
		return http.ErrServerClosed
	}
	addr := s.srv.Addr
	if addr == "" {
		addr = ":https"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.ServeTLS(ln, certFile, keyFile)
}

// onceCloseListener closes its listener once; later calls return what the
// first did.
type onceCloseListener struct {
	net.Listener
	once sync.Once
	err  error
}

func (l *onceCloseListener) Close() error {
	l.once.Do(func() { l.err = l.Listener.Close() })
	return l.err
}
