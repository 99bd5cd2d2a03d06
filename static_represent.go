package frontdoor

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
)

// Which representation of a file answers a request (the file, a
// precompressed sibling, or the file compressed by StaticFS), and where
// its bytes come from. ServeHTTP and the Server's fast path both go through
// represent, so a file is sent in the same coding, with the same headers,
// whichever path answers.

// staticRep is one representation of a file, ready to send: its metadata,
// and its content in memory (m.data, when f is nil) or in the open file f.
type staticRep struct {
	m       *staticMeta
	f       fs.File       // nil when the content comes from memory
	content io.ReadSeeker // f, as ServeContent reads it; nil with f
}

// close closes the representation's file, if it has one.
func (r staticRep) close() {
	if r.f != nil {
		r.f.Close()
	}
}

// errStaticNotFile is what openFile returns for a name that is not a
// regular file it can open: missing, a directory, forbidden. It is never
// shown to clients.
var errStaticNotFile = errors.New("not a regular file")

// cached returns the file name as named from memory: when its content is
// cached and its version current, which costs one stat and no open. Only
// names whose content was kept are stat'ed: a large file goes straight to
// Open, with no extra system call.
func (s *StaticFS) cached(name string) (staticRep, bool) {
	m := s.cache.peek(staticKey{name: name})
	if m == nil || m.data == nil || !s.current(name, m.ver) {
		return staticRep{}, false
	}
	return staticRep{m: m}, true
}

// current reports whether the file name is still the regular file of
// version v: through the quick check of an OpenDir FS when it applies,
// else with fs.Stat (the fs.FS's Stat, or an Open, Stat and Close, which
// for an embed.FS touch only memory).
func (s *StaticFS) current(name string, v staticVer) bool {
	if s.quick != nil {
		if qv, ok := s.quick.quickVersion(name); ok {
			return qv == v
		}
	}
	fi, err := fs.Stat(s.fsys, name)
	return err == nil && fi.Mode().IsRegular() && staticVersion(fi) == v
}

// lookup returns the regular file name as named: from memory if it can,
// else opened. The error is errStaticNotFile, or a read error (to be
// answered with a 500).
func (s *StaticFS) lookup(name string) (staticRep, error) {
	if rep, ok := s.cached(name); ok {
		return rep, nil
	}
	f, err := s.fsys.Open(name)
	if err != nil {
		return staticRep{}, errStaticNotFile
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return staticRep{}, errStaticNotFile
	}
	return s.load(name, f, fi)
}

// load returns the regular file f, named name and described by fi, as
// named: its metadata, computed on first sight of this version, and its
// content, from memory when it is kept there (f is then closed), else f.
// It takes ownership of f, closing it on error.
func (s *StaticFS) load(name string, f fs.File, fi fs.FileInfo) (staticRep, error) {
	content, err := staticSeeker(f, fi)
	if err != nil {
		f.Close()
		return staticRep{}, err
	}
	m, err := s.meta(name, content, fi)
	if err != nil {
		f.Close()
		return staticRep{}, err
	}
	if m.data != nil {
		f.Close()
		return staticRep{m: m}, nil
	}
	return staticRep{m: m, f: f, content: content}, nil
}

// represent returns the representation of the file name that a request
// with the Accept-Encoding values ae gets, given orig, the file as named:
// orig itself, its precompressed sibling in the coding negotiation picks,
// or the file compressed in that coding by StaticFS. It is the one place
// that choice is made. It takes ownership of orig. ok is false, and orig
// closed, when the client refuses every coding on offer, identity
// included. A sibling or compressed variant that cannot be had is logged
// with ctx, and orig is sent instead.
func (s *StaticFS) represent(ctx context.Context, name string, orig staticRep, ae []string) (rep staticRep, ok bool) {
	enc, ok := negotiateEncoding(ae, orig.m.offered())
	switch {
	case !ok:
		orig.close()
		return staticRep{}, false
	case enc == encIdentity:
		return orig, true
	case orig.m.sibling[enc] != "":
		rep, ok = s.sibling(ctx, name, orig.m, enc)
	default:
		rep, ok = s.compressed(ctx, name, orig, enc)
	}
	if !ok {
		return orig, true
	}
	orig.close()
	return rep, true
}

// sibling returns the precompressed sibling in coding enc of the file
// name, whose metadata is orig: from memory when its content is cached and
// its version current, else opened. ok is false when it cannot be sent; if
// it is gone for good, orig's cache entry stops offering it.
func (s *StaticFS) sibling(ctx context.Context, name string, orig *staticMeta, enc contentEncoding) (rep staticRep, ok bool) {
	sib := orig.sibling[enc]
	if m := s.cache.peek(staticKey{name: name, enc: enc}); m != nil && m.data != nil && s.current(sib, m.ver) {
		return staticRep{m: m}, true
	}
	f, err := s.fsys.Open(sib)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			s.forgetSibling(name, orig, enc)
		}
		return staticRep{}, false
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			s.forgetSibling(name, orig, enc)
		}
		return staticRep{}, false
	}
	content, err := staticSeeker(f, fi)
	if err == nil {
		rep.m, err = s.siblingMeta(name, enc, content, fi, orig)
	}
	if err != nil {
		f.Close()
		s.logger.LogAttrs(ctx, slog.LevelError, "frontdoor: static read failed",
			slog.String("path", sib), slog.Any("err", err))
		return staticRep{}, false
	}
	if rep.m.data != nil {
		f.Close()
		return rep, true
	}
	rep.f, rep.content = f, content
	return rep, true
}

// forgetSibling records that the enc sibling of the file name, whose
// cached metadata is orig, no longer exists: orig's entry (if it still is
// name's) is replaced by a copy without that sibling and the sibling's
// own entry is dropped, so that later requests neither look for it nor
// keep its content.
func (s *StaticFS) forgetSibling(name string, orig *staticMeta, enc contentEncoding) {
	s.cache.replace(staticKey{name: name}, orig, s.withoutSibling(orig, enc))
	s.cache.remove(staticKey{name: name, enc: enc})
}
