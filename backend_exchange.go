package frontdoor

// An exchange: one request and its response on one backend connection, as
// the backend client (backend_client.go) runs it.

import (
	"cmp"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// writeWaitBeforeReuse bounds the wait, once a response ended, for the
// request body's writer to report that the whole body went out; net/http
// waits as long.
const writeWaitBeforeReuse = 50 * time.Millisecond

// expectContinueTimeout is how long a body waits for the backend's
// "100 Continue", as the Transport waited.
const expectContinueTimeout = time.Second

// backendExchange is one request and its response on one connection. Once
// roundTrip returned a response, it is that response's Body.
type backendExchange struct {
	c       *backendClient
	conn    *backendConn
	req     *http.Request
	bodyLen int64 // see requestBodyLen
	res     http.Response
	head    responseHead
	body    responseBody
	stop    func() bool // stops the context watch; nil without one

	aborted    atomic.Bool // the context ended the exchange
	gotByte    bool        // some response byte arrived
	discard    int         // bytes of the final head still in conn.br
	released   bool        // the connection was released
	unwritable bool        // the request cannot be written at all
	bodyKept   bool        // the writer wrote nothing and left the body unread and open

	// With a request body, which a goroutine writes:
	wdone    chan error // the writer's result
	werr     error      // the writer's result, once received
	wdoneSet bool       // werr holds it
	cont     chan bool  // tells a writer held by Expect: 100-continue to go on
	contSent bool       // cont was sent to
	mu       sync.Mutex // guards headDone against the writer
	headDone bool       // the final response head arrived
}

// roundTrip writes the request and reads the response head. On error the
// connection is closed.
func (x *backendExchange) roundTrip(ctx context.Context) (*http.Response, error) {
	conn := x.conn
	conn.written.Store(0)
	head, err := appendRequestHead(conn.head[:0], x.req, cmp.Or(x.req.Host, x.c.host), x.bodyLen)
	conn.head = head
	if err != nil {
		x.unwritable = true
		x.c.release(conn, true) // nothing was written on it
		x.c.closeBody(x.req, x.bodyLen)
		return nil, notSentError{err}
	}
	if ctx.Done() != nil {
		x.stop = context.AfterFunc(ctx, x.abort)
	}
	if x.bodyLen == 0 {
		if _, err := conn.Write(head); err != nil {
			return nil, x.fail(ctx, err)
		}
		conn.SetReadDeadline(time.Now().Add(x.c.headerTimeout))
	} else {
		x.wdone = make(chan error, 1)
		if expectsContinue(x.req.Header) {
			x.cont = make(chan bool, 1)
		}
		go x.write(head)
	}
	if err := x.readHead(ctx); err != nil {
		return nil, x.fail(ctx, err)
	}
	return x.response()
}

// write writes the request head and body; it runs in its own goroutine.
// On failure it closes the connection, which ends the exchange.
func (x *backendExchange) write(head []byte) {
	err := x.writeRequest(head)
	if err != nil && x.conn.written.Load() == 0 {
		// The head did not go out, so the body was never read: RoundTrip
		// may send it on a new connection, and closes it otherwise.
		x.bodyKept = true
	} else {
		x.c.closeBody(x.req, x.bodyLen)
	}
	if err == nil {
		x.mu.Lock()
		if !x.headDone {
			x.conn.SetReadDeadline(time.Now().Add(x.c.headerTimeout))
		}
		x.mu.Unlock()
	}
	x.wdone <- err // before abort, so that the reader it wakes finds it
	if err != nil {
		x.conn.abort()
	}
}

// errNoContinue is the writer's result when the backend answered before
// asking for the body, which then is not sent.
var errNoContinue = errors.New("frontdoor: backend answered without 100 Continue")

func (x *backendExchange) writeRequest(head []byte) error {
	if _, err := x.conn.Write(head); err != nil {
		return err
	}
	if x.cont != nil {
		t := time.NewTimer(expectContinueTimeout)
		select {
		case ok := <-x.cont:
			if !ok {
				t.Stop()
				return errNoContinue
			}
		case <-t.C:
		}
		t.Stop()
	}
	buf := x.c.buffers.Get()
	defer x.c.buffers.Put(buf)
	return writeRequestBody(x.conn, x.req.Body, x.bodyLen, x.req.Trailer, buf)
}

// expectsContinue reports whether h asks for "100-continue".
func expectsContinue(h http.Header) bool {
	for _, v := range h["Expect"] {
		if strings.EqualFold(strings.TrimSpace(v), "100-continue") {
			return true
		}
	}
	return false
}

// readHead reads response heads up to the final one, passing 1xx ones to
// the request's Got1xxResponse hook, and leaves it parsed in x.head.
func (x *backendExchange) readHead(ctx context.Context) error {
	conn := x.conn
	headReq := x.req.Method == http.MethodHead
	for n1xx := 0; ; n1xx++ {
		head, discard, read, err := readResponseHead(conn.br, nil)
		x.discard = discard
		x.gotByte = x.gotByte || read
		if err != nil {
			return err
		}
		x.head.fields = conn.fields
		err = parseResponseHead(head, headReq, &x.head)
		conn.fields = x.head.fields
		if err != nil {
			return err
		}
		if !x.head.interim() {
			x.mu.Lock()
			x.headDone = true
			conn.SetReadDeadline(time.Time{})
			x.mu.Unlock()
			x.signalContinue(x.head.status == http.StatusContinue)
			return nil
		}
		if n1xx == max1xxResponses {
			return errResponseTooMany1xx
		}
		if trace := httptrace.ContextClientTrace(ctx); trace != nil && trace.Got1xxResponse != nil {
			h := textproto.MIMEHeader(fieldsHeader(x.head.fields))
			if err := trace.Got1xxResponse(x.head.status, h); err != nil {
				return err
			}
		}
		conn.br.Discard(discard)
		if x.head.status == http.StatusContinue {
			x.signalContinue(true)
		}
	}
}

// signalContinue tells a writer held by Expect: 100-continue whether to
// send the body, once.
func (x *backendExchange) signalContinue(send bool) {
	if x.cont == nil || x.contSent {
		return
	}
	x.contSent = true
	x.cont <- send // buffered
}

// response builds the Response of the parsed final head, whose bytes are
// discarded from the reader after it.
func (x *backendExchange) response() (*http.Response, error) {
	h, res, conn := &x.head, &x.res, x.conn
	res.StatusCode = h.status
	res.Status = strconv.Itoa(h.status)
	if len(h.reason) > 0 {
		res.Status += " " + string(h.reason)
	}
	res.Proto, res.ProtoMajor, res.ProtoMinor = "HTTP/1.1", 1, h.minor
	if h.minor == 0 {
		res.Proto = "HTTP/1.0"
	}
	res.Header = fieldsHeader(h.fields)
	res.Request = x.req
	res.Close = h.close
	if h.chunked {
		delete(res.Header, "Transfer-Encoding")
	}
	if h.framing == framingChunked {
		res.TransferEncoding = []string{"chunked"}
		if v, ok := res.Header["Trailer"]; ok {
			res.Trailer = declaredTrailers(v)
			delete(res.Header, "Trailer")
		}
	}
	if v := res.Header["Keep-Alive"]; len(v) > 0 {
		x.c.pool.learnKeepAlive(v[0])
	}
	conn.br.Discard(x.discard)
	switch {
	case h.status == http.StatusSwitchingProtocols:
		if x.stop != nil {
			x.stop()
		}
		x.released = true
		res.ContentLength = -1
		res.Body = &upgradedBody{conn}
		return res, nil
	case h.framing == framingNone:
		res.ContentLength = 0
		if x.req.Method == http.MethodHead {
			res.ContentLength = h.length
		}
		res.Body = http.NoBody
		x.finish(true)
		return res, nil
	case h.framing == framingLength:
		res.ContentLength = h.length
	default:
		res.ContentLength = -1
	}
	x.body.reset(conn.br, h.framing, h.length)
	res.Body = x
	return res, nil
}

// fail ends an exchange that failed before its response head was had, and
// returns the error to report: the context's error if it ended the
// exchange, the writer's if it failed first (a client body that broke, a
// write the backend refused), wrapped as not sent if no byte of the
// request was written. Like net/http's Transport it waits for the writer
// to stop, so that whether the request body was read is settled when the
// caller decides on a retry.
func (x *backendExchange) fail(ctx context.Context, err error) error {
	if x.stop != nil {
		x.stop()
	}
	x.released = true
	x.signalContinue(false)
	if x.wdone != nil {
		select {
		case werr := <-x.wdone:
			if werr != nil {
				err = werr
			}
		default:
			x.conn.abort()
			<-x.wdone
		}
	}
	x.conn.abort()
	switch {
	case x.aborted.Load():
		return ctx.Err()
	case x.conn.written.Load() == 0:
		return notSentError{err}
	}
	return err
}

// retryable reports whether the exchange, which failed with err on a
// connection from the pool, may be tried again on a new connection: it
// wrote no byte of the request (a body then was never read), or it wrote a bodiless idempotent
// request whose connection closed before any byte of response, which
// means the backend closed it while we were sending (as net/http's
// Transport judges).
func (x *backendExchange) retryable(ctx context.Context, err error) bool {
	if !x.conn.reused || x.unwritable || ctx.Err() != nil {
		return false
	}
	if _, ok := err.(notSentError); ok {
		return x.bodyLen == 0 || x.bodyKept
	}
	return x.bodyLen == 0 && !x.gotByte && isReplayable(x.req) &&
		(errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET))
}

// isReplayable reports whether req may be sent twice: an idempotent method,
// or an Idempotency-Key.
func isReplayable(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, ok := req.Header["Idempotency-Key"]
	return ok
}

// abort ends the exchange when its context ends: it runs in a goroutine of
// its own (context.AfterFunc).
func (x *backendExchange) abort() {
	x.aborted.Store(true)
	x.conn.abort()
}

// Read reads the response body. At its framed end the trailers go to
// Response.Trailer and the connection is released.
func (x *backendExchange) Read(p []byte) (int, error) {
	n, err := x.body.Read(p)
	switch {
	case err == nil:
	case err == io.EOF:
		if x.body.trailer != nil {
			if x.res.Trailer == nil {
				x.res.Trailer = make(http.Header, len(x.body.trailer))
			}
			for k, v := range x.body.trailer {
				x.res.Trailer[k] = v
			}
		}
		x.finish(true)
	default:
		x.finish(false)
		if x.aborted.Load() {
			if cerr := x.req.Context().Err(); cerr != nil {
				err = cerr
			}
		}
	}
	return n, err
}

// Close ends the exchange; before the body's end it closes the connection.
func (x *backendExchange) Close() error {
	x.finish(false)
	return nil
}

// finish releases the connection once the response ended, cleanly (its
// framing ended) or not. It is reused only if nothing is left unread, the
// whole request went out, and neither side asked to close.
func (x *backendExchange) finish(clean bool) {
	if x.released {
		return
	}
	x.released = true
	conn := x.conn
	reusable := clean && !x.head.close && !x.req.Close
	if x.stop != nil && !x.stop() {
		reusable = false // the context ended; abort is closing it
	}
	if clean && conn.br.Buffered() > 0 {
		x.c.stray()
		reusable = false
	}
	if reusable && x.wdone != nil {
		reusable = x.wroteAll()
	}
	x.c.release(conn, reusable)
}

// wroteAll reports whether the writer sent the whole request, waiting a
// little for it to say so: the backend can answer before the writer
// returned from its last write.
func (x *backendExchange) wroteAll() bool {
	if !x.wdoneSet {
		select {
		case x.werr = <-x.wdone:
		default:
			t := time.NewTimer(writeWaitBeforeReuse)
			select {
			case x.werr = <-x.wdone:
			case <-t.C:
				x.werr = errWriteUnfinished
			}
			t.Stop()
		}
		x.wdoneSet = true
	}
	return x.werr == nil
}

// errWriteUnfinished stands for the writer's result when it did not come in
// time.
var errWriteUnfinished = errors.New("frontdoor: request body still being written")

// upgradedBody is the body of a 101 response: the connection itself, which
// the caller now owns, reading first what was buffered.
type upgradedBody struct{ conn *backendConn }

func (u *upgradedBody) Read(p []byte) (int, error)  { return u.conn.br.Read(p) }
func (u *upgradedBody) Write(p []byte) (int, error) { return u.conn.Conn.Write(p) }
func (u *upgradedBody) Close() error                { u.conn.abort(); return nil }
