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

// staticDirVersion stats name relative to the directory descriptor dirfd
// with one fstatat, not following a final symlink, and returns the version
// staticVersion would compute from an os.Stat of the same file, if it is a
// regular file.
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
	_, _, errno := syscall.Syscall6(staticSysFstatat, uintptr(dirfd), uintptr(unsafe.Pointer(&p[0])),
		uintptr(unsafe.Pointer(&st)), staticAtSymlinkNofollow, 0, 0)
	if errno != 0 || st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return staticVer{}, false
	}
	return staticVer{
		size: st.Size,
		mod:  time.Unix(st.Mtim.Unix()).UnixNano(),
		chg:  st.Ctim.Nano(),
	}, true
}
