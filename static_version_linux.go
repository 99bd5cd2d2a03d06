package frontdoor

import (
	"io/fs"
	"syscall"
)

// staticChangeStamp returns the inode change time of the file fi describes,
// in nanoseconds, or 0 when fi does not come from the OS. Unlike the mod
// time, no tool can set it back: any write, rename or chmod moves it.
func staticChangeStamp(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ctim.Nano()
	}
	return 0
}
