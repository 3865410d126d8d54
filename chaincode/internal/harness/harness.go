// Package harness drives the contracts against an in-memory ledger for the
// contract tests: it submits calls as given identities, commits on success
// like a client's submit, and offers the multi-step set-ups (membership,
// anchored batches, active policies) those tests share.
package harness

import (
	"encoding/json"
	"testing"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/ledgerguard/ledgerguard/chaincode/alerts"
	"github.com/ledgerguard/ledgerguard/chaincode/consortium"
	"github.com/ledgerguard/ledgerguard/chaincode/events"
	"github.com/ledgerguard/ledgerguard/chaincode/hygiene"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/fixture"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/ledgertest"
	"github.com/ledgerguard/ledgerguard/chaincode/policies"
	"github.com/ledgerguard/ledgerguard/chaincode/responses"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// Identities used across the contract tests. The gateway identities are
// bound (attribute ledgerguard.gateway) to gateway id "gw-1" of their org,
// the id the fixtures use; GatewayOf gives one bound to any other id.
var (
	Org1Gateway = ledgertest.BoundGateway("Org1MSP", "gateway1", "gw-1")
	Org2Gateway = ledgertest.BoundGateway("Org2MSP", "gateway2", "gw-1")
	Org1Author  = ledgertest.Role("Org1MSP", "author1", "author")
	Org2Author  = ledgertest.Role("Org2MSP", "author2", "author")
	Org1Analyst = ledgertest.Role("Org1MSP", "analyst1", "analyst")
	Org2Analyst = ledgertest.Role("Org2MSP", "analyst2", "analyst")
	Org1Auditor = ledgertest.Role("Org1MSP", "auditor1", "auditor")
	Org1Admin   = ledgertest.Admin("Org1MSP", "admin1")
	Org2Admin   = ledgertest.Admin("Org2MSP", "admin2")
	Org3Admin   = ledgertest.Admin("Org3MSP", "admin3")
	Org1Plain   = ledgertest.Plain("Org1MSP", "nobody")
)

// GatewayOf returns a gateway identity of mspID bound to gatewayID, the
// only kind of identity that may anchor batches and raise alerts for it.
func GatewayOf(mspID, gatewayID string) *ledgertest.Identity {
	return ledgertest.BoundGateway(mspID, "gateway-"+gatewayID, gatewayID)
}

// H is one test's ledger and contracts.
type H struct {
	T          testing.TB
	L          *ledgertest.Ledger
	Consortium *consortium.Contract
	Events     *events.Contract
	Alerts     *alerts.Contract
	Policies   *policies.Contract
	Responses  *responses.Contract
	Hygiene    *hygiene.Contract
}

// New returns a harness over an empty ledger.
func New(t testing.TB) *H {
	return &H{T: t, L: ledgertest.New(), Consortium: consortium.New(), Events: events.New(),
		Alerts: alerts.New(), Policies: policies.New(), Responses: responses.New(), Hygiene: hygiene.New()}
}

// Call runs fn as id in a new transaction, committing it if fn succeeds.
func (h *H) Call(id *ledgertest.Identity, fn func(ctx contractapi.TransactionContextInterface) (string, error)) (string, error) {
	var out string
	err := h.L.Submit(id, func(ctx contractapi.TransactionContextInterface) error {
		var err error
		out, err = fn(ctx)
		return err
	})
	return out, err
}

// Must is Call that fails the test on error.
func (h *H) Must(id *ledgertest.Identity, fn func(ctx contractapi.TransactionContextInterface) (string, error)) string {
	h.T.Helper()
	out, err := h.Call(id, fn)
	if err != nil {
		h.T.Fatalf("call as %s: %v", id.Subject, err)
	}
	return out
}

// Decode unmarshals a contract's JSON result into a new T.
func Decode[T any](t testing.TB, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("decode result %q: %v", s, err)
	}
	return v
}

// InitMembers records Org1MSP and Org2MSP as the consortium.
func (h *H) InitMembers() {
	h.T.Helper()
	h.Must(Org1Admin, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Consortium.InitMembers(ctx, `["Org1MSP","Org2MSP"]`)
	})
}

// Anchor anchors b as id.
func (h *H) Anchor(id *ledgertest.Identity, b wire.Batch) wire.Batch {
	h.T.Helper()
	out := h.Must(id, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Events.AnchorBatch(ctx, fixture.JSON(b))
	})
	return Decode[wire.Batch](h.T, out)
}

// Propose proposes p as id.
func (h *H) Propose(id *ledgertest.Identity, p wire.Policy) (string, error) {
	return h.Call(id, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Policies.ProposePolicy(ctx, fixture.JSON(p))
	})
}

// Approve approves policy id@version as admin.
func (h *H) Approve(admin *ledgertest.Identity, id string, version uint32) (string, error) {
	return h.Call(admin, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Policies.ApprovePolicy(ctx, id, version)
	})
}

// Activate proposes p as Org1Author and has both member admins approve it
// (the default quorum of two members is two).
func (h *H) Activate(p wire.Policy) wire.Policy {
	h.T.Helper()
	if _, err := h.Propose(Org1Author, p); err != nil {
		h.T.Fatalf("propose %s: %v", p.ID, err)
	}
	var out string
	for _, admin := range []*ledgertest.Identity{Org1Admin, Org2Admin} {
		var err error
		if out, err = h.Approve(admin, p.ID, p.Version); err != nil {
			h.T.Fatalf("approve %s: %v", p.ID, err)
		}
	}
	got := Decode[wire.Policy](h.T, out)
	if got.State != wire.PolicyActive {
		h.T.Fatalf("policy %s is %s after quorum", p.ID, got.State)
	}
	return got
}

// Raise submits alerts as id.
func (h *H) Raise(id *ledgertest.Identity, list ...wire.Alert) (wire.RaiseResult, error) {
	out, err := h.Call(id, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Alerts.RaiseAlerts(ctx, fixture.JSON(list))
	})
	if err != nil {
		return wire.RaiseResult{}, err
	}
	return Decode[wire.RaiseResult](h.T, out), nil
}

// LastEvent returns the last committed chaincode event, decoded.
func (h *H) LastEvent() (string, wire.ResponseEvent) {
	h.T.Helper()
	evs := h.L.Events()
	if len(evs) == 0 {
		h.T.Fatal("no event committed")
	}
	ev := evs[len(evs)-1]
	return ev.Name, Decode[wire.ResponseEvent](h.T, string(ev.Payload))
}

// ProposeRule proposes hygiene rule r as id.
func (h *H) ProposeRule(id *ledgertest.Identity, r wire.HygieneRule) (string, error) {
	return h.Call(id, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Hygiene.ProposeRule(ctx, fixture.JSON(r))
	})
}

// ApproveRule approves hygiene rule id@version as admin.
func (h *H) ApproveRule(admin *ledgertest.Identity, id string, version uint32) (string, error) {
	return h.Call(admin, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Hygiene.ApproveRule(ctx, id, version)
	})
}

// ActivateRule proposes r as Org1Author and has both member admins
// approve it.
func (h *H) ActivateRule(r wire.HygieneRule) wire.HygieneRule {
	h.T.Helper()
	if _, err := h.ProposeRule(Org1Author, r); err != nil {
		h.T.Fatalf("propose rule %s: %v", r.ID, err)
	}
	var out string
	for _, admin := range []*ledgertest.Identity{Org1Admin, Org2Admin} {
		var err error
		if out, err = h.ApproveRule(admin, r.ID, r.Version); err != nil {
			h.T.Fatalf("approve rule %s: %v", r.ID, err)
		}
	}
	got := Decode[wire.HygieneRule](h.T, out)
	if got.State != wire.PolicyActive {
		h.T.Fatalf("rule %s is %s after quorum", r.ID, got.State)
	}
	return got
}

// SetCaps sets caps as admin.
func (h *H) SetCaps(admin *ledgertest.Identity, caps wire.OrgCaps) (string, error) {
	return h.Call(admin, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Hygiene.SetOrgCaps(ctx, fixture.JSON(caps))
	})
}
