package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/frontdoor-go/frontdoor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// canaryTestBackends returns the Backends a Balancer builds for hosts, read
// back through a strategy that records its first pick.
func canaryTestBackends(t *testing.T, hosts ...string) []*frontdoor.Backend {
	t.Helper()
	var got []*frontdoor.Backend
	var urls []string
	for _, h := range hosts {
		urls = append(urls, "http://"+h)
	}
	lb, err := frontdoor.NewBalancer(urls, frontdoor.WithStrategy(frontdoor.StrategyFunc(
		func(r *http.Request, bs []*frontdoor.Backend) *frontdoor.Backend {
			if got == nil {
				got = append([]*frontdoor.Backend(nil), bs...)
			}
			return bs[0]
		})))
	require.NoError(t, err)
	t.Cleanup(func() { lb.Close() })
	// Nothing listens on these ports; only the pick matters.
	lb.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	require.Len(t, got, len(hosts))
	return got
}

func canaryTestPick(s frontdoor.Strategy, bs []*frontdoor.Backend, header string) string {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	if header != "" {
		req.Header.Set("X-Canary", header)
	}
	return s.Pick(req, bs).URL().Host
}

func TestCanarySplit(t *testing.T) {
	const stable1, stable2, canary = "127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"
	all := canaryTestBackends(t, stable1, stable2, canary)

	s := canarySplit(canary, 10)
	tally := map[string]int{}
	for range 1000 {
		tally[canaryTestPick(s, all, "")]++
	}
	assert.Equal(t, map[string]int{stable1: 450, stable2: 450, canary: 100}, tally,
		"one in ten to the canary, the rest shared evenly")

	for range 20 {
		assert.Equal(t, canary, canaryTestPick(s, all, "1"), "X-Canary: 1 always reaches the canary")
	}

	t.Run("canary down", func(t *testing.T) {
		stable := all[:2] // what the Balancer passes when the canary is ejected
		for range 30 {
			assert.NotEqual(t, canary, canaryTestPick(s, stable, "1"))
		}
	})
	t.Run("stable down", func(t *testing.T) {
		only := all[2:]
		for range 30 {
			assert.Equal(t, canary, canaryTestPick(s, only, ""))
		}
	})
	t.Run("every 0 means on request only", func(t *testing.T) {
		s := canarySplit(canary, 0)
		for range 100 {
			assert.NotEqual(t, canary, canaryTestPick(s, all, ""))
		}
		assert.Equal(t, canary, canaryTestPick(s, all, "1"))
	})
}

func TestCanarySplitAllocs(t *testing.T) {
	all := canaryTestBackends(t, "127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3")
	s := canarySplit("127.0.0.1:3", 10)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	allocs := testing.AllocsPerRun(100, func() { s.Pick(req, all) })
	assert.Zero(t, allocs)
}

func TestRun(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(&out))
	assert.Equal(t, strings.Join([]string{
		"100 ordinary requests: stable-1=45 stable-2=45 canary=10",
		"5 requests with X-Canary: 1: stable-1=0 stable-2=0 canary=5",
		"",
	}, "\n"), out.String())
}
