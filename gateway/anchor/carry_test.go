package anchor

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
)

// fakeAlerts hands out alerts per batch id and records what was reported
// raised with an anchor.
type fakeAlerts struct {
	mu     sync.Mutex
	alerts map[string][]wire.Alert
	notOK  map[string]bool
	raised []string
}

func (f *fakeAlerts) AlertsFor(_ context.Context, b gateway.Batch) ([]wire.Alert, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.notOK[b.ID] {
		return nil, false
	}
	return f.alerts[b.ID], true
}

func (f *fakeAlerts) RaisedWith(b gateway.Batch, res wire.RaiseResult) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.raised = append(f.raised, fmt.Sprintf("%s:%d", b.ID, res.Created))
}

// fusedLedger is fakeLedger with AnchorAndRaise, failing it for the batch
// ids in failFused (once each).
type fusedLedger struct {
	*fakeLedger
	failFused map[string]error
	fused     []string
}

func (f *fusedLedger) AnchorAndRaise(ctx context.Context, b gateway.Batch, alerts []wire.Alert) (gateway.Anchor, wire.RaiseResult, error) {
	f.mu.Lock()
	err := f.failFused[b.ID]
	delete(f.failFused, b.ID)
	f.mu.Unlock()
	if err != nil {
		return gateway.Anchor{}, wire.RaiseResult{}, err
	}
	anc, err := f.AnchorBatch(ctx, b)
	if err != nil {
		return gateway.Anchor{}, wire.RaiseResult{}, err
	}
	f.mu.Lock()
	f.fused = append(f.fused, b.ID)
	f.mu.Unlock()
	return anc, wire.RaiseResult{TxID: anc.TxID, Created: len(alerts)}, nil
}

func TestCarryAlerts(t *testing.T) {
	tests := []struct {
		name       string
		alerts     map[string][]wire.Alert
		notOK      map[string]bool
		failFused  map[string]error
		wantFused  string
		wantRaised string
	}{
		{name: "every batch with alerts carries them",
			alerts:    map[string][]wire.Alert{"b0": {{ID: "a"}}, "b2": {{ID: "c"}, {ID: "d"}}},
			wantFused: "[b0 b2]", wantRaised: "[b0:1 b2:2]"},
		{name: "not ready or too many: anchored alone",
			alerts: map[string][]wire.Alert{"b0": {{ID: "a"}}, "b1": {{ID: "b"}}}, notOK: map[string]bool{"b1": true},
			wantFused: "[b0]", wantRaised: "[b0:1]"},
		{name: "a refused fused transaction: the batch is anchored alone at once",
			alerts:    map[string][]wire.Alert{"b0": {{ID: "a"}}, "b1": {{ID: "b"}}},
			failFused: map[string]error{"b1": &gateway.LedgerRejectedError{Op: wire.TxAnchorAndRaise, Code: wire.CodeNotFound, Reason: "indicator not found"}},
			wantFused: "[b0]", wantRaised: "[b0:1]"},
		{name: "a read conflict: anchored alone, alerts left to the alerter",
			alerts:    map[string][]wire.Alert{"b1": {{ID: "b"}}},
			failFused: map[string]error{"b1": &gateway.LedgerUnavailableError{Op: wire.TxAnchorAndRaise, Err: gateway.ErrLedgerConflict}},
			wantFused: "[]", wantRaised: "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := newMemLog(3)
			led := &fusedLedger{fakeLedger: &fakeLedger{}, failFused: tt.failFused}
			a, err := New(log, led, WithBackoff(time.Millisecond, 4*time.Millisecond), WithIdlePoll(time.Millisecond), quiet())
			if err != nil {
				t.Fatal(err)
			}
			src := &fakeAlerts{alerts: tt.alerts, notOK: tt.notOK}
			if err := a.CarryAlerts(src, led); err != nil {
				t.Fatal(err)
			}
			runUntil(t, a, func() bool { return a.Status().Anchored == 3 })
			if got := fmt.Sprint(led.order); got != "[b0 b1 b2]" {
				t.Fatalf("anchored %s, want [b0 b1 b2]", got)
			}
			if got := fmt.Sprint(led.fused); got != tt.wantFused {
				t.Errorf("anchored with alerts %s, want %s", got, tt.wantFused)
			}
			if got := fmt.Sprint(src.raised); got != tt.wantRaised {
				t.Errorf("reported raised %s, want %s", got, tt.wantRaised)
			}
			for _, id := range []string{"b0", "b1", "b2"} {
				if log.marks[id] != 1 {
					t.Errorf("batch %s marked %d times, want 1", id, log.marks[id])
				}
			}
			if st := a.Status(); st.LastError != "" {
				t.Errorf("status error %q: a failed fused transaction must not count as an anchoring failure", st.LastError)
			}
		})
	}
}

func TestCarryAlertsNeedsBoth(t *testing.T) {
	a, err := New(newMemLog(0), &fakeLedger{}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.CarryAlerts(nil, &fusedLedger{fakeLedger: &fakeLedger{}}); err == nil {
		t.Fatal("CarryAlerts accepted a nil source")
	}
	if err := a.CarryAlerts(&fakeAlerts{}, nil); err == nil {
		t.Fatal("CarryAlerts accepted a nil ledger")
	}
}

// behindLedger refuses the first n anchors as an endorser that has not
// committed the previous anchor yet does.
type behindLedger struct {
	fusedLedger
	n int
}

func (f *behindLedger) refuse() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == 0 {
		return nil
	}
	f.n--
	return &gateway.LedgerRejectedError{Op: wire.TxAnchorBatch, Stage: gateway.StageEndorse, Code: wire.CodeConflict, Reason: "does not continue the anchored sequence"}
}

func (f *behindLedger) AnchorBatch(ctx context.Context, b gateway.Batch) (gateway.Anchor, error) {
	if err := f.refuse(); err != nil {
		return gateway.Anchor{}, err
	}
	return f.fakeLedger.AnchorBatch(ctx, b)
}

func (f *behindLedger) AnchorAndRaise(ctx context.Context, b gateway.Batch, alerts []wire.Alert) (gateway.Anchor, wire.RaiseResult, error) {
	if err := f.refuse(); err != nil {
		return gateway.Anchor{}, wire.RaiseResult{}, err
	}
	return f.fusedLedger.AnchorAndRaise(ctx, b, alerts)
}

// TestBehindEndorserRetriedSoon: a refusal from an endorser behind the
// ledger is retried after behindPause, not the (here one-minute) backoff,
// and does not make a batch drop its alerts.
func TestBehindEndorserRetriedSoon(t *testing.T) {
	log := newMemLog(2)
	led := &behindLedger{fusedLedger: fusedLedger{fakeLedger: &fakeLedger{}}, n: 3}
	a, err := New(log, led, WithBackoff(time.Minute, time.Minute), WithIdlePoll(time.Millisecond), quiet())
	if err != nil {
		t.Fatal(err)
	}
	src := &fakeAlerts{alerts: map[string][]wire.Alert{"b0": {{ID: "a"}}, "b1": {{ID: "b"}}}}
	if err := a.CarryAlerts(src, led); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	runUntil(t, a, func() bool { return a.Status().Anchored == 2 })
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}
	if got := fmt.Sprint(led.fused); got != "[b0 b1]" {
		t.Fatalf("anchored with alerts %s, want [b0 b1]", got)
	}
}
