package frontdoor

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRetryNext is the retry rule as a table: not-sent failures are free
// whatever MaxTries, budget or panic say; failures after the request left
// are paid, bounded by MaxTries, and only for what may be sent twice;
// nothing follows once the client left or MaxDuration passed.
func TestRetryNext(t *testing.T) {
	p := RetryPolicy{}.withDefaults() // MaxTries 3, MaxDuration 5 s
	tests := []struct {
		name    string
		method  string
		class   error
		body    bodyState
		sent    int
		elapsed time.Duration
		panic   bool
		gone    bool
		want    nextTry
	}{
		{name: "refused GET", method: "GET", class: ErrNotSent, want: tryFree},
		{name: "refused POST", method: "POST", class: ErrNotSent, body: bodyUnread, want: tryFree},
		{name: "refused after MaxTries sent", method: "GET", class: ErrNotSent, sent: 3, want: tryFree},
		{name: "refused in panic mode", method: "GET", class: ErrNotSent, panic: true, want: tryFree},
		{name: "refused, body consumed", method: "POST", class: ErrNotSent, body: bodyConsumed, want: tryNone},
		{name: "refused after MaxDuration", method: "GET", class: ErrNotSent, elapsed: 5 * time.Second, want: tryNone},
		{name: "refused, client gone", method: "GET", class: ErrNotSent, gone: true, want: tryNone},
		{name: "broken GET", method: "GET", class: ErrBroken, sent: 1, want: tryPaid},
		{name: "timed-out GET", method: "GET", class: ErrTimeout, sent: 2, want: tryPaid},
		{name: "broken GET, MaxTries reached", method: "GET", class: ErrBroken, sent: 3, want: tryNone},
		{name: "broken GET in panic mode", method: "GET", class: ErrBroken, sent: 1, panic: true, want: tryNone},
		{name: "broken POST", method: "POST", class: ErrBroken, sent: 1, body: bodyReplayable, want: tryNone},
		{name: "client gone", method: "GET", class: ErrClientGone, sent: 1, want: tryNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.gone {
				cancel()
			}
			r := httptest.NewRequestWithContext(ctx, tt.method, "/", nil)
			assert.Equal(t, tt.want, p.next(r, tt.class, tt.body, tt.sent, tt.elapsed, tt.panic))
		})
	}
}

func TestRetryable(t *testing.T) {
	key := http.Header{"Idempotency-Key": {"k"}}
	tests := []struct {
		method string
		hdr    http.Header
		class  error
		body   bodyState
		want   bool
	}{
		{"POST", nil, ErrNotSent, bodyUnread, true},
		{"POST", nil, ErrNotSent, bodyReplayable, true},
		{"POST", nil, ErrNotSent, bodyUnsent, true},
		{"POST", nil, ErrNotSent, bodyConsumed, false},
		{"POST", key, ErrBroken, bodyUnsent, false},
		{"POST", nil, ErrBroken, bodyEmpty, false},
		{"POST", nil, ErrTimeout, bodyReplayable, false},
		{"POST", key, ErrTimeout, bodyReplayable, true},
		{"POST", key, ErrBroken, bodyConsumed, false},
		{"PATCH", nil, ErrBroken, bodyEmpty, false},
		{"GET", nil, ErrBroken, bodyEmpty, true},
		{"GET", nil, ErrTimeout, bodyEmpty, true},
		{"HEAD", nil, ErrTimeout, bodyEmpty, true},
		{"OPTIONS", nil, ErrBroken, bodyEmpty, true},
		{"TRACE", nil, ErrBroken, bodyEmpty, true},
		{"PUT", nil, ErrBroken, bodyReplayable, true},
		{"PUT", nil, ErrBroken, bodyUnsent, false},
		{"PUT", nil, ErrBroken, bodyConsumed, false},
		{"DELETE", nil, ErrTimeout, bodyUnread, true},
		{"GET", nil, ErrClientGone, bodyEmpty, false},
		{"GET", nil, ErrNotSent, bodyEmpty, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%v/%d/key=%v", tt.method, tt.class, tt.body, tt.hdr != nil), func(t *testing.T) {
			assert.Equal(t, tt.want, retryable(tt.method, tt.hdr, tt.class, tt.body))
		})
	}
	be := &BackendError{Class: ErrTimeout, Err: io.EOF}
	assert.Equal(t, ErrTimeout, failureClass(be))
	assert.Equal(t, ErrClientGone, failureClass(&BackendError{Class: ErrClientGone}))
	assert.Equal(t, ErrBroken, failureClass(io.EOF))
}

func TestRetryBodyReplay(t *testing.T) {
	rb := newRetryBody(io.NopCloser(strings.NewReader("hello world")), 64)
	assert.Equal(t, bodyUnread, rb.state())
	first := rb.attempt()
	p := make([]byte, 5)
	n, err := first.Read(p)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(p[:n]))
	assert.Equal(t, bodyReplayable, rb.state())
	require.NoError(t, first.Close())

	second := rb.attempt()
	_, err = first.Read(p)
	assert.ErrorIs(t, err, errBodyGone, "the old attempt is cut off")
	all, err := io.ReadAll(second)
	require.NoError(t, err)
	assert.Equal(t, "hello world", string(all))
	all, err = io.ReadAll(rb.attempt())
	require.NoError(t, err)
	assert.Equal(t, "hello world", string(all))

	// Beyond BufferBody the body is still kept, up to unsentKeep, but
	// only for a request that was not sent.
	small := newRetryBody(io.NopCloser(strings.NewReader("hello world")), 4)
	_, _ = io.ReadAll(small.attempt())
	assert.Equal(t, bodyUnsent, small.state())
	all, err = io.ReadAll(small.attempt())
	require.NoError(t, err)
	assert.Equal(t, "hello world", string(all))

	big := newRetryBody(io.NopCloser(strings.NewReader(strings.Repeat("x", unsentKeep+1))), 0)
	_, _ = io.ReadAll(big.attempt())
	assert.Equal(t, bodyConsumed, big.state())
	_, err = big.attempt().Read(p)
	assert.ErrorIs(t, err, errBodyGone)
	var nilBody *retryBody
	assert.Equal(t, bodyEmpty, nilBody.state())
}

// balTestBudgetTokens takes every token the budget holds at now.
func balTestBudgetTokens(rb *retryBudget, now time.Time) (n int) {
	for rb.allow(now) {
		n++
	}
	return n
}

// A lull of a second or two (the process stalled, then its requests come
// at once) does not empty the budget: it is the burst of retries of the
// requests a dying backend broke that follows. A lasting drop in traffic
// still shrinks the budget within seconds, so a storm stays bounded.
func TestRetryBudgetSurvivesALull(t *testing.T) {
	now := time.Unix(0, 0)
	rb := newRetryBudget(0.2, 10, now)
	for range 5000 { // 5 s at 1000 requests per second
		now = now.Add(time.Millisecond)
		rb.request(now)
	}
	assert.Equal(t, 210, balTestBudgetTokens(rb, now), "10 + 20% of 1000")

	now = now.Add(2 * time.Second) // nothing for 2 s, then a request
	rb.request(now)
	now = now.Add(time.Second) // refilled for a second at the new rate
	rb.request(now)
	assert.GreaterOrEqual(t, balTestBudgetTokens(rb, now), 50, "10 + 20% of a quarter of 1000")

	for range 10 { // then 10 s at 5 requests per second
		for range 5 {
			now = now.Add(200 * time.Millisecond)
			rb.request(now)
		}
	}
	assert.LessOrEqual(t, balTestBudgetTokens(rb, now.Add(time.Second)), 12, "back to about the floor")
}
