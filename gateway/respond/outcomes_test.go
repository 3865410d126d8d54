package respond

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// TestOutcomeWaitHoldsNoWorker: with one worker and the ledger holding
// every outcome's commit, every response is still executed, none is
// checkpointed before its outcome commits, and once the ledger commits
// the outcomes share transactions.
func TestOutcomeWaitHoldsNoWorker(t *testing.T) {
	h := newHarness(t)
	h.cfg.Workers = 1
	h.ledger.gate = make(chan struct{})
	h.start()
	const n = 20
	var reqs []wire.ResponseRequest
	for i := range n {
		reqs = append(reqs, h.response(fmt.Sprintf("r%02d", i), wire.ResponseRequested))
	}
	h.source.emit(t, wire.EventResponsesRequested, reqs[:n/2]...)
	h.source.emit(t, wire.EventResponsesRequested, reqs[n/2:]...)
	waitFor(t, "every connector call while no outcome commits", func() bool { return h.conn.total() == n })
	if got := h.source.checkpointed(); got != 0 {
		t.Fatalf("checkpoint = %d before any outcome committed, want 0", got)
	}
	close(h.ledger.gate)
	h.waitCheckpoint(2)
	for _, r := range reqs {
		if got := h.ledger.outcomesOf(r.ID); len(got) != 1 || got[0].Status != wire.ResponseSucceeded {
			t.Fatalf("outcomes of %s = %+v, want one succeeded", r.ID, got)
		}
	}
	batches, singles := h.ledger.transactions()
	if total := sum(batches); total != n || singles != 0 {
		t.Fatalf("batches %v (%d outcomes), %d single transactions; want %d outcomes in batches", batches, total, singles, n)
	}
	// Submitters (2) transactions were held at the gate; everything
	// that finished meanwhile went in at most one more each.
	if max := 2 * DefaultConfig().OutcomeSubmitters; len(batches) > max {
		t.Fatalf("%d transactions for %d outcomes (%v), want at most %d", len(batches), n, batches, max)
	}
}

// TestCheckpointsCoalesce: events that finish together are covered by
// fewer checkpoint writes than events, and the checkpoint still ends
// after the last one.
func TestCheckpointsCoalesce(t *testing.T) {
	h := newHarness(t)
	h.ledger.gate = make(chan struct{})
	h.start()
	const n = 10
	for i := range n {
		h.source.emit(t, wire.EventResponsesRequested, h.response(fmt.Sprintf("r%02d", i), wire.ResponseRequested))
	}
	waitFor(t, "every connector call", func() bool { return h.conn.total() == n })
	close(h.ledger.gate)
	h.waitCheckpoint(n)
	h.source.mu.Lock()
	writes := h.source.writes
	h.source.mu.Unlock()
	if writes >= n {
		t.Fatalf("%d checkpoint writes for %d events finishing together, want fewer", writes, n)
	}
}

// TestOutcomesFallBackToSingles: against a chaincode without
// RecordOutcomes every outcome is still recorded, one transaction each.
func TestOutcomesFallBackToSingles(t *testing.T) {
	h := newHarness(t)
	h.ledger.setNoBatches(true)
	h.start()
	h.source.emit(t, wire.EventResponsesRequested, h.response("r1", wire.ResponseRequested), h.response("r2", wire.ResponseRequested))
	h.waitCheckpoint(1)
	batches, singles := h.ledger.transactions()
	if len(batches) != 0 || singles != 2 {
		t.Fatalf("batches %v, singles %d; want none and 2", batches, singles)
	}
	for _, id := range []string{"r1", "r2"} {
		if got := h.ledger.outcomesOf(id); len(got) != 1 {
			t.Fatalf("outcomes of %s = %+v", id, got)
		}
	}
}

// TestOutcomesBatcher drives the batcher alone: each record's fate, with
// refusals, duplicates and a ledger that is down for a while.
func TestOutcomesBatcher(t *testing.T) {
	rec := func(id, status string) wire.OutcomeRecord {
		return wire.OutcomeRecord{ResponseID: id, Status: status, Detail: "d"}
	}
	tests := []struct {
		name       string
		recs       []wire.OutcomeRecord
		noBatches  bool
		down       bool
		want       []wire.Code // per record: "" accepted, else the refusal's code
		wantStates map[string]string
		wantSingle int
	}{
		{"all accepted", []wire.OutcomeRecord{rec("a", "succeeded"), rec("b", "failed"), rec("c", "refused")}, false, false,
			[]wire.Code{"", "", ""}, map[string]string{"a": "succeeded", "b": "failed", "c": "refused"}, 0},
		{"a refusal stays with its record", []wire.OutcomeRecord{rec("a", "succeeded"), rec("dry", "succeeded"), rec("c", "failed")}, false, false,
			[]wire.Code{"", wire.CodeState, ""}, map[string]string{"a": "succeeded", "dry": "dry-run", "c": "failed"}, 0},
		{"same response twice goes in two transactions", []wire.OutcomeRecord{rec("a", "failed"), rec("a", "failed"), rec("b", "succeeded")}, false, false,
			[]wire.Code{"", "", ""}, map[string]string{"a": "failed", "b": "succeeded"}, 0},
		{"ledger down, then up", []wire.OutcomeRecord{rec("a", "succeeded"), rec("b", "succeeded")}, false, true,
			[]wire.Code{"", ""}, map[string]string{"a": "succeeded", "b": "succeeded"}, 0},
		{"old chaincode: one by one", []wire.OutcomeRecord{rec("a", "succeeded"), rec("dry", "succeeded")}, true, false,
			[]wire.Code{"", wire.CodeState}, map[string]string{"a": "succeeded", "dry": "dry-run"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newFakeLedger()
			for _, id := range []string{"a", "b", "c"} {
				l.put(wire.Response{ID: id, MSP: ownMSP, State: wire.ResponseRequested})
			}
			l.put(wire.Response{ID: "dry", MSP: ownMSP, State: wire.ResponseDryRun})
			l.noBatches, l.recordDown = tt.noBatches, tt.down
			r := &Responder{cfg: Config{Retry: Retry{InitialBackoff: time.Millisecond}, LedgerBackoff: 2 * time.Millisecond},
				log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			o := newOutcomes(l, r.ledgerRetry, r.log, 10, 2, 5*time.Millisecond)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); o.run(ctx) }()
			defer func() { cancel(); <-done }()

			got := make([]wire.Code, len(tt.recs))
			var wg sync.WaitGroup
			for i, rc := range tt.recs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					err := o.record(ctx, rc)
					var ref *OutcomeRefusedError
					switch {
					case err == nil:
					case errors.As(err, &ref):
						got[i] = ref.Code
					default:
						got[i] = "unexpected: " + wire.Code(err.Error())
					}
				}()
			}
			if tt.down {
				time.Sleep(20 * time.Millisecond) // a few failed attempts
				l.setRecordDown(false)
			}
			wg.Wait()
			if !slices.Equal(got, tt.want) {
				t.Fatalf("codes = %q, want %q", got, tt.want)
			}
			for id, want := range tt.wantStates {
				if r, _ := l.GetResponse(ctx, id); r.State != want {
					t.Errorf("state of %s = %s, want %s", id, r.State, want)
				}
			}
			batches, singles := l.transactions()
			if singles != tt.wantSingle {
				t.Errorf("single transactions = %d, want %d", singles, tt.wantSingle)
			}
			for _, b := range batches {
				if b > 10 {
					t.Errorf("a batch of %d, above the maximum 10", b)
				}
			}
		})
	}
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// TestLaggingRecordHoldsOnlyItself: a response one endorser never sees
// (RecordOutcomes keeps answering wire.CodeNotFound, transient) must not
// hold the other outcomes of its batch: after a few attempts they are
// recorded one by one and return, while the missing one keeps waiting
// until the ledger has it, and then commits too.
func TestLaggingRecordHoldsOnlyItself(t *testing.T) {
	l := newFakeLedger()
	l.lagging = true
	for _, id := range []string{"a", "b"} {
		l.put(wire.Response{ID: id, MSP: ownMSP, State: wire.ResponseRequested})
	}
	r := &Responder{cfg: Config{Retry: Retry{InitialBackoff: time.Millisecond}, LedgerBackoff: 2 * time.Millisecond},
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	o := newOutcomes(l, r.ledgerRetry, r.log, 10, 2, 20*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); o.run(ctx) }()
	defer func() { cancel(); <-done }()

	ids := []string{"a", "ghost", "b"}
	errs := make([]chan error, len(ids))
	for i, id := range ids {
		errs[i] = make(chan error, 1)
		go func() {
			errs[i] <- o.record(ctx, wire.OutcomeRecord{ResponseID: id, Status: wire.ResponseSucceeded, Detail: "d"})
		}()
	}
	for i, id := range ids {
		if id == "ghost" {
			continue
		}
		select {
		case err := <-errs[i]:
			if err != nil {
				t.Fatalf("record %s: %v", id, err)
			}
		case <-time.After(5 * time.Second):
			l.mu.Lock()
			n := l.batchAttempts
			l.mu.Unlock()
			t.Fatalf("outcome of %s still waiting after %d batch attempts: held by the missing response", id, n)
		}
		if got := l.outcomesOf(id); len(got) != 1 || got[0].Status != wire.ResponseSucceeded {
			t.Fatalf("outcomes of %s = %+v, want one succeeded", id, got)
		}
	}
	select {
	case err := <-errs[1]:
		t.Fatalf("outcome of the missing response returned %v before the ledger had it", err)
	case <-time.After(20 * time.Millisecond):
	}
	l.put(wire.Response{ID: "ghost", MSP: ownMSP, State: wire.ResponseRequested})
	select {
	case err := <-errs[1]:
		if err != nil {
			t.Fatalf("record ghost: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("outcome of ghost not recorded once the ledger had it")
	}
	if got := l.outcomesOf("ghost"); len(got) != 1 {
		t.Fatalf("outcomes of ghost = %+v, want one", got)
	}
}

// TestLaggingRecordFreesItsSlot: an outcome an endorser lacks, alone in
// its batch, leaves the batcher after a few attempts, so with one submit
// slot the outcomes after it are still recorded.
func TestLaggingRecordFreesItsSlot(t *testing.T) {
	l := newFakeLedger()
	l.lagging = true
	l.put(wire.Response{ID: "a", MSP: ownMSP, State: wire.ResponseRequested})
	r := &Responder{cfg: Config{Retry: Retry{InitialBackoff: time.Millisecond}, LedgerBackoff: 2 * time.Millisecond},
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	o := newOutcomes(l, r.ledgerRetry, r.log, 10, 1, time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); o.run(ctx) }()
	defer func() { cancel(); <-done }()

	ghost := make(chan error, 1)
	go func() {
		ghost <- o.record(ctx, wire.OutcomeRecord{ResponseID: "ghost", Status: wire.ResponseSucceeded, Detail: "d"})
	}()
	waitFor(t, "the missing response's batch being tried", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.batchAttempts > 0
	})
	rec := make(chan error, 1)
	go func() {
		rec <- o.record(ctx, wire.OutcomeRecord{ResponseID: "a", Status: wire.ResponseSucceeded, Detail: "d"})
	}()
	select {
	case err := <-rec:
		if err != nil {
			t.Fatalf("record a: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("outcome of a still waiting: the missing response holds the only submit slot")
	}
	select {
	case err := <-ghost:
		t.Fatalf("outcome of the missing response returned %v before the ledger had it", err)
	default:
	}
}
