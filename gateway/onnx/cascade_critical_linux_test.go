package onnx

import (
	"context"
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// threadCPU is the calling OS thread's CPU time (CLOCK_THREAD_CPUTIME_ID):
// what one chunk's ONNX Runtime calls cost, whatever else runs on the box.
func threadCPU(b *testing.B) time.Duration {
	var ts syscall.Timespec
	const clockThreadCPUTimeID = 3
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		b.Fatal(e)
	}
	return time.Duration(ts.Nano())
}

// BenchmarkCascadeCriticalPath estimates, from CPU times a loaded box does
// not distort, how long the served cascade keeps two cores busy on
// BenchmarkDetect's batch (8,192 events, 1,024-row chunks as Model.score
// cuts them): per-chunk, each chunk's screen and full graph run in turn
// and two workers take the chunks in order (what Model.score did before
// cascade.rest), so the phase lasts as long as the busier worker
// (chunk-ms: its CPU ms per batch); whole-batch, the screen's chunks
// are taken the same way and the full graph then scores all unsure rows,
// shared by two workers in 32-row parts: about half its CPU each
// (rest-ms). cpu-ms/* are the CPU time of each path.
func BenchmarkCascadeCriticalPath(b *testing.B) {
	requireORT(b)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	m := openCommitted(b, cascadeModel)
	c := m.casc
	evs, _ := detectInput(b, m, cascadeModel)
	w, k := m.engine.Width(), c.full.classes
	n := len(evs)
	x := make([]float32, n*w)
	for i := range evs {
		m.engine.Extract(&evs[i], x[i*w:(i+1)*w])
	}
	p := make([]float32, n*k)
	const chunk = 1024
	// makespan is the busier of two workers taking costs in order.
	makespan := func(costs []time.Duration) (span, sum time.Duration) {
		var a, o time.Duration
		for _, d := range costs {
			sum += d
			if a <= o {
				a += d
			} else {
				o += d
			}
		}
		return max(a, o), sum
	}
	var chunkSpan, chunkCPU, restSpan, restCPU time.Duration
	for b.Loop() {
		var whole, screen []time.Duration
		for lo := 0; lo < n; lo += chunk {
			hi := min(lo+chunk, n)
			t0 := threadCPU(b)
			if err := c.run(x[lo*w:hi*w], hi-lo, p[lo*k:hi*k]); err != nil {
				b.Fatal(err)
			}
			whole = append(whole, threadCPU(b)-t0)
		}
		for lo := 0; lo < n; lo += chunk {
			hi := min(lo+chunk, n)
			t0 := threadCPU(b)
			if err := c.screen.run(x[lo*w:hi*w], hi-lo, p[lo*k:hi*k]); err != nil {
				b.Fatal(err)
			}
			screen = append(screen, threadCPU(b)-t0)
		}
		t0 := threadCPU(b)
		if err := c.rest(context.Background(), x, n, p, 1); err != nil { // on this thread: the halves' sum
			b.Fatal(err)
		}
		trees := threadCPU(b) - t0
		s, sum := makespan(whole)
		chunkSpan, chunkCPU = chunkSpan+s, chunkCPU+sum
		s, sum = makespan(screen)
		restSpan, restCPU = restSpan+s+trees/2, restCPU+sum+trees
	}
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 / float64(b.N) }
	b.ReportMetric(per(chunkSpan), "chunk-ms")
	b.ReportMetric(per(restSpan), "rest-ms")
	b.ReportMetric(per(chunkCPU), "cpu-ms/chunk")
	b.ReportMetric(per(restCPU), "cpu-ms/rest")
}
