package main

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/frontdoor-go/frontdoor"
)

// web holds the demo frontend: a page whose script calls /api/ from the
// same origin and counts which backend answered.
//
//go:embed web
var web embed.FS

// frontendFS returns the tree to serve at "/": dir when set, else the
// embedded demo frontend.
func frontendFS(dir string) (fs.FS, error) {
	if dir != "" {
		return frontdoor.OpenDir(dir)
	}
	return fs.Sub(web, "web")
}

// demoBackends are small JSON APIs on 127.0.0.1, each naming itself.
type demoBackends struct {
	servers []*http.Server
	addrs   []string
}

// startDemoBackends starts n demo backends on free ports.
func startDemoBackends(n int) (*demoBackends, error) {
	d := &demoBackends{}
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			d.close()
			return nil, err
		}
		srv := &http.Server{
			Handler:           demoBackendHandler(fmt.Sprintf("backend-%d", i+1)),
			ReadHeaderTimeout: 10 * time.Second,
		}
		d.servers = append(d.servers, srv)
		d.addrs = append(d.addrs, ln.Addr().String())
		go srv.Serve(ln)
	}
	return d, nil
}

// urls returns the backends' base URLs.
func (d *demoBackends) urls() []string {
	urls := make([]string, len(d.addrs))
	for i, a := range d.addrs {
		urls[i] = "http://" + a
	}
	return urls
}

// close stops the backends at once. The gateway calls it after its own
// server has drained, so no request through the gateway is left to finish.
func (d *demoBackends) close() {
	for _, s := range d.servers {
		s.Close()
	}
}

// demoReply is what a demo backend answers to every request.
type demoReply struct {
	Backend string `json:"backend"` // which backend answered
	Served  int64  `json:"served"`  // requests this backend has answered
	Method  string `json:"method"`
	Path    string `json:"path"` // as the backend received it
	Query   string `json:"query,omitempty"`
}

// demoBackendHandler answers every request with a demoReply. "?delay=DUR"
// (at most 10s) makes it wait first, to show a slow backend.
func demoBackendHandler(name string) http.Handler {
	var served atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d, err := time.ParseDuration(r.URL.Query().Get("delay")); err == nil && d > 0 {
			select {
			case <-time.After(min(d, 10*time.Second)):
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(demoReply{
			Backend: name,
			Served:  served.Add(1),
			Method:  r.Method,
			Path:    r.URL.Path,
			Query:   r.URL.RawQuery,
		})
	})
}
