package respond

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestBatcherCoalescesWhileFlushing: with one flush in flight, the items
// that arrive meanwhile go together in the next flush, an item whose key
// is already in a batch waits for the following one, and no batch exceeds
// max.
func TestBatcherCoalescesWhileFlushing(t *testing.T) {
	tests := []struct {
		name  string
		max   int
		later []string // items handed over while the first flush is held
		want  [][]string
	}{
		{"all together", 10, []string{"b", "c", "d", "e"}, [][]string{{"a"}, {"b", "c", "d", "e"}}},
		{"split at max", 3, []string{"b", "c", "d", "e"}, [][]string{{"a"}, {"b", "c", "d"}, {"e"}}},
		{"same key waits", 10, []string{"b", "b", "c"}, [][]string{{"a"}, {"b", "c"}, {"b"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gate := make(chan struct{})
			var mu sync.Mutex
			var got [][]string
			flush := func(_ context.Context, items []string) []error {
				mu.Lock()
				first := len(got) == 0
				got = append(got, slices.Clone(items))
				mu.Unlock()
				if first {
					<-gate
				}
				return make([]error, len(items))
			}
			b := newBatcher(tt.max, 1, time.Millisecond, func(s string) string { return s }, flush)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); b.run(ctx) }()
			defer func() { cancel(); <-done }()
			var opened sync.Once
			open := func() { opened.Do(func() { close(gate) }) }
			defer open() // before the batcher stops, even when the test fails early

			var wg sync.WaitGroup
			call := func(item string) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := b.do(ctx, item); err != nil {
						t.Errorf("do(%s) = %v", item, err)
					}
				}()
			}
			call("a")
			waitFor(t, "the first flush", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 1 })
			// One at a time, so the queue's order is the list's; an item
			// beyond the queue's capacity waits in do.
			for i, it := range tt.later {
				call(it)
				if n := i + 1; n <= tt.max {
					waitFor(t, "the item queued", func() bool { return len(b.queue) == n })
				}
			}
			open()
			wg.Wait()
			mu.Lock()
			defer mu.Unlock()
			for _, batch := range got {
				slices.Sort(batch)
			}
			if !slices.EqualFunc(got, tt.want, slices.Equal) {
				t.Fatalf("batches = %v, want %v", got, tt.want)
			}
		})
	}
}
