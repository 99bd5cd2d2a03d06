package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/frontdoor-go/frontdoor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStickyByHeader(t *testing.T) {
	var urls []string
	for _, name := range []string{"a", "b", "c"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(name))
		}))
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
	}
	lb, err := frontdoor.NewBalancer(urls, frontdoor.WithStrategy(stickyByHeader("X-User")))
	require.NoError(t, err)
	t.Cleanup(func() { lb.Close() })

	get := func(user string) string {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if user != "" {
			req.Header.Set("X-User", user)
		}
		rec := httptest.NewRecorder()
		lb.ServeHTTP(rec, req)
		require.Equal(t, 200, rec.Code)
		return rec.Body.String()
	}
	seen := map[string]bool{}
	for i := range 50 {
		user := string(rune('a'+i%26)) + "-user"
		first := get(user)
		assert.Equal(t, first, get(user), "%s sticks to one backend", user)
		seen[first] = true
	}
	assert.Len(t, seen, 3, "users spread over every backend")
	assert.Contains(t, []string{"a", "b", "c"}, get(""), "anonymous requests are served too")
}

// TestStickyByHeaderStableWhenOneLeaves: losing a backend moves only its
// own users.
func TestStickyByHeaderStableWhenOneLeaves(t *testing.T) {
	mk := func(hosts ...string) []*frontdoor.Backend {
		// Backends come from a Balancer; build one per host set and read
		// them back through a recording strategy.
		var got []*frontdoor.Backend
		var urls []string
		for _, h := range hosts {
			urls = append(urls, "http://"+h)
		}
		lb, err := frontdoor.NewBalancer(urls, frontdoor.WithStrategy(frontdoor.StrategyFunc(
			func(r *http.Request, bs []*frontdoor.Backend) *frontdoor.Backend {
				if got == nil { // the first pick sees every backend
					got = append([]*frontdoor.Backend(nil), bs...)
				}
				return bs[0]
			})))
		require.NoError(t, err)
		t.Cleanup(func() { lb.Close() })
		rec := httptest.NewRecorder()
		// The forward to a closed local port fails; only the pick matters.
		lb.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		require.Len(t, got, len(hosts))
		return got
	}
	all := mk("127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3")
	two := mk("127.0.0.1:1", "127.0.0.1:3")
	s := stickyByHeader("X-User")
	moved := 0
	for i := range 300 {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("X-User", "user-"+string(rune('A'+i%26))+string(rune('a'+i/26)))
		before := s.Pick(req, all).URL().Host
		after := s.Pick(req, two).URL().Host
		if before != "127.0.0.1:2" {
			assert.Equal(t, before, after, "a user of a remaining backend stays put")
		} else {
			moved++
		}
	}
	assert.Positive(t, moved, "some users were on the backend that left")
}

func TestRun(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(&out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 11)
	re := regexp.MustCompile(`^(\S+)\s+-> 200 (backend-[123])$`)
	byUser := map[string]string{}
	for _, l := range lines {
		m := re.FindStringSubmatch(l)
		require.NotNil(t, m, "line %q", l)
		if prev, ok := byUser[m[1]]; ok {
			assert.Equal(t, prev, m[2], "%s answered by one backend", m[1])
		}
		byUser[m[1]] = m[2]
	}
}
