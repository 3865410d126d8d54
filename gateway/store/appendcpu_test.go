package store

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// flowEvents returns n distinct flow events shaped like the ingest
// bench's NSL-KDD records (41 numeric fields and an address, about
// 1.7 KB of canonical JSON with its raw line), their fields given as
// canonical bytes the way ingest's map-free path hands them over, so the
// caller's encoding (the same for every store) stays small.
func flowEvents(tb testing.TB, from, n int) []gateway.Event {
	tb.Helper()
	out := make([]gateway.Event, n)
	t0 := time.Date(2026, 12, 5, 3, 4, 5, 0, time.UTC)
	for i := range out {
		k := from + i
		f := map[string]any{"source.ip": fmt.Sprintf("10.%d.%d.%d", k>>16&255, k>>8&255, k&255)}
		raw := fmt.Sprint(k, ",")
		for j := range 41 {
			v := fmt.Sprint((k*31 + j*7) % 100_000)
			f[fmt.Sprintf("kdd.f%02d", j)] = json.Number(v)
			raw += v + ","
		}
		fc, err := json.Marshal(f)
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = gateway.Event{Received: t0.Add(time.Duration(k) * time.Microsecond), Time: t0.Add(time.Duration(k) * time.Microsecond),
			Source: "bench", Sourcetype: "nsl-kdd", Class: gateway.ClassFlow, FieldsCanonical: fc, Raw: []byte(raw + "normal.")}
	}
	return out
}

// BenchmarkAppendCPU is the process CPU time per appended event of
// ingest-like load on the real file system (b.TempDir) with the default
// options (preallocation on): 8 appenders sending 100-event requests of
// NSL-KDD-sized flow events, into 8 MiB segments so that a run rolls
// through several of them and pays their preparation. Requests are built
// before the clock starts; a spare segment being filled when an op's
// appends end is waited for, so its CPU time counts. It reports cpu-ns/event (getrusage, so the
// spare's background zero-fill counts), the group size, and the bytes
// read from disk per event (a buffered write that covers part of a page
// not in the page cache reads it first).
func BenchmarkAppendCPU(b *testing.B) { benchAppendCPU(b) }

// BenchmarkAppendCPURecent is BenchmarkAppendCPU with the gateway's
// recent-leaves ring (WithRecentLeaves, as gateway/cmd/ledgerguard sizes
// it): each group's frames are published to it, in an arena of their own.
func BenchmarkAppendCPURecent(b *testing.B) {
	benchAppendCPU(b, WithRecentLeaves(1<<16, 128<<20))
}

// benchAppendCPU is BenchmarkAppendCPU with opts besides its own.
func benchAppendCPU(b *testing.B, opts ...Option) {
	const appenders, reqEvents, perOp = 8, 100, 20_000
	s, err := Open(context.Background(), b.TempDir(), append([]Option{WithGateway(testMSP, testGW), WithSegmentBytes(8 << 20)}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var cpu time.Duration
	var read int64
	from := 0
	for b.Loop() {
		b.StopTimer()
		reqs := make([][]gateway.Event, perOp/reqEvents)
		for i := range reqs {
			reqs[i] = flowEvents(b, from, reqEvents)
			from += reqEvents
		}
		runtime.GC()
		b.StartTimer()
		c0, r0 := processCPU(), procReadBytes(b)
		appendAll(b, s, appenders, reqs)
		// A spare being zero-filled finishes inside the measured time.
		for s.log.spare.Load() == spareFilling {
			time.Sleep(time.Millisecond)
		}
		cpu += processCPU() - c0
		read += procReadBytes(b) - r0
	}
	st := s.Stats()
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*perOp), "cpu-ns/event")
	b.ReportMetric(float64(st.Events)/float64(max(st.Commits, 1)), "events/fsync")
	b.ReportMetric(float64(read)/float64(b.N*perOp), "disk-read-B/event")
}

// procReadBytes is the bytes this process caused to be read from storage
// so far (/proc/self/io's read_bytes: page-cache misses, not cache hits).
func procReadBytes(tb testing.TB) int64 {
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		tb.Skipf("no /proc/self/io: %v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "read_bytes: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return n
		}
	}
	tb.Skip("no read_bytes in /proc/self/io")
	return 0
}
