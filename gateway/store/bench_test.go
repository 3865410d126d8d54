package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
)

const (
	benchReqEvents = 100
	benchEventSize = 500
)

// benchEvents returns request k's events: a ~500-byte canonical event whose
// raw bytes carry a unique counter, so every event is new.
func benchEvents(template gateway.Event, k uint64) []gateway.Event {
	out := make([]gateway.Event, benchReqEvents)
	for i := range out {
		e := template
		e.Raw = append([]byte(nil), template.Raw...)
		binary.BigEndian.PutUint64(e.Raw[len(e.Raw)-8:], k*benchReqEvents+uint64(i))
		out[i] = e
	}
	return out
}

func benchTemplate(b *testing.B) gateway.Event {
	e := testEvent(1, benchEventSize)
	e.Raw = append(e.Raw, make([]byte, 8)...)
	e.ID = gateway.ComputeID(e.Source, e.Sourcetype, e.Raw)
	c, err := e.Canonical()
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("canonical event size: %d bytes", len(c))
	e.ID = ""
	return e
}

// BenchmarkAppend measures durable append throughput on the real file
// system (b.TempDir) with 1, 8 and 64 concurrent appenders sending
// 100-event requests; each op is one request. It reports events/s and the
// group-commit factor (events per fsync).
func BenchmarkAppend(b *testing.B) {
	for _, appenders := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("appenders=%d", appenders), func(b *testing.B) {
			template := benchTemplate(b)
			s, err := Open(context.Background(), b.TempDir(), WithGateway(testMSP, testGW))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			var next atomic.Uint64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for range appenders {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						k := next.Add(1) - 1
						if k >= uint64(b.N) {
							return
						}
						if _, err := s.Append(context.Background(), benchEvents(template, k)); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			el := time.Since(start)
			b.StopTimer()
			st := s.Stats()
			b.ReportMetric(float64(b.N*benchReqEvents)/el.Seconds(), "events/s")
			b.ReportMetric(float64(st.Events)/float64(max(st.Commits, 1)), "events/fsync")
		})
	}
}

// BenchmarkLeafSHA256 is the raw limit of the append path's hashing: the
// RFC 6962 leaf hash of the same canonical bytes, alone, on one core and
// on all cores.
func BenchmarkLeafSHA256(b *testing.B) {
	e := benchTemplate(b)
	e.ID = gateway.ComputeID(e.Source, e.Sourcetype, e.Raw)
	leaf, _ := e.Canonical()
	b.Run("cores=1", func(b *testing.B) {
		b.SetBytes(int64(len(leaf)))
		buf := make([]byte, 0, 1+len(leaf))
		for b.Loop() {
			buf = append(append(buf[:0], 0), leaf...)
			_ = sha256.Sum256(buf)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run(fmt.Sprintf("cores=%d", runtime.GOMAXPROCS(0)), func(b *testing.B) {
		b.SetBytes(int64(len(leaf)))
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			buf := make([]byte, 0, 1+len(leaf))
			for pb.Next() {
				buf = append(append(buf[:0], 0), leaf...)
				_ = sha256.Sum256(buf)
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	})
}

// BenchmarkCanonical is the per-event JSON encoding the caller pays before
// the appender: usually the largest CPU cost of an append.
func BenchmarkCanonical(b *testing.B) {
	e := benchTemplate(b)
	e.ID = gateway.ComputeID(e.Source, e.Sourcetype, e.Raw)
	for b.Loop() {
		if _, err := e.Canonical(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkAckLatency measures how long Append takes to acknowledge
// 100-event requests sent open-loop (each at its scheduled time, whatever
// the ones before it do) at ackBenchRate events/s on the real file system:
// the store's share of the gateway's ack_latency. It alternates rounds
// between three stores: "new" is the default (the segment fsync, then
// Pebble's, into preallocated segments, segment.go); "segack" acknowledges
// after the segment fsync alone (WithAckAfterSegment, Pebble's fsync off
// the acknowledgement path, indexsync.go), also preallocated; "old" is
// the default without preallocation, as before both. Rounds of half a second
// are interleaved so all see the same disk and machine load. It reports
// each one's p50 and p99 and the ratio of new's p99 to old's. Run it with
// -benchtime 1x: the work is fixed.
func BenchmarkAckLatency(b *testing.B) {
	const (
		rounds = 20
		round  = 500 * time.Millisecond
	)
	template := benchTemplate(b)
	modes := []struct {
		name string
		opts []Option
		lat  []time.Duration
	}{
		{name: "new", opts: []Option{WithSegmentPreallocation(true)}},
		{name: "segack", opts: []Option{WithSegmentPreallocation(true), WithAckAfterSegment(true)}},
		{name: "old", opts: []Option{WithSegmentPreallocation(false)}},
	}
	stores := make([]*Store, len(modes))
	for i, m := range modes {
		// Small segments, so the new store rolls into preallocated ones
		// early in the run, as a long-running gateway's always does.
		s, err := Open(context.Background(), b.TempDir(), append([]Option{WithGateway(testMSP, testGW), WithBatchMaxEvents(50_000), WithSegmentBytes(4 << 20)}, m.opts...)...)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	var k atomic.Uint64
	b.ResetTimer()
	for range b.N {
		for r := range rounds * len(modes) {
			i := r % len(modes)
			modes[i].lat = append(modes[i].lat, pacedAppends(b, stores[i], template, &k, ackBenchRate, round)...)
		}
	}
	b.StopTimer()
	p99 := make([]float64, len(modes))
	for i, m := range modes {
		slices.Sort(m.lat)
		p50, p := m.lat[len(m.lat)/2], m.lat[len(m.lat)*99/100]
		p99[i] = float64(p) / float64(time.Millisecond)
		b.ReportMetric(float64(p50)/float64(time.Millisecond), "p50-ms-"+m.name)
		b.ReportMetric(p99[i], "p99-ms-"+m.name)
	}
	b.ReportMetric(p99[0]/p99[len(p99)-1], "p99-ratio-new/old")
}

// ackBenchRate is BenchmarkAckLatency's load: about a quarter of the
// store's own capacity on a busy two-core machine, so the figure is the
// acknowledgement path's latency rather than queueing behind the CPU.
const ackBenchRate = 5_000

// pacedAppends sends 100-event requests open-loop at rate events/s for d
// and returns each one's latency from its scheduled time.
func pacedAppends(b *testing.B, s *Store, template gateway.Event, k *atomic.Uint64, rate float64, d time.Duration) []time.Duration {
	interval := time.Duration(float64(time.Second) * benchReqEvents / rate)
	var (
		mu  sync.Mutex
		out []time.Duration
		wg  sync.WaitGroup
	)
	start := time.Now()
	for n := 0; ; n++ {
		at := start.Add(time.Duration(n) * interval)
		if at.Sub(start) >= d {
			break
		}
		time.Sleep(time.Until(at))
		events := benchEvents(template, k.Add(1))
		wg.Go(func() {
			if _, err := s.Append(context.Background(), events); err != nil {
				b.Error(err)
				return
			}
			lat := time.Since(at)
			mu.Lock()
			out = append(out, lat)
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// BenchmarkIDIndexOrder compares the CPU time per event of appends that
// write a group's id index keys in key order (the default, setIDKeys)
// with appends writing them in seq order, as before. Two stores on
// in-memory file systems (so the disk's noise stays out), each first
// filled with 100,000 events, take 1,000-event requests from 8
// concurrent appenders in alternating rounds; each round's process CPU
// time (getrusage) is charged to the store that ran it. It reports
// ns/event for both and their ratio.
func BenchmarkIDIndexOrder(b *testing.B) {
	const reqEvents, appenders, fill, rounds, perRound = 1000, 8, 100, 10, 16
	template := benchTemplate(b)
	kinds := []struct {
		name string
		opts []Option
	}{
		{name: "sorted"},
		{name: "seqorder", opts: []Option{func(c *config) error { c.testIDKeysInSeqOrder = true; return nil }}},
	}
	var k atomic.Uint64
	requests := func(n int) [][]gateway.Event {
		out := make([][]gateway.Event, n)
		for i := range out {
			var evs []gateway.Event
			for range reqEvents / benchReqEvents {
				evs = append(evs, benchEvents(template, k.Add(1))...)
			}
			out[i] = evs
		}
		return out
	}
	run := func(s *Store, reqs [][]gateway.Event) { appendAll(b, s, appenders, reqs) }
	stores := make([]*Store, len(kinds))
	for i, kd := range kinds {
		stores[i] = openTest(b, nil, append([]Option{WithBatchMaxEvents(1 << 20)}, kd.opts...)...).Store
		defer stores[i].Close()
		run(stores[i], requests(fill))
	}
	cpu := make([]time.Duration, len(kinds))
	for b.Loop() {
		for r := range rounds {
			for j := range kinds {
				i := (j + r) % len(kinds) // alternate which runs first
				reqs := requests(perRound)
				runtime.GC()
				c0 := processCPU()
				run(stores[i], reqs)
				cpu[i] += processCPU() - c0
			}
		}
	}
	events := float64(b.N * rounds * perRound * reqEvents)
	for i, kd := range kinds {
		b.ReportMetric(float64(cpu[i].Nanoseconds())/events, kd.name+"-cpu-ns/event")
	}
	b.ReportMetric(float64(cpu[0])/float64(cpu[1]), "sorted/seqorder")
}

// appendAll appends the requests reqs to s from appenders concurrent
// goroutines, each taking the next request not yet taken.
func appendAll(b *testing.B, s *Store, appenders int, reqs [][]gateway.Event) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range appenders {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(reqs)) {
					return
				}
				if _, err := s.Append(context.Background(), reqs[i]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// processCPU is the process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
