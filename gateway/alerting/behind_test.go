package alerting

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
)

// principals returns the principals (user names) of the alerts raised.
func principals(r *fakeRaiser) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.calls {
		for _, a := range c {
			out = append(out, a.Principal)
		}
	}
	slices.Sort(out)
	return out
}

// behindRaiser refuses the first n calls as an endorser that has not
// committed the alerts' batch yet does.
type behindRaiser struct {
	fakeRaiser
	n int
}

func (b *behindRaiser) RaiseAlerts(ctx context.Context, alerts []wire.Alert) (wire.RaiseResult, error) {
	b.mu.Lock()
	if b.n > 0 {
		b.n--
		b.mu.Unlock()
		return wire.RaiseResult{}, &gateway.LedgerRejectedError{Op: wire.TxRaiseAlerts, Stage: gateway.StageEndorse, Code: wire.CodeNotFound, Reason: "batch not found"}
	}
	b.mu.Unlock()
	return b.fakeRaiser.RaiseAlerts(ctx, alerts)
}

// TestEndorserBehindRetriedSoon: five refusals from an endorser behind
// cost five short pauses, not 100+200+400+800+1600 ms of backoff.
func TestEndorserBehindRetriedSoon(t *testing.T) {
	log := newLog([]string{"bad1"}, []int{1}, 1)
	r := &behindRaiser{n: 5}
	a, err := New(quietCfg(t), log, flagUsers{}, r)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	runFor(t, a, func() bool { return a.Status().Watermark == 1 })
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("raising past five refusals from an endorser behind took %v, want well under the 3.1 s of backoff", d)
	}
	if got := principals(&r.fakeRaiser); len(got) != 1 {
		t.Fatalf("raised %v, want bad1 once", got)
	}
}
