//go:build !linux

package frontdoor

import "io/fs"

// Elsewhere than on Linux a file version is its size and mod time, and an
// OpenDir FS checks it through the os.Root.

// staticChangeStamp returns 0: only Linux's inode change time is used so
// far.
func staticChangeStamp(fs.FileInfo) int64 { return 0 }

// staticDirStatWorks tells whether staticDirVersion is implemented here:
// it is not.
const staticDirStatWorks = false

func staticDirVersion(int, string) (staticVer, bool) { return staticVer{}, false }
