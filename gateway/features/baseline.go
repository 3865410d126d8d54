package features

import (
	"fmt"
	"math"
	"time"
)

// Per-entity baselines (WindowSpec.Baseline).
//
// A window answers "how many failures did this source have in the last 10
// minutes"; a baseline answers "and is that a lot FOR THIS SOURCE". For
// each key the window remembers, it keeps an exponentially weighted mean
// and variance of one of the window's aggregates sampled once per time
// bucket, and reports the current value against them:
//
//   - Sampling: event time is cut into buckets of Bucket length aligned to
//     the Unix epoch (so replaying a dataset buckets it exactly as live
//     traffic did). Within a bucket the key's sample is the peak of the
//     aggregate over the key's events in that bucket. When the key's next
//     event falls in a later bucket, the peak is folded into the EWMA,
//     followed by one zero for every bucket in between in which the key had
//     no event (count and distinct only: a silent bucket is a bucket with
//     nothing in it; matched_ratio has no value then and folds nothing).
//     The zeros are folded in closed form, so a gap of any length costs O(1).
//   - The current bucket is never part of the baseline the current event is
//     compared with, so a burst cannot hide itself by raising its own
//     baseline until its bucket closes.
//   - Warm-up: until Warmup buckets were folded for a key, its baseline
//     reports baseline_z 0, baseline_ratio 1 and baseline_mean 0 ("nothing
//     unusual known"): a new entity is judged by the plain window
//     aggregates only, and baseline_buckets (the number of buckets folded,
//     saturating) tells a model how much history stands behind the other
//     three. An event without the window's key reads 0 for all four, as it
//     does for the window's own aggregates.
//   - Bounds: the baseline is part of the key's window state (baselineState,
//     40 bytes per key, asserted by a test), so it is bounded by the same
//     MaxKeys and forgotten with the key when the LRU evicts it; an evicted
//     key that comes back starts a new warm-up.
//   - Determinism: only event times and values enter the state (no clock,
//     no randomness); an event older than the key's current bucket is
//     compared with the baseline as it stands and changes nothing but the
//     current bucket's peak.

// BaselineSpec configures a per-key baseline of one window aggregate (see
// WindowSpec.Baseline). Zero fields take the documented defaults.
type BaselineSpec struct {
	// Agg is the window aggregate baselined: "count" (default), "distinct"
	// or "matched_ratio".
	Agg string `json:"agg,omitempty"`
	// Bucket is the sampling period (default: the window's Size).
	Bucket Duration `json:"bucket,omitempty"`
	// HalfLife is how long until a bucket's weight in the baseline halves
	// (default 24 buckets); the EWMA factor per bucket is
	// α = 1 − 2^(−Bucket/HalfLife).
	HalfLife Duration `json:"half_life,omitempty"`
	// Warmup is the number of buckets folded before the key's baseline is
	// reported (default 3; the first bucket seeds the mean).
	Warmup int `json:"warmup,omitempty"`
	// MinStd floors the standard deviation in baseline_z and smooths
	// baseline_ratio (default 1 for count and distinct, 0.05 for
	// matched_ratio), so an entity whose value never varied does not
	// report an infinite z the first time it changes by one.
	MinStd float64 `json:"min_std,omitempty"`
}

// The baseline aggregates a window feature may read (Feature.Agg) when its
// window has a Baseline. Each compares the window's baselined aggregate
// for the current event's key, after the event was added, with that key's
// baseline:
//   - baseline_z: (x − mean) / max(std, MinStd)
//   - baseline_ratio: (x + MinStd) / (mean + MinStd)
//   - baseline_mean: the baseline's mean
//   - baseline_buckets: buckets folded into the baseline (saturates at 2^32−1)
//
// During warm-up they report 0, 1, 0 and the buckets folded so far.
const (
	AggBaselineZ       = "baseline_z"
	AggBaselineRatio   = "baseline_ratio"
	AggBaselineMean    = "baseline_mean"
	AggBaselineBuckets = "baseline_buckets"
)

// baselineProblem returns why w's baseline is invalid, or "" when it is
// valid (or absent).
func baselineProblem(w WindowSpec) string {
	b := w.Baseline
	if b == nil {
		return ""
	}
	switch b.Agg {
	case "", "count", "matched_ratio":
	case "distinct":
		if w.Distinct == "" {
			return "baseline of distinct needs the window's distinct field"
		}
	default:
		return fmt.Sprintf("unknown baseline aggregate %q", b.Agg)
	}
	switch {
	case b.Bucket < 0 || b.HalfLife < 0 || b.Warmup < 0:
		return "negative baseline bucket, half-life or warm-up"
	case b.MinStd < 0 || math.IsNaN(b.MinStd) || math.IsInf(b.MinStd, 0):
		return "baseline min_std must be a finite non-negative number"
	case b.Bucket > 0 && b.Bucket < Duration(time.Millisecond):
		return "baseline bucket below 1ms"
	}
	return ""
}

// baseline is the compiled, defaults-applied form of a BaselineSpec.
type baseline struct {
	agg    string
	bucket int64   // nanoseconds
	decay  float64 // 1 − α
	lnDec  float64 // ln(decay): dᵏ = exp(k·ln d), cheaper than math.Pow
	warmup uint32
	minStd float64
}

func newBaseline(w WindowSpec) *baseline {
	s := w.Baseline
	if s == nil {
		return nil
	}
	b := &baseline{agg: s.Agg, bucket: int64(s.Bucket), warmup: uint32(s.Warmup), minStd: s.MinStd}
	if b.agg == "" {
		b.agg = "count"
	}
	if b.bucket <= 0 {
		b.bucket = int64(w.Size)
	}
	half := float64(s.HalfLife)
	if half <= 0 {
		half = 24 * float64(b.bucket)
	}
	b.decay = math.Exp2(-float64(b.bucket) / half)
	b.lnDec = math.Log(b.decay)
	if s.Warmup == 0 {
		b.warmup = 3
	}
	if b.minStd == 0 {
		b.minStd = 1
		if b.agg == "matched_ratio" {
			b.minStd = 0.05
		}
	}
	return b
}

// baselineState is one key's baseline: constant size, embedded in the
// key's window state.
type baselineState struct {
	mean, vari float64 // EWMA mean and variance of the folded samples
	peak       float64 // the aggregate's peak in the current bucket
	bucket     int64   // the current bucket (event time / Bucket)
	n          uint32  // samples folded, saturating
	open       bool    // bucket and peak hold a bucket not yet folded
}

// baselineAggs is what a baseline reports for one event.
type baselineAggs struct {
	z, ratio, mean, buckets float64
}

// bucketOf floors t / size, so negative times bucket consistently too.
func bucketOf(t, size int64) int64 {
	if t >= 0 {
		return t / size
	}
	return -((-t + size - 1) / size)
}

// fold adds sample x to the EWMA (the first sample seeds the mean).
func (b *baseline) fold(s *baselineState, x float64) {
	if s.n == 0 {
		s.mean, s.vari = x, 0
	} else {
		// West's incremental EWMA: variance of the weighted samples.
		d := x - s.mean
		inc := (1 - b.decay) * d
		s.mean += inc
		s.vari = b.decay * (s.vari + d*inc)
	}
	s.n = satAdd(s.n, 1)
}

// foldZeros folds k zero samples in closed form: after k zeros
// mean_k = dᵏ·mean and var_k = dᵏ·(var + mean²·(1 − dᵏ)), d the decay.
func (b *baseline) foldZeros(s *baselineState, k int64) {
	if k <= 0 {
		return
	}
	if s.n == 0 {
		s.mean, s.vari = 0, 0
		s.n = 1
		k--
	}
	if k > 0 {
		dk := math.Exp(float64(k) * b.lnDec)
		s.vari = dk * (s.vari + s.mean*s.mean*(1-dk))
		s.mean *= dk
	}
	s.n = satAdd(s.n, k)
}

func satAdd(n uint32, k int64) uint32 {
	if k >= int64(math.MaxUint32-n) {
		return math.MaxUint32
	}
	return n + uint32(k)
}

// observe records the aggregate value x of the key's event at time t and
// reports x against the key's baseline as it stood before t's bucket.
func (b *baseline) observe(s *baselineState, t int64, x float64) baselineAggs {
	cur := bucketOf(t, b.bucket)
	switch {
	case !s.open:
		s.bucket, s.peak, s.open = cur, x, true
	case cur > s.bucket:
		b.fold(s, s.peak)
		if b.agg != "matched_ratio" {
			b.foldZeros(s, cur-s.bucket-1)
		}
		s.bucket, s.peak = cur, x
	default: // same bucket, or an older event: only the peak may change
		s.peak = math.Max(s.peak, x)
	}
	a := baselineAggs{z: 0, ratio: 1, buckets: float64(s.n)}
	if s.n < b.warmup {
		return a
	}
	std := math.Max(math.Sqrt(math.Max(s.vari, 0)), b.minStd)
	a.mean = s.mean
	a.z = (x - s.mean) / std
	a.ratio = (x + b.minStd) / (s.mean + b.minStd)
	return a
}

// value is the window aggregate the baseline tracks.
func (b *baseline) value(a windowAggs) float64 {
	switch b.agg {
	case "distinct":
		return a.distinct
	case "matched_ratio":
		if a.all > 0 {
			return a.count / a.all
		}
		return 0
	}
	return a.count
}

// get returns the baseline aggregate named agg.
func (a baselineAggs) get(agg string) float64 {
	switch agg {
	case AggBaselineZ:
		return a.z
	case AggBaselineRatio:
		return a.ratio
	case AggBaselineMean:
		return a.mean
	case AggBaselineBuckets:
		return a.buckets
	}
	return 0
}

// baselineColumns writes the baseline aggregate columns of the event just
// observed; the caller holds e.mu (the reports live in window state).
func (e *Engine) baselineColumns(dst []float32) {
	for _, i := range e.bfeats {
		c := &e.feats[i]
		dst[c.col] = c.finish(e.windows[c.window].last.get(c.f.Agg))
	}
}
