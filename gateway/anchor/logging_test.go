package anchor

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"log/slog"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// syncBuffer is a bytes.Buffer safe for the logger and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// conflictOnce refuses the first anchoring with a conflict, as a peer
// that restarted and is still catching up does, then accepts.
type conflictOnce struct {
	fakeLedger
	refused bool
}

func (c *conflictOnce) AnchorBatch(ctx context.Context, b gateway.Batch) (gateway.Anchor, error) {
	c.mu.Lock()
	if !c.refused {
		c.refused = true
		c.mu.Unlock()
		return gateway.Anchor{}, &gateway.LedgerRejectedError{Op: "AnchorBatch", Reason: "conflict on gateway log"}
	}
	c.mu.Unlock()
	return c.fakeLedger.AnchorBatch(ctx, b)
}

// TestTransientRefusalIsNotLoggedPermanent: a refusal that the retry then
// gets past is a warning with permanent=false, not an ERROR that claims
// the anchorer gave up.
func TestTransientRefusalIsNotLoggedPermanent(t *testing.T) {
	var buf syncBuffer
	log := newMemLog(2)
	led := &conflictOnce{}
	a, err := New(log, led, WithBackoff(time.Millisecond, 2*time.Millisecond), WithIdlePoll(time.Millisecond),
		WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	if err != nil {
		t.Fatal(err)
	}
	runUntil(t, a, func() bool { return a.Status().Anchored == 2 })
	out := buf.String()
	if !strings.Contains(out, "conflict on gateway log") {
		t.Fatalf("the refusal was not logged:\n%s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, "conflict on gateway log") {
			continue
		}
		if got, want := strings.Contains(line, "level=WARN"), true; got != want {
			t.Errorf("refusal logged at %q, want WARN", line)
		}
		if !strings.Contains(line, "refused=true") || !strings.Contains(line, "permanent=false") {
			t.Errorf("refusal line %q, want refused=true permanent=false", line)
		}
	}
}

// flakyMarks fails the first MarkAnchored as a store that is reopening
// after a full disk does.
type flakyMarks struct {
	*memLog
	failed bool
}

func (f *flakyMarks) MarkAnchored(ctx context.Context, id, txID string, block uint64) error {
	if !f.failed {
		f.failed = true
		return &gateway.Error{Code: gateway.CodeUnavailable, Msg: "store: reopening"}
	}
	return f.memLog.MarkAnchored(ctx, id, txID, block)
}

// TestUnavailableStoreIsWaitedOut: a store error that passes by itself
// does not end Run; the batch is anchored again (a replay) and marked.
func TestUnavailableStoreIsWaitedOut(t *testing.T) {
	log := &flakyMarks{memLog: newMemLog(2)}
	led := &replayLedger{}
	a, err := New(log, led, WithBackoff(time.Millisecond, 2*time.Millisecond), WithIdlePoll(time.Millisecond), quiet())
	if err != nil {
		t.Fatal(err)
	}
	runUntil(t, a, func() bool { return a.Status().Anchored == 2 })
	for _, id := range []string{"b0", "b1"} {
		if got, want := log.marks[id], 1; got != want {
			t.Errorf("batch %s marked %d times, want %d", id, got, want)
		}
	}
}

// replayLedger answers a replayed batch with its first record, as the
// chaincode does.
type replayLedger struct {
	mu   sync.Mutex
	seen map[string]gateway.Anchor
}

func (r *replayLedger) AnchorBatch(_ context.Context, b gateway.Batch) (gateway.Anchor, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = map[string]gateway.Anchor{}
	}
	if a, ok := r.seen[b.ID]; ok {
		a.Replayed = true
		return a, nil
	}
	a := gateway.Anchor{TxID: "tx-" + b.ID, BlockNumber: uint64(len(r.seen) + 1)}
	r.seen[b.ID] = a
	return a, nil
}
