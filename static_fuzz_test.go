package frontdoor

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzStaticFS sends any request target and Accept-Encoding to StaticFS
// over a real directory that holds dotfiles and symlinks to a secret outside
// it. The answer is never a 5xx, never the secret, never a dotfile.
func FuzzStaticFS(f *testing.F) {
	for _, seed := range []struct{ path, ae string }{
		{"/", ""},
		{"/app.js", "br;q=0, gzip"},
		{"/..%2f..%2fsecret.txt", "gzip"},
		{"/%2e%2e/secret.txt", "*"},
		{"/link", "br"},
		{"/linkdir/secret.txt", ""},
		{"/.env", "identity"},
		{"/.well-known/../.git/config", ""},
		{"/..%5csecret.txt", ""},
		{"/secret.txt%00.html", ""},
		{"/%ff/x", ""},
		{"/users/42", "br"},
		{"/noindex/", ""},
	} {
		f.Add(seed.path, seed.ae)
	}
	fsys, err := OpenDir(staticTestDir(f))
	require.NoError(f, err)
	handlers := []*StaticFS{
		staticTestNew(f, fsys),
		staticTestNew(f, fsys, WithSPAFallback("index.html"), WithDirectoryListing(true)),
	}

	f.Fuzz(func(t *testing.T, target, ae string) {
		if strings.ContainsAny(ae, "\r\n") {
			return
		}
		raw := "GET " + target + " HTTP/1.1\r\nHost: example.test\r\nAccept: text/html\r\nAccept-Encoding: " + ae + "\r\n\r\n"
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return // the server would answer 400 before any handler runs
		}
		for _, s := range handlers {
			w := httptest.NewRecorder()
			w.Header().Set("Vary", "Origin") // as a CORS middleware would
			s.ServeHTTP(w, r)
			body := w.Body.String()
			if !staticVaryHas(w.Header().Values("Vary"), "Origin") {
				t.Fatalf("%q: the wrapper's Vary was lost: %q", target, w.Header().Values("Vary"))
			}
			if w.Code >= 500 {
				t.Fatalf("%q: status %d", target, w.Code)
			}
			if strings.Contains(body, staticTestSecret) {
				t.Fatalf("%q: served the secret outside the root", target)
			}
			if strings.Contains(body, staticTestDotfile) {
				t.Fatalf("%q: served a dotfile", target)
			}
		}
	})
}
