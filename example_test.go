package frontdoor_test

import (
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing/fstest"
	"time"

	"github.com/frontdoor-go/frontdoor"
	"golang.org/x/time/rate"
)

// StaticFS

func ExampleNewStaticFS() {
	// A directory would come from frontdoor.OpenDir("./web"), an embed.FS
	// through fs.Sub; a MapFS keeps the example self-contained.
	site := fstest.MapFS{
		"index.html":             {Data: []byte("<h1>hello</h1>")},
		"assets/app.3f9a1c2b.js": {Data: []byte("console.log('hi')")},
		".env":                   {Data: []byte("SECRET=1")},
	}
	static, err := frontdoor.NewStaticFS(site)
	if err != nil {
		log.Fatal(err)
	}

	for _, path := range []string{"/", "/assets/app.3f9a1c2b.js", "/.env"} {
		w := httptest.NewRecorder()
		static.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		fmt.Printf("%s: %d %s | %s | %q\n", path, w.Code,
			w.Header().Get("Content-Type"), w.Header().Get("Cache-Control"), w.Body.String())
	}
	// Output:
	// /: 200 text/html; charset=utf-8 | no-cache | "<h1>hello</h1>"
	// /assets/app.3f9a1c2b.js: 200 text/javascript; charset=utf-8 | public, max-age=31536000, immutable | "console.log('hi')"
	// /.env: 404 text/plain; charset=utf-8 |  | "404 page not found\n"
}

func ExampleNewStaticFS_compression() {
	app := strings.Repeat("export function add(a, b) { return a + b; }\n", 100)
	site := fstest.MapFS{
		"app.js":    {Data: []byte(app)},
		"photo.png": {Data: []byte("\x89PNG\r\n\x1a\n" + strings.Repeat("\x00", 2000))},
	}
	static, err := frontdoor.NewStaticFS(site) // compression is on by default
	if err != nil {
		log.Fatal(err)
	}

	for _, tc := range []struct{ path, acceptEncoding string }{
		{"/app.js", "gzip, deflate, br, zstd"}, // a browser: zstd, made once and kept
		{"/app.js", "gzip"},
		{"/app.js", ""},
		{"/photo.png", "gzip"}, // images are compressed already
	} {
		r := httptest.NewRequest("GET", tc.path, nil)
		r.Header.Set("Accept-Encoding", tc.acceptEncoding)
		w := httptest.NewRecorder()
		static.ServeHTTP(w, r)
		body := w.Body.Bytes()
		if w.Header().Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(w.Body)
			if err != nil {
				log.Fatal(err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				log.Fatal(err)
			}
		}
		fmt.Printf("%-10s %-24q encoding=%q vary=%q smaller=%t\n", tc.path, tc.acceptEncoding,
			w.Header().Get("Content-Encoding"), w.Header().Get("Vary"), w.Body.Len() < len(site[tc.path[1:]].Data))
		if string(body) != string(site[tc.path[1:]].Data) && w.Header().Get("Content-Encoding") != "zstd" {
			fmt.Println("the decoded body is not the file")
		}
	}
	// Output:
	// /app.js    "gzip, deflate, br, zstd" encoding="zstd" vary="Accept-Encoding" smaller=true
	// /app.js    "gzip"                   encoding="gzip" vary="Accept-Encoding" smaller=true
	// /app.js    ""                       encoding="" vary="Accept-Encoding" smaller=false
	// /photo.png "gzip"                   encoding="" vary="" smaller=false
}

// WithCompression changes what a StaticFS compresses, or turns it off.
func ExampleWithCompression() {
	site := fstest.MapFS{
		"app.js":   {Data: []byte(strings.Repeat("console.log('x');\n", 100))},
		"data.csv": {Data: []byte(strings.Repeat("1,2,3\n", 100))},
	}
	onlyJS, err := frontdoor.NewStaticFS(site, frontdoor.WithCompression(frontdoor.Compression{
		MinSize:   1024,                        // below 1 KiB, not worth it
		Types:     []string{"text/javascript"}, // nothing else
		ZstdLevel: 3, GzipLevel: 6,             // faster than the default 19 and 9
	}))
	if err != nil {
		log.Fatal(err)
	}
	off, err := frontdoor.NewStaticFS(site, frontdoor.WithCompression(frontdoor.Compression{Off: true}))
	if err != nil {
		log.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		static *frontdoor.StaticFS
		path   string
	}{{"onlyJS", onlyJS, "/app.js"}, {"onlyJS", onlyJS, "/data.csv"}, {"off", off, "/app.js"}} {
		r := httptest.NewRequest("GET", tc.path, nil)
		r.Header.Set("Accept-Encoding", "gzip")
		w := httptest.NewRecorder()
		tc.static.ServeHTTP(w, r)
		fmt.Printf("%-6s %-9s encoding=%q\n", tc.name, tc.path, w.Header().Get("Content-Encoding"))
	}
	// Output:
	// onlyJS /app.js   encoding="gzip"
	// onlyJS /data.csv encoding=""
	// off    /app.js   encoding=""
}

// WithCompression on a Mux route compresses a handler's responses as they
// are written.
func ExampleWithCompression_route() {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("ETag", `"v7"`)
		io.WriteString(w, "[")
		for i := range 100 {
			fmt.Fprintf(w, `{"id":%d,"name":"item"},`, i)
		}
		io.WriteString(w, "{}]")
	})
	mux := frontdoor.NewMux()
	mux.Handle("/api", api, frontdoor.WithCompression(frontdoor.Compression{}))

	for _, ae := range []string{"gzip", "br"} {
		r := httptest.NewRequest("GET", "/api/items", nil)
		r.Header.Set("Accept-Encoding", ae)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Printf("%-4s encoding=%q etag=%s vary=%q content-length=%q\n", ae,
			w.Header().Get("Content-Encoding"), w.Header().Get("ETag"), w.Header().Get("Vary"),
			w.Header().Get("Content-Length"))
	}
	// Output:
	// gzip encoding="gzip" etag=W/"v7" vary="Accept-Encoding" content-length=""
	// br   encoding="" etag="v7" vary="Accept-Encoding" content-length=""
}

func ExampleNewStaticFS_spaFallback() {
	site := fstest.MapFS{
		"index.html": {Data: []byte("<div id=app></div>")},
		"app.js":     {Data: []byte("route()")},
	}
	static, err := frontdoor.NewStaticFS(site, frontdoor.WithSPAFallback("index.html"))
	if err != nil {
		log.Fatal(err)
	}

	get := func(path, accept string) {
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Accept", accept)
		w := httptest.NewRecorder()
		static.ServeHTTP(w, r)
		fmt.Printf("%s (Accept: %s): %d %q\n", path, accept, w.Code, w.Body.String())
	}
	get("/users/42", "text/html,*/*;q=0.8")       // a browser navigation: the app routes it
	get("/users/jane.doe", "text/html,*/*;q=0.8") // a dot changes nothing
	get("/users/42", "application/json")          // an API-style fetch: no page here
	get("/missing.js", "*/*")                     // a missing script stays missing
	get("/app.js", "*/*")
	// Output:
	// /users/42 (Accept: text/html,*/*;q=0.8): 200 "<div id=app></div>"
	// /users/jane.doe (Accept: text/html,*/*;q=0.8): 200 "<div id=app></div>"
	// /users/42 (Accept: application/json): 404 "404 page not found\n"
	// /missing.js (Accept: */*): 404 "404 page not found\n"
	// /app.js (Accept: */*): 200 "route()"
}

func ExampleWithCacheControl() {
	site := fstest.MapFS{
		"index.html":       {Data: []byte("<h1>hi</h1>")},
		"media/intro.webm": {Data: []byte("video")},
		"robots.txt":       {Data: []byte("User-agent: *")},
	}
	static, err := frontdoor.NewStaticFS(site, frontdoor.WithCacheControl(func(name string) string {
		if strings.HasPrefix(name, "media/") {
			return "public, max-age=86400"
		}
		return frontdoor.DefaultCacheControl(name) // the rest as usual
	}))
	if err != nil {
		log.Fatal(err)
	}
	for _, path := range []string{"/", "/media/intro.webm", "/robots.txt"} {
		w := httptest.NewRecorder()
		static.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		fmt.Printf("%s: %q\n", path, w.Header().Get("Cache-Control"))
	}
	// Output:
	// /: "no-cache"
	// /media/intro.webm: "public, max-age=86400"
	// /robots.txt: ""
}

func ExampleWithContentTypes() {
	site := fstest.MapFS{"main.go": {Data: []byte("package main")}}
	static, err := frontdoor.NewStaticFS(site,
		frontdoor.WithContentTypes(map[string]string{".go": "text/x-go; charset=utf-8"}))
	if err != nil {
		log.Fatal(err)
	}
	w := httptest.NewRecorder()
	static.ServeHTTP(w, httptest.NewRequest("GET", "/main.go", nil))
	fmt.Println(w.Header().Get("Content-Type"))

	_, err = frontdoor.NewStaticFS(site, frontdoor.WithContentTypes(map[string]string{"go": "text/plain"}))
	fmt.Println(err)
	// Output:
	// text/x-go; charset=utf-8
	// frontdoor: WithContentTypes: extension "go" must look like ".ext"
}

// Balancer and strategies

// balExampleBackend starts a backend that answers with its name.
func balExampleBackend(name string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, name)
	}))
}

// balExampleGet sends one request through h and returns the response body, or
// the status when it is not 200.
func balExampleGet(h http.Handler, header ...string) string {
	r := httptest.NewRequest(http.MethodGet, "/api/items", nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		return fmt.Sprint(w.Code)
	}
	return w.Body.String()
}

// balExampleQuiet keeps the examples' output free of log lines.
var balExampleQuiet = frontdoor.WithLogger(slog.New(slog.DiscardHandler))

func ExampleNewBalancer() {
	a, b := balExampleBackend("a"), balExampleBackend("b")
	defer a.Close()
	defer b.Close()

	lb, err := frontdoor.NewBalancer([]string{a.URL, b.URL}, balExampleQuiet)
	if err != nil {
		panic(err)
	}
	defer lb.Close()

	for range 4 {
		fmt.Print(balExampleGet(lb), " ")
	}
	fmt.Println()
	// Output: a b a b
}

func ExampleNewBalancer_failover() {
	a, b, c := balExampleBackend("a"), balExampleBackend("b"), balExampleBackend("c")
	defer a.Close()
	defer c.Close()
	lb, err := frontdoor.NewBalancer([]string{a.URL, b.URL, c.URL}, balExampleQuiet)
	if err != nil {
		panic(err)
	}
	defer lb.Close()

	b.Close() // b dies: the request that meets it is retried on the next backend
	served := map[string]int{}
	for range 8 {
		served[balExampleGet(lb)]++
	}
	// b refused a connection, so the others skip it for a second: this is
	// not an ejection, which takes MaxFails failures.
	fmt.Println(served["a"]+served["c"], served["b"])
	fmt.Println(lb.Backends()[1].State)
	// Output:
	// 8 0
	// healthy
}

func ExampleRoundRobin() {
	a, b, c := balExampleBackend("a"), balExampleBackend("b"), balExampleBackend("c")
	defer a.Close()
	defer b.Close()
	defer c.Close()
	lb, err := frontdoor.NewBalancer([]string{a.URL, b.URL, c.URL},
		frontdoor.WithStrategy(frontdoor.RoundRobin()), frontdoor.WithWeights(5, 1, 1), balExampleQuiet)
	if err != nil {
		panic(err)
	}
	defer lb.Close()

	for range 7 {
		fmt.Print(balExampleGet(lb), " ")
	}
	fmt.Println()
	// Output: a a b a c a a
}

// balExampleBusy starts a backend whose first request blocks until release is
// closed, and returns a function that sends that request through h and
// waits until it is in flight.
func balExampleBusy() (srv *httptest.Server, occupy func(h http.Handler), release func()) {
	entered, done := make(chan struct{}), make(chan struct{})
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(entered)
		<-done
		io.WriteString(w, "busy")
	}))
	finished := make(chan struct{})
	occupy = func(h http.Handler) {
		go func() { balExampleGet(h); close(finished) }()
		<-entered
	}
	release = func() { close(done); <-finished }
	return srv, occupy, release
}

func ExampleLeastConn() {
	busy, occupy, release := balExampleBusy()
	idle := balExampleBackend("idle")
	defer busy.Close()
	defer idle.Close()
	lb, err := frontdoor.NewBalancer([]string{busy.URL},
		frontdoor.WithStrategy(frontdoor.LeastConn()), balExampleQuiet)
	if err != nil {
		panic(err)
	}
	defer lb.Close()

	occupy(lb) // one request in flight on busy
	if err := lb.SetBackends([]frontdoor.BackendSpec{{URL: busy.URL}, {URL: idle.URL}}); err != nil {
		panic(err)
	}
	for range 3 {
		fmt.Print(balExampleGet(lb), " ")
	}
	fmt.Println()
	release()
	// Output: idle idle idle
}

func ExamplePowerOfTwo() {
	busy, occupy, release := balExampleBusy()
	idle := balExampleBackend("idle")
	defer busy.Close()
	defer idle.Close()
	lb, err := frontdoor.NewBalancer([]string{busy.URL},
		frontdoor.WithStrategy(frontdoor.PowerOfTwo()), balExampleQuiet)
	if err != nil {
		panic(err)
	}
	defer lb.Close()

	occupy(lb)
	if err := lb.SetBackends([]frontdoor.BackendSpec{{URL: busy.URL}, {URL: idle.URL}}); err != nil {
		panic(err)
	}
	// With two backends both are drawn every time: the idle one wins.
	for range 3 {
		fmt.Print(balExampleGet(lb), " ")
	}
	fmt.Println()
	release()
	// Output: idle idle idle
}

func ExampleRandom() {
	a, b := balExampleBackend("a"), balExampleBackend("b")
	defer a.Close()
	defer b.Close()
	lb, err := frontdoor.NewBalancer([]string{a.URL, b.URL},
		frontdoor.WithStrategy(frontdoor.Random()), frontdoor.WithWeights(1, 3), balExampleQuiet)
	if err != nil {
		panic(err)
	}
	defer lb.Close()

	counts := map[string]int{}
	for range 2000 {
		counts[balExampleGet(lb)]++
	}
	fmt.Println("b got about three times as many:", counts["b"] > 2*counts["a"] && counts["b"] < 4*counts["a"])
	// Output: b got about three times as many: true
}

func ExampleLeastLatency() {
	fast := balExampleBackend("fast")
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(100 * time.Millisecond)
		io.WriteString(w, "slow")
	}))
	defer fast.Close()
	defer slow.Close()
	lb, err := frontdoor.NewBalancer([]string{slow.URL, fast.URL},
		frontdoor.WithStrategy(frontdoor.LeastLatency()), balExampleQuiet)
	if err != nil {
		panic(err)
	}
	defer lb.Close()

	// Once the slow backend has shown its latency, it gets no more
	// requests while the fast one is idle.
	counts := map[string]int{}
	for range 10 {
		counts[balExampleGet(lb)]++
	}
	fmt.Println("slow got at most one of 10:", counts["slow"] <= 1)
	// Output: slow got at most one of 10: true
}

func ExampleHashHeader() {
	a, b, c := balExampleBackend("a"), balExampleBackend("b"), balExampleBackend("c")
	defer a.Close()
	defer b.Close()
	defer c.Close()
	lb, err := frontdoor.NewBalancer([]string{a.URL, b.URL, c.URL},
		frontdoor.WithStrategy(frontdoor.HashHeader("X-User")), balExampleQuiet)
	if err != nil {
		panic(err)
	}
	defer lb.Close()

	// Every request of one user reaches the same backend, on any gateway
	// instance with the same backends.
	for _, user := range []string{"alice", "bob"} {
		first := balExampleGet(lb, "X-User", user)
		same := true
		for range 5 {
			same = same && balExampleGet(lb, "X-User", user) == first
		}
		fmt.Println(user, "sticks to one backend:", same)
	}
	// Output:
	// alice sticks to one backend: true
	// bob sticks to one backend: true
}

func ExampleHashCookie() {
	a, b := balExampleBackend("a"), balExampleBackend("b")
	defer a.Close()
	defer b.Close()
	lb, err := frontdoor.NewBalancer([]string{a.URL, b.URL},
		frontdoor.WithStrategy(frontdoor.HashCookie("session")), balExampleQuiet)
	if err != nil {
		panic(err)
	}
	defer lb.Close()

	first := balExampleGet(lb, "Cookie", "session=s-123")
	fmt.Println(balExampleGet(lb, "Cookie", "theme=dark; session=s-123") == first)
	// Output: true
}

func ExampleHashClientIP() {
	a, b := balExampleBackend("a"), balExampleBackend("b")
	defer a.Close()
	defer b.Close()
	lb, err := frontdoor.NewBalancer([]string{a.URL, b.URL},
		frontdoor.WithStrategy(frontdoor.HashClientIP()), balExampleQuiet)
	if err != nil {
		panic(err)
	}
	defer lb.Close()

	// httptest requests all come from 192.0.2.1.
	first := balExampleGet(lb)
	fmt.Println(balExampleGet(lb) == first, balExampleGet(lb) == first)
	// Output: true true
}

// A custom strategy: send everything to the first eligible backend, the
// primary, and use the others only while it is ejected.
func ExampleStrategyFunc() {
	primary, backup := balExampleBackend("primary"), balExampleBackend("backup")
	defer backup.Close()

	firstEligible := frontdoor.StrategyFunc(func(_ *http.Request, backends []*frontdoor.Backend) *frontdoor.Backend {
		// backends holds only the eligible ones, in configuration order.
		return backends[0]
	})
	lb, err := frontdoor.NewBalancer([]string{primary.URL, backup.URL},
		frontdoor.WithStrategy(firstEligible), balExampleQuiet)
	if err != nil {
		panic(err)
	}
	defer lb.Close()

	fmt.Println(balExampleGet(lb), balExampleGet(lb))
	primary.Close()
	// The attempt that meets the closed primary is retried on the backup;
	// the primary refused a connection, so it is left out of the
	// eligible backends for a second and the backup serves directly.
	fmt.Println(balExampleGet(lb), balExampleGet(lb), balExampleGet(lb), balExampleGet(lb))
	// Output:
	// primary primary
	// backup backup backup backup
}

func ExampleWithOnStateChange() {
	live, dead := balExampleBackend("live"), balExampleBackend("dead")
	defer live.Close()
	dead.Close()
	names := map[string]string{live.URL: "live", dead.URL: "dead"}

	lb, err := frontdoor.NewBalancer([]string{dead.URL, live.URL}, balExampleQuiet,
		frontdoor.WithPassiveHealth(frontdoor.PassiveHealth{MaxFails: 1}),
		frontdoor.WithOnStateChange(func(c frontdoor.StateChange) {
			fmt.Println(names[c.Backend], c.From, "->", c.To)
		}))
	if err != nil {
		panic(err)
	}
	defer lb.Close()

	for range 6 {
		balExampleGet(lb)
	}
	if err := lb.SetBackends([]frontdoor.BackendSpec{{URL: live.URL}}); err != nil {
		panic(err)
	}
	// Output:
	// dead healthy -> ejected
	// dead ejected -> draining
}

func ExampleParseStrategy() {
	for _, name := range []string{"least-conn", "hash:header:X-User", "fastest"} {
		_, err := frontdoor.ParseStrategy(name)
		fmt.Println(name, err == nil)
	}
	_, err := frontdoor.ParseStrategy("fastest")
	fmt.Println(strings.Contains(err.Error(), "round-robin"))
	// Output:
	// least-conn true
	// hash:header:X-User true
	// fastest false
	// true
}

func ExampleWithRetryPolicy() {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "echo got %q", body)
	}))
	defer echo.Close()
	dead := balExampleBackend("dead")
	dead.Close()

	lb, err := frontdoor.NewBalancer([]string{dead.URL, echo.URL}, balExampleQuiet,
		frontdoor.WithRetryPolicy(frontdoor.RetryPolicy{MaxTries: 2, BufferBody: 64 << 10}))
	if err != nil {
		panic(err)
	}
	defer lb.Close()

	// The POST cannot reach dead, so it is sent to echo, body intact.
	r := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(`{"qty":1}`))
	w := httptest.NewRecorder()
	lb.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Body.String())
	// Output: 200 echo got "{\"qty\":1}"
}

func ExampleWithPassiveHealth() {
	live, dead := balExampleBackend("live"), balExampleBackend("dead")
	defer live.Close()
	dead.Close()
	lb, err := frontdoor.NewBalancer([]string{dead.URL, live.URL}, balExampleQuiet,
		frontdoor.WithPassiveHealth(frontdoor.PassiveHealth{MaxFails: 1, BaseEjection: time.Minute}))
	if err != nil {
		panic(err)
	}
	defer lb.Close()

	fmt.Println(balExampleGet(lb)) // dead fails once: ejected, retried on live
	st := lb.Backends()[0]
	fmt.Println(st.State, time.Until(st.EjectedUntil).Round(time.Minute))
	// Output:
	// live
	// ejected 1m0s
}

func ExampleWithHealthCheck() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			http.Error(w, "draining", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "a")
	}))
	defer srv.Close()
	other := balExampleBackend("b")
	defer other.Close()
	lb, err := frontdoor.NewBalancer([]string{srv.URL, other.URL}, balExampleQuiet,
		frontdoor.WithHealthCheck(frontdoor.HealthCheck{
			Path: "/healthz", Interval: 10 * time.Millisecond, UnhealthyThreshold: 1,
		}))
	if err != nil {
		panic(err)
	}
	defer lb.Close() // stops the checks

	// No request needed: the failing check ejects the backend.
	for lb.Backends()[0].State != frontdoor.StateEjected {
		time.Sleep(time.Millisecond)
	}
	fmt.Println(lb.Backends()[0].State, balExampleGet(lb), balExampleGet(lb))
	// Output: ejected b b
}

func ExampleBalancer_Shutdown() {
	api := balExampleBackend("api")
	defer api.Close()
	lb, err := frontdoor.NewBalancer([]string{api.URL}, balExampleQuiet)
	if err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{Handler: lb}
	go srv.Serve(ln)
	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(string(body))

	// On SIGTERM: the server stops accepting and lets in-flight requests
	// finish, then the Balancer gives upgraded streams, which the server
	// does not track, what is left of the same deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		srv.Close()
	}
	fmt.Println(lb.Shutdown(ctx)) // nil: no stream had to be cut
	// Output:
	// api
	// <nil>
}

func ExampleBalancer_SetBackends() {
	a, b := balExampleBackend("a"), balExampleBackend("b")
	defer a.Close()
	defer b.Close()
	lb, err := frontdoor.NewBalancer([]string{a.URL}, balExampleQuiet)
	if err != nil {
		panic(err)
	}
	defer lb.Close()
	fmt.Println(balExampleGet(lb))

	// Service discovery found b, twice as big; requests in flight on a
	// are not disturbed.
	err = lb.SetBackends([]frontdoor.BackendSpec{{URL: a.URL}, {URL: b.URL, Weight: 2}})
	if err != nil {
		panic(err)
	}
	var got []string
	for range 6 {
		got = append(got, balExampleGet(lb))
	}
	fmt.Println(strings.Join(got, " "))
	// Output:
	// a
	// a b b a b b
}

func ExampleBalancer_Backends() {
	a, b := balExampleBackend("a"), balExampleBackend("b")
	defer a.Close()
	defer b.Close()
	lb, err := frontdoor.NewBalancer([]string{a.URL, b.URL}, balExampleQuiet, frontdoor.WithWeights(3, 1))
	if err != nil {
		panic(err)
	}
	defer lb.Close()
	for range 8 {
		balExampleGet(lb)
	}
	for _, st := range lb.Backends() {
		fmt.Printf("weight=%d state=%s requests=%d in-flight=%d failures=%d\n",
			st.Weight, st.State, st.Requests, st.InFlight, st.Failures)
	}
	// Output:
	// weight=3 state=healthy requests=6 in-flight=0 failures=0
	// weight=1 state=healthy requests=2 in-flight=0 failures=0
}

// Mux

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

// A path with a dot segment, raw or percent-encoded, is refused before
// any route sees it, so a request cannot be routed by one path and read
// by the backend as another. Other paths reach their route as sent.
func ExampleMux_dotSegments() {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "api got %s", r.URL.EscapedPath())
	})
	mux := frontdoor.NewMux()
	mux.Handle("/api/public", api)
	mux.Handle("/api/private", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "log in first", http.StatusUnauthorized)
	}))

	for _, path := range []string{
		"/api/public/x",
		"/api/public/../private/x",
		"/api/public/%2e%2e/private/x",
		"//api//public/a%2Fb",
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Printf("%-29s %d %s", path, rec.Code, rec.Body)
		if rec.Code == http.StatusOK {
			fmt.Println()
		}
	}
	// Output:
	// /api/public/x                 200 api got /api/public/x
	// /api/public/../private/x      400 Bad Request
	// /api/public/%2e%2e/private/x  400 Bad Request
	// //api//public/a%2Fb           200 api got //api//public/a%2Fb
}

// Each client IP may make 2 requests at once, then 1 a minute. The refusal
// says when to come back and what the policy is.
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
		if rec.Code == http.StatusTooManyRequests {
			fmt.Println("RateLimit-Policy:", rec.Header().Get("RateLimit-Policy"))
			fmt.Println("RateLimit:", rec.Header().Get("RateLimit"))
		}
	}
	// Output:
	// 200 Retry-After=""
	// 200 Retry-After=""
	// 429 Retry-After="60"
	// RateLimit-Policy: "default";q=2;w=120
	// RateLimit: "default";r=0;t=60
}

// Each API key has its own quota, whatever address it comes from; requests
// without one are counted by client address.
func ExampleWithRateLimitKey() {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux := frontdoor.NewMux()
	mux.Handle("/api", api, frontdoor.WithRateLimit(rate.Every(time.Minute), 1),
		frontdoor.WithRateLimitKey(func(r *http.Request) string {
			// In production, a key your auth middleware has checked.
			return r.Header.Get("X-Api-Key")
		}))

	for _, c := range []struct{ addr, key string }{
		{"198.51.100.7:1", "alice"},
		{"198.51.100.7:2", "bob"},  // same address, another key
		{"203.0.113.9:1", "alice"}, // alice again, from elsewhere
		{"198.51.100.7:3", ""},     // no key: counted by address
		{"198.51.100.7:4", ""},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/api/orders", nil)
		req.RemoteAddr = c.addr
		if c.key != "" {
			req.Header.Set("X-Api-Key", c.key)
		}
		mux.ServeHTTP(rec, req)
		fmt.Printf("%-8q %d\n", c.key, rec.Code)
	}
	// Output:
	// "alice"  200
	// "bob"    200
	// "alice"  429
	// ""       200
	// ""       429
}

// trialLimiter is a user-written RateLimiter: each key may make n requests
// in all, a free trial. (For one limit shared by many gateways, see the
// redisrate module.)
type trialLimiter struct {
	mu   sync.Mutex
	n    int
	used map[string]int
}

func (l *trialLimiter) Allow(_ context.Context, key string, cost int) (frontdoor.RateLimitDecision, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := frontdoor.RateLimitDecision{Limit: l.n, Window: 24 * time.Hour}
	if l.used[key]+cost > l.n {
		d.RetryAfter = 24 * time.Hour // try the paid plan tomorrow
		return d, nil
	}
	l.used[key] += cost
	d.Allowed, d.Remaining = true, l.n-l.used[key]
	return d, nil
}

// A route limited by a user-written RateLimiter answers refusals with the
// same headers as WithRateLimit.
func ExampleWithRateLimiter() {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux := frontdoor.NewMux()
	mux.Handle("/api", api, frontdoor.WithRateLimiter(&trialLimiter{n: 2, used: map[string]int{}}))

	for range 3 {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/api/search", nil)
		req.RemoteAddr = "198.51.100.7:40000"
		req.Header.Set("Accept", "application/json")
		mux.ServeHTTP(rec, req)
		fmt.Println(rec.Code)
		if rec.Code == http.StatusTooManyRequests {
			for _, h := range []string{"Retry-After", "RateLimit-Policy", "RateLimit", "Content-Type"} {
				fmt.Printf("%s: %s\n", h, rec.Header().Get(h))
			}
			fmt.Print(rec.Body)
		}
	}
	// Output:
	// 200
	// 200
	// 429
	// Retry-After: 86400
	// RateLimit-Policy: "default";q=2;w=86400
	// RateLimit: "default";r=0;t=86400
	// Content-Type: application/problem+json
	// {"type":"about:blank","title":"Too Many Requests","status":429}
}

// Forwarding options

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

// Server

// A Server answers plain GETs of the frontend's files itself and
// hands every other request, here one for the API, to the http.Server it
// wraps. Clients see no difference but speed.
func ExampleNewServer() {
	site := fstest.MapFS{"index.html": {Data: []byte("<h1>Shop</h1>")}}
	static, err := frontdoor.NewStaticFS(site)
	if err != nil {
		log.Fatal(err)
	}
	mux := frontdoor.NewMux()
	mux.Handle("/", static)
	mux.Handle("/api", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"items":2}`)
	}))

	srv, err := frontdoor.NewServer(&http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	client := &http.Client{Transport: &http.Transport{}}
	for _, path := range []string{"/", "/api/cart"} {
		resp, err := client.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%-9s %d %s\n", path, resp.StatusCode, body)
	}

	// Shutdown closes idle connections and lets requests in flight finish.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-served)
	// Output:
	// /         200 <h1>Shop</h1>
	// /api/cart 200 {"items":2}
	// http: Server closed
}

// ServeTLS serves HTTPS as net/http's ServeTLS does: a browser (here a
// client that offers HTTP/2) gets HTTP/2 through ALPN. With certificates
// from golang.org/x/crypto/acme/autocert, set the http.Server's TLSConfig
// to the Manager's TLSConfig() and pass empty file names.
func ExampleServer_ServeTLS() {
	dir, err := os.MkdirTemp("", "frontdoor-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	certFile, keyFile, roots := exampleCertificate(dir)

	site := fstest.MapFS{"index.html": {Data: []byte("<h1>Shop</h1>")}}
	static, err := frontdoor.NewStaticFS(site)
	if err != nil {
		log.Fatal(err)
	}
	srv, err := frontdoor.NewServer(&http.Server{Handler: static, ReadHeaderTimeout: 10 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeTLS(ln, certFile, keyFile) }()

	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots},
		ForceAttemptHTTP2: true,
	}}
	resp, err := client.Get("https://" + ln.Addr().String() + "/")
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.Proto, resp.StatusCode, string(body))

	client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-served)
	// Output:
	// HTTP/2.0 200 <h1>Shop</h1>
	// http: Server closed
}

// exampleCertificate writes a self-signed certificate for 127.0.0.1 and
// its key into dir and returns their paths and a pool that trusts it.
func exampleCertificate(dir string) (certFile, keyFile string, roots *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		log.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		log.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		log.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return certFile, keyFile, roots
}
