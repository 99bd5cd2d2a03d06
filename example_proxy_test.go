package frontdoor_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/frontdoor-go/frontdoor"
)

// A backend that cannot be reached is answered by the error hook, which
// receives the typed failure instead of the default 502 page.
func ExampleWithErrorHandler() {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()

	bal, err := frontdoor.NewBalancer([]string{dead.URL},
		frontdoor.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "the API is resting, try again soon")
		}))
	if err != nil {
		panic(err)
	}
	defer bal.Close()

	rec := httptest.NewRecorder()
	bal.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/users", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Print(rec.Body.String())
	// Output:
	// 503 text/plain
	// the API is resting, try again soon
}

// By default the backend sees its own host name in Host and the client's in
// X-Forwarded-Host; WithPreserveHost passes the client's Host instead.
func ExampleWithPreserveHost() {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Host=%s X-Forwarded-Host=%s", r.Host, r.Header.Get("X-Forwarded-Host"))
	}))
	defer backend.Close()

	bal, err := frontdoor.NewBalancer([]string{backend.URL}, frontdoor.WithPreserveHost(true))
	if err != nil {
		panic(err)
	}
	defer bal.Close()

	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Host = "shop.example"
	rec := httptest.NewRecorder()
	bal.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Body)
	fmt.Println(rec.Code, string(body))
	// Output:
	// 200 Host=shop.example X-Forwarded-Host=shop.example
}
