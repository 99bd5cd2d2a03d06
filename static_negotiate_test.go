package frontdoor

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestNegotiateEncoding(t *testing.T) {
	all := encodingSet(0).with(encBrotli).with(encZstd).with(encGzip)
	brGz := encodingSet(0).with(encBrotli).with(encGzip)
	gzOnly := encodingSet(0).with(encGzip)
	const refused = numEncodings // want: ok is false
	tests := []struct {
		give    string
		offered encodingSet
		want    contentEncoding
	}{
		{"", all, encIdentity},
		{"br", all, encBrotli},
		{"zstd", all, encZstd},
		{"gzip", all, encGzip},
		{"gzip, deflate, br, zstd", all, encBrotli},
		{"gzip, deflate, br, zstd", gzOnly, encGzip},
		{"gzip, zstd", all, encZstd},
		{"gzip, zstd", brGz, encGzip},
		{"GZIP;q=1.0, BR;q=0.5", all, encGzip},
		{"zstd;q=0.9, gzip", all, encGzip},
		{"br;q=0, gzip", all, encGzip},
		{"br;q=0, gzip;q=0", brGz, encIdentity},
		{"br;q=0.000, gzip;q=0.0", brGz, encIdentity},
		{"*", all, encBrotli},
		{"*, br;q=0", all, encZstd},
		{"*, br;q=0, zstd;q=0", all, encGzip},
		{"*;q=0", all, refused},
		{"*;q=0", 0, refused},
		{"*;q=0, identity", all, encIdentity},
		{"*;q=0.5, gzip", all, encGzip},
		{"identity", all, encIdentity},
		{"identity;q=0", all, refused},
		{"identity;q=0", 0, refused},
		{"identity;q=0, gzip", all, encGzip},
		{"identity;q=0, gzip;q=0", all, refused},
		{"identity;q=0, br", gzOnly, refused},
		{"identity;q=0.5, gzip", all, encGzip},
		{"identity, gzip;q=0.5", all, encIdentity},
		{"identity;q=0.5, gzip;q=0.5", all, encGzip},
		{"gzip;q=0.5", all, encGzip},
		{"gzip;q=0", 0, encIdentity},
		{"deflate", all, encIdentity},
		{"br;q=bogus", all, encIdentity},
		{"br;q=1.5", all, encIdentity},
		{"x-gzip", all, encGzip},
		{" br ; q=0.8 , gzip ; q=0.9", all, encGzip},
		{"br", gzOnly, encIdentity},
		{"br, gzip;q=0.1", gzOnly, encGzip},
		{"gzip", 0, encIdentity},
		{",,;q=0, ,", all, encIdentity},
	}
	for _, tt := range tests {
		got, ok := negotiateEncoding([]string{tt.give}, tt.offered)
		if tt.want == refused {
			assert.False(t, ok, "%q", tt.give)
			continue
		}
		assert.True(t, ok, "%q", tt.give)
		assert.Equal(t, tt.want, got, "%q", tt.give)
	}
	got, ok := negotiateEncoding([]string{"identity", "gzip"}, all)
	assert.True(t, ok)
	assert.Equal(t, encGzip, got, "several fields are one list")
	got, ok = negotiateEncoding(nil, all)
	assert.True(t, ok)
	assert.Equal(t, encIdentity, got, "no Accept-Encoding, no coding")
}

func TestContentEncodingNames(t *testing.T) {
	tests := []struct {
		give          contentEncoding
		wantToken     string
		wantExtension string
	}{
		{encIdentity, "", ""},
		{encBrotli, "br", ".br"},
		{encZstd, "zstd", ".zst"},
		{encGzip, "gzip", ".gz"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.wantToken, tt.give.String())
		assert.Equal(t, tt.wantExtension, tt.give.siblingExt())
	}
}

func TestStaticAcceptsHTML(t *testing.T) {
	tests := []struct {
		give string
		want bool
	}{
		{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", true},
		{"TEXT/HTML", true},
		{"*/*", false},
		{"application/json", false},
		{"text/html;q=0", false},
		{"", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, staticAcceptsHTML([]string{tt.give}), "%q", tt.give)
	}
}
