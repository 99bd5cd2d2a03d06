//go:build linux && (amd64 || arm64)

package frontdoor

import (
	"bytes"
	"syscall"
	"time"
	"unsafe"
)

// staticAtSymlinkNofollow is Linux's AT_SYMLINK_NOFOLLOW, which package
// syscall does not export.
const staticAtSymlinkNofollow = 0x100

// staticDirStatWorks tells whether staticDirVersion is implemented here.
const staticDirStatWorks = true

// staticDirVersion returns the version staticVersion would compute from
// an os.Root's Stat of name, relative to the root directory dirfd, if it
// is a regular file reached through real directories only: each
// intermediate component is checked with an fstatat that does not follow
// symlinks (a symlink, even one that stays inside, is left to the os.Root),
// then the file itself, not following a final symlink. No allocation for
// names under 256 bytes.
func staticDirVersion(dirfd int, name string) (staticVer, bool) {
	// The NUL-terminated name, on the stack for the common lengths.
	var buf [256]byte
	var p []byte
	if len(name) < len(buf) {
		p = buf[:len(name)+1]
		copy(p, name)
	} else {
		p = append([]byte(name), 0)
	}
	if bytes.IndexByte(p[:len(name)], 0) >= 0 {
		return staticVer{}, false
	}
	var st syscall.Stat_t
	for i := range len(name) {
		if p[i] != '/' {
			continue
		}
		p[i] = 0
		ok := staticFstatat(dirfd, p, &st) && st.Mode&syscall.S_IFMT == syscall.S_IFDIR
		p[i] = '/'
		if !ok {
			return staticVer{}, false
		}
	}
	if !staticFstatat(dirfd, p, &st) || st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return staticVer{}, false
	}
	return staticVer{
		size: st.Size,
		mod:  time.Unix(st.Mtim.Unix()).UnixNano(),
		chg:  st.Ctim.Nano(),
	}, true
}

// staticFstatat stats the NUL-terminated path p relative to dirfd without
// following a final symlink, and reports whether it succeeded.
func staticFstatat(dirfd int, p []byte, st *syscall.Stat_t) bool {
	_, _, errno := syscall.Syscall6(staticSysFstatat, uintptr(dirfd), uintptr(unsafe.Pointer(&p[0])),
		uintptr(unsafe.Pointer(st)), staticAtSymlinkNofollow, 0, 0)
	return errno == 0
}
