package anchor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// memLog is an in-memory BatchLog for unit tests.
type memLog struct {
	mu      sync.Mutex
	batches []gateway.Batch
	marks   map[string]int
}

func newMemLog(n int) *memLog {
	l := &memLog{marks: map[string]int{}}
	for i := range n {
		l.batches = append(l.batches, gateway.Batch{ID: fmt.Sprintf("b%d", i), TreeSizeBefore: uint64(i * 10), TreeSizeAfter: uint64(i*10 + 10), State: gateway.BatchSealed})
	}
	return l
}

func (l *memLog) Batch(_ context.Context, id string) (gateway.Batch, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range l.batches {
		if b.ID == id {
			return b, nil
		}
	}
	return gateway.Batch{}, errors.New("not found")
}

func (l *memLog) PendingBatches(context.Context) ([]gateway.Batch, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []gateway.Batch
	for _, b := range l.batches {
		if b.State == gateway.BatchSealed {
			out = append(out, b)
		}
	}
	return out, nil
}

func (l *memLog) MarkAnchored(_ context.Context, id, txID string, block uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.marks[id]++
	for i := range l.batches {
		if l.batches[i].ID == id {
			l.batches[i].State, l.batches[i].TxID, l.batches[i].BlockNumber = gateway.BatchAnchored, txID, block
		}
	}
	return nil
}

// fakeLedger enforces the chaincode's chaining rule and fails on demand.
type fakeLedger struct {
	mu        sync.Mutex
	size      uint64
	calls     int
	failFirst int   // transient failures before succeeding
	reject    error // permanent failure, when set
	order     []string
}

func (f *fakeLedger) AnchorBatch(_ context.Context, b gateway.Batch) (gateway.Anchor, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.reject != nil {
		return gateway.Anchor{}, f.reject
	}
	if f.failFirst > 0 {
		f.failFirst--
		return gateway.Anchor{}, fmt.Errorf("endorse: %w", gateway.ErrLedgerUnavailable)
	}
	if b.TreeSizeBefore != f.size {
		return gateway.Anchor{}, &gateway.LedgerRejectedError{Op: "AnchorBatch", Reason: "does not extend"}
	}
	f.size = b.TreeSizeAfter
	f.order = append(f.order, b.ID)
	return gateway.Anchor{TxID: "tx-" + b.ID, BlockNumber: uint64(len(f.order))}, nil
}

func quiet() Option { return WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))) }

func runUntil(t *testing.T, a *Anchorer, done func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- a.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for !done() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
	if !done() {
		t.Fatal("condition not reached within 5s")
	}
}

func TestAnchorsInOrderAndMarksEachOnce(t *testing.T) {
	log := newMemLog(5)
	led := &fakeLedger{failFirst: 3}
	a, err := New(log, led, WithBackoff(time.Millisecond, 4*time.Millisecond), WithIdlePoll(time.Millisecond), quiet())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	a.Subscribe(func(b gateway.Batch, _ gateway.Anchor) { got = append(got, b.ID) })
	runUntil(t, a, func() bool { return a.Status().Anchored == 5 })
	want := []string{"b0", "b1", "b2", "b3", "b4"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("anchored order = %v, want %v", got, want)
	}
	for _, id := range want {
		if log.marks[id] != 1 {
			t.Errorf("batch %s marked %d times, want 1", id, log.marks[id])
		}
	}
	if st := a.Status(); st.Pending != 0 || st.Rejected || st.LastError != "" {
		t.Errorf("status = %+v, want nothing pending and no error", st)
	}
}

func TestPermanentRejectionIsSurfaced(t *testing.T) {
	log := newMemLog(2)
	led := &fakeLedger{reject: &gateway.LedgerRejectedError{Op: "AnchorBatch", Reason: "access denied"}}
	a, err := New(log, led, WithBackoff(time.Millisecond, 2*time.Millisecond), WithIdlePoll(time.Millisecond), WithRejectAfter(20*time.Millisecond), quiet())
	if err != nil {
		t.Fatal(err)
	}
	runUntil(t, a, func() bool { return a.Status().Rejected })
	st := a.Status()
	if st.Anchored != 0 || st.Pending != 2 {
		t.Fatalf("status = %+v, want 0 anchored, 2 pending", st)
	}
	if len(log.marks) != 0 {
		t.Fatalf("marked %v after a rejection, want nothing", log.marks)
	}
}

func TestNewValidatesOptions(t *testing.T) {
	tests := []struct {
		name string
		opt  Option
	}{
		{"zero idle", WithIdlePoll(0)},
		{"min above max", WithBackoff(time.Second, time.Millisecond)},
		{"nil logger", WithLogger(nil)},
		{"zero attempt timeout", WithAttemptTimeout(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(newMemLog(0), &fakeLedger{}, tt.opt); err == nil {
				t.Fatal("New accepted an invalid option")
			}
		})
	}
}

func TestSealsWhenIdle(t *testing.T) {
	log := newMemLog(0)
	led := &fakeLedger{}
	var mu sync.Mutex
	open := 3 // events waiting in the open batch
	seal := func(context.Context) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		if open == 0 {
			return false, nil
		}
		log.mu.Lock()
		n := len(log.batches)
		log.batches = append(log.batches, gateway.Batch{ID: fmt.Sprintf("s%d", n), TreeSizeBefore: uint64(n * 10), TreeSizeAfter: uint64(n*10 + 10), State: gateway.BatchSealed})
		log.mu.Unlock()
		open--
		return true, nil
	}
	a, err := New(log, led, WithSealWhenIdle(seal, time.Millisecond), quiet())
	if err != nil {
		t.Fatal(err)
	}
	runUntil(t, a, func() bool { return a.Status().Anchored == 3 })
	if got := fmt.Sprint(led.order); got != "[s0 s1 s2]" {
		t.Fatalf("anchored %s, want [s0 s1 s2]", got)
	}
}

// hangingLedger never answers its first hang calls until their context
// ends (a transaction the orderers lost, waited for without a deadline),
// then anchors as fakeLedger does.
type hangingLedger struct {
	fakeLedger
	hang int
}

func (h *hangingLedger) AnchorBatch(ctx context.Context, b gateway.Batch) (gateway.Anchor, error) {
	h.mu.Lock()
	hang := h.hang > 0
	if hang {
		h.hang--
	}
	h.mu.Unlock()
	if hang {
		<-ctx.Done()
		return gateway.Anchor{}, &gateway.LedgerUnavailableError{Op: "AnchorBatch", Stage: gateway.StageCommit, Err: ctx.Err()}
	}
	return h.fakeLedger.AnchorBatch(ctx, b)
}

// TestAttemptThatNeverReturnsIsAbandoned: an anchoring attempt the ledger
// never answers ends at the attempt timeout and the batch is anchored
// again, so anchoring resumes by itself (before the bound, one lost
// transaction held anchoring for ever).
func TestAttemptThatNeverReturnsIsAbandoned(t *testing.T) {
	log := newMemLog(3)
	led := &hangingLedger{hang: 2}
	a, err := New(log, led, WithAttemptTimeout(20*time.Millisecond), WithBackoff(time.Millisecond, 2*time.Millisecond),
		WithIdlePoll(time.Millisecond), quiet())
	if err != nil {
		t.Fatal(err)
	}
	runUntil(t, a, func() bool { return a.Status().Anchored == 3 })
	if got, want := fmt.Sprint(led.order), "[b0 b1 b2]"; got != want {
		t.Errorf("anchored %s, want %s", got, want)
	}
	for _, id := range []string{"b0", "b1", "b2"} {
		if log.marks[id] != 1 {
			t.Errorf("batch %s marked %d times, want 1", id, log.marks[id])
		}
	}
}
