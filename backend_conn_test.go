package frontdoor

import (
	"bufio"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newConnTestPair returns our end of a loopback TCP connection as an idle
// backendConn, and the backend's end.
func newConnTestPair(tb testing.TB) (*backendConn, net.Conn) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	defer ln.Close()
	ours, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(tb, err)
	theirs, err := ln.Accept()
	require.NoError(tb, err)
	tb.Cleanup(func() { ours.Close(); theirs.Close() })
	return &backendConn{Conn: ours, raw: ours, br: bufio.NewReader(ours), peeker: newIdlePeeker(ours)}, theirs
}

func TestBackendConnIdle(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no peeking at sockets on Windows")
	}
	c, backend := newConnTestPair(t)
	require.NotNil(t, c.peeker)
	assert.Equal(t, idleClean, c.idle())
	assert.Equal(t, idleClean, c.idle(), "peeking consumes nothing")

	_, err := backend.Write([]byte("X"))
	require.NoError(t, err)
	assert.Eventually(t, func() bool { return c.idle() == idleStray }, 5*time.Second, time.Millisecond,
		"a byte sent to an idle connection makes it stray")
	b, err := c.br.ReadByte()
	require.NoError(t, err)
	assert.Equal(t, byte('X'), b, "and is still there")

	backend.Close()
	assert.Eventually(t, func() bool { return c.idle() == idleClosed }, 5*time.Second, time.Millisecond,
		"a connection the backend closed is closed")
}

func TestBackendConnIdleBuffered(t *testing.T) {
	c, backend := newConnTestPair(t)
	backend.Write([]byte("ab"))
	_, err := c.br.ReadByte()
	require.NoError(t, err)
	assert.Equal(t, idleStray, c.idle(), "a byte left in the read buffer")
}

func TestBackendConnWriteCounts(t *testing.T) {
	c, _ := newConnTestPair(t)
	c.Write([]byte("hello"))
	c.Write(nil)
	assert.Equal(t, int64(5), c.written.Load())
}

// BenchmarkBackendConnPeek measures the look at an idle connection that
// precedes every reuse: one recv(MSG_PEEK) system call.
func BenchmarkBackendConnPeek(b *testing.B) {
	c, _ := newConnTestPair(b)
	if c.peeker == nil {
		b.Skip("no peeking on this platform")
	}
	b.ReportAllocs()
	for b.Loop() {
		if c.idle() != idleClean {
			b.Fatal("not clean")
		}
	}
}
