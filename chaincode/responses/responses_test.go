package responses_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/access"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/fixture"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/harness"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/keys"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/ledgertest"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/state"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

func setup(t *testing.T) (*harness.H, wire.Batch) {
	h := harness.New(t)
	h.InitMembers()
	b := h.Anchor(harness.Org1Gateway, fixture.Batch("Org1MSP", "gw-1", 0, 1000))
	b.AnchoredAt, b.TxID, b.Submitter = wire.Time{}, "", nil
	return h, b
}

func strip(b wire.Batch) wire.Batch {
	b.AnchoredAt, b.TxID, b.Submitter = wire.Time{}, "", nil
	return b
}

func getResponse(t *testing.T, h *harness.H, id string) wire.Response {
	t.Helper()
	out := h.Must(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Responses.GetResponse(ctx, id)
	})
	return harness.Decode[wire.Response](t, out)
}

func TestAutonomousResponse(t *testing.T) {
	h, b := setup(t)
	h.Activate(fixture.Policy("isolate", 1, `alert.severityLevel >= 3`))
	hit := fixture.Alert(b, 1, "high", "T1110", "web-01")
	miss := fixture.Alert(b, 2, "low", "T1110", "web-02")
	tx := h.L.Begin(harness.Org1Gateway)
	out, err := h.Alerts.RaiseAlerts(tx.Ctx(), fixture.JSON([]wire.Alert{hit, miss}))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(tx.Written()); got != 2 {
		t.Fatalf("wrote %d keys, want 2 (one alert set, one response)", got)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	res := harness.Decode[wire.RaiseResult](t, out)
	wantID := wire.ResponseID(hit.ID, "isolate", 1)
	if len(res.Responses) != 1 || res.Responses[0].ID != wantID {
		t.Fatalf("responses = %+v", res.Responses)
	}
	name, ev := h.LastEvent()
	if name != wire.EventResponsesRequested || len(ev.Requests) != 1 || ev.TxID != tx.GetTxID() {
		t.Fatalf("event %s = %+v", name, ev)
	}
	r := ev.Requests[0]
	want := wire.ResponseRequest{
		ID: wantID, AlertID: hit.ID, BatchID: b.ID, PolicyID: "isolate", PolicyVersion: 1, MSP: "Org1MSP", GatewayID: "gw-1",
		Mode: "enforce", State: "requested", Target: "web-01",
		Actions: []wire.Action{
			{Type: "isolate_host", Params: map[string]string{"host": "web-01", "reason": "alert " + hit.ID}},
			{Type: "notify", Params: map[string]string{"channel": "soc", "message": "high T1110 on web-01"}},
		},
		PolicyScope: wire.ScopeConsortium, PolicyOwner: "Org1MSP", PolicyApprovedBy: []string{"Org1MSP", "Org2MSP"},
	}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("request\n got %+v\nwant %+v", r, want)
	}
	if got := getResponse(t, h, wantID); got.State != wire.ResponseRequested || got.CreatedTx != tx.GetTxID() {
		t.Fatalf("stored response = %+v", got)
	}
}

func TestApprovalGatedResponse(t *testing.T) {
	h, b := setup(t)
	p := fixture.Policy("isolate", 1, `alert.severityLevel >= 3`)
	p.ResponseApprovals = 2
	h.Activate(p)
	a := fixture.Alert(b, 1, "critical", "T1110", "web-01")
	res, err := h.Raise(harness.Org1Gateway, a)
	if err != nil {
		t.Fatal(err)
	}
	id := res.Responses[0].ID
	if res.Responses[0].State != wire.ResponseAwaitingApproval {
		t.Fatalf("state = %s", res.Responses[0].State)
	}
	approve := func(who *ledgertest.Identity) (*ledgertest.Tx, error) {
		tx := h.L.Begin(who)
		_, err := h.Responses.ApproveResponse(tx.Ctx(), id)
		if err != nil {
			tx.Discard()
			return tx, err
		}
		return tx, tx.Commit()
	}
	steps := []struct {
		name      string
		who       *ledgertest.Identity
		wantErr   any
		wantState string
		wantEvent bool
	}{
		{"gateway cannot approve", harness.Org1Gateway, new(*access.DeniedError), "", false},
		{"author cannot approve", harness.Org1Author, new(*access.DeniedError), "", false},
		{"non-member admin", harness.Org3Admin, new(*access.DeniedError), "", false},
		{"first org", harness.Org1Admin, nil, wire.ResponseAwaitingApproval, false},
		{"first org again", harness.Org1Admin, nil, wire.ResponseAwaitingApproval, false},
		{"second org makes it runnable", harness.Org2Admin, nil, wire.ResponseRequested, true},
		{"second org again", harness.Org2Admin, nil, wire.ResponseRequested, false},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			tx, err := approve(s.who)
			if s.wantErr != nil {
				if !errors.As(err, s.wantErr) {
					t.Fatalf("ApproveResponse() = %v, want %T", err, s.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (tx.Event() != nil) != s.wantEvent {
				t.Fatalf("event = %v, want %v", tx.Event(), s.wantEvent)
			}
			if s.wantEvent {
				name, ev := h.LastEvent()
				if name != wire.EventResponsesRequested || ev.Requests[0].ID != id || ev.Requests[0].State != wire.ResponseRequested {
					t.Fatalf("event %s = %+v", name, ev)
				}
			}
			if got := getResponse(t, h, id); got.State != s.wantState {
				t.Fatalf("state = %s, want %s", got.State, s.wantState)
			}
		})
	}
}

func TestDryRunAndOutcomes(t *testing.T) {
	h, b := setup(t)
	dry := fixture.Policy("dry", 1, `alert.category == "T1110"`)
	dry.Mode = wire.ModeDryRun
	h.Activate(dry)
	h.Activate(fixture.Policy("isolate", 1, `alert.severityLevel >= 3`))
	a := fixture.Alert(b, 1, "high", "T1110", "web-01")
	res, err := h.Raise(harness.Org1Gateway, a)
	if err != nil {
		t.Fatal(err)
	}
	// Policies are evaluated in id order: dry, then isolate.
	if len(res.Responses) != 2 || res.Responses[0].State != wire.ResponseDryRun || res.Responses[1].State != wire.ResponseRequested {
		t.Fatalf("responses = %+v", res.Responses)
	}
	dryID, runID := res.Responses[0].ID, res.Responses[1].ID

	record := func(who *ledgertest.Identity, id, status string) (*ledgertest.Tx, string, error) {
		tx := h.L.Begin(who)
		out, err := h.Responses.RecordOutcome(tx.Ctx(), id, status, "edr said "+status)
		if err != nil {
			tx.Discard()
			return tx, "", err
		}
		return tx, out, tx.Commit()
	}
	rollback := func(who *ledgertest.Identity, reason string) (*ledgertest.Tx, error) {
		tx := h.L.Begin(who)
		if _, err := h.Responses.RequestRollback(tx.Ctx(), runID, reason); err != nil {
			tx.Discard()
			return tx, err
		}
		return tx, tx.Commit()
	}
	steps := []struct {
		name      string
		do        func() (*ledgertest.Tx, error)
		wantErr   any
		wantState string
		writes    int
		event     string
	}{
		{"dry-run never runs", func() (*ledgertest.Tx, error) {
			tx, _, err := record(harness.Org1Gateway, dryID, "succeeded")
			return tx, err
		}, new(*state.StateError), "", 0, ""},
		{"other org's gateway", func() (*ledgertest.Tx, error) {
			tx, _, err := record(harness.Org2Gateway, runID, "succeeded")
			return tx, err
		}, new(*access.DeniedError), "", 0, ""},
		{"unbound gateway of other org", func() (*ledgertest.Tx, error) {
			tx, _, err := record(ledgertest.Gateway("Org2MSP", "g"), runID, "succeeded")
			return tx, err
		}, new(*access.DeniedError), "", 0, ""},
		{"admin is not the executor", func() (*ledgertest.Tx, error) {
			tx, _, err := record(harness.Org1Admin, runID, "succeeded")
			return tx, err
		}, new(*access.DeniedError), "", 0, ""},
		{"unknown status", func() (*ledgertest.Tx, error) {
			tx, _, err := record(harness.Org1Gateway, runID, "done")
			return tx, err
		}, new(*wire.ValidationError), "", 0, ""},
		{"rollback before success", func() (*ledgertest.Tx, error) { return rollback(harness.Org1Analyst, "x") }, new(*state.StateError), "", 0, ""},
		// The responder is its organisation's executor: an identity bound to
		// another gateway of the org records the outcome.
		{"succeeded, by a responder bound to another gateway", func() (*ledgertest.Tx, error) {
			tx, _, err := record(harness.GatewayOf("Org1MSP", "gw-2"), runID, "succeeded")
			return tx, err
		}, nil, wire.ResponseSucceeded, 1, ""},
		{"succeeded replay", func() (*ledgertest.Tx, error) {
			tx, _, err := record(harness.Org1Gateway, runID, "succeeded")
			return tx, err
		}, nil, wire.ResponseSucceeded, 0, ""},
		{"failed after success", func() (*ledgertest.Tx, error) {
			tx, _, err := record(harness.Org1Gateway, runID, "failed")
			return tx, err
		}, new(*state.StateError), "", 0, ""},
		{"rollback by other org", func() (*ledgertest.Tx, error) { return rollback(harness.Org2Analyst, "x") }, new(*access.DeniedError), "", 0, ""},
		{"rollback by gateway", func() (*ledgertest.Tx, error) { return rollback(harness.Org1Gateway, "x") }, new(*access.DeniedError), "", 0, ""},
		{"rollback without reason", func() (*ledgertest.Tx, error) { return rollback(harness.Org1Analyst, "") }, new(*wire.ValidationError), "", 0, ""},
		{"rollback requested", func() (*ledgertest.Tx, error) { return rollback(harness.Org1Analyst, "false positive") }, nil, wire.ResponseRollbackRequested, 1, wire.EventRollbackRequested},
		{"rollback requested again", func() (*ledgertest.Tx, error) { return rollback(harness.Org1Admin, "again") }, nil, wire.ResponseRollbackRequested, 0, ""},
		{"rolled back", func() (*ledgertest.Tx, error) {
			tx, _, err := record(harness.Org1Gateway, runID, "rolled-back")
			return tx, err
		}, nil, wire.ResponseRolledBack, 1, ""},
		{"rolled back replay", func() (*ledgertest.Tx, error) {
			tx, _, err := record(harness.Org1Gateway, runID, "rolled-back")
			return tx, err
		}, nil, wire.ResponseRolledBack, 0, ""},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			tx, err := s.do()
			if s.wantErr != nil {
				if !errors.As(err, s.wantErr) {
					t.Fatalf("got %v, want %T", err, s.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(tx.Written()) != s.writes {
				t.Fatalf("wrote %d keys, want %d", len(tx.Written()), s.writes)
			}
			gotEvent := ""
			if tx.Event() != nil {
				gotEvent = tx.Event().Name
			}
			if gotEvent != s.event {
				t.Fatalf("event %q, want %q", gotEvent, s.event)
			}
			if got := getResponse(t, h, runID); got.State != s.wantState {
				t.Fatalf("state = %s, want %s", got.State, s.wantState)
			}
		})
	}
	got := getResponse(t, h, runID)
	if len(got.Outcomes) != 2 || got.RollbackBy.MSP != "Org1MSP" || got.RollbackReason != "false positive" {
		t.Fatalf("final response = %+v", got)
	}
}

// TestSameAlertOtherBatch: alerts are idempotent per batch, so a gateway
// that raises an alert id again under another batch records it there, but
// the response of that alert and policy version exists and is not
// requested again.
func TestSameAlertOtherBatch(t *testing.T) {
	h, b := setup(t)
	h.Activate(fixture.Policy("isolate", 1, `alert.severityLevel >= 3`))
	hit := fixture.Alert(b, 1, "high", "T1110", "web-01")
	if res, err := h.Raise(harness.Org1Gateway, hit); err != nil || len(res.Responses) != 1 {
		t.Fatalf("first raise = %+v, %v", res, err)
	}
	events := len(h.L.Events())
	b2 := strip(h.Anchor(harness.Org1Gateway, fixture.Batch("Org1MSP", "gw-1", b.TreeSizeAfter, 100)))
	again := hit
	again.BatchID, again.EventTime = b2.ID, b2.FirstEventTime
	res, err := h.Raise(harness.Org1Gateway, again)
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 1 || len(res.Responses) != 0 || len(h.L.Events()) != events {
		t.Fatalf("raise in another batch = %+v", res)
	}
	if got := getResponse(t, h, wire.ResponseID(hit.ID, "isolate", 1)); got.BatchID != b.ID {
		t.Fatalf("response rewritten: batch %s", got.BatchID)
	}
}

func TestRateLimit(t *testing.T) {
	h, b := setup(t)
	p := fixture.Policy("isolate", 1, `alert.severityLevel >= 3`)
	p.Limit = &wire.RateLimit{Max: 2, WindowSeconds: 3600}
	h.Activate(p)
	states := func(res wire.RaiseResult) string {
		s := ""
		for _, r := range res.Responses {
			s += r.Target + ":" + r.State + " "
		}
		return s
	}
	seq := uint64(0)
	alert := func(asset string) wire.Alert {
		seq++
		return fixture.Alert(b, seq, "high", "T1110", asset)
	}
	// Window [00:00, 01:00) of 2026-01-01 — the ledger clock starts at 00:00.
	res, err := h.Raise(harness.Org1Gateway, alert("web-01"), alert("web-01"), alert("web-01"), alert("web-02"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := states(res), "web-01:requested web-01:requested web-01:rate-limited web-02:requested "; got != want {
		t.Fatalf("first tx: %s, want %s", got, want)
	}
	res, err = h.Raise(harness.Org1Gateway, alert("web-01"), alert("web-02"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := states(res), "web-01:rate-limited web-02:requested "; got != want {
		t.Fatalf("second tx: %s, want %s", got, want)
	}
	if n := h.L.CountKeys(keys.RateMark); n != 4 {
		t.Fatalf("%d rate marks, want 4 (one per counted response)", n)
	}
	h.L.SetTime(time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC))
	res, err = h.Raise(harness.Org1Gateway, alert("web-01"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := states(res), "web-01:requested "; got != want {
		t.Fatalf("next window: %s, want %s", got, want)
	}
}

// TestRateLimitConcurrency: two transactions of one block that both count
// the same policy and target conflict (the second is invalidated and will
// be retried); different targets do not.
func TestRateLimitConcurrency(t *testing.T) {
	h, b := setup(t)
	p := fixture.Policy("isolate", 1, `alert.severityLevel >= 3`)
	p.Limit = &wire.RateLimit{Max: 5, WindowSeconds: 3600}
	h.Activate(p)
	raise := func(tx *ledgertest.Tx, a wire.Alert) {
		if _, err := h.Alerts.RaiseAlerts(tx.Ctx(), fixture.JSON([]wire.Alert{a})); err != nil {
			t.Fatal(err)
		}
	}
	// One batch per transaction, so only the rate-limit reads can conflict.
	b2 := strip(h.Anchor(harness.Org1Gateway, fixture.Batch("Org1MSP", "gw-1", b.TreeSizeAfter, 100)))
	b3 := strip(h.Anchor(harness.Org1Gateway, fixture.Batch("Org1MSP", "gw-1", b2.TreeSizeAfter, 100)))
	x, y, z := h.L.Begin(harness.Org1Gateway), h.L.Begin(harness.Org1Gateway), h.L.Begin(harness.Org1Gateway)
	raise(x, fixture.Alert(b, 1, "high", "T1110", "web-01"))
	raise(y, fixture.Alert(b2, 1002, "high", "T1110", "web-02"))
	raise(z, fixture.Alert(b3, 1103, "high", "T1110", "web-01"))
	if err := x.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := y.Commit(); err != nil {
		t.Fatalf("different target conflicts: %v", err)
	}
	var ce *ledgertest.ConflictError
	if err := z.Commit(); !errors.As(err, &ce) || ce.Reason != "phantom" {
		t.Fatalf("same policy+target in one block = %v, want phantom conflict", err)
	}
}

func TestEvalErrorsAreReported(t *testing.T) {
	h, b := setup(t)
	h.Activate(fixture.Policy("needs-host", 1, `alert.fields["hostname"] == "x"`))
	res, err := h.Raise(harness.Org1Gateway, fixture.Alert(b, 1, "high", "T1110", "web-01"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Responses) != 0 || len(res.EvalErrors) != 1 || res.EvalErrors[0].PolicyID != "needs-host" {
		t.Fatalf("result = %+v", res)
	}
}

// TestDeterminism runs the same transactions on two ledgers and requires
// byte-identical state and events: no map order, clock or randomness leaks
// into what the chaincode writes.
func TestDeterminism(t *testing.T) {
	run := func() (map[string]string, []ledgertest.Event) {
		h, b := setup(t)
		for i, cond := range []string{`alert.severityLevel >= 2`, `alert.fields.user == "alice"`, `alert.asset.startsWith("web")`} {
			p := fixture.Policy(fmt.Sprintf("p%d", 3-i), 1, cond)
			p.Limit = &wire.RateLimit{Max: 3, WindowSeconds: 60, Target: "{{alert.fields.src_ip}}"}
			h.Activate(p)
		}
		var list []wire.Alert
		for seq := uint64(0); seq < 50; seq++ {
			list = append(list, fixture.Alert(b, seq, []string{"low", "high"}[seq%2], "T1110", fmt.Sprintf("web-%d", seq%4)))
		}
		if _, err := h.Raise(harness.Org1Gateway, list...); err != nil {
			t.Fatal(err)
		}
		return h.L.Snapshot(), h.L.Events()
	}
	s1, e1 := run()
	s2, e2 := run()
	if !reflect.DeepEqual(s1, s2) || !reflect.DeepEqual(e1, e2) {
		t.Fatal("two identical runs wrote different state or events")
	}
}

func TestListResponses(t *testing.T) {
	h, b := setup(t)
	gated := fixture.Policy("gated", 1, `alert.severity == "critical"`)
	gated.ResponseApprovals = 1
	h.Activate(gated)
	h.Activate(fixture.Policy("auto", 1, `alert.severityLevel >= 3`))
	var list []wire.Alert
	for seq := uint64(0); seq < 12; seq++ {
		list = append(list, fixture.Alert(b, seq, []string{"high", "critical"}[seq%2], "T1110", "web"))
	}
	if _, err := h.Raise(harness.Org1Gateway, list...); err != nil {
		t.Fatal(err)
	}
	for filter, want := range map[string]int{
		"": 18, `{"policyId":"auto"}`: 12, `{"state":"awaiting-approval"}`: 6,
		`{"alertId":"` + list[1].ID + `"}`: 2, `{"msp":"Org2MSP"}`: 0,
	} {
		got, bookmark := 0, ""
		for pages := 0; ; pages++ {
			if pages > 30 {
				t.Fatal("pagination does not end")
			}
			out := h.Must(harness.Org2Admin, func(ctx contractapi.TransactionContextInterface) (string, error) {
				return h.Responses.ListResponses(ctx, filter, 5, bookmark)
			})
			page := harness.Decode[wire.Page[wire.Response]](t, out)
			got += len(page.Records)
			if bookmark = page.Bookmark; bookmark == "" {
				break
			}
		}
		if got != want {
			t.Errorf("ListResponses(%s) = %d, want %d", filter, got, want)
		}
	}
	var nf *state.NotFoundError
	if _, err := h.Call(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Responses.GetResponse(ctx, fixture.Hash("none"))
	}); !errors.As(err, &nf) {
		t.Fatalf("GetResponse(missing) = %v", err)
	}
}
