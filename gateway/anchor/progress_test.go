package anchor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
)

func TestBackpressureCheck(t *testing.T) {
	bp := Backpressure{MaxUnanchoredEvents: 10, MaxPendingBatches: 2, RetryAfter: time.Second}
	tests := []struct {
		name     string
		st       gateway.AnchorStatus
		size     uint64
		wantBusy bool
		wantWhy  string
	}{
		{"all anchored", gateway.AnchorStatus{TreeSize: 50}, 50, false, ""},
		{"at the event limit", gateway.AnchorStatus{TreeSize: 40}, 50, false, ""},
		{"over the event limit", gateway.AnchorStatus{TreeSize: 39}, 50, true, "11 events are not anchored yet (limit 10)"},
		{"at the batch limit", gateway.AnchorStatus{Pending: 2}, 0, false, ""},
		{"over the batch limit", gateway.AnchorStatus{Pending: 3}, 0, true, "3 batches wait for the ledger (limit 2)"},
		{"size below anchored (recovering)", gateway.AnchorStatus{TreeSize: 60}, 50, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			busy, why := bp.Check(tt.st, tt.size)
			if busy != tt.wantBusy || why != tt.wantWhy {
				t.Errorf("Check = %v %q, want %v %q", busy, why, tt.wantBusy, tt.wantWhy)
			}
		})
	}
}

type fixedSize uint64

func (s fixedSize) Checkpoint(context.Context) (gateway.Checkpoint, error) {
	return gateway.Checkpoint{Size: uint64(s)}, nil
}

// Anchoring moves the anchored size, the last batch (stamped by the
// anchorer's clock) and the oldest unanchored append; subscribers see the
// anchored batch; Busy follows.
func TestProgressFollowsAnchoring(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	log := newMemLog(2)
	a, err := New(log, &fakeLedger{}, quiet(), WithIdlePoll(5*time.Millisecond), WithClock(func() time.Time { return t0 }),
		WithBackpressure(Backpressure{MaxUnanchoredEvents: 5, MaxPendingBatches: 10, RetryAfter: 3 * time.Second}, fixedSize(20)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := a.RetryAfter(), 3*time.Second; got != want {
		t.Errorf("RetryAfter = %v, want %v", got, want)
	}
	a.Appended(5, t0.Add(-time.Minute))
	a.Appended(5, t0) // covered by the earlier append
	a.Appended(15, t0.Add(-time.Second))
	if st := a.Status(); !st.OldestUnanchored.Equal(t0.Add(-time.Minute)) || st.TreeSize != 0 || st.Last != nil {
		t.Fatalf("before anchoring: %+v", st)
	}
	if busy, _ := a.Busy(context.Background()); !busy {
		t.Error("Busy = false with 20 unanchored events over a limit of 5")
	}
	var seen []gateway.Batch
	a.Subscribe(func(b gateway.Batch, _ gateway.Anchor) { seen = append(seen, b) })
	runUntil(t, a, func() bool { return a.Status().TreeSize == 20 })
	st := a.Status()
	if st.Last == nil || st.Last.ID != "b1" || st.Last.TxID != "tx-b1" || st.Last.State != gateway.BatchAnchored || !st.Last.AnchoredAt.Equal(t0) {
		t.Errorf("Last = %+v, want b1 anchored by tx-b1 at t0", st.Last)
	}
	if !st.OldestUnanchored.IsZero() {
		t.Errorf("OldestUnanchored = %v, want zero once everything appended is anchored", st.OldestUnanchored)
	}
	if len(seen) != 2 || seen[0].ID != "b0" || seen[1].TxID != "tx-b1" {
		t.Errorf("subscriber saw %+v", seen)
	}
	if busy, why := a.Busy(context.Background()); busy {
		t.Errorf("Busy after anchoring: %s", why)
	}
}

// memLog as a BatchLocator: batches of 10 leaves.
func (l *memLog) BatchOf(_ context.Context, seq uint64) (gateway.Batch, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range l.batches {
		if seq >= b.TreeSizeBefore && seq < b.TreeSizeAfter {
			return b, true, nil
		}
	}
	return gateway.Batch{}, false, nil
}

func TestRecover(t *testing.T) {
	ctx := context.Background()
	log := newMemLog(3)
	a, err := New(log, &fakeLedger{}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := a.Recover(ctx, 35, log); err != nil || ok {
		t.Fatalf("nothing anchored: Recover ok=%v err=%v, want false nil", ok, err)
	}
	if st := a.Status(); st.Pending != 3 || st.TreeSize != 0 {
		t.Errorf("status %+v, want 3 pending, nothing anchored", st)
	}
	for i := range 2 {
		_ = log.MarkAnchored(ctx, log.batches[i].ID, "tx", 1)
	}
	b, ok, err := a.Recover(ctx, 35, log)
	if err != nil || !ok || b.ID != "b1" {
		t.Fatalf("Recover = %s %v %v, want b1", b.ID, ok, err)
	}
	if st := a.Status(); st.Pending != 1 || st.TreeSize != 20 || st.Last == nil || st.Last.ID != "b1" {
		t.Errorf("status %+v, want 1 pending, anchored size 20 at b1", st)
	}
}

// failingSize is a Sizer whose store cannot be read.
type failingSize struct{ err error }

func (s failingSize) Checkpoint(context.Context) (gateway.Checkpoint, error) {
	return gateway.Checkpoint{}, s.err
}

// Busy fails closed: an unreadable store size means an unknown backlog, so
// ingest backs off, and the reason names the store's error.
func TestBusyFailsClosedOnStoreError(t *testing.T) {
	a, err := New(newMemLog(2), &fakeLedger{}, quiet(),
		WithBackpressure(Backpressure{MaxUnanchoredEvents: 5, MaxPendingBatches: 10, RetryAfter: time.Second}, failingSize{errors.New("disk on fire")}))
	if err != nil {
		t.Fatal(err)
	}
	busy, why := a.Busy(context.Background())
	if want := "cannot read the stored log size: disk on fire"; !busy || why != want {
		t.Errorf("Busy = %v %q, want true %q", busy, why, want)
	}
}
