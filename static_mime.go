package frontdoor

import "strings"

// staticTypes is the Content-Type table StaticFS ships. It is never
// mutated: NewStaticFS copies it before applying WithContentTypes. Go's mime
// package is not used for it because /etc/mime.types and the Windows
// registry override Go's built-in table (golang/go#32350 served .js as
// text/plain), so the answer would depend on the host.
//
// Text types carry "; charset=utf-8". Unknown extensions are sniffed.
func staticTypes() map[string]string {
	return map[string]string{
		// documents and code
		".html":        "text/html; charset=utf-8",
		".htm":         "text/html; charset=utf-8",
		".xhtml":       "application/xhtml+xml; charset=utf-8",
		".css":         "text/css; charset=utf-8",
		".js":          "text/javascript; charset=utf-8",
		".mjs":         "text/javascript; charset=utf-8",
		".cjs":         "text/javascript; charset=utf-8",
		".json":        "application/json; charset=utf-8",
		".map":         "application/json; charset=utf-8",
		".webmanifest": "application/manifest+json; charset=utf-8",
		".wasm":        "application/wasm",
		".txt":         "text/plain; charset=utf-8",
		".md":          "text/markdown; charset=utf-8",
		".csv":         "text/csv; charset=utf-8",
		".xml":         "text/xml; charset=utf-8",
		".pdf":         "application/pdf",
		// images
		".svg":  "image/svg+xml; charset=utf-8",
		".png":  "image/png",
		".apng": "image/apng",
		".jpg":  "image/jpeg",
		".jpeg": "image/jpeg",
		".gif":  "image/gif",
		".webp": "image/webp",
		".avif": "image/avif",
		".ico":  "image/vnd.microsoft.icon",
		".bmp":  "image/bmp",
		// fonts
		".woff":  "font/woff",
		".woff2": "font/woff2",
		".ttf":   "font/ttf",
		".otf":   "font/otf",
		".eot":   "application/vnd.ms-fontobject",
		// audio and video
		".mp4":  "video/mp4",
		".webm": "video/webm",
		".ogg":  "audio/ogg",
		".mp3":  "audio/mpeg",
		".wav":  "audio/wav",
		".m4a":  "audio/mp4",
		".flac": "audio/flac",
		// archives and opaque data
		".zip": "application/zip",
		".gz":  "application/gzip",
		".br":  "application/octet-stream",
		".bin": "application/octet-stream",
	}
}

// newStaticTypes returns the shipped table with the handler's additions and
// overrides applied, keys lower-cased.
func newStaticTypes(extra map[string]string) map[string]string {
	t := staticTypes()
	for ext, ctype := range extra {
		t[strings.ToLower(ext)] = ctype
	}
	return t
}

// staticExt returns the extension of the last element of the slash-separated
// name, including the dot, or "" if it has none. A leading dot (".env") is
// not an extension.
func staticExt(name string) string {
	for i := len(name) - 1; i > 0; i-- {
		switch name[i] {
		case '/':
			return ""
		case '.':
			if name[i-1] == '/' {
				return ""
			}
			return name[i:]
		}
	}
	return ""
}

// contentType returns the Content-Type for name from the handler's table,
// or "" when the extension is unknown and the content must be sniffed.
func (s *StaticFS) contentType(name string) string {
	ext := staticExt(name)
	if ext == "" {
		return ""
	}
	if t, ok := s.types[ext]; ok {
		return t
	}
	return s.types[strings.ToLower(ext)]
}
