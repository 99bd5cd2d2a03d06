package frontdoor

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Which handlers the Server's fast path answers for: exactly a *Mux or a
// *StaticFS. A type that embeds one gets fastStatic by method promotion,
// but its own ServeHTTP must run for every request.

const srvHandlerCSP = "default-src 'self'"

// srvHandlerSeen counts the requests a wrapper's ServeHTTP saw and marks
// each response, as a security-header middleware would.
type srvHandlerSeen struct{ n atomic.Int64 }

func (s *srvHandlerSeen) mark(w http.ResponseWriter) {
	s.n.Add(1)
	w.Header().Set("Content-Security-Policy", srvHandlerCSP)
}

// The shapes of wrapper a user writes, each with its own ServeHTTP.
type (
	srvValueMuxApp struct {
		*Mux
		seen *srvHandlerSeen
	}
	srvPtrMuxApp struct {
		*Mux
		seen *srvHandlerSeen
	}
	srvValueStaticApp struct {
		*StaticFS
		seen *srvHandlerSeen
	}
	srvPtrStaticApp struct {
		*StaticFS
		seen *srvHandlerSeen
	}
	srvFieldApp struct {
		mux  *Mux
		seen *srvHandlerSeen
	}
	srvEmbedOnlyApp struct{ *Mux } // no ServeHTTP of its own
)

func (a srvValueMuxApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.seen.mark(w)
	a.Mux.ServeHTTP(w, r)
}

func (a *srvPtrMuxApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.seen.mark(w)
	a.Mux.ServeHTTP(w, r)
}

func (a srvValueStaticApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.seen.mark(w)
	a.StaticFS.ServeHTTP(w, r)
}

func (a *srvPtrStaticApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.seen.mark(w)
	a.StaticFS.ServeHTTP(w, r)
}

func (a *srvFieldApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.seen.mark(w)
	a.mux.ServeHTTP(w, r)
}

// srvHandlerSite returns a StaticFS of a small site and a Mux serving it
// at "/".
func srvHandlerSite(t *testing.T) (*StaticFS, *Mux) {
	t.Helper()
	site := srvTestMapFS()
	site["index.html"] = &fstest.MapFile{Data: []byte("<h1>home</h1>"), ModTime: time.Unix(1e9, 0)}
	static, err := NewStaticFS(site)
	require.NoError(t, err)
	mux := NewMux()
	mux.Handle("/", static)
	return static, mux
}

// srvHandlerServe serves h through a frontdoor.Server on 127.0.0.1 until
// the test ends and returns the Server and its address.
func srvHandlerServe(t *testing.T, h http.Handler) (*Server, string) {
	t.Helper()
	s, err := NewServer(&http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		assert.ErrorIs(t, <-done, http.ErrServerClosed)
	})
	return s, ln.Addr().String()
}

// srvHandlerGets sends GETs of targets on one connection: the first three
// pipelined in one write, the others one at a time once the previous
// answer is read (keep-alive). It returns the responses, bodies read.
func srvHandlerGets(t *testing.T, addr string, targets ...string) []*http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	br := bufio.NewReader(conn)
	req := func(target string) string { return "GET " + target + " HTTP/1.1\r\nHost: front\r\n\r\n" }
	var resps []*http.Response
	read := func() {
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		_, err = io.Copy(io.Discard, resp.Body)
		require.NoError(t, err)
		resp.Body.Close()
		resps = append(resps, resp)
	}
	first := min(3, len(targets))
	var pipelined strings.Builder
	for _, target := range targets[:first] {
		pipelined.WriteString(req(target))
	}
	_, err = io.WriteString(conn, pipelined.String())
	require.NoError(t, err)
	for range first {
		read()
	}
	for _, target := range targets[first:] {
		_, err = io.WriteString(conn, req(target))
		require.NoError(t, err)
		read()
	}
	return resps
}

// TestServerWrapperSeesEveryRequest is the plain proof: whatever the shape
// of the user's wrapper, its ServeHTTP runs for every request of a
// connection, pipelined or kept alive, and its header is on every answer.
func TestServerWrapperSeesEveryRequest(t *testing.T) {
	targets := []string{"/a.txt", "/", "/a.txt", "/a.txt", "/"}
	shapes := []struct {
		name string
		give func(static *StaticFS, mux *Mux, seen *srvHandlerSeen) http.Handler
	}{
		{"value receiver embedding *Mux", func(_ *StaticFS, mux *Mux, seen *srvHandlerSeen) http.Handler {
			return srvValueMuxApp{mux, seen}
		}},
		{"pointer receiver embedding *Mux", func(_ *StaticFS, mux *Mux, seen *srvHandlerSeen) http.Handler {
			return &srvPtrMuxApp{mux, seen}
		}},
		{"value receiver embedding *StaticFS", func(static *StaticFS, _ *Mux, seen *srvHandlerSeen) http.Handler {
			return srvValueStaticApp{static, seen}
		}},
		{"pointer receiver embedding *StaticFS", func(static *StaticFS, _ *Mux, seen *srvHandlerSeen) http.Handler {
			return &srvPtrStaticApp{static, seen}
		}},
		{"*Mux held in a field", func(_ *StaticFS, mux *Mux, seen *srvHandlerSeen) http.Handler {
			return &srvFieldApp{mux, seen}
		}},
		{"Mux route embedding *StaticFS", func(static *StaticFS, _ *Mux, seen *srvHandlerSeen) http.Handler {
			mux := NewMux()
			mux.Handle("/", &srvPtrStaticApp{static, seen})
			return mux
		}},
	}
	for _, shape := range shapes {
		t.Run(shape.name, func(t *testing.T) {
			static, mux := srvHandlerSite(t)
			seen := new(srvHandlerSeen)
			_, addr := srvHandlerServe(t, shape.give(static, mux, seen))
			resps := srvHandlerGets(t, addr, targets...)
			require.Len(t, resps, len(targets))
			for i, resp := range resps {
				assert.Equal(t, http.StatusOK, resp.StatusCode, targets[i])
				assert.Equal(t, srvHandlerCSP, resp.Header.Get("Content-Security-Policy"), "response %d (%s)", i, targets[i])
			}
			assert.Equal(t, int64(len(targets)), seen.n.Load(), "ServeHTTP saw every request")
		})
	}
}

// TestNewServerFastPathOnlyForExactTypes checks which handlers get the
// fast path, and that the others are served byte for byte as net/http
// serves them.
func TestNewServerFastPathOnlyForExactTypes(t *testing.T) {
	static, mux := srvHandlerSite(t)
	seen := new(srvHandlerSeen)
	tests := []struct {
		name string
		give http.Handler
		fast bool
	}{
		{"*Mux", mux, true},
		{"*StaticFS", static, true},
		{"nil *Mux", (*Mux)(nil), false},
		{"nil *StaticFS", (*StaticFS)(nil), false},
		{"nil handler", nil, false},
		{"value receiver embedding *Mux", srvValueMuxApp{mux, seen}, false},
		{"pointer receiver embedding *Mux", &srvPtrMuxApp{mux, seen}, false},
		{"value receiver embedding *StaticFS", srvValueStaticApp{static, seen}, false},
		{"pointer receiver embedding *StaticFS", &srvPtrStaticApp{static, seen}, false},
		{"*Mux held in a field", &srvFieldApp{mux, seen}, false},
		{"embedding *Mux without ServeHTTP", srvEmbedOnlyApp{mux}, false},
		{"http.StripPrefix", http.StripPrefix("/site", mux), false},
		{"http.TimeoutHandler", http.TimeoutHandler(mux, 5*time.Second, "slow"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewServer(&http.Server{Handler: tt.give})
			require.NoError(t, err)
			assert.Equal(t, tt.fast, s.fast != nil)
		})
	}

	// The wrappers of the standard library answer as under net/http.
	for _, tt := range tests[len(tests)-3:] {
		t.Run(tt.name+" answers like net/http", func(t *testing.T) {
			_, fastAddr := srvHandlerServe(t, tt.give)
			std := &http.Server{Handler: tt.give}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			go std.Serve(ln)
			t.Cleanup(func() { std.Close() })
			for _, target := range []string{"/a.txt", "/site/a.txt", "/"} {
				raw := "GET " + target + " HTTP/1.1\r\nHost: front\r\n\r\n"
				got := srvTestExchange(t, fastAddr, raw)
				want := srvTestExchange(t, ln.Addr().String(), raw)
				assert.Equal(t, want, got, target)
				assert.NotEmpty(t, got, target)
			}
		})
	}
}
