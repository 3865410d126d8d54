package ingesttest

import (
	"syscall"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Rate starts measuring a benchmark's throughput; call the returned
// function after the loop with the number of events one iteration handles.
// It reports events/s (wall clock, as b.Elapsed) and events/cpu-s (process
// CPU time, all threads including GC), the latter being the figure that
// stays meaningful when other work shares the machine's cores.
func Rate(b *testing.B) func(eventsPerOp int) {
	b.Helper()
	start := cpuTime()
	return func(eventsPerOp int) {
		n := float64(b.N) * float64(eventsPerOp)
		b.ReportMetric(n/b.Elapsed().Seconds(), "events/s")
		if cpu := cpuTime() - start; cpu > 0 {
			b.ReportMetric(n/cpu.Seconds(), "events/cpu-s")
		}
	}
}

// StoreWork does to events what the store's Append does to each before
// its group commit (Validate, Canonical), failing tb on an error: the
// handler benchmarks' per-event work past parsing.
func StoreWork(tb testing.TB, events []gateway.Event) {
	tb.Helper()
	for _, e := range events {
		if err := e.Validate(); err != nil {
			tb.Fatal(err)
		}
		if _, err := e.Canonical(); err != nil {
			tb.Fatal(err)
		}
	}
}
