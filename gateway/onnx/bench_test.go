package onnx

import (
	"context"
	"errors"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/features"
)

var errEnough = errors.New("enough")

// benchEvents replays up to n events of the model's first evaluation split.
func benchEvents(b *testing.B, m *Model, n int) []gateway.Event {
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

// BenchmarkDetect measures Detect per event through the real feature
// engine, micro-batcher and ONNX Runtime session, with batches of 1024
// events from two concurrent callers (the gateway's set-up on 2 cores).
// The auth model reads syslog, which needs the ingest normaliser, so it is
// benchmarked on synthetic auth events instead.
func BenchmarkDetect(b *testing.B) {
	requireORT(b)
	for _, name := range []string{"nsl-kdd-flow", "cic-ids2017-flow", "dns-dga", "auth-bruteforce",
		"nsl-kdd-flow-anomaly", "cic-ids2017-flow-anomaly", "dns-anomaly", "auth-anomaly"} {
		b.Run(name, func(b *testing.B) {
			m, err := Open(modelDir(b, name))
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			var evs []gateway.Event
			if name == "auth-bruteforce" || name == "auth-anomaly" {
				base := goldenEvents("auth-bruteforce")
				for len(evs) < 1024 {
					evs = append(evs, base...)
				}
			} else {
				evs = benchEvents(b, m, 1024)
			}
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := m.Detect(context.Background(), evs); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
		})
	}
}
