package alerting_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/alerting"
	"github.com/ledgerguard/ledgerguard/gateway/detect"
	"github.com/ledgerguard/ledgerguard/gateway/intel"
	"github.com/ledgerguard/ledgerguard/gateway/store"
)

// benchModel is the flaggers' model.
var benchModel = gateway.ModelRef{ID: "auth", Version: "1", SHA256: fmt.Sprintf("%064d", 0)}

// flagEvery flags one event in every n, as a model would a rare attack:
// reading the batch, not building alerts, dominates.
type flagEvery struct{ n int }

func (f flagEvery) Detect(_ context.Context, evs []gateway.Event) ([]detect.Result, error) {
	out := make([]detect.Result, len(evs))
	for i, ev := range evs {
		flagged := i%f.n == 0
		out[i] = detect.Result{Index: i, EventID: ev.ID, Model: benchModel.ID, Version: benchModel.Version, SHA256: benchModel.SHA256, Score: 0.5, Flagged: flagged, Label: "x"}
	}
	return out, nil
}

type countRaiser struct{ n int }

func (c *countRaiser) RaiseAlerts(_ context.Context, alerts []wire.Alert) (wire.RaiseResult, error) {
	c.n += len(alerts)
	return wire.RaiseResult{Created: len(alerts)}, nil
}

// anchoredStore appends n sshd-like events of about 500 canonical bytes
// to a store on disk, seals them in batches of batch events and marks
// every batch anchored.
func anchoredStore(b *testing.B, n, batch int) *store.Store {
	b.Helper()
	ctx := context.Background()
	// The batches list the flaggers' model: the alerter raises only
	// verdicts of models in force when a batch was sealed.
	s, err := store.Open(ctx, b.TempDir(), store.WithGateway("Org1MSP", "gw-bench"),
		store.WithBatchMaxEvents(batch), store.WithBatchMaxWait(time.Hour),
		store.WithModels(func() []gateway.ModelRef { return []gateway.ModelRef{benchModel} }))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for lo := 0; lo < n; lo += 1000 {
		evs := make([]gateway.Event, min(1000, n-lo))
		for j := range evs {
			i := lo + j
			at := t0.Add(time.Duration(i) * time.Millisecond)
			evs[j] = gateway.Event{Received: at, Time: at, Source: "syslog", Sourcetype: "linux:auth", Host: fmt.Sprintf("host%d", i%50),
				Class: gateway.ClassAuth, Fields: map[string]any{"source.ip": fmt.Sprintf("10.0.%d.%d", (i/256)%256, i%256), "user.name": fmt.Sprintf("user%d", i%97), "event.outcome": "failure"},
				Raw: []byte(fmt.Sprintf("<34>1 2026-11-25T10:00:00Z host%d sshd 4242 - - Failed password for user%d from 10.0.%d.%d port 22 ssh2 (attempt %d of a long and noisy brute force run)", i%50, i%97, (i/256)%256, i%256, i))}
		}
		if _, err := s.Append(ctx, evs); err != nil {
			b.Fatal(err)
		}
	}
	for {
		pending, err := s.PendingBatches(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(pending) == 0 {
			break
		}
		for i, p := range pending {
			if err := s.MarkAnchored(ctx, p.ID, fmt.Sprintf("%064x", i), uint64(i)); err != nil {
				b.Fatal(err)
			}
		}
	}
	return s
}

// BenchmarkAlerterRead measures the alerter over an anchored log of
// 20,000 events in batches of 1,000 with one event in 100 flagged: each op
// is a fresh alerter catching up from watermark 0 (reading every event
// back from the store, scoring, building the alerts, one watermark
// write). It reports events/s.
func BenchmarkAlerterRead(b *testing.B) {
	const n, batch = 20_000, 1_000
	s := anchoredStore(b, n, batch)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		r := &countRaiser{}
		a, err := alerting.New(alerting.Config{MSP: "Org1MSP", GatewayID: "gw-bench", StateDir: b.TempDir(), Logger: quiet}, s, flagEvery{100}, r)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		b.StartTimer()
		go func() { done <- a.Run(ctx) }()
		for a.Status().Watermark < n {
			time.Sleep(50 * time.Microsecond)
		}
		b.StopTimer()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			b.Fatal(err)
		}
		if r.n != n/100 {
			b.Fatalf("raised %d alerts, want %d", r.n, n/100)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// flagLeaves is flagEvery as a LeafDetector: it reads only the leaves'
// headers, as the ONNX and intel detectors read only the canonical bytes
// past them.
type flagLeaves struct{ flagEvery }

func (f flagLeaves) DetectLeaves(_ context.Context, leaves []gateway.Leaf) ([]detect.Result, error) {
	out := make([]detect.Result, len(leaves))
	for i := range leaves {
		out[i] = detect.Result{Index: i, EventID: leaves[i].Event.ID, Model: benchModel.ID, Version: benchModel.Version, SHA256: benchModel.SHA256, Score: 0.5, Flagged: i%f.n == 0, Label: "x"}
	}
	return out, nil
}

// wholeLeaves reads the store as the alerter did before partial leaves:
// every event decoded whole (store.Leaves).
type wholeLeaves struct{ *store.Store }

func (w wholeLeaves) HeaderLeaves(ctx context.Context, from, to uint64) ([]gateway.Leaf, error) {
	return w.Leaves(ctx, from, to)
}

// BenchmarkAlerterReadLeaves is BenchmarkAlerterRead with detectors that
// read the leaves (a flagger of one event in 100 and the intel detector,
// whose observables come from every event's bytes), the log read two
// ways in the same run: "whole" decodes every event (store.Leaves, the
// alerter before partial leaves), "header" reads partial leaves
// (store.HeaderLeaves) and decodes only the flagged ones. It reports CPU
// time, bytes and allocations per event (the alerter's goroutines
// included; CPU time is the process's, which other load on a shared
// machine does not stretch).
func BenchmarkAlerterReadLeaves(b *testing.B) {
	const n, batch = 20_000, 1_000
	s := anchoredStore(b, n, batch)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	det := detect.Join(flagLeaves{flagEvery{100}}, &intel.Detector{Matcher: intel.NewMatcher()})
	for _, mode := range []struct {
		name string
		log  alerting.Log
	}{{"whole", wholeLeaves{s}}, {"header", s}} {
		b.Run(mode.name, func(b *testing.B) {
			var ms0, ms1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms0)
			cpu0 := cpuTime(b)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r := &countRaiser{}
				a, err := alerting.New(alerting.Config{MSP: "Org1MSP", GatewayID: "gw-bench", StateDir: b.TempDir(), Logger: quiet}, mode.log, det, r)
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- a.Run(ctx) }()
				for a.Status().Watermark < n {
					time.Sleep(50 * time.Microsecond)
				}
				cancel()
				if err := <-done; !errors.Is(err, context.Canceled) {
					b.Fatal(err)
				}
				if r.n != n/100 {
					b.Fatalf("raised %d alerts, want %d", r.n, n/100)
				}
			}
			b.StopTimer()
			cpu := cpuTime(b) - cpu0
			runtime.ReadMemStats(&ms1)
			events := float64(n) * float64(b.N)
			b.ReportMetric(float64(cpu.Nanoseconds())/events, "cpu-ns/event")
			b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/events, "B/event")
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/events, "allocs/event")
			b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
