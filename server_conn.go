package frontdoor

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync/atomic"
	"time"
)

// fastBufSize is the fast path's read buffer: a request whose header block
// does not fit goes to net/http (whose limit, MaxHeaderBytes plus 4 KiB,
// is never smaller).
const fastBufSize = 4 << 10

// fastWritevMin is the body size from which a response goes out with
// writev, head and body apart, rather than copied behind the head.
const fastWritevMin = 8 << 10

// fastOutMax is how many bytes of answers the fast path copies before it
// writes them, even with more pipelined requests to answer: a client that
// pipelines requests and reads nothing holds no more of the server's
// memory than that.
const fastOutMax = 32 << 10

// States of a fast connection, for Shutdown and Close.
const (
	fastWorking int32 = iota // between reads: answering or handing over
	fastReading              // blocked reading (idle or mid-header)
	fastNew                  // blocked reading the first request
	fastClosed               // closed by Shutdown or Close
)

// fastNewGrace is how long Shutdown and SetKeepAlivesEnabled leave a
// connection to send its first request before they count it idle, as
// net/http does (issue 22682).
const fastNewGrace = 5 * time.Second

// fastConn is one connection served by the fast path.
type fastConn struct {
	srv   *Server
	rwc   net.Conn
	start time.Time // the accept
	state atomic.Int32

	buf      []byte    // read buffer, fastBufSize
	n        int       // bytes in buf
	scanned  int       // bytes of buf known to hold no "\r\n\r\n" end
	reqStart time.Time // when the header timeout of the next request started
	idleSet  bool      // the idle deadline since the last answer is set
	served   int       // requests answered

	out     []byte      // responses not yet written
	large   []fastLarge // large bodies to send after parts of out
	bufs    net.Buffers // for writev, when a body is large
	rdl     time.Time   // the read deadline set, zero for none
	wdl     time.Time   // the write deadline set, zero for none
	broken  bool        // a response was cut short: close
	done    int         // len(out) before the answer being made
	request fastRequest
}

// newFastConn returns the fast connection for rwc, just accepted: the
// first request's header timeout counts from now, as in net/http.
func newFastConn(s *Server, rwc net.Conn) *fastConn {
	now := time.Now()
	return &fastConn{srv: s, rwc: rwc, start: now, buf: make([]byte, fastBufSize), reqStart: now}
}

// serve answers requests until the connection ends or must be handed over.
func (c *fastConn) serve() {
	handedOver := false
	defer func() {
		if p := recover(); p != nil {
			c.panicked(p)
		}
		if !handedOver {
			c.rwc.Close()
		}
		c.srv.trackConn(c, false)
	}()
	end := c.headerEnd()
	for {
		if end < 0 {
			if end == fastBareLF && c.begun() || c.n == len(c.buf) {
				handedOver = c.handOver()
				return
			}
			if err := c.read(); err != nil {
				if err == io.EOF && c.n > 0 && c.begun() {
					// The client stopped sending in the middle of a
					// request, which net/http answers with a 400.
					handedOver = c.handOver()
				}
				return
			}
			end = c.headerEnd()
			continue
		}
		closing := c.srv.closing.Load() || c.srv.noKeepAlives.Load()
		c.done = len(c.out)
		if !parseFastRequest(c.buf[:end], &c.request) || !c.answer(&c.request, closing) {
			handedOver = c.handOver()
			return
		}
		c.consume(end)
		if c.broken {
			return
		}
		if closing {
			c.flush()
			return
		}
		// The next request's end, found once: both the flush below and
		// the next round need it.
		end = c.headerEnd()
		if end < 0 || len(c.out) >= fastOutMax {
			// Nothing else complete to answer, or enough to send: send
			// what we have before going on.
			if !c.flush() {
				return
			}
		}
	}
}

// panicked handles a panic p while answering (in the fs.FS, say) as
// net/http handles one in a handler: it logs it with the stack, and the
// connection is closed once the answers made before are sent, without
// any of the one that panicked.
func (c *fastConn) panicked(p any) {
	if p != http.ErrAbortHandler {
		buf := make([]byte, 64<<10)
		buf = buf[:runtime.Stack(buf, false)]
		c.srv.logf("http: panic serving %v: %v\n%s", c.rwc.RemoteAddr(), p, buf)
	}
	c.out = c.out[:min(c.done, len(c.out))]
	for len(c.large) > 0 && c.large[len(c.large)-1].at > len(c.out) {
		c.large = c.large[:len(c.large)-1] // a body of the answer dropped
	}
	c.flush()
}

// begun reports whether net/http would have begun reading the request in
// buf: at once for the first on a connection, but for a later one only
// once it has 4 bytes of it (if the client stops sending before, it closes
// the connection without an answer).
func (c *fastConn) begun() bool {
	return c.served == 0 || c.n >= 4
}

// fastBareLF is what headerEnd returns when a line ends in a bare LF:
// net/http takes such requests, the fast path leaves them to it.
const fastBareLF = -2

// headerEnd returns the length of the header block at the start of buf,
// "\r\n\r\n" included, -1 if it is not complete yet, or fastBareLF.
func (c *fastConn) headerEnd() int {
	from := max(c.scanned-3, 0)
	i := bytes.Index(c.buf[from:c.n], crlfcrlf)
	end := c.n
	if i >= 0 {
		end = from + i + 4
	}
	for j := c.scanned; j < end; j++ {
		k := bytes.IndexByte(c.buf[j:end], '\n')
		if k < 0 {
			break
		}
		j += k
		if j == 0 || c.buf[j-1] != '\r' {
			return fastBareLF
		}
	}
	if i < 0 {
		c.scanned = c.n
		return -1
	}
	return end
}

// consume drops the first n bytes of buf, a request just answered.
func (c *fastConn) consume(n int) {
	c.n = copy(c.buf, c.buf[n:c.n])
	c.scanned = 0
	c.idleSet = false
	if c.begun() {
		c.reqStart = time.Now()
	}
	c.served++
}

// read reads more of the next request, under the deadline that net/http
// would set. It returns the read's error, or net.ErrClosed if Shutdown or
// Close closed the connection.
func (c *fastConn) read() error {
	reading := fastReading
	if c.served == 0 {
		reading = fastNew
	}
	if !c.state.CompareAndSwap(fastWorking, reading) {
		return net.ErrClosed
	}
	c.setReadDeadline()
	m, err := c.rwc.Read(c.buf[c.n:])
	if !c.state.CompareAndSwap(reading, fastWorking) {
		return net.ErrClosed
	}
	if c.served > 0 && c.n < 4 && c.n+m >= 4 {
		// A later request's header timeout starts with its fourth byte,
		// when net/http begins reading it; the first request's started
		// with the accept.
		c.reqStart = time.Now()
	}
	c.n += m
	return err
}

// setReadDeadline sets the deadline for the read about to happen, as
// net/http does: the idle timeout from the last answer while waiting for
// the first 4 bytes of a later request, then the header timeout from the
// fourth byte; for the first request, the header timeout from the accept.
func (c *fastConn) setReadDeadline() {
	hs := c.srv.srv
	headerTimeout := c.srv.headerTimeout()
	idle := hs.IdleTimeout
	if idle == 0 {
		idle = hs.ReadTimeout
	}
	now := time.Now()
	var want time.Time
	var d time.Duration
	switch {
	case c.begun():
		d = headerTimeout
		if d > 0 {
			want = c.reqStart.Add(d)
		}
	case c.idleSet:
		// net/http waits for the first 4 bytes of a request under the
		// idle deadline it set after the last answer.
		return
	default:
		d = idle
		if d > 0 {
			want = now.Add(d)
		}
		c.idleSet = true
	}
	if moveDeadline(c.rdl, want, d) {
		c.rdl = want
		c.rwc.SetReadDeadline(want)
	}
}

// headerTimeout returns the time net/http allows for reading a request's
// header: ReadHeaderTimeout, or ReadTimeout if that is zero; zero or
// negative for no limit.
func (s *Server) headerTimeout() time.Duration {
	if d := s.srv.ReadHeaderTimeout; d != 0 {
		return d
	}
	return s.srv.ReadTimeout
}

// setWriteDeadline sets the write deadline net/http would: WriteTimeout
// from the end of the request's header.
func (c *fastConn) setWriteDeadline() {
	d := c.srv.srv.WriteTimeout
	var want time.Time
	if d > 0 {
		want = time.Now().Add(d)
	}
	if moveDeadline(c.wdl, want, d) {
		c.wdl = want
		c.rwc.SetWriteDeadline(want)
	}
}

// moveDeadline reports whether a deadline set at cur must be moved to
// want, the deadline for a timeout d (zero want: none). It is moved when
// it must be removed, set, made earlier, or made later by more than d/16:
// a timeout then fires at most a sixteenth early, and a busy connection
// seldom pays the system call.
func moveDeadline(cur, want time.Time, d time.Duration) bool {
	switch {
	case want.IsZero():
		return !cur.IsZero()
	case cur.IsZero(), want.Before(cur):
		return true
	}
	return want.Sub(cur) > d/16
}

// answer appends the response to r to out and reports whether the fast
// path could answer it. closing adds "Connection: close".
func (c *fastConn) answer(r *fastRequest, closing bool) bool {
	st := c.srv.fast.fastStatic(r.path)
	if st == nil {
		return false
	}
	head, body, file, ok := st.fastAnswer(r.path, r.acceptEncoding())
	if !ok {
		return false
	}
	if file != nil {
		defer file.close()
	}
	// The order net/http writes in: the handler's fields sorted (head),
	// then Date, then Connection.
	c.out = append(c.out, head...)
	c.out = append(c.out, "Date: "...)
	c.out = append(c.out, c.srv.dateValue(time.Now())...)
	if closing {
		c.out = append(c.out, "\r\nConnection: close"...)
	}
	c.out = append(c.out, "\r\n\r\n"...)
	if r.head {
		return true
	}
	if file != nil {
		c.sendFile(file)
		return true
	}
	if len(body) == 0 {
		return true
	}
	if len(body) < fastWritevMin {
		c.out = append(c.out, body...)
		return true
	}
	// A large body goes out as is, behind what came before it.
	c.large = append(c.large, fastLarge{at: len(c.out), body: body})
	return true
}

// sendFile sends what was gathered, then the file; with an *os.File over
// TCP the kernel copies it (sendfile). If the file cannot be sent whole the
// response is cut short, so the connection is marked broken, to be closed,
// as net/http closes it.
func (c *fastConn) sendFile(file *fastFile) {
	// Like net/http, send the first bytes of the body with the head: a
	// head in a packet of its own slows some clients down (wrk by a fifth
	// on a 1 MiB file).
	first := min(file.size, 512)
	at := len(c.out)
	c.out = append(c.out, make([]byte, first)...)
	n, err := io.ReadFull(file.content, c.out[at:])
	c.out = c.out[:at+n]
	if err != nil {
		c.flush()
		c.broken = true
		return
	}
	if !c.flush() {
		c.broken = true
		return
	}
	sent, err := io.CopyN(c.rwc, file.content, file.size-first)
	if err != nil || sent != file.size-first {
		c.broken = true
	}
}

// fastLarge is a large body to send, uncopied, after out[:at].
type fastLarge struct {
	at   int
	body []byte
}

// flush writes the responses gathered and reports whether it succeeded.
func (c *fastConn) flush() bool {
	if len(c.large) == 0 && len(c.out) == 0 {
		return true
	}
	c.setWriteDeadline()
	var err error
	if len(c.large) == 0 {
		_, err = c.rwc.Write(c.out)
	} else {
		prev := 0
		for _, l := range c.large {
			c.bufs = append(c.bufs, c.out[prev:l.at], l.body)
			prev = l.at
		}
		if prev < len(c.out) {
			c.bufs = append(c.bufs, c.out[prev:])
		}
		bufs := c.bufs // WriteTo consumes its receiver
		_, err = bufs.WriteTo(c.rwc)
		clear(c.bufs)
		c.bufs = c.bufs[:0]
		clear(c.large)
		c.large = c.large[:0]
	}
	c.out = c.out[:0]
	return err == nil
}

// handOver sends what was answered, then gives the connection, with the
// bytes read but not answered, to the wrapped server. It reports whether
// it did (if not, the connection is to be closed).
func (c *fastConn) handOver() bool {
	if !c.flush() {
		return false
	}
	if !c.state.CompareAndSwap(fastWorking, fastClosed) {
		return false
	}
	// net/http sets the deadlines it wants, and none where it wants none.
	if !c.rdl.IsZero() || !c.wdl.IsZero() {
		c.rwc.SetDeadline(time.Time{})
	}
	var rc net.Conn = c.rwc
	if c.n > 0 {
		// net/http would give the request begun a new header timeout;
		// it gets what is left of its own.
		var hdl time.Time
		if d := c.srv.headerTimeout(); d > 0 {
			hdl = c.reqStart.Add(d)
		}
		rc = &replayConn{Conn: c.rwc, pending: bytes.Clone(c.buf[:c.n]), headerDeadline: hdl}
	}
	c.srv.handoff.give(rc)
	return true
}

// closeIfIdle closes the connection if it is waiting for a request. Like
// net/http, it leaves a new connection fastNewGrace to send its first
// request.
func (c *fastConn) closeIfIdle() {
	if c.state.CompareAndSwap(fastReading, fastClosed) ||
		time.Since(c.start) > fastNewGrace && c.state.CompareAndSwap(fastNew, fastClosed) {
		c.rwc.Close()
	}
}

// close closes the connection whatever it is doing, unless it was handed
// over.
func (c *fastConn) close() {
	if c.state.Swap(fastClosed) != fastClosed {
		c.rwc.Close()
	}
}
