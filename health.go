package frontdoor

import "net/url"

// Backend is one upstream server of a [Balancer]. Strategies read its
// weight and load; the Balancer alone updates them.
//
// SKELETON: issue 4 adds passive-health state.
type Backend struct {
	url    *url.URL
	weight int
	load   load
	fwd    *forwarder
}

// URL returns the backend's URL. The caller must not modify it.
func (be *Backend) URL() *url.URL { return be.url }

// Weight returns the backend's weight (at least 1).
func (be *Backend) Weight() int { return be.weight }

// InFlight returns the number of requests being forwarded to the backend.
func (be *Backend) InFlight() int64 { return be.load.inflight.Load() }

// Streams returns the number of open upgraded streams to the backend.
func (be *Backend) Streams() int64 { return be.load.streams.Load() }
