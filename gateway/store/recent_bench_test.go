package store

import (
	"context"
	"runtime"
	"testing"
)

// BenchmarkHeaderLeavesWindow is the alerter's read of one window
// (alerting.LeavesPerRead, 4,096 events) of NSL-KDD-sized flow records,
// appended in groups of 1,000 as ingest's requests make them: "ring"
// reads the latest window, which WithRecentLeaves holds, "files" an
// older one read back from the segment files (in the page cache). It
// reports the process's CPU ns per event (getrusage: the garbage
// collector's share of what a read allocates counts), and the bytes and
// allocations per event.
func BenchmarkHeaderLeavesWindow(b *testing.B) {
	const window, n = 4096, 4 * 4096
	ctx := context.Background()
	s, err := Open(ctx, b.TempDir(), WithGateway(testMSP, testGW), WithRecentLeaves(3*window, 64<<20))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for lo := 0; lo < n; lo += 1000 {
		if _, err := s.Append(ctx, flowEvents(b, lo, min(1000, n-lo))); err != nil {
			b.Fatal(err)
		}
	}
	for _, mode := range []struct {
		name string
		from uint64
	}{{"ring", n - window}, {"files", 0}} {
		b.Run(mode.name, func(b *testing.B) {
			runtime.GC()
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			files0 := s.Stats().LeavesFromFiles
			cpu0 := processCPU()
			for b.Loop() {
				if _, err := s.HeaderLeaves(ctx, mode.from, mode.from+window); err != nil {
					b.Fatal(err)
				}
			}
			events := float64(b.N * window)
			b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/events, "cpu-ns/event")
			runtime.ReadMemStats(&ms1)
			b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/events, "B/event")
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/events, "allocs/event")
			if fromFiles := s.Stats().LeavesFromFiles > files0; fromFiles != (mode.name == "files") {
				b.Fatalf("%s: read from the files = %v", mode.name, fromFiles)
			}
		})
	}
}
