package features

import (
	"strconv"
	"strings"
)

// pow10 holds the powers of ten float64 represents exactly (10^0..10^22).
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseNumber reads a decimal number exactly as strconv.ParseFloat(s, 64)
// does (same bits, same acceptance), faster for the plain decimals event
// fields carry ("1234", "-0.25"): flow records hold dozens per event and
// feature extraction parses every one. A plain decimal with at most 15
// significant digits is an integer mantissa below 2^53 scaled by an exact
// power of ten, so one float64 multiplication or division rounds it
// correctly (Clinger's fast path, the one strconv itself takes first);
// anything else (exponents, hex, inf, long mantissas, underscores) goes to
// strconv.
func parseNumber(s string) (float64, bool) {
	i, neg := 0, false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	var mant uint64
	digits, frac, dot := 0, 0, false
	start := i
	for ; i < len(s); i++ {
		c := s[i]
		if c == '.' && !dot {
			dot = true
			continue
		}
		if c < '0' || c > '9' {
			return parseSlow(s)
		}
		if mant == 0 && c == '0' {
			if dot {
				frac++
			}
			continue // leading zeros are not significant
		}
		digits++
		if digits > 15 {
			return parseSlow(s)
		}
		mant = mant*10 + uint64(c-'0')
		if dot {
			frac++
		}
	}
	n := i - start
	if n == 0 || (dot && n == 1) || frac >= len(pow10) {
		return parseSlow(s)
	}
	v := float64(mant)
	if frac > 0 {
		v /= pow10[frac]
	}
	if neg {
		v = -v
	}
	return v, true
}

func parseSlow(s string) (float64, bool) {
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// parseNumberString is numberField's reading of a string value: surrounding
// space is ignored.
func parseNumberString(s string) (float64, bool) {
	return parseNumber(strings.TrimSpace(s))
}
