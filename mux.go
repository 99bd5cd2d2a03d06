package frontdoor

import (
	"log/slog"
	"net/http"
)

// routeConfig is what RouteOptions set.
type routeConfig struct {
	logger       *slog.Logger
	trustedCIDRs []string
}

// Mux routes requests to handlers by path prefix.
//
// SKELETON: issue 5 replaces this with the full implementation.
type Mux struct {
	mux http.ServeMux
}

var _ http.Handler = (*Mux)(nil)

// NewMux returns an empty Mux.
func NewMux() *Mux { return &Mux{} }

// Handle routes prefix and every path under it to h.
func (m *Mux) Handle(prefix string, h http.Handler, opts ...RouteOption) {
	if prefix == "/" {
		m.mux.Handle("/", h)
		return
	}
	m.mux.Handle(prefix, h)
	m.mux.Handle(prefix+"/", h)
}

// ServeHTTP dispatches r.
func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.mux.ServeHTTP(w, r) }
