package frontdoor

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestNegotiateEncoding(t *testing.T) {
	both := encodingSet(0).with(encBrotli).with(encGzip)
	gzOnly := encodingSet(0).with(encGzip)
	tests := []struct {
		give    string
		offered encodingSet
		want    contentEncoding
	}{
		{"", both, encIdentity},
		{"br", both, encBrotli},
		{"gzip", both, encGzip},
		{"gzip, deflate, br, zstd", both, encBrotli},
		{"GZIP;q=1.0, BR;q=0.5", both, encGzip},
		{"br;q=0, gzip", both, encGzip},
		{"br;q=0, gzip;q=0", both, encIdentity},
		{"br;q=0.000, gzip;q=0.0", both, encIdentity},
		{"*", both, encBrotli},
		{"*, br;q=0", both, encGzip},
		{"*;q=0", both, encIdentity},
		{"*;q=0.5, gzip", both, encGzip},
		{"identity", both, encIdentity},
		{"deflate", both, encIdentity},
		{"br;q=bogus", both, encIdentity},
		{"br;q=1.5", both, encIdentity},
		{"x-gzip", both, encGzip},
		{" br ; q=0.8 , gzip ; q=0.9", both, encGzip},
		{"br", gzOnly, encIdentity},
		{"br, gzip;q=0.1", gzOnly, encGzip},
		{"gzip", 0, encIdentity},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, negotiateEncoding([]string{tt.give}, tt.offered), "%q", tt.give)
	}
	assert.Equal(t, encGzip, negotiateEncoding([]string{"identity", "gzip"}, both), "several fields are one list")
}

func TestContentEncodingNames(t *testing.T) {
	tests := []struct {
		give          contentEncoding
		wantToken     string
		wantExtension string
	}{
		{encIdentity, "", ""},
		{encBrotli, "br", ".br"},
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
