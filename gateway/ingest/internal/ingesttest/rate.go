package ingesttest

import (
	"syscall"
	"testing"
	"time"
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
