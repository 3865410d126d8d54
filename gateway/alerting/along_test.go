package alerting

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/detect"
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

// TestAlertsForCarriedWithTheAnchor raises the middle batch's alert with
// its anchor (AlertsFor, then RaisedWith as the anchorer reports the
// commit): the alerter raises the other batches' alerts itself, never the
// carried one, and moves its watermark past all three.
func TestAlertsForCarriedWithTheAnchor(t *testing.T) {
	log := newLog([]string{"alice", "bad1", "bad2", "bob", "bad3"}, []int{2, 2, 1}, 0)
	r := &fakeRaiser{}
	a, err := New(quietCfg(t), log, flagUsers{}, r)
	if err != nil {
		t.Fatal(err)
	}
	// Batch 0's transaction with its alert fails: it is anchored alone.
	if _, ok := a.AlertsFor(context.Background(), log.batches[0]); !ok {
		t.Fatal("AlertsFor(batch 0) refused")
	}
	al, ok := a.AlertsFor(context.Background(), log.batches[1])
	if !ok || len(al) != 1 || al[0].Principal != "bad2" || al[0].BatchID != log.batches[1].ID {
		t.Fatalf("AlertsFor(batch 1) = %+v, %v; want bad2's alert", al, ok)
	}
	if err := al[0].Validate("alert"); err != nil {
		t.Fatalf("carried alert does not pass the chaincode's validation: %v", err)
	}
	// Batch 1 is anchored with its alert; batch 2 alone.
	a.RaisedWith(log.batches[1], wire.RaiseResult{Created: 1})
	for i := range log.batches {
		log.anchor(i)
	}
	runFor(t, a, func() bool { return a.Status().Watermark == 5 })
	if got, want := principals(r), []string{"bad1", "bad3"}; !slices.Equal(got, want) {
		t.Fatalf("raised with RaiseAlerts %v, want %v (bad2 went with its anchor)", got, want)
	}
	if st := a.Status(); st.Raised != 3 || st.Position != 5 {
		t.Fatalf("status = %+v, want 3 raised, position 5", st)
	}
}

// TestAlertsForCrashBeforeStep: the carried alerts are not durable in the
// alerter; after a crash it raises them again from its watermark with
// RaiseAlerts (which the ledger answers with them as existing).
func TestAlertsForCrashBeforeStep(t *testing.T) {
	log := newLog([]string{"bad1", "bad2"}, []int{1, 1}, 0)
	r := &fakeRaiser{}
	cfg := quietCfg(t)
	a, err := New(cfg, log, flagUsers{}, r)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.AlertsFor(context.Background(), log.batches[0]); !ok {
		t.Fatal("AlertsFor refused a small scored batch")
	}
	a.RaisedWith(log.batches[0], wire.RaiseResult{Created: 1})
	log.anchor(0)
	log.anchor(1)
	// a crashes here; b starts from the same state directory.
	b, err := New(cfg, log, flagUsers{}, r)
	if err != nil {
		t.Fatal(err)
	}
	runFor(t, b, func() bool { return b.Status().Watermark == 2 })
	if got, want := principals(r), []string{"bad1", "bad2"}; !slices.Equal(got, want) {
		t.Fatalf("after the crash raised %v, want %v", got, want)
	}
}

func TestAlertsForAnchorsAlone(t *testing.T) {
	tests := []struct {
		name   string
		users  []string
		served func() []gateway.ModelRef
	}{
		{"detection idle", []string{"bad1"}, func() []gateway.ModelRef { return nil }},
		{"too large to score on the anchor's path", make([]string, MaxAlongEvents+1), nil},
		{"more alerts than one anchor transaction carries", bad(MaxAlongAlerts + 1), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := newLog(tt.users, []int{len(tt.users)}, 0)
			cfg := quietCfg(t)
			cfg.Served = tt.served
			a, err := New(cfg, log, flagUsers{}, &fakeRaiser{})
			if err != nil {
				t.Fatal(err)
			}
			if al, ok := a.AlertsFor(context.Background(), log.batches[0]); ok {
				t.Fatalf("AlertsFor = %d alerts, ok; want the batch anchored alone", len(al))
			}
		})
	}
}

// bad returns n user names flagUsers flags.
func bad(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("bad%d", i)
	}
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

// TestAlertsForDetectionBehind: while an earlier batch is not scored yet
// (detection behind), a later batch is anchored alone rather than scored
// on the anchorer's path; once scoring has caught up it carries its
// alerts.
func TestAlertsForDetectionBehind(t *testing.T) {
	log := newLog([]string{"bad1", "bad2"}, []int{1, 1}, 0)
	a, err := New(quietCfg(t), log, flagUsers{}, &fakeRaiser{})
	if err != nil {
		t.Fatal(err)
	}
	if al, ok := a.AlertsFor(context.Background(), log.batches[1]); ok {
		t.Fatalf("AlertsFor(batch 1) before batch 0 is scored = %d alerts, ok; want it anchored alone", len(al))
	}
	if _, ok := a.AlertsFor(context.Background(), log.batches[0]); !ok {
		t.Fatal("AlertsFor(batch 0) refused the next batch to score")
	}
	if al, ok := a.AlertsFor(context.Background(), log.batches[1]); !ok || len(al) != 1 {
		t.Fatalf("AlertsFor(batch 1) once batch 0 is scored = %d alerts, %v; want its alert", len(al), ok)
	}
}

// slowDetector is flagUsers taking d per call.
type slowDetector struct{ d time.Duration }

func (s slowDetector) Detect(ctx context.Context, evs []gateway.Event) ([]detect.Result, error) {
	time.Sleep(s.d)
	return flagUsers{}.Detect(ctx, evs)
}

// TestAlertsForSlowScoring: when scoring takes longer than MaxAlongWait
// the batch is anchored alone at once, and the scoring started goes on,
// so the alerter finds the batch scored.
func TestAlertsForSlowScoring(t *testing.T) {
	log := newLog([]string{"bad1"}, []int{1}, 0)
	a, err := New(quietCfg(t), log, slowDetector{d: 6 * MaxAlongWait}, &fakeRaiser{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if al, ok := a.AlertsFor(context.Background(), log.batches[0]); ok {
		t.Fatalf("AlertsFor = %d alerts, ok; want the batch anchored alone", len(al))
	}
	if d := time.Since(start); d >= 6*MaxAlongWait {
		t.Fatalf("AlertsFor held the anchor back %v, want about %v", d, MaxAlongWait)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if al, ok := a.ready(log.batches[0]); ok {
			if len(al) != 1 {
				t.Fatalf("scored in the background: %d alerts, want 1", len(al))
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the batch was not scored in the background")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
