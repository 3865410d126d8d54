package onnx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/features"
)

var errEnough = errors.New("enough")

// benchEvents replays up to n events of the model's first evaluation split.
func benchEvents(b testing.TB, m *Model, n int) []gateway.Event {
	man := m.Manifest()
	if len(man.Evaluation) == 0 {
		b.Fatalf("%s has no evaluation split", man.Name)
	}
	dir := dataDir(b)
	var evs []gateway.Event
	err := features.ReadSplit(context.Background(), dir, man.Evaluation[0], man.Datasets, nil, func(_ features.FileRef, r features.Row) error {
		if man.Applies(&r.Event) {
			evs = append(evs, r.Event)
		}
		if len(evs) >= n {
			return errEnough
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		b.Fatal(err)
	}
	if len(evs) == 0 {
		b.Skipf("no events for %s", man.Name)
	}
	return evs
}

// detectBatch is the batch BenchmarkDetect hands to Detect: what the
// alerter read at a time until session 7 (alerting.LeavesPerRead is now
// 4,096); kept so the benchmark's figures stay comparable across sessions.
const detectBatch = 8192

// BenchmarkDetect measures detection per event through the real feature
// engine, micro-batcher and ONNX Runtime session the way the alerter calls
// it: one caller handing over a whole batch of detectBatch leaves as the
// store returns them (each event decoded from its canonical bytes, numbers
// as json.Number, with those bytes) to DetectLeaves, so the figure
// includes feature extraction and whatever of it is not spread over the
// cores (ns/event is wall time per event, both cores available;
// cpu-ns/event the CPU time). Events are the model's evaluation split
// repeated to fill the batch. The auth model reads syslog, which needs the
// ingest normaliser, so it is benchmarked on synthetic auth events
// instead.
func BenchmarkDetect(b *testing.B) {
	requireORT(b)
	for _, name := range detectModels {
		b.Run(name, func(b *testing.B) {
			m := openCommitted(b, name)
			evs, raw := detectInput(b, m, name)
			leaves := make([]gateway.Leaf, len(evs))
			for i := range evs {
				leaves[i] = gateway.Leaf{Event: evs[i], Canonical: raw[i]}
			}
			rows0, screened0, cascade := m.ScreenStats()
			cpu0 := cpuTime(b)
			b.ResetTimer()
			for b.Loop() {
				res, err := m.DetectLeaves(context.Background(), leaves)
				if err != nil {
					b.Fatal(err)
				}
				if len(res) != len(evs) {
					b.Fatalf("%d results for %d events", len(res), len(evs))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
			b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(b.N*len(evs)), "cpu-ns/event")
			if cascade {
				// The share of rows a cascade's screen answered alone:
				// what its cost per event depends on.
				rows, screened, _ := m.ScreenStats()
				b.ReportMetric(float64(screened-screened0)/float64(max(1, rows-rows0)), "screened/row")
			}
		})
	}
}

// stored returns ev as the store hands it to the alerter: decoded from its
// canonical bytes, numbers as json.Number.
func stored(b *testing.B, ev gateway.Event) gateway.Event {
	c, err := ev.Canonical()
	if err != nil {
		b.Fatal(err)
	}
	out, ok := decodeStored(c)
	if !ok {
		b.Fatalf("canonical event does not decode: %s", c)
	}
	return out
}

// decodeStored decodes canonical bytes as store.Leaves does.
func decodeStored(c []byte) (gateway.Event, bool) {
	var out gateway.Event
	d := json.NewDecoder(bytes.NewReader(c))
	d.UseNumber()
	return out, d.Decode(&out) == nil
}

// cpuTime is the process's user+system CPU time so far. Beside wall time
// per event, CPU time per event is what a busy shared machine cannot
// distort: other processes stretch wall time, not the CPU time this one
// spends.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
