package store

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// TestCommitObserver: every group commit that stores events is reported
// once, with one queue wait per request of the group, its new events
// (repeats of stored ids not counted) and phase durations that fit in the
// group's total.
func TestCommitObserver(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []CommitTiming
	)
	s, err := Open(context.Background(), t.TempDir(), WithGateway(testMSP, testGW), WithBatchMaxWait(time.Hour),
		WithCommitObserver(func(c CommitTiming) {
			mu.Lock()
			defer mu.Unlock()
			c.Queued = append([]time.Duration(nil), c.Queued...) // reused by the store
			seen = append(seen, c)
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	first := []gateway.Event{testEvent(1, 400), testEvent(2, 400), testEvent(3, 400)}
	if _, err := s.Append(ctx, first); err != nil {
		t.Fatal(err)
	}
	// Two new events and one stored again: the group stores two.
	if _, err := s.Append(ctx, []gateway.Event{testEvent(4, 400), testEvent(1, 400), testEvent(5, 400)}); err != nil {
		t.Fatal(err)
	}
	// Only repeats: nothing stored, nothing reported.
	if _, err := s.Append(ctx, []gateway.Event{testEvent(2, 400)}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	tests := []struct {
		name           string
		requests, evts int
	}{{"first", 1, 3}, {"with a stored repeat", 1, 2}}
	if len(seen) != len(tests) {
		t.Fatalf("got %d commits observed, want %d: %+v", len(seen), len(tests), seen)
	}
	for i, tt := range tests {
		got := seen[i]
		if got.Requests != tt.requests || got.Events != tt.evts || len(got.Queued) != tt.requests {
			t.Errorf("%s: got requests %d events %d queued %v, want %d, %d, one wait per request", tt.name, got.Requests, got.Events, got.Queued, tt.requests, tt.evts)
		}
		if got.Total <= 0 || got.Prepare < 0 || got.Segment <= 0 || got.Index <= 0 || got.Prepare+got.Index > got.Total {
			t.Errorf("%s: phases do not fit the total: %+v", tt.name, got)
		}
		for _, q := range got.Queued {
			if q < 0 || q > time.Minute {
				t.Errorf("%s: queue wait %v out of range", tt.name, q)
			}
		}
	}
}

// TestLeavesObserver: every Leaves and HeaderLeaves call that returns
// leaves is reported once, with its count, where it came from and how
// far behind the log's end it began, and counted in Stats by source.
func TestLeavesObserver(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []LeavesRead
	)
	s, err := Open(context.Background(), t.TempDir(), WithGateway(testMSP, testGW), WithBatchMaxWait(time.Hour),
		WithRecentLeaves(10, 1<<20), WithLeavesObserver(func(r LeavesRead) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, r)
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	mustAppend(t, s, testEvents(0, 10, 300))
	mustAppend(t, s, testEvents(10, 5, 300)) // drops the first group
	read := func(name string, f func(context.Context, uint64, uint64) ([]gateway.Leaf, error), from, to uint64) {
		t.Helper()
		if _, err := f(ctx, from, to); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	read("Leaves", s.Leaves, 2, 6)
	read("HeaderLeaves", s.HeaderLeaves, 10, 15)
	read("empty", s.HeaderLeaves, 15, 15)
	mu.Lock()
	defer mu.Unlock()
	want := []LeavesRead{{Events: 4, Behind: 13, FromMemory: false}, {Events: 5, Behind: 5, FromMemory: true}}
	if len(seen) != len(want) {
		t.Fatalf("got %d reads observed, want %d: %+v", len(seen), len(want), seen)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Errorf("read %d: got %+v, want %+v", i, seen[i], want[i])
		}
	}
	if st := s.Stats(); st.LeavesFromFiles != 4 || st.LeavesFromMemory != 5 {
		t.Errorf("Stats: %d leaves from the files, %d from memory, want 4, 5", st.LeavesFromFiles, st.LeavesFromMemory)
	}
}
