package ingest

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrEpoch is the error of ParseEpoch; callers wrap or replace it with the
// wording of their protocol.
var ErrEpoch = errors.New("not epoch seconds")

// maxEpoch bounds accepted epoch seconds (year 5138): anything larger is a
// milliseconds value or garbage, not a time a shipper means.
const maxEpoch = 1e11

// ParseEpoch reads epoch seconds with an optional fraction ("1700000000",
// "1700000000.25", "1.7e9") as the time in UTC. The fraction is kept exact
// to the nanosecond by splitting on the decimal point instead of trusting
// float rounding (digits past the ninth are dropped); exponent forms go
// through float64. Negative, NaN, infinite or over-large values are
// ErrEpoch. s must already be trimmed.
func ParseEpoch(s string) (time.Time, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > maxEpoch {
		return time.Time{}, ErrEpoch
	}
	if strings.ContainsAny(s, "eE") {
		return time.Unix(0, int64(f*1e9)).UTC(), nil
	}
	sec, frac, _ := strings.Cut(s, ".")
	secs, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, ErrEpoch
	}
	var nanos int64
	if frac != "" {
		if len(frac) > 9 {
			frac = frac[:9]
		}
		if nanos, err = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64); err != nil {
			return time.Time{}, ErrEpoch
		}
	}
	return time.Unix(secs, nanos).UTC(), nil
}
