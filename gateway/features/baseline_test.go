package features

import (
	"errors"
	"fmt"
	"math"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// t0 is a minute boundary, so 1m buckets start at whole offsets from it.
var t0 = time.Unix(60*28_333_333, 0)

func authAt(sec int, src, outcome string) gateway.Event {
	return gateway.Event{
		Class:  gateway.ClassAuth,
		Time:   t0.Add(time.Duration(sec) * time.Second),
		Fields: map[string]any{"source.ip": src, "user.name": "u", "event.outcome": outcome},
	}
}

// baselineSpec is a per-source failure window of 1m with a baseline of its
// count in 1m buckets, half-life one bucket (decay 0.5), warm after 2.
func baselineSpec(b BaselineSpec) Spec {
	return Spec{
		Windows: []WindowSpec{{Name: "fail", Key: []string{"source.ip"}, Size: Duration(time.Minute),
			Filter: map[string]string{"event.outcome": "failure"}, Distinct: "user.name", MaxKeys: 8, Baseline: &b}},
		Features: []Feature{
			{Name: "n", Kind: KindWindow, Window: "fail", Agg: "count"},
			{Name: "z", Kind: KindWindow, Window: "fail", Agg: AggBaselineZ},
			{Name: "ratio", Kind: KindWindow, Window: "fail", Agg: AggBaselineRatio},
			{Name: "mean", Kind: KindWindow, Window: "fail", Agg: AggBaselineMean},
			{Name: "buckets", Kind: KindWindow, Window: "fail", Agg: AggBaselineBuckets},
		},
	}
}

// Golden baseline aggregates, worked out by hand (see the comments): warm-up,
// a burst against a quiet baseline, and a gap folded as zeros.
func TestBaselineGolden(t *testing.T) {
	spec := baselineSpec(BaselineSpec{Bucket: Duration(time.Minute), HalfLife: Duration(time.Minute), Warmup: 2})
	tests := []struct {
		name string
		ev   gateway.Event
		want []float32 // n, z, ratio, mean, buckets
	}{
		{"first event: warm-up", authAt(0, "a", "failure"), []float32{1, 0, 1, 0, 0}},
		{"same bucket: peak 2", authAt(10, "a", "failure"), []float32{2, 0, 1, 0, 0}},
		{"bucket 1 folds 2: one bucket, still warming", authAt(70, "a", "failure"), []float32{1, 0, 1, 0, 1}},
		{"other key has its own (empty) baseline", authAt(75, "b", "success"), []float32{0, 0, 1, 0, 0}},
		// fold 1: mean 2 + 0.5·(1−2) = 1.5, var 0.5·(0 + (−1)(−0.5)) = 0.25; std floored to 1
		{"bucket 2: warm", authAt(130, "a", "failure"), []float32{1, -0.5, 2 / 2.5, 1.5, 2}},
		{"burst in bucket 2", authAt(135, "a", "failure"), []float32{2, 0.5, 3 / 2.5, 1.5, 2}},
		{"burst continues", authAt(140, "a", "failure"), []float32{3, 1.5, 4 / 2.5, 1.5, 2}},
		{"burst peaks", authAt(150, "a", "failure"), []float32{4, 2.5, 5 / 2.5, 1.5, 2}},
		// bucket 6: fold peak 4 → mean 2.75, var 0.5·(0.25 + 2.5·1.25) = 1.6875;
		// then 3 silent buckets as zeros: d³ = 0.125, mean 0.34375,
		// var 0.125·(1.6875 + 2.75²·0.875) = 1.0380859375
		{"after a gap", authAt(400, "a", "failure"), nil},
		{"no key reads zero", gateway.Event{Class: gateway.ClassAuth, Time: t0}, []float32{0, 0, 0, 0, 0}},
	}
	std := math.Sqrt(1.0380859375)
	tests[8].want = []float32{1, float32((1 - 0.34375) / std), float32(2 / 1.34375), 0.34375, 6}
	e, err := Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		got := make([]float32, e.Width())
		e.Extract(&tt.ev, got)
		if !approx(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

// The closed-form fold of k silent buckets equals k single zero folds.
func TestBaselineFoldZerosClosedForm(t *testing.T) {
	b := newBaseline(WindowSpec{Size: Duration(time.Minute), Baseline: &BaselineSpec{HalfLife: Duration(7 * time.Minute)}})
	for _, k := range []int64{0, 1, 2, 5, 40} {
		for _, seed := range [][]float64{{3}, {3, 9, 1}, {0, 0, 50}} {
			var closed, loop baselineState
			for _, x := range seed {
				b.fold(&closed, x)
				b.fold(&loop, x)
			}
			b.foldZeros(&closed, k)
			for range k {
				b.fold(&loop, 0)
			}
			if math.Abs(closed.mean-loop.mean) > 1e-9 || math.Abs(closed.vari-loop.vari) > 1e-9 || closed.n != loop.n {
				t.Errorf("k=%d seed %v: closed form (%v, %v, %d), loop (%v, %v, %d)",
					k, seed, closed.mean, closed.vari, closed.n, loop.mean, loop.vari, loop.n)
			}
		}
	}
}

// Defaults: warm-up 3, min_std 1 (0.05 for matched_ratio), half-life 24
// buckets, bucket = window size.
func TestBaselineDefaults(t *testing.T) {
	tests := []struct {
		name             string
		spec             BaselineSpec
		wantBucket       int64
		wantWarm         uint32
		wantMinStd       float64
		wantDecayPerHalf float64 // decay^(half-life in buckets) = 0.5
		halfBuckets      float64
	}{
		{"all defaults", BaselineSpec{}, int64(time.Minute), 3, 1, 0.5, 24},
		{"ratio", BaselineSpec{Agg: "matched_ratio", Bucket: Duration(time.Hour), HalfLife: Duration(48 * time.Hour), Warmup: 7}, int64(time.Hour), 7, 0.05, 0.5, 48},
		{"explicit min_std", BaselineSpec{MinStd: 2.5}, int64(time.Minute), 3, 2.5, 0.5, 24},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.spec
			b := newBaseline(WindowSpec{Size: Duration(time.Minute), Baseline: &s})
			got := math.Pow(b.decay, tt.halfBuckets)
			if b.bucket != tt.wantBucket || b.warmup != tt.wantWarm || b.minStd != tt.wantMinStd || math.Abs(got-tt.wantDecayPerHalf) > 1e-12 {
				t.Errorf("got bucket %d warmup %d min_std %v decay^half %v, want %d %d %v %v",
					b.bucket, b.warmup, b.minStd, got, tt.wantBucket, tt.wantWarm, tt.wantMinStd, tt.wantDecayPerHalf)
			}
		})
	}
}

// A matched_ratio baseline folds nothing for silent buckets (a ratio has
// no value there), unlike count.
func TestBaselineRatioSkipsSilentBuckets(t *testing.T) {
	for _, tt := range []struct {
		agg         string
		wantBuckets float32
	}{{"count", 10}, {"matched_ratio", 1}} {
		spec := baselineSpec(BaselineSpec{Agg: tt.agg, Warmup: 1})
		got := extract(t, spec, authAt(0, "a", "failure"), authAt(600, "a", "failure"))
		if got[1][4] != tt.wantBuckets {
			t.Errorf("%s: buckets after a 9-bucket gap = %v, want %v", tt.agg, got[1][4], tt.wantBuckets)
		}
	}
}

// An event older than the key's current bucket is compared with the
// baseline as it stands and folds nothing.
func TestBaselineLateEvent(t *testing.T) {
	spec := baselineSpec(BaselineSpec{Warmup: 1})
	got := extract(t, spec, authAt(0, "a", "failure"), authAt(70, "a", "failure"), authAt(30, "a", "failure"))
	if got[1][4] != 1 || got[2][4] != 1 {
		t.Errorf("buckets = %v then %v, want 1 and 1 (a late event folds nothing)", got[1][4], got[2][4])
	}
}

// A key forgotten by the LRU loses its baseline with its window and warms
// up again when it returns; the baseline adds a fixed 40 bytes per key.
func TestBaselineBounded(t *testing.T) {
	if got := unsafe.Sizeof(baselineState{}); got != 40 {
		t.Errorf("baselineState is %d bytes, documented as 40", got)
	}
	spec := baselineSpec(BaselineSpec{Warmup: 1})
	spec.Windows[0].MaxKeys = 1
	got := extract(t, spec, authAt(0, "a", "failure"), authAt(70, "a", "failure"), authAt(80, "b", "failure"), authAt(140, "a", "failure"))
	if got[1][4] != 1 || got[3][4] != 0 || got[3][1] != 0 || got[3][2] != 1 {
		t.Errorf("got %v then after eviction %v, want 1 bucket then a fresh warm-up (z 0, ratio 1, 0 buckets)", got[1], got[3])
	}
}

// Concurrent Extract calls (the scorer's callers) read each event's own
// baseline report: run under -race, and every vector must be one a serial
// replay of some interleaving could give (here: all keys distinct, so each
// event's vector is exactly its key's first-event vector).
func TestBaselineConcurrent(t *testing.T) {
	e, err := Compile(baselineSpec(BaselineSpec{Warmup: 1}))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan []float32)
	for g := range 4 {
		go func() {
			var last []float32
			for i := range 200 {
				ev := authAt(i, fmt.Sprintf("g%d-%d", g, i), "failure")
				v := make([]float32, e.Width())
				e.Extract(&ev, v)
				if !approx(v, []float32{1, 0, 1, 0, 0}) {
					last = v
				}
			}
			done <- last
		}()
	}
	for range 4 {
		if v := <-done; v != nil {
			t.Errorf("a new key read %v, want the warm-up vector [1 0 1 0 0]", v)
		}
	}
}

func TestBucketOf(t *testing.T) {
	tests := []struct{ t, size, want int64 }{
		{0, 60, 0}, {59, 60, 0}, {60, 60, 1}, {-1, 60, -1}, {-60, 60, -1}, {-61, 60, -2},
	}
	for _, tt := range tests {
		if got := bucketOf(tt.t, tt.size); got != tt.want {
			t.Errorf("bucketOf(%d, %d) = %d, want %d", tt.t, tt.size, got, tt.want)
		}
	}
}

func TestBaselineCompileErrors(t *testing.T) {
	win := func(b BaselineSpec, distinct string) []WindowSpec {
		return []WindowSpec{{Name: "w", Key: []string{"a"}, Size: Duration(time.Minute), Distinct: distinct, Baseline: &b}}
	}
	feat := []Feature{{Name: "z", Kind: KindWindow, Window: "w", Agg: AggBaselineZ}}
	tests := []struct {
		name string
		spec Spec
	}{
		{"baseline agg without baseline", Spec{Windows: []WindowSpec{{Name: "w", Key: []string{"a"}, Size: Duration(time.Minute)}}, Features: feat}},
		{"unknown baseline agg", Spec{Windows: win(BaselineSpec{Agg: "rate"}, ""), Features: feat}},
		{"distinct baseline without distinct", Spec{Windows: win(BaselineSpec{Agg: "distinct"}, ""), Features: feat}},
		{"negative bucket", Spec{Windows: win(BaselineSpec{Bucket: -1}, ""), Features: feat}},
		{"tiny bucket", Spec{Windows: win(BaselineSpec{Bucket: 5}, ""), Features: feat}},
		{"negative half-life", Spec{Windows: win(BaselineSpec{HalfLife: -1}, ""), Features: feat}},
		{"negative warm-up", Spec{Windows: win(BaselineSpec{Warmup: -1}, ""), Features: feat}},
		{"NaN min_std", Spec{Windows: win(BaselineSpec{MinStd: math.NaN()}, ""), Features: feat}},
		{"negative min_std", Spec{Windows: win(BaselineSpec{MinStd: -1}, ""), Features: feat}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.spec)
			var se *SpecError
			if !errors.As(err, &se) || !errors.Is(err, ErrSpec) {
				t.Fatalf("Compile err = %v, want *SpecError wrapping ErrSpec", err)
			}
		})
	}
	if _, err := Compile(Spec{Windows: win(BaselineSpec{Agg: "distinct"}, "user.name"), Features: feat}); err != nil {
		t.Errorf("valid distinct baseline refused: %v", err)
	}
}

// FuzzBaselineBounds replays an arbitrary event stream (3 bytes an event:
// seconds to advance, key, outcome) and checks the guarantees: at most
// MaxKeys keys, every key's state finite with a non-negative variance and
// a mean within the aggregate's range, buckets never more than the buckets
// elapsed, and the same stream giving the same vectors bit for bit.
func FuzzBaselineBounds(f *testing.F) {
	f.Add([]byte{0, 0, 0, 10, 0, 0, 70, 0, 0, 255, 1, 1, 1, 2, 0})
	f.Add([]byte{255, 3, 0, 255, 3, 0, 255, 3, 0, 0, 3, 0, 0, 3, 0, 0, 4, 1})
	f.Add([]byte{})
	for _, agg := range []string{"count", "distinct", "matched_ratio"} {
		f.Add([]byte(agg))
	}
	const maxKeys, maxEvents = 3, 8
	mk := func(agg string) *Engine {
		spec := baselineSpec(BaselineSpec{Agg: agg, Warmup: 1, MinStd: 0.01, HalfLife: Duration(3 * time.Minute)})
		spec.Windows[0].MaxKeys, spec.Windows[0].MaxEvents = maxKeys, maxEvents
		e, err := Compile(spec)
		if err != nil {
			f.Fatal(err)
		}
		return e
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		agg := []string{"count", "distinct", "matched_ratio"}[len(data)%3]
		a, b := mk(agg), mk(agg)
		sec := 0
		va, vb := make([]float32, a.Width()), make([]float32, b.Width())
		for i := 0; i+2 < len(data); i += 3 {
			sec += int(data[i]) * int(data[i]) // up to ~18h a step: long gaps too
			out := "success"
			if data[i+2]&1 == 1 {
				out = "failure"
			}
			ev := authAt(sec, fmt.Sprintf("k%d", data[i+1]%5), out)
			ev.Fields["user.name"] = fmt.Sprintf("u%d", data[i+2]>>1%4)
			a.Extract(&ev, va)
			b.Extract(&ev, vb)
			for j := range va {
				if math.Float32bits(va[j]) != math.Float32bits(vb[j]) {
					t.Fatalf("event %d column %s: %v vs %v from the same stream", i/3, a.names[j], va[j], vb[j])
				}
			}
			if elapsed := float32(sec/60 + 1); va[4] > elapsed {
				t.Fatalf("event %d: %v buckets after %v elapsed", i/3, va[4], elapsed)
			}
			w := a.windows[0]
			if len(w.keys) > maxKeys {
				t.Fatalf("%d keys, bound %d", len(w.keys), maxKeys)
			}
			for k, ks := range w.keys {
				s := ks.base
				if math.IsNaN(s.mean) || math.IsNaN(s.vari) || math.IsInf(s.vari, 0) || s.vari < -1e-9 ||
					s.mean < -1e-9 || s.mean > maxEvents+1e-9 || s.peak > maxEvents {
					t.Fatalf("key %q: state %+v out of bounds", k, s)
				}
			}
		}
	})
}

// BenchmarkBaseline measures what a baseline adds per event: the same
// window with and without one, in two regimes. "gaps": 1,000 sources, a
// second between events, so every event of a key closes its bucket and
// folds a gap of ~16 silent buckets (the worst case). "steady": 10 sources,
// 10ms between events, so buckets mostly stay open (the common case for
// busy entities). Compare the sub-benchmarks of one run; cpu-ns/event
// (process CPU time, one goroutine) is the figure other load on the
// machine distorts least.
func BenchmarkBaseline(b *testing.B) {
	regimes := []struct {
		name    string
		sources int
		step    time.Duration
	}{{"gaps", 1000, time.Second}, {"steady", 10, 10 * time.Millisecond}}
	for _, r := range regimes {
		events := make([]gateway.Event, 4096)
		for i := range events {
			out := "success"
			if i%3 != 0 {
				out = "failure"
			}
			events[i] = authAt(0, fmt.Sprintf("10.0.%d.%d", i%r.sources/250, i%r.sources%250), out)
			events[i].Time = t0.Add(time.Duration(i) * r.step)
		}
		for _, withBaseline := range []bool{false, true} {
			spec := baselineSpec(BaselineSpec{})
			spec.Windows[0].MaxKeys = 0
			spec.Features = spec.Features[:1]
			name := r.name + "/window"
			if withBaseline {
				spec.Features = append(spec.Features, Feature{Name: "z", Kind: KindWindow, Window: "fail", Agg: AggBaselineZ})
				name = r.name + "/window+baseline"
			} else {
				spec.Windows[0].Baseline = nil
			}
			b.Run(name, func(b *testing.B) {
				e, err := Compile(spec)
				if err != nil {
					b.Fatal(err)
				}
				v := make([]float32, e.Width())
				b.ReportAllocs()
				cpu0 := cpuNow(b)
				i := 0
				for b.Loop() {
					ev := events[i%len(events)]
					ev.Time = ev.Time.Add(time.Duration(i/len(events)*len(events)) * r.step)
					e.Extract(&ev, v)
					i++
				}
				b.ReportMetric(float64((cpuNow(b)-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/event")
			})
		}
	}
}

// cpuNow is the process's CPU time (user + system).
func cpuNow(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
