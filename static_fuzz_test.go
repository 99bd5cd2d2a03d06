package frontdoor

import (
	"bufio"
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzStaticFS sends any request target and Accept-Encoding to StaticFS
// over a real directory that holds dotfiles and symlinks to a secret outside
// it. The answer is never a 5xx, never the secret, never a dotfile, never in
// a coding the client refused; a body StaticFS compressed decodes to the
// file.
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
		{"/big.js", "zstd"},
		{"/big.js", "gzip;q=0.5, zstd;q=0.4"},
		{"/docs/manual.html", "*;q=0"},
		{"/docs/manual.html", "identity;q=0, gzip"},
	} {
		f.Add(seed.path, seed.ae)
	}
	dir := staticTestDir(f)
	require.NoError(f, os.WriteFile(filepath.Join(dir, "big.js"), compressTestText(3*staticMemFileMax/2, "big"), 0o644))
	require.NoError(f, os.WriteFile(filepath.Join(dir, "docs", "manual.html"), compressTestText(3000, "manual"), 0o644))
	fsys, err := OpenDir(dir)
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
			enc := w.Header().Get("Content-Encoding")
			if enc != "" {
				// Offered alone, the coding sent must still be chosen:
				// the client accepts it.
				accepted := false
				for e := encIdentity + 1; e < numEncodings; e++ {
					if got, _ := negotiateEncoding([]string{ae}, encodingSet(0).with(e)); e.String() == enc && got == e {
						accepted = true
					}
				}
				if !accepted {
					t.Fatalf("%q: %s sent for Accept-Encoding %q", target, enc, ae)
				}
			}
			if w.Code == http.StatusOK && (enc == "gzip" || enc == "zstd") {
				plain := httptest.NewRecorder()
				r2 := r.Clone(r.Context())
				r2.Header.Del("Accept-Encoding")
				s.ServeHTTP(plain, r2)
				if got := compressTestDecode(t, enc, w.Body.Bytes()); !bytes.Equal(got, plain.Body.Bytes()) {
					t.Fatalf("%q: the %s body does not decode to the file", target, enc)
				}
			}
		}
	})
}
