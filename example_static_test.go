package frontdoor_test

import (
	"fmt"
	"log"
	"net/http/httptest"
	"strings"
	"testing/fstest"

	"github.com/frontdoor-go/frontdoor"
)

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
	get("/users/42", "text/html,*/*;q=0.8") // a browser navigation: the app routes it
	get("/users/42", "application/json")    // an API-style fetch: no page here
	get("/missing.js", "text/html")         // a missing asset stays missing
	get("/app.js", "*/*")
	// Output:
	// /users/42 (Accept: text/html,*/*;q=0.8): 200 "<div id=app></div>"
	// /users/42 (Accept: application/json): 404 "404 page not found\n"
	// /missing.js (Accept: text/html): 404 "404 page not found\n"
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
