package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
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
