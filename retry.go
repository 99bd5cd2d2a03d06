package frontdoor

import (
	"cmp"
	"errors"
	"io"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// RetryPolicy configures when a [Balancer] tries a failed request again on
// another backend; see [WithRetryPolicy]. Every zero field means its
// default.
//
// A request that was not sent (the connection was refused, reset or timed
// out before a byte of the request went out) is tried on the next backend,
// for any method, until every eligible backend has been tried once: such
// retries cost the backends nothing, so neither MaxTries nor the budget
// bounds them (as nginx's proxy_next_upstream error with tries 0). Only
// MaxDuration and the client going away end them.
//
// A request that reached a backend is retried only if it is idempotent
// (GET, HEAD, OPTIONS, TRACE, PUT, DELETE, or any method with an
// Idempotency-Key header) and its body is empty, unread, or was buffered
// whole (BufferBody); those retries count against MaxTries and the budget.
// A response that reached the client, even partly, is never retried, nor is
// a request whose client went away. In panic mode (no backend eligible) a
// request that reached a backend gets a single try.
type RetryPolicy struct {
	// MaxTries bounds the attempts per request that reached a backend, the
	// first included; attempts that were not sent do not count. Default 3;
	// 1 disables retries of requests that reached a backend.
	MaxTries int
	// MaxDuration bounds the time from the first attempt after which no
	// new attempt starts. Default: the dial timeout ([WithDialTimeout]),
	// so that when every backend's dial hangs the client is answered after
	// about one dial timeout, while fast failures such as refused
	// connections are still retried.
	MaxDuration time.Duration
	// BudgetRatio caps the retries of requests that reached a backend at
	// this fraction of the request rate (measured every second; a slower
	// second halves the estimate, no more), plus BudgetFloor retries per
	// second, so that an outage cannot multiply the load. Default 0.2.
	BudgetRatio float64
	// BudgetFloor is the retry rate always allowed, per second. Default 10.
	BudgetFloor float64
	// BufferBody, when positive, keeps up to this many bytes of each
	// request body in memory so the body can be sent again after a
	// failure once the request left. Default 0: a request whose body was
	// read by an attempt that reached a backend is not retried. Whatever
	// its value, the first 64 KiB of a body are kept while the request
	// lasts, so that a request whose body was read but never sent (the
	// connection died first) can still go to another backend.
	BufferBody int64
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	p.MaxTries = cmp.Or(p.MaxTries, 3)
	p.MaxDuration = cmp.Or(p.MaxDuration, defaultDialTimeout)
	p.BudgetRatio = cmp.Or(p.BudgetRatio, 0.2)
	p.BudgetFloor = cmp.Or(p.BudgetFloor, 10)
	return p
}

// WithRetryPolicy sets the retry rules; the zero RetryPolicy is the
// default. Negative values make [NewBalancer] fail.
func WithRetryPolicy(p RetryPolicy) BalancerOption {
	return balancerOptionFunc(func(c *balancerConfig) { c.retry = p })
}

// nextTry is what may follow a failed attempt.
type nextTry uint8

const (
	tryNone nextTry = iota // answer with the failure
	tryFree                // try another backend; costs no budget and no MaxTries
	tryPaid                // try another backend if the budget holds a token
)

// next is the retry rule, the only place that decides it: whether a
// request whose attempt just failed with class may be tried on another
// backend, and whether that costs the budget. sent counts the request's
// attempts that reached a backend, elapsed is the time since its first
// attempt, and panicked says the failed attempt was a panic-mode pick.
func (p *RetryPolicy) next(r *http.Request, class error, body bodyState, sent int, elapsed time.Duration, panicked bool) nextTry {
	switch {
	case r.Context().Err() != nil || elapsed >= p.MaxDuration ||
		!retryable(r.Method, r.Header, class, body):
		return tryNone
	case class == ErrNotSent:
		return tryFree
	case panicked || sent >= p.MaxTries:
		return tryNone
	}
	return tryPaid
}

// bodyState tells whether a request body can be sent again.
type bodyState uint8

const (
	bodyEmpty      bodyState = iota // no body at all
	bodyUnread                      // nothing read from it yet
	bodyReplayable                  // bytes were read and all are buffered, within BufferBody
	bodyUnsent                      // bytes were read and all are kept, beyond BufferBody: only for a request not sent
	bodyConsumed                    // bytes were read and are gone
)

// unsentKeep is how much of every request body a retryBody keeps whatever
// BufferBody says, so that an attempt that read the body but sent none of
// it can be replayed. A transport reads ahead of what it sends by one
// write buffer (4 KiB for HTTP/1, a 16 KiB frame for HTTP/2) or one copy
// buffer (32 KiB); bodies of JSON APIs are usually smaller than all three.
const unsentKeep = 64 << 10

// idempotentMethods may be sent twice without a second side effect.
var idempotentMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodOptions: true,
	http.MethodTrace: true, http.MethodPut: true, http.MethodDelete: true,
}

// retryable reports whether a request may be tried again after an attempt
// failed with class (ErrNotSent, ErrTimeout, ErrBroken, ErrClientGone).
func retryable(method string, hdr http.Header, class error, body bodyState) bool {
	switch {
	case class == ErrClientGone || body == bodyConsumed:
		return false
	case class == ErrNotSent:
		return true
	case body == bodyUnsent:
		return false
	}
	return idempotentMethods[method] || hdr.Get("Idempotency-Key") != ""
}

// failureClass returns the class of an attempt's error.
func failureClass(err error) error {
	for _, c := range []error{ErrClientGone, ErrNotSent, ErrTimeout} {
		if errors.Is(err, c) {
			return c
		}
	}
	return ErrBroken
}

// errBodyGone is what a request body reader returns once it cannot give
// the bytes an attempt needs: a newer attempt took over, or bytes that
// were not buffered are needed again.
var errBodyGone = errors.New("frontdoor: request body no longer available")

// retryBody lets a request body be read by several attempts in turn. It
// reads the client's body once, keeps up to max(limit, unsentKeep) bytes
// for replay, and ignores Close (the Transport closes bodies on error; the server closes
// the client's). Each attempt reads through its own bodyAttempt; starting
// a new attempt cuts off the old one, which a Transport may still be
// reading from in another goroutine.
type retryBody struct {
	// mu guards every field and is held across src.Read: the only readers
	// that can wait on it are attempts at this same body.
	mu     sync.Mutex
	src    io.ReadCloser
	limit  int64 // BufferBody
	keep   int64 // the most buf may hold
	buf    []byte
	read   int64 // bytes taken from src
	lost   bool  // some of them are not in buf
	srcErr error // sticky error from src, usually io.EOF
	gen    int
}

func newRetryBody(src io.ReadCloser, limit int64) *retryBody {
	return &retryBody{src: src, limit: limit, keep: max(limit, unsentKeep)}
}

// state returns whether the body can be sent again.
func (rb *retryBody) state() bodyState {
	if rb == nil {
		return bodyEmpty
	}
	rb.mu.Lock()
	defer rb.mu.Unlock()
	switch {
	case rb.read == 0:
		return bodyUnread
	case rb.lost:
		return bodyConsumed
	case rb.read > rb.limit:
		return bodyUnsent
	}
	return bodyReplayable
}

// attempt returns a reader for a new attempt, which sees the body from its
// first byte, and cuts off the previous attempt's reader.
func (rb *retryBody) attempt() io.ReadCloser {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	rb.gen++
	return &bodyAttempt{rb: rb, gen: rb.gen}
}

type bodyAttempt struct {
	rb  *retryBody
	gen int
	pos int64
}

func (a *bodyAttempt) Read(p []byte) (int, error) {
	rb := a.rb
	rb.mu.Lock()
	defer rb.mu.Unlock()
	if a.gen != rb.gen {
		return 0, errBodyGone
	}
	if a.pos < int64(len(rb.buf)) {
		n := copy(p, rb.buf[a.pos:])
		a.pos += int64(n)
		return n, nil
	}
	if a.pos != rb.read {
		return 0, errBodyGone
	}
	if rb.srcErr != nil {
		return 0, rb.srcErr
	}
	n, err := rb.src.Read(p)
	if n > 0 {
		if !rb.lost && rb.read+int64(n) <= rb.keep {
			rb.buf = append(rb.buf, p[:n]...)
		} else {
			rb.lost, rb.buf = true, nil
		}
		rb.read += int64(n)
		a.pos += int64(n)
	}
	if err != nil {
		rb.srcErr = err
	}
	return n, err
}

// Close does nothing: the client's body stays open for another attempt.
func (a *bodyAttempt) Close() error { return nil }

// retryBudget caps retries with a rate.Limiter whose rate follows the
// request rate: floor + ratio × requests per second, re-measured every
// second. A window slower than the last estimate only halves it, so that a
// lull of a second or two (a stall of the process itself, whose requests
// then arrive at once) does not leave the budget empty for the burst of
// retries that follows; a real drop is followed within a few seconds. It
// is safe for concurrent use.
type retryBudget struct {
	ratio, floor float64
	lim          *rate.Limiter
	reqs         atomic.Int64  // requests in the current window
	since        atomic.Int64  // start of the window, Unix nanoseconds
	rps          atomic.Uint64 // the request rate estimate, float64 bits
}

func newRetryBudget(ratio, floor float64, now time.Time) *retryBudget {
	rb := &retryBudget{ratio: ratio, floor: floor}
	rb.lim = rate.NewLimiter(rate.Limit(floor), max(1, int(math.Ceil(floor))))
	rb.since.Store(now.UnixNano())
	return rb
}

// request counts one incoming request and, once a second, re-sizes the
// limiter to the rate estimated.
func (rb *retryBudget) request(now time.Time) {
	rb.reqs.Add(1)
	start, t := rb.since.Load(), now.UnixNano()
	if el := t - start; el >= int64(time.Second) && rb.since.CompareAndSwap(start, t) {
		measured := float64(rb.reqs.Swap(0)) / time.Duration(el).Seconds()
		rps := max(measured, math.Float64frombits(rb.rps.Load())/2)
		rb.rps.Store(math.Float64bits(rps))
		l := rb.floor + rb.ratio*rps
		rb.lim.SetLimitAt(now, rate.Limit(l))
		rb.lim.SetBurstAt(now, max(1, int(math.Ceil(l))))
	}
}

// ready reports whether the budget holds a retry now, without taking it.
func (rb *retryBudget) ready(now time.Time) bool { return rb.lim.TokensAt(now) >= 1 }

// allow takes one retry from the budget, if there is one.
func (rb *retryBudget) allow(now time.Time) bool { return rb.lim.AllowN(now, 1) }
