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
// correctly (Clinger's fast path, the one strconv itself takes first;
// scanDecimal takes it for any mantissa below 2^53); larger mantissas
// of up to 19 digits (about a fifth of a CIC-IDS2017 record's numbers,
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
// pass over its bytes.
//
// Digits are read eight at a time (digitRun, eightDigits: no branch per
// digit, so no mispredicted loop exit per number, which was most of a
// number's cost when the lengths of a record's values vary) while eight
// bytes remain in s; the canonical reader hands over the rest of the
// event, so only a number within eight bytes of the end (or one with
// more than 19 digits, leading zeros included, or no integer digit)
// takes the byte loop, scanDecimalLoop, which gives the same answers.
// A mantissa below 2^53 with at most 22 fraction digits is Clinger's
// exact case (one correctly rounded division of two exact float64s);
// others take Eisel-Lemire.
func scanDecimal(s string) (v float64, n int, ok bool) {
	i, neg := 0, false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		i = 1
	}
	var mant uint64
	total, frac := 0, 0 // digits read (leading zeros included), after the dot
	for {
		if i+8 > len(s) {
			return scanDecimalLoop(s)
		}
		x := load64(s, i)
		d := digitRun(x)
		if total+d > 19 {
			return scanDecimalLoop(s)
		}
		mant = mant*pow10u[d] + eightDigits(x, d)
		total += d
		i += d
		if d < 8 {
			break
		}
	}
	if total == 0 {
		return scanDecimalLoop(s) // ".5", "-", "+.": the loop's rules
	}
	if s[i] == '.' { // i < len(s): the last load ended past a non-digit
		i++
		for {
			if i+8 > len(s) {
				return scanDecimalLoop(s)
			}
			x := load64(s, i)
			d := digitRun(x)
			if total+d > 19 {
				return scanDecimalLoop(s)
			}
			mant = mant*pow10u[d] + eightDigits(x, d)
			total += d
			frac += d
			i += d
			if d < 8 {
				break
			}
		}
	}
	if mant < 1<<53 && frac < len(pow10) {
		v = float64(mant)
		if frac > 0 {
			v /= pow10[frac]
		}
		if neg {
			v = -v
		}
		return v, i, true
	}
	v, ok = eiselLemire(mant, -frac, neg)
	return v, i, ok
}

// pow10u holds 10^0..10^8 as integers, to shift a mantissa by a run of
// digits.
var pow10u = [...]uint64{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

// load64 returns s[i:i+8] as a little-endian word (s[i] in the lowest
// byte); the compiler makes it one load.
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// digitRun returns how many bytes of x, from the lowest, are ASCII
// digits before the first other byte (8: all are). A byte c is a digit
// when its high nibble is 3 and so is that of c+6. Adding 6 to every
// byte at once carries into the next byte only from a byte of 0xfa or
// more, itself no digit: every byte up to the first non-digit is tested
// exactly, and later ones do not matter.
func digitRun(x uint64) int {
	const hi, three, six = 0xf0f0f0f0f0f0f0f0, 0x3030303030303030, 0x0606060606060606
	nd := (x&hi ^ three) | ((x+six)&hi ^ three) // nonzero bytes: not digits
	return bits.TrailingZeros64(nd) / 8
}

// eightDigits returns the value of the d (0–8) ASCII digits in the
// lowest bytes of x, the first one most significant: the digits are
// moved to the top bytes (the bytes after them fall off, zeros come in
// as leading zeros) and combined pairwise, by 10, 100 and 10,000 (the
// classic SWAR conversion).
func eightDigits(x uint64, d int) uint64 {
	x = (x & 0x0f0f0f0f0f0f0f0f) << (8 * (8 - d)) // d 0: shifted by 64, zero
	x = (x*10 + x>>8) & 0x00ff00ff00ff00ff
	x = (x*100 + x>>16) & 0x0000ffff0000ffff
	return (x*10000 + x>>32) & 0xffffffff
}

// scanDecimalLoop is scanDecimal reading one byte at a time: where
// fewer than eight bytes remain, and for the rare numbers the word
// reader leaves to it. The integer and fraction digits are read by two
// loops, so no digit pays a test for the dot.
func scanDecimalLoop(s string) (v float64, n int, ok bool) {
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
