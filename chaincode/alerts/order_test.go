package alerts

import (
	"cmp"
	"strings"
	"testing"
)

// refCompareIDIndex is the comparison RaiseAlerts sorted with before the
// prefix: by id, then input index.
func refCompareIDIndex(x, y idIndex) int {
	return cmp.Or(strings.Compare(x.id, y.id), cmp.Compare(x.i, y.i))
}

func checkCompareIDIndex(t *testing.T, a, b string, i, j int) {
	t.Helper()
	x := idIndex{prefix: idPrefix(a), id: a, i: i}
	y := idIndex{prefix: idPrefix(b), id: b, i: j}
	if got, want := compareIDIndex(x, y), refCompareIDIndex(x, y); got != want {
		t.Fatalf("compareIDIndex(%q/%d, %q/%d) = %d, want %d", a, i, b, j, got, want)
	}
}

// TestCompareIDIndex: the prefix comparison orders as the plain one does,
// for hex ids and for the edges of the prefix (shorter than eight bytes,
// NUL bytes, high bytes, equal prefixes).
func TestCompareIDIndex(t *testing.T) {
	ids := []string{"", "a", "ab", "ab\x00", "ab\x00\x00", "abcdefgh", "abcdefgh\x00", "abcdefghi", "abcdefgi", "\xff", "\xff\xff\xff\xff\xff\xff\xff\xff\x01",
		strings.Repeat("0", 64), strings.Repeat("0", 63) + "1", strings.Repeat("f", 64), "0123456789abcdef" + strings.Repeat("0", 48)}
	for _, a := range ids {
		for _, b := range ids {
			for _, ij := range [][2]int{{0, 0}, {0, 1}, {1, 0}} {
				checkCompareIDIndex(t, a, b, ij[0], ij[1])
			}
		}
	}
}

// FuzzCompareIDIndex: the same on any pair.
func FuzzCompareIDIndex(f *testing.F) {
	f.Add("abcdefgh1", "abcdefgh0", 1, 2)
	f.Add("ab", "ab\x00", 0, 0)
	f.Fuzz(func(t *testing.T, a, b string, i, j int) { checkCompareIDIndex(t, a, b, i, j) })
}
