package frontdoor

import (
	"log/slog"
)

// A BalancerOption configures a [Balancer] in [NewBalancer]. Options are
// applied in order; [NewBalancer] validates the result once and returns an
// error naming the first bad value.
type BalancerOption interface {
	applyBalancer(*balancerConfig)
}

// A StaticOption configures a [StaticFS] in [NewStaticFS]. Options are
// applied in order; [NewStaticFS] validates the result once and returns an
// error naming the first bad value.
type StaticOption interface {
	applyStatic(*staticConfig)
}

// A RouteOption configures one route of a [Mux] in [Mux.Handle].
type RouteOption interface {
	applyRoute(*routeConfig)
}

// An Option configures every handler of this package: it is a
// [BalancerOption], a [StaticOption] and a [RouteOption] at once.
type Option interface {
	BalancerOption
	StaticOption
	RouteOption
}

// balancerOptionFunc, staticOptionFunc and routeOptionFunc adapt plain
// functions to the sealed option interfaces, for options that apply to one
// handler only.
type balancerOptionFunc func(*balancerConfig)

func (f balancerOptionFunc) applyBalancer(c *balancerConfig) { f(c) }

type staticOptionFunc func(*staticConfig)

func (f staticOptionFunc) applyStatic(c *staticConfig) { f(c) }

type routeOptionFunc func(*routeConfig)

func (f routeOptionFunc) applyRoute(c *routeConfig) { f(c) }

// loggerOption is shared by every handler.
type loggerOption struct{ l *slog.Logger }

var _ Option = loggerOption{}

func (o loggerOption) applyBalancer(c *balancerConfig) { c.logger = o.l }
func (o loggerOption) applyStatic(c *staticConfig)     { c.logger = o.l }
func (o loggerOption) applyRoute(c *routeConfig)       { c.logger = o.l }

// WithLogger sets the logger for state changes (backend down at Warn, back up
// at Info), read errors (Error) and per-request failures (Debug). Nil, the
// default, means [slog.Default] at the time the handler is built.
func WithLogger(l *slog.Logger) Option { return loggerOption{l} }

// trustedProxiesOption is shared by the Balancer (which X-Forwarded-* and
// Forwarded headers to believe) and by Mux routes (which client IP a rate
// limit counts against).
type trustedProxiesOption struct{ cidrs []string }

var (
	_ BalancerOption = trustedProxiesOption{}
	_ RouteOption    = trustedProxiesOption{}
)

func (o trustedProxiesOption) applyBalancer(c *balancerConfig) {
	c.proxy.trustedCIDRs = append(c.proxy.trustedCIDRs, o.cidrs...)
}
func (o trustedProxiesOption) applyRoute(c *routeConfig) {
	c.trustedCIDRs = append(c.trustedCIDRs, o.cidrs...)
}

// WithTrustedProxies names the peers whose X-Forwarded-For, X-Forwarded-Proto,
// X-Forwarded-Host and Forwarded headers are believed, as CIDRs
// ("10.0.0.0/8") or single addresses ("127.0.0.1", "::1"). By default no peer
// is trusted: those headers are replaced with what this hop saw, never
// appended to, so a client cannot spoof its address. The client IP that rate
// limits count against, and the X-Real-IP a Balancer sends, follow the same
// rule: behind trusted proxies, the first address in X-Forwarded-For, from
// the right, that is not a trusted proxy. A malformed entry makes the
// constructor return an error.
func WithTrustedProxies(cidrs ...string) interface {
	BalancerOption
	RouteOption
} {
	return trustedProxiesOption{cidrs: cidrs}
}

// defaultLogger returns l, or slog.Default() when l is nil.
func defaultLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}

// WithStripPrefix removes prefix from the request path before the route's
// handler sees it, as [net/http.StripPrefix] does: with
// WithStripPrefix("/legacy"), a request for "/legacy/users?id=1" goes on
// as "/users?id=1", and "/legacy" itself as "/". The prefix matches whole
// path segments ("/legacyx" passes unchanged) and is removed from the
// escaped path too, so "%2F" stays escaped; a trailing slash on prefix is
// ignored. prefix must be the route's prefix or lie above it (the route
// "/api/v1" may strip "/api"), else [Mux.Handle] panics. Without it, the
// default, the handler gets the path as the client sent it, so a
// [Balancer] forwards it 1:1.
//
// It is an option of a [Mux] route only, so a path is stripped in one
// place. A Balancer used without a Mux can sit behind
// [net/http.StripPrefix] instead.
func WithStripPrefix(prefix string) RouteOption {
	return routeOptionFunc(func(c *routeConfig) { c.stripPrefix = prefix })
}
