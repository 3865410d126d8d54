package features

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// TestPrefetchLeaf checks that PrefetchLeaf accepts any leaf (no bytes,
// bytes shorter than the header's lower bound, an event longer than the
// lines it asks for) without a panic and leaves the bytes as they were.
func TestPrefetchLeaf(t *testing.T) {
	long := `{"id":"a","fields":{"x":"` + strings.Repeat("y", 10000) + `"}}`
	tests := []struct {
		name string
		leaf gateway.Leaf
	}{
		{"no bytes", gateway.Leaf{}},
		{"empty bytes", gateway.Leaf{Canonical: []byte{}}},
		{"one byte", gateway.Leaf{Canonical: []byte("{")}},
		{"header bound past the end", gateway.Leaf{Event: gateway.Event{ID: strings.Repeat("i", 500)}, Canonical: []byte(`{"id":"i"}`)}},
		{"longer than the lines asked for", gateway.Leaf{Canonical: []byte(long)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := bytes.Clone(tt.leaf.Canonical)
			PrefetchLeaf(&tt.leaf)
			if got := tt.leaf.Canonical; !bytes.Equal(got, want) {
				t.Errorf("bytes changed: got %q, want %q", got, want)
			}
		})
	}
}
