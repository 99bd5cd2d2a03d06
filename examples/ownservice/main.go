// Command ownservice is the shape of a Go service that replaces a
// Spring-style application server: it answers its own API, serves its
// frontend from an embed.FS, and keeps a legacy application reachable
// under /legacy/ through frontdoor while it is being retired. The browser
// sees one origin, so there is no CORS and no nginx in front.
//
//	go run ./examples/ownservice [-addr 127.0.0.1:8081] [-legacy URL[,URL...]]
//
// Without -legacy it starts a stand-in legacy backend on 127.0.0.1 so the
// program runs on its own. Routes:
//
//	/              the embedded frontend (web/)
//	/api/...       this service's own handlers (JSON)
//	/legacy/...    the legacy backends, with "/legacy" stripped, rate limited
package main

import (
	"context"
	"embed"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/frontdoor-go/frontdoor"
)

//go:embed web
var web embed.FS

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
	legacyFlag := flag.String("legacy", "", "comma-separated URLs of the legacy backends (default: start a stand-in)")
	flag.Parse()

	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	legacyURLs := strings.Split(*legacyFlag, ",")
	if *legacyFlag == "" {
		stop, url, err := startStandInLegacy()
		if err != nil {
			fmt.Fprintln(os.Stderr, "ownservice:", err)
			os.Exit(1)
		}
		defer stop()
		legacyURLs = []string{url}
	}

	svc, err := newService(legacyURLs, logger)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ownservice:", err)
		os.Exit(2)
	}
	defer svc.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ownservice:", err)
		os.Exit(2)
	}
	srv := &http.Server{Handler: svc, ReadHeaderTimeout: 10 * time.Second}
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Printf("listening on http://%s\n", ln.Addr())
	select {
	case err := <-served:
		fmt.Fprintln(os.Stderr, "ownservice:", err)
		return
	case <-ctx.Done():
	}
	// Serve returns as soon as Shutdown starts: drain here, in order.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil { // 1. requests in flight finish
		fmt.Fprintln(os.Stderr, "ownservice: shutdown:", err)
	}
	svc.legacy.Shutdown(shutdownCtx) // 2. then the legacy app's upgraded streams
	// 3. svc.Close, deferred, closes whatever is still open.
}

// service is the whole application: one http.Handler.
type service struct {
	*frontdoor.Mux
	legacy *frontdoor.Balancer
	todos  *todoStore
}

// newService wires the frontend, the service's own API and the legacy
// backends into one Mux.
func newService(legacyURLs []string, logger *slog.Logger) (*service, error) {
	frontend, err := fs.Sub(web, "web")
	if err != nil {
		return nil, err
	}
	static, err := frontdoor.NewStaticFS(frontend, frontdoor.WithLogger(logger))
	if err != nil {
		return nil, err
	}
	legacy, err := frontdoor.NewBalancer(legacyURLs, frontdoor.WithLogger(logger))
	if err != nil {
		return nil, err
	}

	s := &service{Mux: frontdoor.NewMux(), legacy: legacy, todos: &todoStore{}}
	s.Handle("/", static)
	s.Handle("/api", s.apiHandler())
	// The legacy app knows nothing of the /legacy prefix, and it is slow:
	// strip the prefix and keep each client to 20 requests a second.
	s.Handle("/legacy", legacy, frontdoor.WithStripPrefix("/legacy"), frontdoor.WithRateLimit(20, 40))
	return s, nil
}

// Close releases the legacy balancer.
func (s *service) Close() error { return s.legacy.Close() }

// apiHandler is the service's own API, written with the standard library's
// method-and-path patterns. Unknown /api paths get a JSON 404: the Mux never
// lets them fall through to the frontend.
func (s *service) apiHandler() http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("GET /api/hello", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"message": "hello from the Go service"})
	})
	api.HandleFunc("GET /api/todos", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.todos.list())
	})
	api.HandleFunc("POST /api/todos", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Title string `json:"title"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&in); err != nil || strings.TrimSpace(in.Title) == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "want {\"title\": \"...\"}"})
			return
		}
		writeJSON(w, http.StatusCreated, s.todos.add(in.Title))
	})
	api.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such endpoint"})
	})
	return api
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// todo is one item of the service's own data.
type todo struct {
	ID    int    `json:"id"`
	Title string `json:"title"`
}

// todoStore is an in-memory list, safe for concurrent use.
type todoStore struct {
	mu    sync.Mutex
	items []todo
}

func (s *todoStore) add(title string) todo {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := todo{ID: len(s.items) + 1, Title: title}
	s.items = append(s.items, t)
	return t
}

func (s *todoStore) list() []todo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]todo{}, s.items...)
}

// startStandInLegacy starts a tiny "legacy application" on 127.0.0.1 and
// returns a function that stops it and its URL.
func startStandInLegacy() (func(), string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: legacyHandler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return func() { srv.Close() }, "http://" + ln.Addr().String(), nil
}

// legacyHandler stands in for the old application: it knows paths like
// /reports/42 and nothing about /legacy.
func legacyHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /reports/{id}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{
			"report": r.PathValue("id"),
			"from":   "legacy",
			"path":   r.URL.Path,
		})
	})
	return mux
}
