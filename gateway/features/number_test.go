package features

import (
	"math"
	"math/rand/v2"
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
	for _, s := range []string{"0", "-0.5", "123456789012345", "1e5", "0.1", "+7", "00.10", "11.178571428571429", "-0.000000000000000000000012345678901234567", "9999999999999999999"} {
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

// TestParseNumberLongMantissas: decimals of 16–19 significant digits
// (what Eisel-Lemire reads without strconv) with up to 40 digits after
// the point, and near-half-way and boundary cases, parse exactly as
// strconv parses them.
func TestParseNumberLongMantissas(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 12))
	cases := []string{"11.178571428571429", "1158638.8025383851", "0.1000000000000000055511151231257827",
		"9007199254740993", "9007199254740992.5", "18446744073709551615", "9999999999999999999",
		"0.0000000000000000000000000000000000000012345678901234567", "4503599627370496.5", "4503599627370497.5",
		"2.2250738585072011e-308", "0.00000000000000000000000000000000000000001", "1000000000000000000"}
	for range 300000 {
		digits := 16 + r.IntN(4)
		b := make([]byte, 0, 64)
		if r.IntN(2) == 0 {
			b = append(b, '-')
		}
		m := make([]byte, digits)
		m[0] = byte('1' + r.IntN(9))
		for i := 1; i < digits; i++ {
			m[i] = byte('0' + r.IntN(10))
		}
		point := r.IntN(digits + 1)
		if lead := r.IntN(25); point == 0 && lead > 0 {
			b = append(b, "0."...)
			for range lead {
				b = append(b, '0')
			}
			b = append(b, m...)
		} else {
			b = append(b, m[:point]...)
			if point < digits {
				b = append(b, '.')
				b = append(b, m[point:]...)
			}
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		got, gotOK := parseNumber(s)
		want, err := strconv.ParseFloat(s, 64)
		if gotOK != (err == nil) || (err == nil && math.Float64bits(got) != math.Float64bits(want)) {
			t.Fatalf("parseNumber(%q) = %v, %v; want %v, %v", s, got, gotOK, want, err)
		}
		// The same number inside an event: the word reader (it stops at
		// an exponent, which the caller then hands to strconv).
		if v, n, ok := scanDecimal(s + `},"raw":null}`); ok {
			w, err := strconv.ParseFloat(s[:n], 64)
			if err != nil || math.Float64bits(v) != math.Float64bits(w) || n != len(s) && s[n] != 'e' {
				t.Fatalf("scanDecimal(%q+tail) = %v at %d; want %v", s, v, n, w)
			}
		}
	}
}

// TestEiselLemireDecides: the long-mantissa path answers by itself for
// typical flow statistics (a wrong table or exponent would send every one
// to strconv, and the comparisons above would still pass).
func TestEiselLemireDecides(t *testing.T) {
	for _, tc := range []struct {
		man  uint64
		exp  int
		text string
	}{
		{11178571428571429, -15, "11.178571428571429"},
		{11586388025383851, -10, "1158638.8025383851"},
		{19500489232862224, -16, "1.9500489232862224"},
		{1553373015873016, -13, "155.3373015873016"},
		{9999999999999999999, 0, "9999999999999999999"},
		{12345678901234567, -40, "0.0000000000000000000000012345678901234567"},
	} {
		got, ok := eiselLemire(tc.man, tc.exp, false)
		want, _ := strconv.ParseFloat(tc.text, 64)
		if !ok || math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("eiselLemire(%d, %d) = %v, %v; want %v, true", tc.man, tc.exp, got, ok, want)
		}
	}
}

// FuzzScanDecimal: the canonical reader parses a number while it finds
// its end (scanDecimal on the bytes from the number on); whenever it
// takes that answer (ok, stopped at the byte after the number), it is
// parseNumber's on the number alone, bit for bit.
func FuzzScanDecimal(f *testing.F) {
	for _, s := range []string{"0", "-0", "0.06", "11.178571428571429", "1158638.8025383851", "1e5", "00012", ".5", "5.", "-", "12345678901234567890", "0.000000000000000000000001"} {
		f.Add(s, byte(','))
	}
	f.Fuzz(func(t *testing.T, s string, end byte) {
		v, n, ok := scanDecimal(s + string(end))
		if !ok || n != len(s) {
			return
		}
		want, wantOK := parseNumber(s)
		if !wantOK || math.Float64bits(v) != math.Float64bits(want) {
			t.Errorf("scanDecimal(%q+%q) = %v, parseNumber(%q) = %v, %v", s, end, v, s, want, wantOK)
		}
	})
}

func TestDigitRunEightDigits(t *testing.T) {
	for _, tc := range []struct {
		in   string
		run  int
		want uint64
	}{
		{"........", 0, 0},
		{"1.......", 1, 1},
		{"25,.....", 2, 25},
		{"3179093}", 7, 3179093},
		{"12345678", 8, 12345678},
		{"00000000", 8, 0},
		{"0000001a", 7, 1},
		{"9/:09999", 1, 9},     // '/' and ':' sit either side of the digits
		{"99\xfa99999", 2, 99}, // a byte that carries when 6 is added
		{"\xff\xff\xff\xff\xff\xff\xff\xff", 0, 0},
		{"90000000", 8, 90000000},
	} {
		x := load64(tc.in, 0)
		if got := digitRun(x); got != tc.run {
			t.Errorf("digitRun(%q) = %d, want %d", tc.in, got, tc.run)
		}
		if got := eightDigits(x, tc.run); got != tc.want {
			t.Errorf("eightDigits(%q, %d) = %d, want %d", tc.in, tc.run, got, tc.want)
		}
	}
}

// FuzzScanDecimalWords: scanDecimal reading eight bytes at a time (a
// number followed by the rest of an event: at least eight bytes) gives
// exactly the byte loop's answers, and whenever it takes its answer the
// answer is strconv's for the number alone, bit for bit.
func FuzzScanDecimalWords(f *testing.F) {
	for _, s := range []string{"0", "-0", "0.06", "11.178571428571429", "1158638.8025383851", "1e5", "00012", ".5", "5.",
		"-", "12345678901234567890", "0.000000000000000000000001", "9007199254740993", "9007199254740992.5",
		"1234567812345678", "0.1234567", "99999999.99999999", "18446744073709551615", "+7"} {
		f.Add(s, `},"raw":null}`)
	}
	f.Fuzz(func(t *testing.T, s, rest string) {
		in := s + rest
		v, n, ok := scanDecimal(in)
		lv, ln, lok := scanDecimalLoop(in)
		if ok && lok && (n != ln || math.Float64bits(v) != math.Float64bits(lv)) {
			t.Fatalf("scanDecimal(%q) = %v, %d; loop %v, %d", in, v, n, lv, ln)
		}
		if ok != lok && n != ln {
			t.Fatalf("scanDecimal(%q) stopped at %d (ok %v), loop at %d (ok %v)", in, n, ok, ln, lok)
		}
		if !ok {
			return
		}
		want, err := strconv.ParseFloat(in[:n], 64)
		if err != nil || math.Float64bits(v) != math.Float64bits(want) {
			t.Fatalf("scanDecimal(%q) = %v at %d; strconv %v, %v", in, v, n, want, err)
		}
	})
}
