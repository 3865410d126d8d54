package features

import (
	"math"
	"strconv"
	"testing"
)

func TestParseNumber(t *testing.T) {
	for _, s := range []string{"0", "-0", "+0", "1", "-1", "1234", "0.5", "-0.25", ".5", "5.", "007", "0.000001",
		"123456789012345", "1234567890123456", "0.1", "3.14159", "1e3", "1E-3", "inf", "NaN", "", "-", ".", "+.", "1_000",
		"0x10", "1.2.3", "12a", " 1", "9007199254740993", "0.0000000000000000000001", "0.00000000000000000000001",
		"99999999999999.9", "1.7976931348623157e308"} {
		got, gotOK := parseNumber(s)
		want, err := strconv.ParseFloat(s, 64)
		wantOK := err == nil
		if gotOK != wantOK || (wantOK && math.Float64bits(got) != math.Float64bits(want)) {
			t.Errorf("parseNumber(%q) = %v, %v; want %v, %v", s, got, gotOK, want, wantOK)
		}
	}
}

// FuzzParseNumber checks the fast path against strconv bit for bit.
func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{"0", "-0.5", "123456789012345", "1e5", "0.1", "+7", "00.10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, gotOK := parseNumber(s)
		want, err := strconv.ParseFloat(s, 64)
		wantOK := err == nil
		if gotOK != wantOK || (wantOK && math.Float64bits(got) != math.Float64bits(want)) {
			t.Fatalf("parseNumber(%q) = %v, %v; want %v, %v", s, got, gotOK, want, wantOK)
		}
	})
}
