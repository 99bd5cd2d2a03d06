//go:build !linux

package frontdoor

import "io/fs"

// staticChangeStamp returns 0: only Linux's inode change time is used so
// far; elsewhere a file version is its size and mod time.
func staticChangeStamp(fs.FileInfo) int64 { return 0 }
