package redisrate

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// Test helpers: real redis-server processes on loopback ports.

// redisServer is one redis-server process this test started, on a fixed
// 127.0.0.1 port, with no persistence. It is stopped by PID when the test
// ends; stop, start, pause and resume move it through an outage.
type redisServer struct {
	t    testing.TB
	bin  string
	port int
	dir  string
	args []string
	cmd  *exec.Cmd
}

// redisServerBin returns the path of redis-server, or skips the test when
// it is not installed (.ci/run installs it).
func redisServerBin(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed (Debian: apt-get install redis-server); .ci/run installs it")
	}
	return bin
}

// startRedis starts a redis-server on a free loopback port with no
// persistence, plus extra config args, and waits until it answers PING.
func startRedis(t testing.TB, extra ...string) *redisServer {
	t.Helper()
	s := &redisServer{t: t, bin: redisServerBin(t), port: freePort(t), dir: t.TempDir(), args: extra}
	t.Cleanup(s.stop)
	s.start()
	return s
}

// addr returns the server's host:port.
func (s *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// start runs the server (again, on the same port) and waits for PING.
func (s *redisServer) start() {
	s.t.Helper()
	args := append([]string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir,
		"--daemonize", "no", "--loglevel", "warning", "--logfile", "redis.log",
	}, s.args...)
	s.cmd = exec.Command(s.bin, args...)
	s.cmd.Dir = s.dir
	require.NoError(s.t, s.cmd.Start())
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := redisPing(s.addr())
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.stop()
			s.t.Fatalf("redis-server on %s did not answer PING: %v", s.addr(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop kills the server by its PID and reaps it; the port closes. The
// server's log is shown when the test has failed.
func (s *redisServer) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill() // SIGKILL also ends a paused process
	_ = s.cmd.Wait()
	s.cmd = nil
	if s.t.Failed() {
		if log, err := os.ReadFile(filepath.Join(s.dir, "redis.log")); err == nil {
			s.t.Logf("redis-server on %s logged:\n%s", s.addr(), log)
		}
	}
}

// pause freezes the server (SIGSTOP): connections open, nothing answers.
func (s *redisServer) pause() {
	require.NoError(s.t, s.cmd.Process.Signal(syscall.SIGSTOP))
}

// resume undoes pause.
func (s *redisServer) resume() {
	require.NoError(s.t, s.cmd.Process.Signal(syscall.SIGCONT))
}

// redisPing sends PING on a fresh connection and checks for +PONG.
func redisPing(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// freePort returns a loopback TCP port nobody listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// newTestClient returns a go-redis client for addr that honours context
// deadlines, closed when the test ends. Its own socket timeouts are long
// (30 s), so a test that finishes sooner proves the limiter's timeout.
func newTestClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr:                  addr,
		ContextTimeoutEnabled: true,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		DialTimeout:           30 * time.Second,
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// redisCluster is a Redis Cluster of three masters on loopback, each a
// redisServer, with its slots assigned.
type redisCluster struct {
	nodes []*redisServer
}

// startRedisCluster starts three cluster-enabled servers and joins them
// with redis-cli --cluster create, or skips the test when that cannot be
// done here.
func startRedisCluster(t *testing.T) *redisCluster {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("redis-cli is not installed (Debian: apt-get install redis-tools); it creates the cluster")
	}
	c := &redisCluster{}
	var addrs []string
	for range 3 {
		bus := freePort(t)
		n := startRedis(t, "--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(bus),
			"--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000")
		c.nodes = append(c.nodes, n)
		addrs = append(addrs, n.addr())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, cli, append([]string{"--cluster", "create"},
		append(addrs, "--cluster-replicas", "0", "--cluster-yes")...)...).CombinedOutput()
	if err != nil {
		t.Skipf("redis-cli --cluster create failed, no cluster on loopback here: %v\n%s", err, out)
	}
	// Every node must see every slot assigned before clients can rely on
	// the slot map.
	for _, n := range c.nodes {
		require.Eventually(t, func() bool {
			info, err := exec.CommandContext(ctx, cli, "-p", strconv.Itoa(n.port), "cluster", "info").Output()
			return err == nil && strings.Contains(string(info), "cluster_state:ok")
		}, 20*time.Second, 50*time.Millisecond, "cluster node %s never reached cluster_state:ok", n.addr())
	}
	return c
}

// addrs returns the nodes' host:port.
func (c *redisCluster) addrs() []string {
	var out []string
	for _, n := range c.nodes {
		out = append(out, n.addr())
	}
	return out
}
