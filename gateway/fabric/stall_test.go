package fabric

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
)

// stallTimeouts are short bounds for the stall tests; each stage's differs
// so a test can tell which bound ended a call.
var stallTimeouts = Timeouts{
	Evaluate:     100 * time.Millisecond,
	Endorse:      150 * time.Millisecond,
	Submit:       200 * time.Millisecond,
	CommitStatus: 250 * time.Millisecond,
}

// giveUp is how long a test waits for a call that should have ended at its
// stage's bound before it reports the call as hung: far above every bound,
// so a slow machine does not make the test fail.
const giveUp = 10 * time.Second

// callWithin runs call with a context without deadline, as the anchorer and
// the alerter call the ledger, and returns its error, or fails the test
// when the call has not returned after giveUp.
func callWithin(t *testing.T, call func(ctx context.Context) error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- call(context.Background()) }()
	select {
	case err := <-done:
		return err
	case <-time.After(giveUp):
		t.Fatalf("the call is still waiting after %v: a stalled stage holds it for ever", giveUp)
		return nil
	}
}

// TestStalledStageEndsAtItsTimeout: whichever stage of a transaction the
// peer or the orderers never answer, the call ends at that stage's timeout
// (Timeouts) with a transient error naming the stage, even when the
// caller's context has no deadline (the anchorer's and alerter's do not).
// Above all the commit-status wait: a transaction the orderers accepted
// and then lost in a Raft leader change is in no block, and the peer keeps
// the wait open until the client gives up; before the bound, the anchorer
// and six alert transactions waited for ever after such a stall, and
// ingest answered 503 behind them.
func TestStalledStageEndsAtItsTimeout(t *testing.T) {
	anchorCall := func(ctx context.Context, l *Ledger) error {
		_, err := l.AnchorBatch(ctx, gateway.Batch{ID: "b1", TreeSizeAfter: 1})
		return err
	}
	raiseCall := func(ctx context.Context, l *Ledger) error {
		_, err := l.RaiseAlerts(ctx, []wire.Alert{{ID: "a1", MSP: "Org1MSP", GatewayID: "gw-1", Severity: wire.SeverityHigh}})
		return err
	}
	evalCall := func(ctx context.Context, l *Ledger) error {
		_, err := l.AnchoredSize(ctx, "Org1MSP", "gw-1")
		return err
	}
	tests := []struct {
		name  string
		stage gateway.Stage
		call  func(context.Context, *Ledger) error
		bound time.Duration
	}{
		{"anchor: commit status never comes (transaction lost by the orderers)", gateway.StageCommit, anchorCall, stallTimeouts.CommitStatus},
		{"anchor: orderer stalled at submit", gateway.StageSubmit, anchorCall, stallTimeouts.Submit},
		{"anchor: endorser stalled", gateway.StageEndorse, anchorCall, stallTimeouts.Endorse},
		{"raise alerts: commit status never comes", gateway.StageCommit, raiseCall, stallTimeouts.CommitStatus},
		{"raise alerts: orderer stalled at submit", gateway.StageSubmit, raiseCall, stallTimeouts.Submit},
		{"raise alerts: endorser stalled", gateway.StageEndorse, raiseCall, stallTimeouts.Endorse},
		{"checkpoint read: peer stalled", gateway.StageEvaluate, evalCall, stallTimeouts.Evaluate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakePeer{hang: tt.stage, result: []byte(`{}`)}
			l := newFakeLedger(t, f)
			l.c.timeouts = stallTimeouts
			start := time.Now()
			err := callWithin(t, func(ctx context.Context) error { return tt.call(ctx, l) })
			took := time.Since(start)
			var u *gateway.LedgerUnavailableError
			if !errors.As(err, &u) {
				t.Fatalf("got %v (%T), want a *gateway.LedgerUnavailableError", err, err)
			}
			if u.Stage != tt.stage {
				t.Errorf("got stage %q, want %q (err %v)", u.Stage, tt.stage, err)
			}
			if took < tt.bound {
				t.Errorf("returned after %v, before its stage's bound %v", took, tt.bound)
			}
			if tt.stage == gateway.StageCommit || tt.stage == gateway.StageSubmit {
				if u.TxID == "" {
					t.Errorf("the error names no transaction id: %v", err)
				}
			}
		})
	}
}

// TestCommitTimeoutSaysWhy: the commit-status timeout's error says the
// transaction may have been lost and is to be submitted again, so an
// operator reading the anchorer's warning knows it is not a stuck peer.
func TestCommitTimeoutSaysWhy(t *testing.T) {
	f := &fakePeer{hang: gateway.StageCommit, result: []byte(`{}`)}
	l := newFakeLedger(t, f)
	l.c.timeouts = stallTimeouts
	err := callWithin(t, func(ctx context.Context) error {
		_, err := l.AnchorBatch(ctx, gateway.Batch{ID: "b1", TreeSizeAfter: 1})
		return err
	})
	if got, want := err.Error(), "no commit within 250ms"; !strings.Contains(got, want) {
		t.Errorf("got %q, want it to contain %q", got, want)
	}
}

// TestLostAnchorIsSubmittedAgain: after a stall lost the first anchoring
// transaction (its commit status never comes), the anchorer's retry of the
// same batch is a new transaction that commits; when the chaincode answers
// with the record the lost one wrote after all (it was committed late),
// the retry reports it as Replayed under the first transaction's id.
func TestLostAnchorIsSubmittedAgain(t *testing.T) {
	tests := []struct {
		name         string
		lateCommit   bool // the lost transaction was committed after all
		wantReplayed bool
	}{
		{"lost for good: the retry anchors the batch", false, false},
		{"committed late: the retry finds the record and reports a replay", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakePeer{hang: gateway.StageCommit, hangFirst: 1, hungTxIDs: make(chan string, 1), block: 7}
			rec := wire.Batch{ID: "b1", TreeSizeAfter: 1}
			js, err := json.Marshal(rec)
			if err != nil {
				t.Fatal(err)
			}
			f.result = js
			l := newFakeLedger(t, f)
			l.c.timeouts = stallTimeouts
			b := gateway.Batch{ID: "b1", TreeSizeAfter: 1}
			err = callWithin(t, func(ctx context.Context) error { _, err := l.AnchorBatch(ctx, b); return err })
			if !errors.Is(err, gateway.ErrLedgerUnavailable) {
				t.Fatalf("first attempt: got %v, want a transient error", err)
			}
			lost := <-f.hungTxIDs
			if tt.lateCommit {
				// The fake answers every endorsement with f.result; the
				// chaincode returns the stored record, which names the
				// transaction that wrote it.
				rec.TxID = lost
				if f.result, err = json.Marshal(rec); err != nil {
					t.Fatal(err)
				}
			}
			var anc gateway.Anchor
			err = callWithin(t, func(ctx context.Context) error {
				var err error
				anc, err = l.AnchorBatch(ctx, b)
				return err
			})
			if err != nil {
				t.Fatalf("retry: %v", err)
			}
			if anc.Replayed != tt.wantReplayed {
				t.Errorf("got Replayed %v, want %v", anc.Replayed, tt.wantReplayed)
			}
			if tt.wantReplayed && anc.TxID != lost {
				t.Errorf("got tx %q, want the lost transaction %q", anc.TxID, lost)
			}
			if !tt.wantReplayed && (anc.TxID == lost || anc.TxID == "" || anc.BlockNumber != 7) {
				t.Errorf("got anchor %+v, want a new transaction in block 7 (lost %q)", anc, lost)
			}
		})
	}
}
