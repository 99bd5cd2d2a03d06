package frontdoor

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// The dynamic compressor of a Mux route given WithCompression: it
// compresses a handler's responses as they are written, with gzip or zstd
// as the client accepts.

const (
	// compressMaxActive bounds the responses of one route compressed at
	// once, and so the memory of their encoders: about 1 MiB each for gzip
	// and 1.6 MiB for zstd (BenchmarkCompressHandlerConcurrent measures
	// it). Responses beyond it are sent as they are.
	compressMaxActive = 128
	// compressMaxIdle bounds the idle encoders kept for reuse, per coding.
	compressMaxIdle = 32
	// compressZstdWindow is the zstd window of live responses: enough for
	// API responses, and a quarter of the memory of zstd's default.
	compressZstdWindow = 64 << 10
)

// compressHandler compresses the responses of next. It is safe for
// concurrent use.
type compressHandler struct {
	next      http.Handler
	cfg       *compressConfig
	maxActive int64
	active    atomic.Int64 // encoders in use
	pools     [numEncodings]chan compressEncoder
	varyAE    []string // shared, never modified
}

// compressEncoder is a streaming encoder: a *gzip.Writer or a
// *zstd.Encoder.
type compressEncoder interface {
	io.WriteCloser
	Flush() error
	Reset(io.Writer)
}

func newCompressHandler(next http.Handler, cfg *compressConfig) *compressHandler {
	h := &compressHandler{next: next, cfg: cfg, maxActive: compressMaxActive, varyAE: []string{"Accept-Encoding"}}
	for _, e := range [...]contentEncoding{encGzip, encZstd} {
		h.pools[e] = make(chan compressEncoder, compressMaxIdle)
	}
	return h
}

// ServeHTTP calls the handler with a ResponseWriter that compresses what
// it writes, when the client and the response allow it. Upgrade requests
// reach the handler untouched.
func (h *compressHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if compressIsUpgrade(r) {
		h.next.ServeHTTP(w, r)
		return
	}
	enc, _ := negotiateEncoding(r.Header["Accept-Encoding"], encodingSet(0).with(encZstd).with(encGzip))
	cw := &compressWriter{ResponseWriter: w, h: h, enc: enc, head: r.Method == http.MethodHead}
	finished := false
	defer func() {
		if !finished { // the handler panicked: give the encoder back only
			cw.release()
		}
	}()
	h.next.ServeHTTP(cw, r)
	cw.finish()
	finished = true
}

// compressIsUpgrade reports whether r asks to switch protocols.
func compressIsUpgrade(r *http.Request) bool {
	if len(r.Header["Upgrade"]) == 0 {
		return false
	}
	for _, v := range r.Header["Connection"] {
		for tok := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
				return true
			}
		}
	}
	return false
}

// acquire returns an encoder of coding enc writing to w, or nil when
// compressMaxActive encoders are in use.
func (h *compressHandler) acquire(enc contentEncoding, w io.Writer) compressEncoder {
	if h.active.Add(1) > h.maxActive {
		h.active.Add(-1)
		return nil
	}
	select {
	case e := <-h.pools[enc]:
		e.Reset(w)
		return e
	default:
	}
	if enc == encGzip {
		zw, _ := gzip.NewWriterLevel(w, h.cfg.gzipLevel) // the level was validated
		return zw
	}
	zw, _ := zstd.NewWriter(w, zstd.WithEncoderLevel(h.cfg.zstdLevel), zstd.WithEncoderConcurrency(1),
		zstd.WithLowerEncoderMem(true), zstd.WithWindowSize(compressZstdWindow))
	return zw
}

// release gives back an encoder that acquire returned.
func (h *compressHandler) release(enc contentEncoding, e compressEncoder) {
	h.active.Add(-1)
	e.Reset(io.Discard) // drop the response it wrote to
	select {
	case h.pools[enc] <- e:
	default: // enough idle ones: let the garbage collector have it
	}
}

// compressState is where a compressWriter stands.
type compressState uint8

const (
	compressPending     compressState = iota // deciding: status and up to MinSize bytes held
	compressPassThrough                      // sending the response as the handler writes it
	compressEncoding                         // sending it through an encoder
)

// compressWriter is the ResponseWriter a compressHandler gives its
// handler. It holds the status and the first bytes until it can decide
// whether to compress: once MinSize bytes are written, the handler
// flushes, or it returns. It must not be used after the handler returns.
type compressWriter struct {
	http.ResponseWriter
	h     *compressHandler
	enc   contentEncoding // the coding the client takes; identity for none
	head  bool            // the request is a HEAD
	state compressState
	code  int    // the status held while pending; 0 until written
	buf   []byte // the body held while pending
	zw    compressEncoder
}

// WriteHeader holds the status until the body decides; informational
// statuses go out at once, and 101 Switching Protocols passes through.
func (cw *compressWriter) WriteHeader(code int) {
	switch {
	case cw.state != compressPending || cw.code != 0:
		if cw.state == compressPassThrough {
			cw.ResponseWriter.WriteHeader(code) // net/http reports the superfluous call
		}
		return
	case code == http.StatusSwitchingProtocols:
		cw.state = compressPassThrough
		cw.ResponseWriter.WriteHeader(code)
		return
	case code >= 100 && code < 200:
		cw.ResponseWriter.WriteHeader(code)
		return
	}
	cw.code = code
	if !cw.eligible() || cw.knownLength() >= cw.h.cfg.minSize {
		cw.start(false, nil)
	}
}

// Write compresses p, sends it as is, or holds it while pending.
func (cw *compressWriter) Write(p []byte) (int, error) {
	if cw.state == compressPending && cw.code == 0 {
		cw.WriteHeader(http.StatusOK)
	}
	switch cw.state {
	case compressPassThrough:
		return cw.ResponseWriter.Write(p)
	case compressEncoding:
		return cw.zw.Write(p)
	}
	if int64(len(cw.buf)+len(p)) < cw.h.cfg.minSize {
		cw.buf = append(cw.buf, p...)
		return len(p), nil
	}
	return cw.start(false, p)
}

// Flush sends what was written so far: a pending response is decided
// (compressed if eligible whatever its size: the handler streams), and
// the encoder flushes a block the client can decode at once.
func (cw *compressWriter) Flush() { cw.FlushError() }

// FlushError is Flush, reporting the error; [net/http.ResponseController]
// calls it.
func (cw *compressWriter) FlushError() error {
	switch cw.state {
	case compressPending:
		cw.start(true, nil)
	case compressEncoding:
		if err := cw.zw.Flush(); err != nil {
			return err
		}
	}
	return http.NewResponseController(cw.ResponseWriter).Flush()
}

// Unwrap lets [net/http.ResponseController] reach the underlying writer.
func (cw *compressWriter) Unwrap() http.ResponseWriter { return cw.ResponseWriter }

// finish ends the response after the handler returned: a pending one is
// decided (a body below MinSize is sent as it is), an encoded one gets
// its trailer.
func (cw *compressWriter) finish() {
	if cw.state == compressPending {
		if cw.code == 0 && len(cw.buf) == 0 {
			return // nothing written: net/http sends its 200
		}
		cw.start(false, nil)
	}
	if cw.state == compressEncoding {
		cw.zw.Close()
		cw.release()
	}
}

// release gives the encoder back, if there is one.
func (cw *compressWriter) release() {
	if cw.zw != nil {
		cw.h.release(cw.enc, cw.zw)
		cw.zw = nil
	}
}

// knownLength returns the Content-Length the handler set, or -1.
func (cw *compressWriter) knownLength() int64 {
	v := cw.Header()["Content-Length"]
	if len(v) != 1 {
		return -1
	}
	n, err := strconv.ParseInt(v[0], 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// eligible reports whether the response, as far as its status and headers
// tell, may be compressed: not a HEAD, 204, 206 or 304 answer, not encoded
// already, not "Cache-Control: no-transform", not below MinSize by its
// Content-Length, and of a compressible type (or of none yet: it is
// sniffed when the body comes).
func (cw *compressWriter) eligible() bool {
	h := cw.Header()
	switch {
	case cw.head, cw.code == http.StatusNoContent, cw.code == http.StatusPartialContent,
		cw.code == http.StatusNotModified:
		return false
	case len(h["Content-Encoding"]) > 0:
		return false
	case compressHasToken(h["Cache-Control"], "no-transform"):
		return false
	}
	if n := cw.knownLength(); n >= 0 && n < cw.h.cfg.minSize {
		return false
	}
	ct, ok := h["Content-Type"]
	return !ok || len(ct) == 0 || cw.h.cfg.compressible(ct[0])
}

// start decides, sends the status and what was held, then p, and moves
// on to passing the body through or encoding it. streaming says the
// handler flushed: a body below MinSize is compressed then too. It
// returns what writing p returned.
func (cw *compressWriter) start(streaming bool, p []byte) (int, error) {
	h := cw.Header()
	if cw.code == 0 {
		cw.code = http.StatusOK
	}
	if _, ok := h["Content-Type"]; !ok && len(cw.buf)+len(p) > 0 && cw.eligible() {
		// What net/http would send; sniffed from the compressed bytes
		// it would be wrong.
		sniff := p
		if len(cw.buf) > 0 {
			sniff = append(cw.buf, p[:min(len(p), 512)]...)
		}
		h["Content-Type"] = []string{http.DetectContentType(sniff)}
	}
	cw.state = compressPassThrough
	floor := cw.h.cfg.minSize
	big := streaming || int64(len(cw.buf)+len(p)) >= floor || cw.knownLength() >= floor
	if big && cw.eligible() {
		// Whether it is compressed depends on Accept-Encoding now.
		staticAddVary(h, cw.h.varyAE)
		if cw.enc != encIdentity {
			if cw.zw = cw.h.acquire(cw.enc, cw.ResponseWriter); cw.zw != nil {
				cw.state = compressEncoding
				delete(h, "Content-Length")
				delete(h, "Accept-Ranges") // ranges of these bytes are not served
				if et := h.Get("Etag"); et != "" && !strings.HasPrefix(et, "W/") {
					h.Set("Etag", "W/"+et)
				}
				h["Content-Encoding"] = []string{cw.enc.String()}
			}
		}
	}
	cw.ResponseWriter.WriteHeader(cw.code)
	out := io.Writer(cw.ResponseWriter)
	if cw.state == compressEncoding {
		out = cw.zw
	}
	buf := cw.buf
	cw.buf = nil
	if len(buf) > 0 {
		if _, err := out.Write(buf); err != nil {
			return 0, err
		}
	}
	if len(p) == 0 {
		return 0, nil
	}
	return out.Write(p)
}

// compressHasToken reports whether the comma-separated values hold token,
// compared case-insensitively, with or without a "=value".
func compressHasToken(values []string, token string) bool {
	for _, v := range values {
		for tok := range strings.SplitSeq(v, ",") {
			name, _, _ := strings.Cut(tok, "=")
			if strings.EqualFold(strings.TrimSpace(name), token) {
				return true
			}
		}
	}
	return false
}
