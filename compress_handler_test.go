package frontdoor

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// compressTestJSON is a 16 KiB JSON document.
func compressTestJSON() []byte {
	var b bytes.Buffer
	b.WriteString(`{"items":[`)
	for i := 0; b.Len() < 16<<10-64; i++ {
		fmt.Fprintf(&b, `{"id":%d,"name":"item %d","tags":["a","b"]},`, i, i)
	}
	b.WriteString(`{}]}`)
	return b.Bytes()
}

// compressTestRoute returns a Mux with h at "/" behind WithCompression(c).
func compressTestRoute(h http.Handler, c Compression) *Mux {
	m := NewMux()
	m.Handle("/", h, WithCompression(c))
	return m
}

func TestCompressHandlerCompresses(t *testing.T) {
	doc := compressTestJSON()
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Accept-Ranges", "bytes")
		if r.URL.Query().Has("length") {
			w.Header().Set("Content-Length", fmt.Sprint(len(doc)))
		}
		if r.URL.Query().Has("status") {
			w.WriteHeader(http.StatusCreated)
		}
		for chunk := range slices.Chunk(doc, 1000) { // many small writes
			w.Write(chunk)
		}
	})
	m := compressTestRoute(api, Compression{})
	for _, target := range []string{"/", "/?length", "/?status"} {
		for ae, want := range map[string]string{"gzip": "gzip", "zstd": "zstd", "gzip, zstd": "zstd", "br": "", "": ""} {
			w := staticTestDo(t, m, "GET", target, "Accept-Encoding", ae)
			enc := w.Header().Get("Content-Encoding")
			assert.Equal(t, want, enc, "%s %q", target, ae)
			assert.Equal(t, doc, compressTestDecode(t, enc, w.Body.Bytes()), "%s %q", target, ae)
			assert.Equal(t, "Accept-Encoding", w.Header().Get("Vary"), "%s %q", target, ae)
			assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
			if enc != "" {
				assert.Empty(t, w.Header().Get("Content-Length"), target)
				assert.Empty(t, w.Header().Get("Accept-Ranges"), target)
				assert.Equal(t, `W/"v1"`, w.Header().Get("ETag"), target)
				assert.Less(t, w.Body.Len(), len(doc)/3, target)
			} else {
				assert.Equal(t, `"v1"`, w.Header().Get("ETag"), target)
			}
		}
	}

	sniffed := compressTestRoute(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<!doctype html>"+strings.Repeat("<p>hi</p>", 200))
	}), Compression{})
	w := staticTestDo(t, sniffed, "GET", "/", "Accept-Encoding", "gzip")
	assert.Equal(t, "gzip", w.Header().Get("Content-Encoding"))
	assert.Equal(t, "text/html; charset=utf-8", w.Header().Get("Content-Type"), "sniffed from the body, not from its encoding")
}

func TestCompressHandlerSkips(t *testing.T) {
	big := strings.Repeat("compressible text ", 200)
	handler := func(status int, hdr ...string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			for i := 0; i+1 < len(hdr); i += 2 {
				w.Header().Set(hdr[i], hdr[i+1])
			}
			w.WriteHeader(status)
			if status != http.StatusNoContent && status != http.StatusNotModified && r.Method != "HEAD" {
				io.WriteString(w, big)
			}
		})
	}
	tests := []struct {
		name     string
		h        http.Handler
		method   string
		wantVary bool
	}{
		{"head", handler(200), "HEAD", false},
		{"204", handler(http.StatusNoContent), "GET", false},
		{"206", handler(http.StatusPartialContent, "Content-Range", fmt.Sprintf("bytes 0-%d/99999", len(big)-1)), "GET", false},
		{"304", handler(http.StatusNotModified), "GET", false},
		{"encoded already", handler(200, "Content-Encoding", "br"), "GET", false},
		{"no-transform", handler(200, "Cache-Control", "public, No-Transform"), "GET", false},
		{"below the floor by Content-Length", handler(200, "Content-Length", "100"), "GET", false},
		{"not compressible", handler(200, "Content-Type", "image/png"), "GET", false},
		{"below the floor in all", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"ok":true}`)
		}), "GET", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain := httptest.NewRecorder()
			tt.h.ServeHTTP(plain, httptest.NewRequest(tt.method, "/", nil))
			w := staticTestDo(t, compressTestRoute(tt.h, Compression{}), tt.method, "/", "Accept-Encoding", "gzip, zstd")
			assert.Equal(t, plain.Code, w.Code)
			assert.Equal(t, plain.Body.String(), w.Body.String(), "the body as the handler wrote it")
			assert.Equal(t, plain.Header().Get("Content-Encoding"), w.Header().Get("Content-Encoding"))
			assert.Equal(t, plain.Header().Get("Content-Length"), w.Header().Get("Content-Length"))
			assert.Equal(t, tt.wantVary, w.Header().Get("Vary") != "")
		})
	}

	t.Run("client accepts no coding", func(t *testing.T) {
		w := staticTestDo(t, compressTestRoute(handler(200), Compression{}), "GET", "/", "Accept-Encoding", "gzip;q=0, br")
		assert.Empty(t, w.Header().Get("Content-Encoding"))
		assert.Equal(t, big, w.Body.String())
		assert.Equal(t, "Accept-Encoding", w.Header().Get("Vary"), "a client that takes gzip would get it")
	})
	t.Run("types", func(t *testing.T) {
		m := compressTestRoute(handler(200, "Content-Type", "image/png"), Compression{Types: []string{"image/png"}})
		w := staticTestDo(t, m, "GET", "/", "Accept-Encoding", "gzip")
		assert.Equal(t, "gzip", w.Header().Get("Content-Encoding"))
	})
	t.Run("off", func(t *testing.T) {
		m := compressTestRoute(handler(200), Compression{Off: true})
		w := staticTestDo(t, m, "GET", "/", "Accept-Encoding", "gzip")
		assert.Empty(t, w.Header().Get("Content-Encoding"))
		assert.Empty(t, w.Header().Get("Vary"))
	})
}

// TestCompressHandlerStreamsEvents sends server-sent events from a
// backend through a Balancer on a compressed route: each event must be
// readable by the client, decoded, before the backend writes the next.
func TestCompressHandlerStreamsEvents(t *testing.T) {
	for _, enc := range []string{"gzip", "zstd"} {
		t.Run(enc, func(t *testing.T) {
			next := make(chan struct{})
			backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				w.Header().Set("Cache-Control", "no-cache")
				for i := range 5 {
					fmt.Fprintf(w, "data: event %d\n\n", i)
					w.(http.Flusher).Flush()
					select {
					case <-next:
					case <-r.Context().Done():
						return
					case <-time.After(10 * time.Second):
						return
					}
				}
			}))
			t.Cleanup(backend.Close)
			bal, err := NewBalancer([]string{backend.URL}, balTestQuiet)
			require.NoError(t, err)
			t.Cleanup(func() { bal.Close() })
			front := httptest.NewServer(compressTestRoute(bal, Compression{}))
			t.Cleanup(front.Close)

			req, err := http.NewRequest("GET", front.URL+"/events", nil)
			require.NoError(t, err)
			req.Header.Set("Accept-Encoding", enc) // set by hand: the client leaves the body alone
			resp, err := front.Client().Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, enc, resp.Header.Get("Content-Encoding"))
			assert.Equal(t, "Accept-Encoding", resp.Header.Get("Vary"))
			var body io.Reader
			if enc == "gzip" {
				zr, err := gzip.NewReader(resp.Body)
				require.NoError(t, err)
				body = zr
			} else {
				zr, err := zstd.NewReader(resp.Body, zstd.WithDecoderConcurrency(1))
				require.NoError(t, err)
				defer zr.Close()
				body = zr
			}
			lines := bufio.NewReader(body)
			for i := range 5 {
				got := make(chan string, 1)
				go func() {
					line, _ := lines.ReadString('\n')
					lines.ReadString('\n') // the blank line ending the event
					got <- line
				}()
				select {
				case line := <-got:
					assert.Equal(t, fmt.Sprintf("data: event %d\n", i), line)
				case <-time.After(5 * time.Second):
					t.Fatalf("event %d did not arrive before the next was written", i)
				}
				next <- struct{}{}
			}
		})
	}
}

// TestCompressHandlerLeavesEncodedBackend checks that a backend's own
// gzip passes through a compressed route byte for byte, encoded once.
func TestCompressHandlerLeavesEncodedBackend(t *testing.T) {
	encoded := staticTestGzip(t, strings.Repeat("backend text ", 500))
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("ETag", `"strong"`)
		w.Write(encoded)
	}))
	t.Cleanup(backend.Close)
	bal, err := NewBalancer([]string{backend.URL}, balTestQuiet)
	require.NoError(t, err)
	t.Cleanup(func() { bal.Close() })
	front := httptest.NewServer(compressTestRoute(bal, Compression{}))
	t.Cleanup(front.Close)
	for _, ae := range []string{"gzip", "zstd, gzip"} {
		resp, body := staticPlainTestGet(t, front.Client(), "GET", front.URL+"/x", "Accept-Encoding", ae)
		assert.Equal(t, "gzip", resp.Header.Get("Content-Encoding"), ae)
		assert.Equal(t, encoded, body, ae)
		assert.Equal(t, `"strong"`, resp.Header.Get("ETag"), ae)
		assert.Equal(t, int64(len(encoded)), resp.ContentLength, ae)
	}
}

// TestCompressHandlerLeavesUpgrades checks that an upgrade through a
// compressed route works.
func TestCompressHandlerLeavesUpgrades(t *testing.T) {
	ws := newStreamTestBackend(t)
	bal, err := NewBalancer([]string{ws.URL}, balTestQuiet)
	require.NoError(t, err)
	t.Cleanup(func() { bal.Close() })
	front := httptest.NewServer(compressTestRoute(bal, Compression{}))
	t.Cleanup(front.Close)
	c := streamTestUpgrade(t, front.Listener.Addr().String())
	require.Equal(t, http.StatusSwitchingProtocols, c.resp.StatusCode)
	got, err := c.echo("hello")
	require.NoError(t, err)
	assert.Equal(t, "echo: hello", got)
}

// TestCompressHandlerBoundsEncoders checks that no more than maxActive
// responses are compressed at once, that the others are sent as they
// are, and that every encoder is given back, also after a panic.
func TestCompressHandlerBoundsEncoders(t *testing.T) {
	body := strings.Repeat("text ", 1000)
	hold := make(chan struct{})
	held := make(chan struct{})
	var ch *compressHandler
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, body)
		switch r.URL.Path {
		case "/hold":
			w.(http.Flusher).Flush()
			held <- struct{}{}
			<-hold
		case "/panic":
			panic(http.ErrAbortHandler)
		}
	})
	cfg, err := newCompressConfig(Compression{}, compressResponseGzip, compressResponseZstd)
	require.NoError(t, err)
	ch = newCompressHandler(h, cfg)
	ch.maxActive = 1

	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- staticTestDo(t, ch, "GET", "/hold", "Accept-Encoding", "gzip") }()
	<-held
	w := staticTestDo(t, ch, "GET", "/", "Accept-Encoding", "gzip")
	assert.Empty(t, w.Header().Get("Content-Encoding"), "the one encoder is in use")
	assert.Equal(t, body, w.Body.String())
	close(hold)
	first := <-done
	assert.Equal(t, "gzip", first.Header().Get("Content-Encoding"))
	assert.Equal(t, body, string(compressTestDecode(t, "gzip", first.Body.Bytes())))
	assert.Zero(t, ch.active.Load())

	w = staticTestDo(t, ch, "GET", "/", "Accept-Encoding", "gzip")
	assert.Equal(t, "gzip", w.Header().Get("Content-Encoding"), "the encoder is free again")
	assert.Len(t, ch.pools[encGzip], 1, "and kept for the next response")

	assert.Panics(t, func() { staticTestDo(t, ch, "GET", "/panic", "Accept-Encoding", "gzip") })
	assert.Zero(t, ch.active.Load(), "a panicking handler gives its encoder back")
}

func TestMuxHandleRejectsBadCompression(t *testing.T) {
	assert.PanicsWithValue(t, `frontdoor: Mux.Handle("/api"): WithCompression: GzipLevel 12 is not between 1 and 9`, func() {
		NewMux().Handle("/api", http.NotFoundHandler(), WithCompression(Compression{GzipLevel: 12}))
	})
}
