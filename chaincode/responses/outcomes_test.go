package responses_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/access"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/fixture"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/harness"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/ledgertest"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/state"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// TestRecordOutcomes walks RecordOutcomes through a sequence of
// transactions on one ledger: per-record refusals beside accepted
// records, replays, and the refusals that fail the whole transaction.
func TestRecordOutcomes(t *testing.T) {
	h, b := setup(t)
	dry := fixture.Policy("dry", 1, `alert.asset == "web-09"`)
	dry.Mode = wire.ModeDryRun
	h.Activate(dry)
	h.Activate(fixture.Policy("isolate", 1, `alert.severityLevel >= 3 && alert.asset != "web-09"`))
	var alerts []wire.Alert
	for i, asset := range []string{"web-00", "web-01", "web-02", "web-03", "web-09"} {
		alerts = append(alerts, fixture.Alert(b, uint64(i), "high", "T1110", asset))
	}
	res, err := h.Raise(harness.Org1Gateway, alerts...)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, r := range res.Responses {
		ids[r.Target] = r.ID
	}
	if len(ids) != 5 {
		t.Fatalf("responses = %+v", res.Responses)
	}
	r0, r1, r2, r3, dryID := ids["web-00"], ids["web-01"], ids["web-02"], ids["web-03"], ids["web-09"]
	missing := fixture.Hash("no such response")

	rec := func(id, status string) wire.OutcomeRecord {
		return wire.OutcomeRecord{ResponseID: id, Status: status, Detail: "edr said " + status}
	}
	ok := func(id, st string, recorded bool) wire.OutcomeResult {
		return wire.OutcomeResult{ResponseID: id, State: st, Recorded: recorded}
	}
	refused := func(id, st string, code wire.Code) wire.OutcomeResult {
		return wire.OutcomeResult{ResponseID: id, State: st, Code: code}
	}
	steps := []struct {
		name    string
		who     *ledgertest.Identity
		arg     string
		wantErr any // a whole-transaction refusal
		want    []wire.OutcomeResult
		writes  int
	}{
		{"other org's gateway: each record denied", harness.Org2Gateway, fixture.JSON([]wire.OutcomeRecord{rec(r0, "succeeded")}),
			nil, []wire.OutcomeResult{refused(r0, "requested", wire.CodeDenied)}, 0},
		{"admin is not the executor", harness.Org1Admin, fixture.JSON([]wire.OutcomeRecord{rec(r0, "succeeded")}), new(*access.DeniedError), nil, 0},
		{"mixed: two recorded, three refused alone", harness.Org1Gateway, fixture.JSON([]wire.OutcomeRecord{
			rec(r0, "succeeded"), rec(r1, "failed"), rec(dryID, "succeeded"), rec(r2, "done"), rec("xyz", "succeeded"), rec(r3, "rolled-back"),
		}), nil, []wire.OutcomeResult{
			ok(r0, "succeeded", true), ok(r1, "failed", true), refused(dryID, "dry-run", wire.CodeState),
			{ResponseID: r2, Code: wire.CodeInvalid}, {ResponseID: "xyz", Code: wire.CodeInvalid}, refused(r3, "requested", wire.CodeState),
		}, 2},
		{"replay records nothing", harness.Org1Gateway, fixture.JSON([]wire.OutcomeRecord{rec(r0, "succeeded"), rec(r1, "failed")}),
			nil, []wire.OutcomeResult{ok(r0, "succeeded", false), ok(r1, "failed", false)}, 0},
		{"retry after failure and a replay", harness.Org1Gateway, fixture.JSON([]wire.OutcomeRecord{rec(r1, "succeeded"), rec(r0, "succeeded")}),
			nil, []wire.OutcomeResult{ok(r1, "succeeded", true), ok(r0, "succeeded", false)}, 1},
		{"a missing response fails the whole transaction", harness.Org1Gateway, fixture.JSON([]wire.OutcomeRecord{rec(r2, "succeeded"), rec(missing, "succeeded")}),
			new(*state.NotFoundError), nil, 0},
		{"duplicate ids", harness.Org1Gateway, fixture.JSON([]wire.OutcomeRecord{rec(r2, "succeeded"), rec(r2, "failed")}), new(*wire.ValidationError), nil, 0},
		{"empty", harness.Org1Gateway, `[]`, new(*wire.ValidationError), nil, 0},
		{"malformed", harness.Org1Gateway, `[{"responseId": 1}]`, new(*wire.ValidationError), nil, 0},
		{"unknown field", harness.Org1Gateway, `[{"responseId": "` + r2 + `", "status": "succeeded", "detail": "", "by": "me"}]`, new(*wire.ValidationError), nil, 0},
		{"too many", harness.Org1Gateway, fixture.JSON(make([]wire.OutcomeRecord, wire.MaxOutcomesPerTx+1)), new(*wire.ValidationError), nil, 0},
		{"the rest", harness.Org1Gateway, fixture.JSON([]wire.OutcomeRecord{rec(r2, "succeeded"), rec(r3, "refused")}),
			nil, []wire.OutcomeResult{ok(r2, "succeeded", true), ok(r3, "refused", true)}, 2},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			tx := h.L.Begin(s.who)
			out, err := h.Responses.RecordOutcomes(tx.Ctx(), s.arg)
			if s.wantErr != nil {
				tx.Discard()
				if !errors.As(err, s.wantErr) {
					t.Fatalf("RecordOutcomes() = %v, want %T", err, s.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := len(tx.Written()); got != s.writes {
				t.Fatalf("wrote %d keys, want %d", got, s.writes)
			}
			if tx.Event() != nil {
				t.Fatalf("event %v, want none", tx.Event().Name)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			got := harness.Decode[wire.OutcomesResult](t, out).Results
			for i := range got {
				if got[i].Code != "" && got[i].Message == "" {
					t.Errorf("result %d refused with code %s and no message", i, got[i].Code)
				}
				got[i].Message = ""
			}
			if !reflect.DeepEqual(got, s.want) {
				t.Fatalf("results\n got %+v\nwant %+v", got, s.want)
			}
		})
	}
	// The records equal what RecordOutcome writes: one outcome per
	// transition, by the caller, in the transaction that recorded it.
	r := getResponse(t, h, r1)
	if len(r.Outcomes) != 2 || r.Outcomes[0].Status != "failed" || r.Outcomes[1].Status != "succeeded" ||
		r.Outcomes[1].By.MSP != "Org1MSP" || r.Outcomes[1].TxID != r.UpdatedTx || r.Outcomes[1].Detail != "edr said succeeded" {
		t.Fatalf("r1 = %+v", r)
	}
	if r := getResponse(t, h, dryID); r.State != wire.ResponseDryRun || len(r.Outcomes) != 0 {
		t.Fatalf("dry-run response changed: %+v", r)
	}
}

// TestRecordOutcomesMatchesRecordOutcome records the same outcomes one by
// one and in one batch on two ledgers: the responses end equal but for
// the transaction ids and times.
func TestRecordOutcomesMatchesRecordOutcome(t *testing.T) {
	run := func(batch bool) []wire.Response {
		h, b := setup(t)
		h.Activate(fixture.Policy("isolate", 1, `alert.severityLevel >= 3`))
		var alerts []wire.Alert
		for i := range 3 {
			alerts = append(alerts, fixture.Alert(b, uint64(i), "high", "T1110", fmt.Sprintf("web-%02d", i)))
		}
		res, err := h.Raise(harness.Org1Gateway, alerts...)
		if err != nil {
			t.Fatal(err)
		}
		var recs []wire.OutcomeRecord
		for i, r := range res.Responses {
			recs = append(recs, wire.OutcomeRecord{ResponseID: r.ID, Status: []string{"succeeded", "failed", "refused"}[i], Detail: strings.Repeat("x", i)})
		}
		if batch {
			h.Must(harness.Org1Gateway, func(ctx contractapi.TransactionContextInterface) (string, error) {
				return h.Responses.RecordOutcomes(ctx, fixture.JSON(recs))
			})
		} else {
			for _, o := range recs {
				h.Must(harness.Org1Gateway, func(ctx contractapi.TransactionContextInterface) (string, error) {
					return h.Responses.RecordOutcome(ctx, o.ResponseID, o.Status, o.Detail)
				})
			}
		}
		var out []wire.Response
		for _, o := range recs {
			r := getResponse(t, h, o.ResponseID)
			r.UpdatedAt, r.UpdatedTx = wire.Time{}, ""
			for i := range r.Outcomes {
				r.Outcomes[i].At, r.Outcomes[i].TxID = wire.Time{}, ""
			}
			out = append(out, r)
		}
		return out
	}
	one, many := run(false), run(true)
	if !reflect.DeepEqual(one, many) {
		t.Fatalf("one by one\n%+v\nbatched\n%+v", one, many)
	}
}

func TestGetResponses(t *testing.T) {
	h, b := setup(t)
	h.Activate(fixture.Policy("isolate", 1, `alert.severityLevel >= 3`))
	res, err := h.Raise(harness.Org1Gateway, fixture.Alert(b, 1, "high", "T1110", "web-01"), fixture.Alert(b, 2, "high", "T1110", "web-02"))
	if err != nil {
		t.Fatal(err)
	}
	r1, r2 := res.Responses[0].ID, res.Responses[1].ID
	missing := fixture.Hash("missing")
	tests := []struct {
		name    string
		arg     string
		want    []wire.ResponseLookup // Response reduced to its id
		wantErr bool
	}{
		{"in order, each alone", fixture.JSON([]string{r2, missing, "xyz", r1}), []wire.ResponseLookup{
			{ID: r2, Response: &wire.Response{ID: r2}}, {ID: missing, Code: wire.CodeNotFound}, {ID: "xyz", Code: wire.CodeInvalid}, {ID: r1, Response: &wire.Response{ID: r1}},
		}, false},
		{"empty", `[]`, nil, true},
		{"not an array", `{"ids": []}`, nil, true},
		{"too many", fixture.JSON(make([]string, wire.MaxResponsesPerRead+1)), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := h.Call(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
				return h.Responses.GetResponses(ctx, tt.arg)
			})
			if tt.wantErr {
				var ve *wire.ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("GetResponses() = %v, want *wire.ValidationError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := harness.Decode[[]wire.ResponseLookup](t, out)
			for i := range got {
				if got[i].Code != "" && got[i].Message == "" {
					t.Errorf("entry %d: code %s without a message", i, got[i].Code)
				}
				got[i].Message = ""
				if got[i].Response != nil {
					if got[i].Response.State != wire.ResponseRequested {
						t.Errorf("entry %d: state %s", i, got[i].Response.State)
					}
					got[i].Response = &wire.Response{ID: got[i].Response.ID}
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
