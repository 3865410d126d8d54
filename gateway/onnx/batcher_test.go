package onnx

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// doubler is a fake model: each output is twice the row's first input,
// and it records the largest batch it was given.
type doubler struct {
	maxRows atomic.Int64
	calls   atomic.Int64
	delay   time.Duration
}

func (d *doubler) run(x []float32, rows int, dst []float32) error {
	d.calls.Add(1)
	for {
		cur := d.maxRows.Load()
		if int64(rows) <= cur || d.maxRows.CompareAndSwap(cur, int64(rows)) {
			break
		}
	}
	time.Sleep(d.delay)
	for i := range rows {
		dst[i] = 2 * x[i*2]
	}
	return nil
}

func TestBatcherNoLossNoReorder(t *testing.T) {
	tests := []struct {
		name     string
		maxBatch int
		maxWait  time.Duration
		rows     int
	}{
		{"single rows wait", 16, time.Millisecond, 1},
		{"single rows no wait", 16, -1, 1},
		{"multi-row requests", 16, time.Millisecond, 5},
		{"requests larger than a batch", 8, time.Millisecond, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &doubler{}
			b, err := NewBatcher(d.run, BatcherConfig{Width: 2, Classes: 1, MaxBatch: tt.maxBatch, MaxWait: tt.maxWait})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			var wg sync.WaitGroup
			for g := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 50 {
						x := make([]float32, 2*tt.rows)
						for r := range tt.rows {
							x[2*r] = float32(g*100000 + i*100 + r)
						}
						y := make([]float32, tt.rows)
						if err := b.Score(context.Background(), x, tt.rows, y); err != nil {
							t.Error(err)
							return
						}
						for r := range tt.rows {
							if got, want := y[r], 2*x[2*r]; got != want {
								t.Errorf("goroutine %d request %d row %d: got %v, want %v", g, i, r, got, want)
								return
							}
						}
					}
				}()
			}
			wg.Wait()
			if got := d.maxRows.Load(); got > int64(tt.maxBatch) {
				t.Errorf("largest batch %d rows, MaxBatch %d", got, tt.maxBatch)
			}
		})
	}
}

func TestBatcherMerges(t *testing.T) {
	d := &doubler{delay: 2 * time.Millisecond}
	b, _ := NewBatcher(d.run, BatcherConfig{Width: 2, Classes: 1, MaxBatch: 64, MaxWait: 5 * time.Millisecond, Workers: 1})
	defer b.Close()
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			y := make([]float32, 1)
			b.Score(context.Background(), []float32{1, 0}, 1, y)
		}()
	}
	wg.Wait()
	if c := d.calls.Load(); c >= 64 {
		t.Errorf("64 concurrent single-row requests took %d model calls, want fewer (batching)", c)
	}
}

func TestBatcherLatencyBound(t *testing.T) {
	const wait = 20 * time.Millisecond
	d := &doubler{}
	b, _ := NewBatcher(d.run, BatcherConfig{Width: 2, Classes: 1, MaxBatch: 1024, MaxWait: wait})
	defer b.Close()
	y := make([]float32, 1)
	start := time.Now()
	if err := b.Score(context.Background(), []float32{3, 0}, 1, y); err != nil {
		t.Fatal(err)
	}
	// A lone request waits for company at most MaxWait, then runs.
	if el := time.Since(start); el > wait+200*time.Millisecond {
		t.Errorf("lone request took %v, bound is MaxWait %v plus one run", el, wait)
	}
	if y[0] != 6 {
		t.Errorf("got %v, want 6", y[0])
	}
}

func TestBatcherClose(t *testing.T) {
	d := &doubler{delay: time.Millisecond}
	b, _ := NewBatcher(d.run, BatcherConfig{Width: 2, Classes: 1, MaxBatch: 4})
	var wg sync.WaitGroup
	var ok, closed atomic.Int64
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			y := make([]float32, 1)
			err := b.Score(context.Background(), []float32{1, 0}, 1, y)
			switch {
			case err == nil && y[0] == 2:
				ok.Add(1)
			case errors.Is(err, ErrClosed):
				closed.Add(1)
			default:
				t.Errorf("Score = %v, %v", y[0], err)
			}
		}()
	}
	time.Sleep(2 * time.Millisecond)
	b.Close()
	wg.Wait()
	if ok.Load()+closed.Load() != 32 {
		t.Errorf("%d ok + %d closed, want 32", ok.Load(), closed.Load())
	}
	b.Close() // idempotent
	if err := b.Score(context.Background(), []float32{1, 0}, 1, make([]float32, 1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Score after Close = %v, want ErrClosed", err)
	}
}

func TestBatcherBadArgs(t *testing.T) {
	if _, err := NewBatcher(nil, BatcherConfig{Width: 1, Classes: 1}); err == nil {
		t.Error("nil run accepted")
	}
	b, _ := NewBatcher((&doubler{}).run, BatcherConfig{Width: 2, Classes: 1})
	defer b.Close()
	if err := b.Score(context.Background(), []float32{1}, 1, make([]float32, 1)); err == nil {
		t.Error("short input accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// A cancelled context may still be queued if there is room; it must
	// never hang or corrupt results.
	y := make([]float32, 1)
	if err := b.Score(ctx, []float32{2, 0}, 1, y); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Score with cancelled ctx = %v", err)
	}
}
