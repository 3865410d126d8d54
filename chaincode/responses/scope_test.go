package responses_test

import (
	"errors"
	"testing"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/fixture"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/harness"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/state"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// activateOrg proposes p as an org-scoped policy of Org1 with quorum 1 and
// has Org1's admin alone approve it.
func activateOrg(t *testing.T, h *harness.H, p wire.Policy) {
	t.Helper()
	p.Quorum, p.Scope = 1, wire.ScopeOrg
	if _, err := h.Propose(harness.Org1Author, p); err != nil {
		t.Fatal(err)
	}
	out, err := h.Approve(harness.Org1Admin, p.ID, p.Version)
	if err != nil {
		t.Fatal(err)
	}
	if got := harness.Decode[wire.Policy](t, out).State; got != wire.PolicyActive {
		t.Fatalf("org policy after its owner's approval is %s", got)
	}
}

// TestOrgPolicyPlansOnlyForItsOwner: an org-scoped policy of Org1 requests
// responses for Org1's alerts (addressed to Org1, carrying its scope,
// owner and approvals) and none for Org2's, while a consortium policy
// requests for both.
func TestOrgPolicyPlansOnlyForItsOwner(t *testing.T) {
	h, b1 := setup(t)
	b2 := strip(h.Anchor(harness.GatewayOf("Org2MSP", "gw-2"), fixture.Batch("Org2MSP", "gw-2", 0, 1000)))
	activateOrg(t, h, fixture.Policy("org1-only", 1, `alert.severityLevel >= 3`))
	h.Activate(fixture.Policy("shared", 1, `alert.severityLevel >= 3`))

	tests := []struct {
		name  string
		raise func() (wire.RaiseResult, error)
		want  map[string]string // policy id -> addressed MSP
	}{
		{"Org1 alert", func() (wire.RaiseResult, error) {
			return h.Raise(harness.Org1Gateway, fixture.Alert(b1, 1, "high", "T1110", "web-01"))
		}, map[string]string{"org1-only": "Org1MSP", "shared": "Org1MSP"}},
		{"Org2 alert", func() (wire.RaiseResult, error) {
			return h.Raise(harness.GatewayOf("Org2MSP", "gw-2"), fixture.Alert(b2, 1, "high", "T1110", "db-01"))
		}, map[string]string{"shared": "Org2MSP"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := tt.raise()
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, r := range res.Responses {
				got[r.PolicyID] = r.MSP
				wantScope, wantApprovals := wire.ScopeConsortium, 2
				if r.PolicyID == "org1-only" {
					wantScope, wantApprovals = wire.ScopeOrg, 1
				}
				if r.PolicyScope != wantScope || r.PolicyOwner != "Org1MSP" || len(r.PolicyApprovedBy) != wantApprovals {
					t.Errorf("request %s carries scope %q owner %q approvals %v", r.PolicyID, r.PolicyScope, r.PolicyOwner, r.PolicyApprovedBy)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("responses by policy = %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("responses by policy = %v, want %v", got, tt.want)
				}
			}
		})
	}
}

// TestRefusedOutcome: a responder may record refused on a requested
// response, and refused is final.
func TestRefusedOutcome(t *testing.T) {
	h, b := setup(t)
	h.Activate(fixture.Policy("isolate", 1, `alert.severityLevel >= 3`))
	res, err := h.Raise(harness.Org1Gateway, fixture.Alert(b, 1, "high", "T1110", "web-01"))
	if err != nil {
		t.Fatal(err)
	}
	id := res.Responses[0].ID
	record := func(status string) error {
		_, err := h.Call(harness.Org1Gateway, func(ctx contractapi.TransactionContextInterface) (string, error) {
			return h.Responses.RecordOutcome(ctx, id, status, "policy not approved by Org1MSP")
		})
		return err
	}
	if err := record(wire.ResponseRefused); err != nil {
		t.Fatalf("record refused = %v", err)
	}
	if got := getResponse(t, h, id); got.State != wire.ResponseRefused || len(got.Outcomes) != 1 {
		t.Fatalf("after refusal: state %s, %d outcomes", got.State, len(got.Outcomes))
	}
	if err := record(wire.ResponseRefused); err != nil {
		t.Fatalf("replay of refused = %v", err)
	}
	var se *state.StateError
	if err := record(wire.ResponseSucceeded); !errors.As(err, &se) {
		t.Fatalf("succeeded after refused = %v, want *state.StateError", err)
	}
}
