package frontdoor

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// balTestShutdown runs b.Shutdown(ctx) in a goroutine; the channel yields
// its result.
func balTestShutdown(ctx context.Context, b *Balancer) <-chan error {
	done := make(chan error, 1)
	go func() { done <- b.Shutdown(ctx) }()
	return done
}

// balTestNoGoroutineLeft waits until no more goroutines run than baseline.
// It polls by hand: assert.Eventually runs its condition in goroutines of
// its own, which would be counted.
func balTestNoGoroutineLeft(t *testing.T, baseline int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > baseline && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), baseline, "no goroutine is left")
}

func TestBalancerShutdownWaitsForStreamToEnd(t *testing.T) {
	ws := newStreamTestBackend(t)
	baseline := runtime.NumGoroutine()
	b, err := NewBalancer([]string{ws.URL}, balTestQuiet,
		WithHealthCheck(HealthCheck{Interval: 5 * time.Millisecond, Timeout: 5 * time.Millisecond}))
	require.NoError(t, err)
	front := httptest.NewServer(b)
	c := streamTestUpgrade(t, front.Listener.Addr().String())
	require.Equal(t, http.StatusSwitchingProtocols, c.resp.StatusCode)
	front.Close() // as http.Server.Shutdown would first: no new requests

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	done := balTestShutdown(ctx, b)
	got, err := c.echo("during shutdown")
	require.NoError(t, err, "the stream lives on during the grace period")
	assert.Equal(t, "echo: during shutdown", got)
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v with a stream open", err)
	case <-time.After(20 * time.Millisecond):
	}
	assert.Zero(t, balTestCheckerGoroutines(), "health checks stop at once")

	require.NoError(t, c.conn.Close()) // the client ends the stream
	select {
	case err := <-done:
		assert.NoError(t, err, "every stream ended within the grace")
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return once the stream ended")
	}
	assert.Less(t, time.Since(start), 5*time.Second, "Shutdown returns early, not at the deadline")
	assert.Zero(t, balTestStatus(t, b, ws.URL).Streams)
	assert.NoError(t, b.Close(), "Close after Shutdown is fine")
	assert.Error(t, b.SetBackends([]BackendSpec{{URL: ws.URL}}))
	balTestNoGoroutineLeft(t, baseline)
}

func TestBalancerShutdownClosesStreamAtDeadline(t *testing.T) {
	ws := newStreamTestBackend(t)
	baseline := runtime.NumGoroutine()
	b, err := NewBalancer([]string{ws.URL}, balTestQuiet)
	require.NoError(t, err)
	front := httptest.NewServer(b)
	c := streamTestUpgrade(t, front.Listener.Addr().String())
	require.Equal(t, http.StatusSwitchingProtocols, c.resp.StatusCode)
	got, err := c.echo("one")
	require.NoError(t, err)
	require.Equal(t, "echo: one", got)
	front.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err = b.Shutdown(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "the stream was still open at the deadline")
	_, err = c.br.ReadString('\n')
	assert.Error(t, err, "the client sees its stream closed")
	assert.Zero(t, balTestStatus(t, b, ws.URL).Streams)
	require.NoError(t, c.conn.Close())
	balTestNoGoroutineLeft(t, baseline)
}

func TestBalancerShutdownWaitsForInFlightRequest(t *testing.T) {
	slow := newBalTestBackend(t, "slow")
	slow.mode.Store(balModeBlock)
	b := newBalTestBalancer(t, []string{slow.URL})
	res := make(chan string, 1)
	go func() {
		_, body := balTestDo(b, http.MethodGet, "")
		res <- body
	}()
	<-slow.entered
	done := balTestShutdown(context.Background(), b)
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v with a request in flight", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(slow.release)
	assert.Equal(t, "slow", <-res, "the in-flight request completes")
	assert.NoError(t, <-done)
}

func TestBalancerCloseEndsShutdown(t *testing.T) {
	ws := newStreamTestBackend(t)
	b := newBalTestBalancer(t, []string{ws.URL})
	front := httptest.NewServer(b)
	t.Cleanup(front.Close)
	c := streamTestUpgrade(t, front.Listener.Addr().String())
	require.Equal(t, http.StatusSwitchingProtocols, c.resp.StatusCode)
	require.EqualValues(t, 1, balTestStatus(t, b, ws.URL).Streams)

	done := balTestShutdown(context.Background(), b)
	require.NoError(t, b.Close())
	select {
	case err := <-done:
		assert.NoError(t, err, "Close ended the stream Shutdown waited for")
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown still waits after Close")
	}
	_, err := c.br.ReadString('\n')
	assert.Error(t, err)
	assert.NoError(t, b.Shutdown(context.Background()), "Shutdown after Close returns at once")
}

func TestBalancerShutdownZeroValue(t *testing.T) {
	var b Balancer
	assert.NoError(t, b.Shutdown(context.Background()))
	assert.NoError(t, b.Close())
}

func TestBalancerShutdownCoversDrainingBackends(t *testing.T) {
	ws, other := newStreamTestBackend(t), newBalTestBackend(t, "other")
	b := newBalTestBalancer(t, []string{ws.URL}, WithDrainTimeout(time.Hour))
	front := httptest.NewServer(b)
	t.Cleanup(front.Close)
	c := streamTestUpgrade(t, front.Listener.Addr().String())
	require.Equal(t, http.StatusSwitchingProtocols, c.resp.StatusCode)
	require.NoError(t, b.SetBackends([]BackendSpec{{URL: other.URL}}))
	require.Equal(t, StateDraining, balTestStatus(t, b, ws.URL).State)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, b.Shutdown(ctx), context.DeadlineExceeded, "the removed backend's stream is waited for")
	_, err := c.br.ReadString('\n')
	assert.Error(t, err, "and closed at the deadline, not after the hour of drain")
	assert.Zero(t, balTestStatus(t, b, ws.URL).Streams)
}
