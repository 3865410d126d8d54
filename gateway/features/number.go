package features

import (
	"math"
	"math/big"
	"math/bits"
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
// mantissas of 16–19 digits (about a fifth of a CIC-IDS2017 record's numbers,
// e.g. 11.178571428571429) take Eisel-Lemire's algorithm, the one
// strconv takes next, on the mantissa already read; anything else
// (exponents, hex, inf, longer mantissas, underscores, the rare inputs
// Eisel-Lemire cannot decide) goes to strconv. The cost saved is strconv's
// generic reader (underscores, hex, exponents), most of its time on such
// numbers.
func parseNumber(s string) (float64, bool) {
	if v, n, ok := scanDecimal(s); ok && n == len(s) {
		return v, true
	}
	return parseSlow(s)
}

// scanDecimal reads the plain decimal at the start of s as parseNumber
// would: n is where it stopped (the first byte that is neither a digit
// nor the first dot) and ok says v is parseNumber's answer for s[:n]
// (false: s[:n] needs strconv). Stopping at the first other byte lets
// the canonical reader parse a number while it finds its end, in one
// pass over its bytes. The integer and fraction digits are read by two
// loops, so no digit pays a test for the dot.
func scanDecimal(s string) (v float64, n int, ok bool) {
	i, neg := 0, false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg = s[i] == '-'
		i++
	}
	var mant uint64
	digits, frac, dot := 0, 0, false // significant digits, digits after the dot
	start := i
	for ; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			break
		}
		if mant == 0 && c == 0 {
			continue // leading zeros are not significant
		}
		if digits++; digits > 19 {
			return 0, i, false
		}
		mant = mant*10 + uint64(c)
	}
	if i < len(s) && s[i] == '.' {
		dot = true
		for i++; i < len(s); i++ {
			c := s[i] - '0'
			if c > 9 {
				break
			}
			frac++
			if mant == 0 && c == 0 {
				continue
			}
			if digits++; digits > 19 {
				return 0, i, false
			}
			mant = mant*10 + uint64(c)
		}
	}
	if n := i - start; n == 0 || (dot && n == 1) {
		return 0, i, false
	}
	if digits > 15 || frac >= len(pow10) {
		v, ok := eiselLemire(mant, -frac, neg)
		return v, i, ok
	}
	v = float64(mant)
	if frac > 0 {
		v /= pow10[frac]
	}
	if neg {
		v = -v
	}
	return v, i, true
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

// Powers of ten for eiselLemire: pow10Hi[-e], pow10Lo[-e] are the upper
// and lower 64 bits of 10^e scaled by a power of two into [2^127, 2^128)
// and rounded down, for e in [-maxFracEL, 0] (strconv's table restricted
// to what a plain decimal without exponent needs; computed once with
// math/big, exactly as strconv's generator computes its table).
const maxFracEL = 40

var pow10Hi, pow10Lo = pow10Table()

func pow10Table() (hi, lo [maxFracEL + 1]uint64) {
	one := big.NewInt(1)
	lim := new(big.Int).Lsh(one, 128)
	for k := 0; k <= maxFracEL; k++ {
		// 10^-k * 2^s for the s that lands in [2^127, 2^128): the
		// quotient of 2^s by 10^k, rounded down.
		d := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(k)), nil)
		s := 127 + d.BitLen()
		q := new(big.Int).Quo(new(big.Int).Lsh(one, uint(s)), d)
		for q.Cmp(lim) >= 0 {
			s--
			q.Quo(new(big.Int).Lsh(one, uint(s)), d)
		}
		lo[k] = new(big.Int).And(q, new(big.Int).SetUint64(math.MaxUint64)).Uint64()
		hi[k] = new(big.Int).Rsh(q, 64).Uint64()
	}
	return hi, lo
}

// eiselLemire is strconv's eiselLemire64 (Go's internal/strconv, after
// Nigel Tao's write-up of Eisel and Lemire's algorithm) for man × 10^exp10
// with exp10 in [-maxFracEL, 0]: the correctly rounded float64, or ok
// false when the algorithm cannot decide (then strconv must). FuzzParseNumber
// and TestParseNumberLongMantissas check it against strconv bit for bit.
func eiselLemire(man uint64, exp10 int, neg bool) (float64, bool) {
	if exp10 > 0 || exp10 < -maxFracEL {
		return 0, false
	}
	if man == 0 {
		if neg {
			return math.Copysign(0, -1), true
		}
		return 0, true
	}
	// 10^exp10 = (pHi:pLo)/2^128 × 2^exp2, and the result's biased
	// exponent starts from exp2 + 63 + 1023 less the mantissa's shift.
	exp2 := 1 + (exp10*108853)>>15 // 1 + floor(exp10 × log2(10))
	clz := bits.LeadingZeros64(man)
	man <<= uint(clz)
	retExp2 := uint64(exp2+63+1023) - uint64(clz)
	pHi, pLo := pow10Hi[-exp10], pow10Lo[-exp10]
	xHi, xLo := bits.Mul64(man, pHi)
	if xHi&0x1FF == 0x1FF && xLo+man < man {
		yHi, yLo := bits.Mul64(man, pLo)
		mergedHi, mergedLo := xHi, xLo+yHi
		if mergedLo < xLo {
			mergedHi++
		}
		if mergedHi&0x1FF == 0x1FF && mergedLo+1 == 0 && yLo+man < man {
			return 0, false
		}
		xHi, xLo = mergedHi, mergedLo
	}
	msb := xHi >> 63
	retMantissa := xHi >> (msb + 9)
	retExp2 -= 1 ^ msb
	if xLo == 0 && xHi&0x1FF == 0 && retMantissa&3 == 1 {
		return 0, false // half-way: ambiguous
	}
	retMantissa += retMantissa & 1
	retMantissa >>= 1
	if retMantissa>>53 > 0 {
		retMantissa >>= 1
		retExp2++
	}
	if retExp2-1 >= 0x7FF-1 {
		return 0, false // subnormal or out of range
	}
	b := retExp2<<52 | retMantissa&(1<<52-1)
	if neg {
		b |= 1 << 63
	}
	return math.Float64frombits(b), true
}
