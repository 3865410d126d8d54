package features

import (
	"testing"
	"time"
)

// pairedCPU measures the variants fs (named names) of one piece of work
// of units units each, alternated: every iteration of b's loop runs each
// variant once, in turn, and adds its CPU time to that variant's, and
// each one's CPU ns per unit is reported as "cpu-ns/<unit>-<name>". The
// machine is shared, so figures taken minutes apart (sub-benchmarks run
// one after the other) differ by more than the change measured;
// alternated variants see the same load.
func pairedCPU(b *testing.B, unit string, units int, names []string, fs []func()) {
	spent := make([]time.Duration, len(fs))
	for b.Loop() {
		for i, f := range fs {
			t0 := cpuTime(b)
			f()
			spent[i] += cpuTime(b) - t0
		}
	}
	for i, name := range names {
		b.ReportMetric(float64(spent[i])/float64(b.N*units), "cpu-ns/"+unit+"-"+name)
	}
}
