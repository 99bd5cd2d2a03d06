//go:build !linux || !(amd64 || arm64)

package frontdoor

// staticDirStatWorks tells whether staticDirVersion is implemented here: it
// is not, so StaticFS asks the os.Root.
const staticDirStatWorks = false

func staticDirVersion(int, string) (staticVer, bool) { return staticVer{}, false }
