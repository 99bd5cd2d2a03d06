//go:build !unix

package frontdoor

import "net"

// newIdlePeeker returns c itself if it can be looked at, else nil: on this
// platform a socket cannot be peeked at without blocking, so idle
// connections are trusted as far as their responses' framing goes. Bytes
// a backend sends while a connection is idle are then read as the next
// response's start and refused only if they do not parse.
func newIdlePeeker(c net.Conn) idlePeeker {
	if p, ok := c.(idlePeeker); ok {
		return p
	}
	return nil
}
