package alerts_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/fixture"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/harness"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/keys"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/ledgertest"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

func getAlert(t *testing.T, h *harness.H, batchID, alertID string) wire.Alert {
	t.Helper()
	out := h.Must(harness.Org1Analyst, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Alerts.GetAlert(ctx, batchID, alertID)
	})
	return harness.Decode[wire.Alert](t, out)
}

func repeats(b wire.Batch, from, to uint64, asset string) []wire.Alert {
	var list []wire.Alert
	for seq := from; seq < to; seq++ {
		list = append(list, fixture.Alert(b, seq, "high", "T1110", asset))
	}
	return list
}

// TestDedupMergesRepeats checks deduplication: repeated detections of one
// entity inside the window become one alert whose count and last-seen
// grow, each merge is reported and kept as a reference in its batch's set,
// replays count nothing twice, policies see the alert once, and a
// transaction writes one set per batch plus one record per entity.
func TestDedupMergesRepeats(t *testing.T) {
	h, b1, _ := setup(t)
	b1 = strip(b1)
	h.ActivateRule(fixture.DedupRule("merge-all", 1, "true", 3600))
	h.Activate(fixture.Policy("isolate", 1, `alert.asset == "web-01"`))

	tx := h.L.Begin(harness.Org1Gateway)
	out, err := h.Alerts.RaiseAlerts(tx.Ctx(), fixture.JSON(repeats(b1, 0, 10, "web-01")))
	if err != nil {
		t.Fatal(err)
	}
	// set + dedup record + response (no rate limit: no mark)
	if got, want := len(tx.Written()), 3; got != want {
		t.Fatalf("wrote %d keys (%v), want %d", got, tx.Written(), want)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	res := harness.Decode[wire.RaiseResult](t, out)
	if res.Created != 1 || len(res.Merged) != 9 || len(res.Responses) != 1 {
		t.Fatalf("result = created %d, merged %d, responses %d; want 1, 9, 1", res.Created, len(res.Merged), len(res.Responses))
	}
	primary := res.Merged[0].IntoAlertID
	if got := res.Merged[8].Count; got != 10 {
		t.Fatalf("last merge reports count %d, want 10", got)
	}
	a := getAlert(t, h, b1.ID, primary)
	if a.Count != 10 || !a.LastSeen.Equal(fixture.Base.Add(9*time.Second)) || a.Status != wire.AlertOpen {
		t.Fatalf("alert = count %d, last seen %s, status %s; want 10, +9s, open", a.Count, a.LastSeen, a.Status)
	}

	h.Must(harness.Org1Analyst, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Alerts.UpdateAlertStatus(ctx, b1.ID, primary, wire.AlertAcknowledged, "triage")
	})
	// The next transaction merges into the same alert; no new response.
	res, err = h.Raise(harness.Org1Gateway, repeats(b1, 10, 20, "web-01")...)
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 0 || len(res.Merged) != 10 || len(res.Responses) != 0 {
		t.Fatalf("second result = created %d, merged %d, responses %d", res.Created, len(res.Merged), len(res.Responses))
	}
	// A replay counts nothing twice.
	res, err = h.Raise(harness.Org1Gateway, repeats(b1, 0, 20, "web-01")...)
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 0 || len(res.Merged) != 0 || len(res.Existing) != 20 {
		t.Fatalf("replay result = created %d, merged %d, existing %d", res.Created, len(res.Merged), len(res.Existing))
	}
	if a := getAlert(t, h, b1.ID, primary); a.Count != 20 {
		t.Fatalf("count after replay = %d, want 20", a.Count)
	}
	// The alert's history shows the raise and each merging transaction
	// with the count it left, newest first.
	hist := harness.Decode[wire.Page[wire.HistoryEntry[wire.Alert]]](t, h.Must(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Alerts.GetAlertHistory(ctx, b1.ID, primary, 10, "")
	}))
	var counts []string
	for _, e := range hist.Records {
		counts = append(counts, fmt.Sprintf("%d/%s", e.Value.Count, e.Value.Status))
	}
	if got, want := fmt.Sprint(counts), "[20/acknowledged 10/acknowledged 10/open]"; got != want {
		t.Fatalf("history counts = %s, want %s", got, want)
	}
	// A merged detection reads as the alert it was merged into.
	merged := repeats(b1, 15, 16, "web-01")[0]
	if got := getAlert(t, h, b1.ID, merged.ID); got.ID != primary || got.Count != 20 {
		t.Fatalf("GetAlert(merged) = %s count %d, want %s count 20", got.ID, got.Count, primary)
	}
	// Another entity is another alert.
	res, err = h.Raise(harness.Org1Gateway, repeats(b1, 20, 25, "web-02")...)
	if err != nil || res.Created != 1 || len(res.Merged) != 4 {
		t.Fatalf("other entity: %v, created %d, merged %d", err, res.Created, len(res.Merged))
	}
	if got := h.L.CountKeys(keys.Dedup); got != 2 {
		t.Fatalf("%d dedup records, want 2", got)
	}
	// Every detection is accounted for: 25 detections, 2 alerts counting 25.
	page := harness.Decode[wire.Page[wire.Alert]](t, h.Must(harness.Org1Analyst, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Alerts.ListAlerts(ctx, "", 100, "")
	}))
	total := 0
	for _, a := range page.Records {
		total += a.Count
	}
	if len(page.Records) != 2 || total != 25 {
		t.Fatalf("list = %d alerts counting %d, want 2 counting 25", len(page.Records), total)
	}
}

// TestDedupWindow checks that windows are fixed spans of event time: the
// same entity in the next window is a new alert.
func TestDedupWindow(t *testing.T) {
	h, b1, _ := setup(t)
	b1 = strip(b1)
	h.ActivateRule(fixture.DedupRule("merge-minute", 1, `alert.category == "T1110"`, 60))
	// Base is on a minute boundary: seq 0..59 fall in one window, 60..99 in the next.
	res, err := h.Raise(harness.Org1Gateway, repeats(b1, 0, 100, "web-01")...)
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 2 || len(res.Merged) != 98 {
		t.Fatalf("created %d, merged %d; want 2, 98", res.Created, len(res.Merged))
	}
	// Alerts the rule's condition does not match are not deduplicated.
	var other []wire.Alert
	for seq := uint64(0); seq < 3; seq++ {
		a := fixture.Alert(b1, seq, "high", "T1046", "web-01")
		a.EventHash = fixture.Hash(fmt.Sprintf("scan-%d", seq))
		a.ID = wire.AlertID(a.MSP, a.GatewayID, a.EventHash, a.Detector.ID, a.Detector.Version)
		other = append(other, a)
	}
	if res, err := h.Raise(harness.Org1Gateway, other...); err != nil || res.Created != 3 || len(res.Merged) != 0 {
		t.Fatalf("unmatched: %v, created %d, merged %d", err, res.Created, len(res.Merged))
	}
}

// TestDedupConcurrentBatches checks MVCC safety: two RaiseAlerts of
// different batches in one block touching different entities are both
// valid; two merging into the same entity's record conflict, and the
// retry merges.
func TestDedupConcurrentBatches(t *testing.T) {
	h := harness.New(t)
	h.InitMembers()
	b1 := strip(h.Anchor(harness.Org1Gateway, fixture.Batch("Org1MSP", "gw-1", 0, 100)))
	b2 := strip(h.Anchor(harness.Org1Gateway, fixture.Batch("Org1MSP", "gw-1", 100, 100)))
	h.ActivateRule(fixture.DedupRule("merge-all", 1, "true", 86400))
	h.Activate(fixture.Policy("isolate", 1, `alert.severity == "high"`))

	x := h.L.Begin(harness.Org1Gateway)
	y := h.L.Begin(harness.Org1Gateway)
	if _, err := h.Alerts.RaiseAlerts(x.Ctx(), fixture.JSON(repeats(b1, 0, 50, "host-a"))); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Alerts.RaiseAlerts(y.Ctx(), fixture.JSON(repeats(b2, 100, 150, "host-b"))); err != nil {
		t.Fatal(err)
	}
	if err := x.Commit(); err != nil {
		t.Fatalf("first of the block: %v", err)
	}
	if err := y.Commit(); err != nil {
		t.Fatalf("second of the block (disjoint keys): %v", err)
	}

	// Same entity, same window, one block: the second is invalidated.
	x = h.L.Begin(harness.Org1Gateway)
	y = h.L.Begin(harness.Org1Gateway)
	if _, err := h.Alerts.RaiseAlerts(x.Ctx(), fixture.JSON(repeats(b1, 50, 60, "host-c"))); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Alerts.RaiseAlerts(y.Ctx(), fixture.JSON(repeats(b2, 150, 160, "host-c"))); err != nil {
		t.Fatal(err)
	}
	if err := x.Commit(); err != nil {
		t.Fatal(err)
	}
	var ce *ledgertest.ConflictError
	if err := y.Commit(); !errors.As(err, &ce) {
		t.Fatalf("second merge into one record = %v, want a conflict", err)
	}
	res, err := h.Raise(harness.Org1Gateway, repeats(b2, 150, 160, "host-c")...)
	if err != nil || res.Created != 0 || len(res.Merged) != 10 || res.Merged[9].Count != 20 {
		t.Fatalf("retry: %v, created %d, merged %d", err, res.Created, len(res.Merged))
	}
}

// TestSuppression checks suppress rules: matching alerts are recorded as
// suppressed, citing the rule, countable and listed, and trigger no
// response; other alerts are unaffected; an expired rule suppresses
// nothing; a rule one organisation approved is not in force.
func TestSuppression(t *testing.T) {
	h, b1, _ := setup(t)
	b1 = strip(b1)
	h.Activate(fixture.Policy("isolate", 1, `alert.severity == "high"`))
	expires := h.L.Now().Add(24 * time.Hour)
	// Only Org1 approved: not active (a consortium rule needs a majority of 2).
	if _, err := h.ProposeRule(harness.Org1Author, fixture.SuppressRule("scanner", 1, `alert.asset == "scanner-01"`, expires)); err != nil {
		t.Fatal(err)
	}
	out, err := h.ApproveRule(harness.Org1Admin, "scanner", 1)
	if err != nil {
		t.Fatal(err)
	}
	if r := harness.Decode[wire.HygieneRule](t, out); r.State != wire.PolicyProposed || r.Quorum != 2 {
		t.Fatalf("after one approval: %s, quorum %d", r.State, r.Quorum)
	}
	res, err := h.Raise(harness.Org1Gateway, fixture.Alert(b1, 0, "high", "T1046", "scanner-01"))
	if err != nil || len(res.Suppressed) != 0 || len(res.Responses) != 1 {
		t.Fatalf("before quorum: %v, suppressed %d, responses %d", err, len(res.Suppressed), len(res.Responses))
	}
	if _, err := h.ApproveRule(harness.Org2Admin, "scanner", 1); err != nil {
		t.Fatal(err)
	}
	scan := []wire.Alert{fixture.Alert(b1, 1, "high", "T1046", "scanner-01"), fixture.Alert(b1, 2, "high", "T1046", "scanner-01")}
	res, err = h.Raise(harness.Org1Gateway, append(scan, fixture.Alert(b1, 3, "high", "T1110", "web-01"))...)
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 3 || len(res.Suppressed) != 2 || len(res.Responses) != 1 || res.Responses[0].Target != "web-01" {
		t.Fatalf("result = created %d, suppressed %d, responses %+v", res.Created, len(res.Suppressed), res.Responses)
	}
	a := getAlert(t, h, b1.ID, scan[0].ID)
	if a.Status != wire.AlertSuppressed || a.SuppressedBy == nil || a.SuppressedBy.ID != "scanner" || a.SuppressedBy.Version != 1 {
		t.Fatalf("suppressed alert = status %s, by %+v", a.Status, a.SuppressedBy)
	}
	page := harness.Decode[wire.Page[wire.Alert]](t, h.Must(harness.Org1Analyst, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Alerts.ListAlerts(ctx, `{"status":"suppressed"}`, 100, "")
	}))
	if len(page.Records) != 2 {
		t.Fatalf("%d suppressed alerts listed, want 2", len(page.Records))
	}
	// An analyst may still reopen a suppressed alert.
	if _, err := h.Call(harness.Org1Analyst, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Alerts.UpdateAlertStatus(ctx, b1.ID, scan[0].ID, wire.AlertOpen, "not the scanner after all")
	}); err != nil {
		t.Fatal(err)
	}
	// After expiry the rule suppresses nothing.
	h.L.SetTime(expires.Add(time.Second))
	res, err = h.Raise(harness.Org1Gateway, fixture.Alert(b1, 4, "high", "T1046", "scanner-01"))
	if err != nil || len(res.Suppressed) != 0 || len(res.Responses) != 1 {
		t.Fatalf("after expiry: %v, suppressed %d, responses %d", err, len(res.Suppressed), len(res.Responses))
	}
}

// TestSuppressedRepeatsDedup checks that suppression and deduplication
// compose: a scanner's repeated detections become one suppressed alert
// with a count.
func TestSuppressedRepeatsDedup(t *testing.T) {
	h, b1, _ := setup(t)
	b1 = strip(b1)
	h.ActivateRule(fixture.DedupRule("merge-all", 1, "true", 3600))
	h.ActivateRule(fixture.SuppressRule("scanner", 1, `alert.asset == "scanner-01"`, h.L.Now().Add(time.Hour)))
	res, err := h.Raise(harness.Org1Gateway, repeats(b1, 0, 30, "scanner-01")...)
	if err != nil || res.Created != 1 || len(res.Suppressed) != 1 || len(res.Merged) != 29 {
		t.Fatalf("%v: created %d, suppressed %d, merged %d", err, res.Created, len(res.Suppressed), len(res.Merged))
	}
	if a := getAlert(t, h, b1.ID, res.Suppressed[0]); a.Status != wire.AlertSuppressed || a.Count != 30 {
		t.Fatalf("alert = %s count %d", a.Status, a.Count)
	}
}

// TestOrgCaps checks the blast-radius cap per organisation and action
// type across policies, and escalation to human approval.
func TestOrgCaps(t *testing.T) {
	h, b1, b2 := setup(t)
	b1, b2 = strip(b1), strip(b2)
	caps := wire.OrgCaps{MSP: "Org1MSP", Caps: []wire.OrgCap{{Action: wire.ActionIsolateHost, Max: 2, WindowSeconds: 3600}}}
	if _, err := h.SetCaps(harness.Org2Admin, caps); err == nil {
		t.Fatal("Org2's admin set Org1's caps")
	}
	if _, err := h.SetCaps(harness.Org1Analyst, caps); err == nil {
		t.Fatal("an analyst set caps")
	}
	if _, err := h.SetCaps(harness.Org1Admin, caps); err != nil {
		t.Fatal(err)
	}
	h.Activate(fixture.Policy("isolate-a", 1, `alert.category == "T1110"`))
	p := fixture.Policy("isolate-b", 1, `alert.category == "T1021"`)
	p.EscalateLimited = true
	h.Activate(p)

	// Two isolations (two policies) use the cap; the third is rate-limited.
	res, err := h.Raise(harness.Org1Gateway, fixture.Alert(b1, 0, "high", "T1110", "h1"), fixture.Alert(b1, 1, "high", "T1021", "h2"), fixture.Alert(b1, 2, "high", "T1110", "h3"))
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, r := range res.Responses {
		states = append(states, r.Target+":"+r.State)
	}
	if got, want := fmt.Sprint(states), "[h1:requested h2:requested h3:rate-limited]"; got != want {
		t.Fatalf("states = %s, want %s", got, want)
	}
	// The escalating policy's limited response awaits approval instead.
	res, err = h.Raise(harness.Org1Gateway, fixture.Alert(b1, 3, "high", "T1021", "h4"))
	if err != nil || len(res.Responses) != 1 || res.Responses[0].State != wire.ResponseAwaitingApproval {
		t.Fatalf("escalation: %v, %+v", err, res.Responses)
	}
	out := h.Must(harness.Org1Admin, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Responses.GetResponse(ctx, res.Responses[0].ID)
	})
	r := harness.Decode[wire.Response](t, out)
	if r.LimitedBy != wire.LimitedByOrgCap+":"+wire.ActionIsolateHost || r.RequiredApprovals != 1 {
		t.Fatalf("escalated response: limitedBy %q, required approvals %d", r.LimitedBy, r.RequiredApprovals)
	}
	out = h.Must(harness.Org1Admin, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Responses.ApproveResponse(ctx, r.ID)
	})
	if r := harness.Decode[wire.Response](t, out); r.State != wire.ResponseRequested {
		t.Fatalf("after approval: %s", r.State)
	}
	// Org2 is not capped by Org1's record.
	res, err = h.Raise(harness.Org2Gateway, fixture.Alert(b2, 0, "high", "T1110", "h5"))
	if err != nil || len(res.Responses) != 1 || res.Responses[0].State != wire.ResponseRequested {
		t.Fatalf("org2: %v, %+v", err, res.Responses)
	}
	// The next window admits again.
	h.L.SetTime(h.L.Now().Add(time.Hour))
	res, err = h.Raise(harness.Org1Gateway, fixture.Alert(b1, 5, "high", "T1110", "h6"))
	if err != nil || len(res.Responses) != 1 || res.Responses[0].State != wire.ResponseRequested {
		t.Fatalf("next window: %v, %+v", err, res.Responses)
	}
}

// TestPolicyLimitEscalates checks escalation of the per-policy limit.
func TestPolicyLimitEscalates(t *testing.T) {
	h, b1, _ := setup(t)
	b1 = strip(b1)
	p := fixture.Policy("isolate", 1, `alert.severity == "high"`)
	p.Limit = &wire.RateLimit{Max: 1, WindowSeconds: 3600}
	p.EscalateLimited = true
	h.Activate(p)
	res, err := h.Raise(harness.Org1Gateway, fixture.Alert(b1, 0, "high", "T1110", "h1"), fixture.Alert(b1, 1, "high", "T1110", "h1"))
	if err != nil || len(res.Responses) != 2 {
		t.Fatalf("%v, %+v", err, res.Responses)
	}
	if res.Responses[0].State != wire.ResponseRequested || res.Responses[1].State != wire.ResponseAwaitingApproval {
		t.Fatalf("states %s, %s", res.Responses[0].State, res.Responses[1].State)
	}
}

// TestOrgCapsConcurrent checks the caps' MVCC behaviour: capped responses
// of two organisations in one block touch disjoint marks and are both
// valid; two of one organisation and action type race on the count, and
// the second is invalidated (phantom read) for the gateway to retry.
func TestOrgCapsConcurrent(t *testing.T) {
	h, b1, b2 := setup(t)
	b1, b2 = strip(b1), strip(b2)
	b1b := strip(h.Anchor(harness.Org1Gateway, fixture.Batch("Org1MSP", "gw-1", 100, 100)))
	for _, c := range []struct {
		admin *ledgertest.Identity
		msp   string
	}{{harness.Org1Admin, "Org1MSP"}, {harness.Org2Admin, "Org2MSP"}} {
		if _, err := h.SetCaps(c.admin, wire.OrgCaps{MSP: c.msp, Caps: []wire.OrgCap{{Action: wire.ActionIsolateHost, Max: 5, WindowSeconds: 3600}}}); err != nil {
			t.Fatal(err)
		}
	}
	h.Activate(fixture.Policy("isolate", 1, `alert.severity == "high"`))

	x, y := h.L.Begin(harness.Org1Gateway), h.L.Begin(harness.Org2Gateway)
	if _, err := h.Alerts.RaiseAlerts(x.Ctx(), fixture.JSON([]wire.Alert{fixture.Alert(b1, 0, "high", "T1110", "a")})); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Alerts.RaiseAlerts(y.Ctx(), fixture.JSON([]wire.Alert{fixture.Alert(b2, 0, "high", "T1110", "b")})); err != nil {
		t.Fatal(err)
	}
	if err := x.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := y.Commit(); err != nil {
		t.Fatalf("other organisation's capped response in the same block: %v", err)
	}

	x, y = h.L.Begin(harness.Org1Gateway), h.L.Begin(harness.Org1Gateway)
	if _, err := h.Alerts.RaiseAlerts(x.Ctx(), fixture.JSON([]wire.Alert{fixture.Alert(b1, 1, "high", "T1110", "c")})); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Alerts.RaiseAlerts(y.Ctx(), fixture.JSON([]wire.Alert{fixture.Alert(b1b, 100, "high", "T1110", "d")})); err != nil {
		t.Fatal(err)
	}
	if err := x.Commit(); err != nil {
		t.Fatal(err)
	}
	var ce *ledgertest.ConflictError
	if err := y.Commit(); !errors.As(err, &ce) || ce.Reason != "phantom" {
		t.Fatalf("same organisation's second capped response in one block = %v, want a phantom read", err)
	}
	if n := h.L.CountKeys(keys.CapMark); n != 3 {
		t.Fatalf("%d cap marks, want 3", n)
	}
}
