package frontdoor

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// srvTLSTestCert writes a fresh self-signed certificate for 127.0.0.1 and
// its key as PEM files and returns their paths and a pool trusting it.
func srvTLSTestCert(t *testing.T) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "frontdoor test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return certFile, keyFile, roots
}

// srvTLSTestClients returns a client that offers HTTP/2 and HTTP/1.1 and
// one that offers HTTP/1.1 only, both trusting roots.
func srvTLSTestClients(t *testing.T, roots *x509.CertPool) (h2, h1 *http.Client) {
	t.Helper()
	tr2 := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}
	tr1 := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, NextProtos: []string{"http/1.1"}},
		TLSNextProto:    map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
	t.Cleanup(tr2.CloseIdleConnections)
	t.Cleanup(tr1.CloseIdleConnections)
	return &http.Client{Transport: tr2}, &http.Client{Transport: tr1}
}

// srvTLSTestGet gets url and returns the response with its body read.
func srvTLSTestGet(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	resp.Body.Close()
	return resp, string(body)
}

// srvTLSTestMux serves srvTestMapFS at "/" and, at "/tls", what the
// handler learns of the connection.
func srvTLSTestMux(t *testing.T) *Mux {
	t.Helper()
	static, err := NewStaticFS(srvTestMapFS())
	require.NoError(t, err)
	mux := NewMux()
	mux.Handle("/", static)
	mux.Handle("/tls", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			io.WriteString(w, "plain "+r.Proto)
			return
		}
		io.WriteString(w, "tls "+r.Proto)
	}))
	return mux
}

// TestServerServeTLS serves one Server over TLS and plain HTTP at once:
// over TLS a client that offers h2 gets HTTP/2, one that does not gets
// HTTP/1.1, both from net/http; plain HTTP keeps the fast path. Shutdown
// stops both listeners.
func TestServerServeTLS(t *testing.T) {
	certFile, keyFile, roots := srvTLSTestCert(t)
	h2, h1 := srvTLSTestClients(t, roots)
	s, err := NewServer(&http.Server{Handler: srvTLSTestMux(t), ReadHeaderTimeout: 5 * time.Second})
	require.NoError(t, err)
	require.NotNil(t, s.fast, "the handler is a *Mux: plain HTTP gets the fast path")

	tlsLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	plainLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	tlsDone, plainDone := make(chan error, 1), make(chan error, 1)
	go func() { tlsDone <- s.ServeTLS(tlsLn, certFile, keyFile) }()
	go func() { plainDone <- s.Serve(plainLn) }()
	base := "https://" + tlsLn.Addr().String()

	resp, body := srvTLSTestGet(t, h2, base+"/a.txt")
	assert.Equal(t, "a", body)
	assert.Equal(t, "HTTP/2.0", resp.Proto)
	assert.Equal(t, "h2", resp.TLS.NegotiatedProtocol)
	_, body = srvTLSTestGet(t, h2, base+"/tls")
	assert.Equal(t, "tls HTTP/2.0", body)

	resp, body = srvTLSTestGet(t, h1, base+"/a.txt")
	assert.Equal(t, "a", body)
	assert.Equal(t, "HTTP/1.1", resp.Proto)
	assert.Equal(t, "http/1.1", resp.TLS.NegotiatedProtocol)
	_, body = srvTLSTestGet(t, h1, base+"/tls")
	assert.Equal(t, "tls HTTP/1.1", body)

	raw := srvTestExchange(t, plainLn.Addr().String(), "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
	assert.Contains(t, raw, "HTTP/1.1 200 OK")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h2.CloseIdleConnections()
	h1.CloseIdleConnections()
	require.NoError(t, s.Shutdown(ctx))
	assert.ErrorIs(t, <-tlsDone, http.ErrServerClosed)
	assert.ErrorIs(t, <-plainDone, http.ErrServerClosed)
	_, err = net.Dial("tcp", tlsLn.Addr().String())
	assert.Error(t, err, "the TLS listener is closed")
	assert.ErrorIs(t, s.ServeTLS(&srvTLSTestNoListener{}, certFile, keyFile), http.ErrServerClosed)
}

// srvTLSTestNoListener is a listener that was never opened.
type srvTLSTestNoListener struct{ net.Listener }

func (*srvTLSTestNoListener) Close() error { return nil }

// TestServerServeTLSProtocols: the wrapped server's own ways of leaving
// HTTP/2 out hold, and a TLSConfig that brings its certificate (as
// autocert's does) needs no files and still gets HTTP/2.
func TestServerServeTLSProtocols(t *testing.T) {
	certFile, keyFile, roots := srvTLSTestCert(t)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	require.NoError(t, err)
	h2, _ := srvTLSTestClients(t, roots)
	var http1 http.Protocols
	http1.SetHTTP1(true)
	tests := []struct {
		name           string
		configure      func(*http.Server)
		cert, key      string
		wantProto, alp string
	}{
		{"default", func(*http.Server) {}, certFile, keyFile, "HTTP/2.0", "h2"},
		{"Protocols HTTP/1 only", func(hs *http.Server) { hs.Protocols = &http1 }, certFile, keyFile, "HTTP/1.1", "http/1.1"},
		{"TLSNextProto without h2", func(hs *http.Server) {
			hs.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
		}, certFile, keyFile, "HTTP/1.1", "http/1.1"},
		{"certificate in TLSConfig", func(hs *http.Server) {
			hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		}, "", "", "HTTP/2.0", "h2"},
		{"GetCertificate in TLSConfig", func(hs *http.Server) {
			hs.TLSConfig = &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil }}
		}, "", "", "HTTP/2.0", "h2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := &http.Server{Handler: srvTLSTestMux(t)}
			tt.configure(hs)
			s, err := NewServer(hs)
			require.NoError(t, err)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			done := make(chan error, 1)
			go func() { done <- s.ServeTLS(ln, tt.cert, tt.key) }()
			resp, body := srvTLSTestGet(t, h2, "https://"+ln.Addr().String()+"/tls")
			assert.Equal(t, "tls "+tt.wantProto, body)
			assert.Equal(t, tt.alp, resp.TLS.NegotiatedProtocol)
			h2.CloseIdleConnections()
			require.NoError(t, s.Close())
			assert.ErrorIs(t, <-done, http.ErrServerClosed)
		})
	}
}

func TestServerListenAndServeTLS(t *testing.T) {
	certFile, keyFile, roots := srvTLSTestCert(t)
	h2, _ := srvTLSTestClients(t, roots)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	s, err := NewServer(&http.Server{Addr: addr, Handler: srvTLSTestMux(t)})
	require.NoError(t, err)
	assert.ErrorIs(t, s.ListenAndServeTLS(certFile, filepath.Join(t.TempDir(), "missing.pem")), os.ErrNotExist,
		"a key that cannot be read is the error")
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServeTLS(certFile, keyFile) }()
	var resp *http.Response
	require.Eventually(t, func() bool {
		resp, err = h2.Get("https://" + addr + "/a.txt")
		return err == nil
	}, 5*time.Second, 10*time.Millisecond)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "a", string(body))
	assert.Equal(t, 2, resp.ProtoMajor)
	h2.CloseIdleConnections()
	require.NoError(t, s.Close())
	assert.ErrorIs(t, <-done, http.ErrServerClosed)
	assert.ErrorIs(t, s.ListenAndServeTLS(certFile, keyFile), http.ErrServerClosed)
}
