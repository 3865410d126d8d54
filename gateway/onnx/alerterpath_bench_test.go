package onnx

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/store"
)

// BenchmarkAlerterPath measures what the alerter spends per event on the
// ingest bench's load (NSL-KDD flow records, the nsl-kdd pair served):
// reading a window of partial leaves from the store (store.HeaderLeaves,
// from its recent-leaves ring or, once the ring has moved past them, from
// the segment files) and scoring them (Registry.DetectLeaves). "read-ring"
// and "read-files" read only; "ring+detect" and "files+detect" read and
// score. It reports CPU ns per event (the process's, so the detector's
// workers are counted and other load on a shared machine is not).
func BenchmarkAlerterPath(b *testing.B) {
	requireORT(b)
	const window, n = 4096, 4 * 4096
	ctx := context.Background()
	models := b.TempDir()
	for _, name := range []string{"nsl-kdd-flow", "nsl-kdd-flow-anomaly"} {
		if err := os.CopyFS(filepath.Join(models, name), os.DirFS(filepath.Join(repoRoot(b), "models", name))); err != nil {
			b.Fatal(err)
		}
	}
	reg, err := NewRegistry(ctx, models)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = reg.Close() })
	m, _ := reg.Get("nsl-kdd-flow")
	base := benchEvents(b, m, 4096)
	s, err := store.Open(ctx, b.TempDir(), store.WithGateway("Org1MSP", "gw-bench"),
		store.WithRecentLeaves(2*window, 48<<20), store.WithBatchMaxWait(time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	// Each event is a row of the split as the ingest bench sends it: its
	// NDJSON line (distinct lines, distinct ids, canonical bytes of the
	// bench's size) received a microsecond after the previous one.
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	record := func(i int) gateway.Event {
		ev := base[i%len(base)]
		raw, err := json.Marshal(map[string]any{"n": i, "row": ev.Fields})
		if err != nil {
			b.Fatal(err)
		}
		ev.ID, ev.Raw, ev.Received = "", raw, t0.Add(time.Duration(i)*time.Microsecond)
		return ev
	}
	for lo := 0; lo < n; lo += 1000 {
		evs := make([]gateway.Event, 0, 1000)
		for i := lo; i < min(lo+1000, n); i++ {
			evs = append(evs, record(i))
		}
		if _, err := s.Append(ctx, evs); err != nil {
			b.Fatal(err)
		}
	}
	ranges := map[string]uint64{"ring": n - 2*window, "files": 0}
	for _, mode := range []struct {
		name   string
		from   uint64
		detect bool
	}{{"read-ring", ranges["ring"], false}, {"read-files", ranges["files"], false},
		{"ring+detect", ranges["ring"], true}, {"files+detect", ranges["files"], true}} {
		b.Run(mode.name, func(b *testing.B) {
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			cpu0 := cpuTime(b)
			events := 0
			for b.Loop() {
				for from := mode.from; from < mode.from+2*window; from += window {
					leaves, err := s.HeaderLeaves(ctx, from, from+window)
					if err != nil {
						b.Fatal(err)
					}
					if mode.detect {
						if _, err := reg.DetectLeaves(ctx, leaves); err != nil {
							b.Fatal(err)
						}
					}
					events += len(leaves)
				}
			}
			b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(events), "cpu-ns/event")
			runtime.ReadMemStats(&ms1)
			b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(events), "B/event")
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(events), "allocs/event")
		})
	}
}
