package frontdoor_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing/fstest"
	"time"

	"github.com/frontdoor-go/frontdoor"
	"golang.org/x/time/rate"
)

// A frontend, the service's own API and a legacy application share one
// origin. An unknown /api path is the API's 404, never the frontend's page.
func ExampleMux() {
	site := fstest.MapFS{"index.html": {Data: []byte("<h1>Shop</h1>")}}
	static, err := frontdoor.NewStaticFS(site)
	if err != nil {
		panic(err)
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/api/cart" {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":"no such endpoint"}`)
			return
		}
		io.WriteString(w, `{"items":2}`)
	})
	legacy := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "legacy app saw %s", r.URL.Path)
	})

	mux := frontdoor.NewMux()
	mux.Handle("/", static)
	mux.Handle("/api", api)
	mux.Handle("/legacy", legacy, frontdoor.WithStripPrefix("/legacy"))

	for _, path := range []string{"/", "/api/cart", "/api/nope", "/legacy/orders/7", "/apix"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Printf("%-17s %d", path, rec.Code)
		if rec.Code == http.StatusOK || rec.Header().Get("Content-Type") == "application/json" {
			fmt.Printf(" %s %s", rec.Header().Get("Content-Type"), rec.Body)
		}
		fmt.Println()
	}
	// Output:
	// /                 200 text/html; charset=utf-8 <h1>Shop</h1>
	// /api/cart         200 application/json {"items":2}
	// /api/nope         404 application/json {"error":"no such endpoint"}
	// /legacy/orders/7  200 text/plain legacy app saw /orders/7
	// /apix             404
}

// Each client IP may make 2 requests at once, then 1 a minute.
func ExampleWithRateLimit() {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux := frontdoor.NewMux()
	mux.Handle("/api", api, frontdoor.WithRateLimit(rate.Every(time.Minute), 2))

	for range 3 {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/api/login", nil)
		req.RemoteAddr = "198.51.100.7:40000"
		mux.ServeHTTP(rec, req)
		fmt.Printf("%d Retry-After=%q\n", rec.Code, rec.Header().Get("Retry-After"))
	}
	// Output:
	// 200 Retry-After=""
	// 200 Retry-After=""
	// 429 Retry-After="60"
}
