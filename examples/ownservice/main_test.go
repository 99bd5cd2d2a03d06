package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newOwnServiceTest(t *testing.T) *httptest.Server {
	t.Helper()
	legacy := httptest.NewServer(legacyHandler())
	t.Cleanup(legacy.Close)
	svc, err := newService([]string{legacy.URL}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { svc.Close() })
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	return srv
}

func ownServiceDo(t *testing.T, method, url, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func TestOwnService(t *testing.T) {
	srv := newOwnServiceTest(t)

	code, ctype, body := ownServiceDo(t, "GET", srv.URL+"/", "")
	assert.Equal(t, 200, code)
	assert.Equal(t, "text/html; charset=utf-8", ctype)
	assert.Contains(t, body, "<h1>ownservice</h1>", "the embedded frontend")

	code, ctype, _ = ownServiceDo(t, "GET", srv.URL+"/app.js", "")
	assert.Equal(t, 200, code)
	assert.Contains(t, ctype, "javascript")

	code, _, body = ownServiceDo(t, "POST", srv.URL+"/api/todos", `{"title":"retire the app server"}`)
	assert.Equal(t, http.StatusCreated, code)
	assert.JSONEq(t, `{"id":1,"title":"retire the app server"}`, body)
	code, _, body = ownServiceDo(t, "GET", srv.URL+"/api/todos", "")
	assert.Equal(t, 200, code)
	assert.JSONEq(t, `[{"id":1,"title":"retire the app server"}]`, body)

	code, ctype, body = ownServiceDo(t, "GET", srv.URL+"/api/nope", "")
	assert.Equal(t, 404, code, "an unknown API path is the API's 404")
	assert.Equal(t, "application/json", ctype)
	assert.NotContains(t, body, "<h1>")

	code, ctype, body = ownServiceDo(t, "GET", srv.URL+"/legacy/reports/42", "")
	assert.Equal(t, 200, code)
	assert.Equal(t, "application/json", ctype)
	var rep map[string]string
	require.NoError(t, json.Unmarshal([]byte(body), &rep))
	assert.Equal(t, map[string]string{"report": "42", "from": "legacy", "path": "/reports/42"}, rep,
		"the legacy app sees its own paths, /legacy stripped")
}

func TestOwnServiceLegacyRateLimited(t *testing.T) {
	srv := newOwnServiceTest(t)
	limited := 0
	for range 100 {
		code, _, _ := ownServiceDo(t, "GET", srv.URL+"/legacy/reports/1", "")
		if code == http.StatusTooManyRequests {
			limited++
		}
	}
	assert.Positive(t, limited, "a burst of 100 exceeds 40 plus what refills meanwhile")
	code, _, _ := ownServiceDo(t, "GET", srv.URL+"/api/todos", "")
	assert.Equal(t, 200, code, "the service's own API is not limited")
}
