package anchor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
)

// behindLedger refuses the first n anchors as an endorser that has not
// committed the previous anchor yet does.
type behindLedger struct {
	fakeLedger
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

// TestBehindEndorserRetriedSoon: a refusal from an endorser behind the
// ledger is retried after gateway.BehindPause, not the (here one-minute) backoff.
func TestBehindEndorserRetriedSoon(t *testing.T) {
	log := newMemLog(2)
	led := &behindLedger{n: 3}
	a, err := New(log, led, WithBackoff(time.Minute, time.Minute), WithIdlePoll(time.Millisecond), quiet())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	runUntil(t, a, func() bool { return a.Status().Anchored == 2 })
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}
	if got, want := fmt.Sprint(led.order), "[b0 b1]"; got != want {
		t.Fatalf("anchored %s, want %s", got, want)
	}
}
