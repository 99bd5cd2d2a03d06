//go:build unix

package frontdoor

import (
	"net"
	"syscall"
)

// fdPeeker looks at an idle TCP connection's socket with one non-blocking
// recv(MSG_PEEK) of one byte: about one system call per reuse, which
// BenchmarkBackendConnPeek measures. The socket is non-blocking already (Go
// sets O_NONBLOCK), so no wait flag is needed.
type fdPeeker struct {
	rc    syscall.RawConn
	fn    func(fd uintptr) bool // p.peek, bound once
	buf   [1]byte
	state idleState
}

// newIdlePeeker returns a peeker for c, or nil when c exposes no socket.
func newIdlePeeker(c net.Conn) idlePeeker {
	if p, ok := c.(idlePeeker); ok {
		return p
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	p := &fdPeeker{rc: rc}
	p.fn = p.peek
	return p
}

func (p *fdPeeker) peekIdle() idleState {
	if err := p.rc.Read(p.fn); err != nil {
		return idleClosed
	}
	return p.state
}

// peek runs inside rc.Read; returning true tells it not to wait.
func (p *fdPeeker) peek(fd uintptr) bool {
	var n int
	var err error
	for {
		n, _, err = syscall.Recvfrom(int(fd), p.buf[:], syscall.MSG_PEEK)
		if err != syscall.EINTR {
			break
		}
	}
	switch {
	case n > 0:
		p.state = idleStray
	case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
		p.state = idleClean
	default: // 0 bytes: the backend closed; or the socket failed
		p.state = idleClosed
	}
	return true
}
