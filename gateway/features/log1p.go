package features

import "math"

// The log1p transform as float32, without math.Log1p on most inputs.
//
// Every numeric feature of the flow models is log1p'd and written to the
// model's input as a float32. math.Log1p (pure Go, ~13 ns) was the largest
// single cost of finishing a CIC-IDS2017 record's 83 values after the
// table of small integers (log1pTable): means, rates and durations are
// neither integers nor small. A float32 needs 24 bits of the result, so a
// cheaper float64 approximation, good to about 2^-50 relative, decides
// float32(math.Log1p(v)) whenever the float32 rounding of every value
// within 2^-40 (relative) of the approximation is the same, which fails
// for about one input in 2^16; those, and the inputs outside the fast
// path's range, take math.Log1p. So the float32 each model reads is the
// one math.Log1p gave, bit for bit (TestLog1pF32, FuzzLog1pF32 compare
// them over the whole float64 range and over flow records' values).

// log1pF32 is float32(log1pSigned(v)) with finish's rule for NaN and
// infinities (0), bit for bit. Integers below log1pInts, zeros included
// (half a flow record's values), are one table load with v's sign;
// other values in log1pFast's range take it.
func log1pF32(v float64) float32 {
	a := math.Abs(v)
	sign := uint32(math.Float64bits(v)>>63) << 31
	if a < log1pInts {
		if n := int(a); float64(n) == a {
			// float32 rounding is symmetric (float32(-x) == -float32(x)),
			// and log1pSigned(±0) is ±0
			return math.Float32frombits(math.Float32bits(log1pTable32[n]) | sign)
		}
	}
	if a >= log1pFastMin && a < log1pFastMax {
		if y, ok := log1pFast(a); ok {
			return math.Float32frombits(math.Float32bits(y) | sign)
		}
	}
	return log1pSlow(v)
}

// log1pSlow is log1pF32 through log1pSigned: zeros (their own answer,
// sign kept), values below log1pFastMin, huge values, NaN and infinities.
func log1pSlow(v float64) float32 {
	v = log1pSigned(v)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return float32(v)
}

// Bounds of log1pFast's inputs. Below log1pFastMin the result is small
// enough that the approximation's absolute error would eat the margin
// (and such values are rare in flow records); above log1pFastMax, 1+v's
// exponent could be the infinities'.
const (
	log1pFastMin = 0x1p-6
	log1pFastMax = 0x1p1000
)

// log1pBuckets is how many intervals [1,2) is cut into for log1pFast: a
// 2 KB table, and |r| <= 2^-8 so a degree-5 polynomial of log(1+r) is
// good to 2^-50.
const log1pBuckets = 128

// log1pCenters holds, for each bucket i of [1,2), its centre
// c = 1 + (i+½)/128 (exact in float64), 1/c and math.Log(c).
var log1pCenters = func() *[log1pBuckets][3]float64 {
	var t [log1pBuckets][3]float64
	for i := range t {
		c := 1 + (float64(i)+0.5)/log1pBuckets
		t[i] = [3]float64{c, 1 / c, math.Log(c)}
	}
	return &t
}()

// log1pTable32 is log1pTable as float32, what finish wrote for them.
var log1pTable32 = func() *[log1pInts]float32 {
	var t [log1pInts]float32
	for i := range t {
		t[i] = float32(log1pTable[i])
	}
	return &t
}()

// log1pFast returns float32(math.Log1p(v)) for v in [log1pFastMin,
// log1pFastMax), or ok false when its approximation cannot tell.
//
// u = 1+v rounded is 2^k·m with m in [1,2); log(u) = k·ln2 + log(c) +
// log(1+r) with c the centre of m's bucket and r = (m−c)/c (m−c is exact,
// |r| <= 2^-8), log(1+r) by its Taylor series to r^5 (the next term is
// below 2^-50). log(u) differs from log1p(v) by less than 2^-53 (the
// rounding of 1+v moves u by at most half an ulp, 2^-53·u), and the
// float64 operations add a few ulps of y: the total is far below
// y·2^-40 for y >= log1p(2^-6), and math.Log1p's own error is below one
// ulp. So if every float64 within y·2^-40 of y rounds to the same
// float32, math.Log1p(v) (within that band) rounds to it too: float32
// rounding is monotonic.
func log1pFast(v float64) (float32, bool) {
	u := 1 + v
	b := math.Float64bits(u)
	k := int(b>>52) - 1023
	frac := b & (1<<52 - 1)
	m := math.Float64frombits(frac | 1023<<52)
	c := &log1pCenters[frac>>(52-7)]
	r := (m - c[0]) * c[1]
	p := r * (1 + r*(-1.0/2+r*(1.0/3+r*(-1.0/4+r*(1.0/5)))))
	y := float64(k)*math.Ln2 + (c[2] + p)
	d := y * 0x1p-40
	lo, hi := float32(y-d), float32(y+d)
	return lo, lo == hi
}
