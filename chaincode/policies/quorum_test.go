package policies_test

import (
	"testing"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/fixture"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/harness"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/keys"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/ledgertest"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// approveAll approves policy id@1 as each admin in turn and returns the
// state after each approval.
func approveAll(t *testing.T, h *harness.H, id string, admins ...*ledgertest.Identity) []string {
	t.Helper()
	var states []string
	for _, admin := range admins {
		out, err := h.Approve(admin, id, 1)
		if err != nil {
			t.Fatalf("approve %s as %s: %v", id, admin.Subject, err)
		}
		states = append(states, harness.Decode[wire.Policy](t, out).State)
	}
	return states
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestQuorumBelowFloor: a consortium policy's quorum below a majority of
// the members (0 included) is raised to the floor at proposal.
func TestQuorumBelowFloor(t *testing.T) {
	tests := []struct {
		name   string
		quorum int
		scope  string
		want   int
	}{
		{"consortium quorum 1", 1, "", 2},
		{"consortium quorum 0", 0, wire.ScopeConsortium, 2},
		{"consortium quorum 2", 2, "", 2},
		{"org quorum 0", 0, wire.ScopeOrg, 1},
		{"org quorum 1", 1, wire.ScopeOrg, 1},
		{"org quorum 2", 2, wire.ScopeOrg, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := harness.New(t)
			h.InitMembers()
			p := fixture.Policy("p", 1, "true")
			p.Quorum, p.Scope = tt.quorum, tt.scope
			out, err := h.Propose(harness.Org1Author, p)
			if err != nil {
				t.Fatal(err)
			}
			got := harness.Decode[wire.Policy](t, out)
			if got.Quorum != tt.want || got.Scope != wire.ScopeOf(tt.scope) {
				t.Fatalf("stored quorum %d scope %q, want %d %q", got.Quorum, got.Scope, tt.want, wire.ScopeOf(tt.scope))
			}
		})
	}
}

// TestConsortiumPolicyNeedsMajority: the owner's approval alone leaves a
// consortium policy proposed, whatever quorum it asked.
func TestConsortiumPolicyNeedsMajority(t *testing.T) {
	h := harness.New(t)
	h.InitMembers()
	p := fixture.Policy("solo", 1, "true")
	p.Quorum = 1
	if _, err := h.Propose(harness.Org1Author, p); err != nil {
		t.Fatal(err)
	}
	got := approveAll(t, h, "solo", harness.Org1Admin, harness.Org2Admin)
	if want := []string{wire.PolicyProposed, wire.PolicyActive}; !equal(got, want) {
		t.Fatalf("states after approvals = %v, want %v", got, want)
	}
}

// TestOrgPolicyEnactedByOwner: an org-scoped policy is active with its
// owner's approval alone, and another organisation's approval does not
// replace the owner's.
func TestOrgPolicyEnactedByOwner(t *testing.T) {
	tests := []struct {
		name   string
		admins []*ledgertest.Identity
		want   []string
	}{
		{"owner alone", []*ledgertest.Identity{harness.Org1Admin}, []string{wire.PolicyActive}},
		{"other org first", []*ledgertest.Identity{harness.Org2Admin, harness.Org1Admin}, []string{wire.PolicyProposed, wire.PolicyActive}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := harness.New(t)
			h.InitMembers()
			p := fixture.Policy("mine", 1, "true")
			p.Quorum, p.Scope = 1, wire.ScopeOrg
			if _, err := h.Propose(harness.Org1Author, p); err != nil {
				t.Fatal(err)
			}
			if got := approveAll(t, h, "mine", tt.admins...); !equal(got, tt.want) {
				t.Fatalf("states after approvals = %v, want %v", got, tt.want)
			}
		})
	}
}

// setMembers overwrites the membership record, as a later join would.
func setMembers(t *testing.T, h *harness.H, msps ...string) {
	t.Helper()
	key, err := keys.Key(keys.Members)
	if err != nil {
		t.Fatal(err)
	}
	tx := h.L.Begin(harness.Org1Admin)
	if err := tx.PutState(key, []byte(fixture.JSON(wire.Members{MSPs: msps, TxID: tx.GetTxID()}))); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// TestFloorFollowsMembership: the floor is computed from the membership
// at each approval, so a policy proposed with two members (quorum 2)
// needs three approvals once four organisations are members.
func TestFloorFollowsMembership(t *testing.T) {
	h := harness.New(t)
	h.InitMembers()
	p := fixture.Policy("grow", 1, "true")
	out, err := h.Propose(harness.Org1Author, p)
	if err != nil {
		t.Fatal(err)
	}
	if got := harness.Decode[wire.Policy](t, out).Quorum; got != 2 {
		t.Fatalf("quorum at proposal = %d, want 2", got)
	}
	setMembers(t, h, "Org1MSP", "Org2MSP", "Org3MSP", "Org4MSP")
	got := approveAll(t, h, "grow", harness.Org1Admin, harness.Org2Admin, harness.Org3Admin)
	if want := []string{wire.PolicyProposed, wire.PolicyProposed, wire.PolicyActive}; !equal(got, want) {
		t.Fatalf("states after approvals = %v, want %v", got, want)
	}
}

// changeMembership applies a membership change through the consortium
// contract's own transactions: proposed by the first admin, approved by
// the others.
func changeMembership(t *testing.T, h *harness.H, action, msp string, admins ...*ledgertest.Identity) {
	t.Helper()
	for i, admin := range admins {
		_, err := h.Call(admin, func(ctx contractapi.TransactionContextInterface) (string, error) {
			if i == 0 {
				return h.Consortium.ProposeMembershipChange(ctx, action, msp)
			}
			return h.Consortium.ApproveMembershipChange(ctx, msp)
		})
		if err != nil {
			t.Fatalf("%s %s, step %d as %s: %v", action, msp, i+1, admin.Subject, err)
		}
	}
}

// TestApprovalsFollowMembershipChanges: once Org3 joined through a
// majority-approved membership change its approval is the second of a
// majority of three; once it left, its approval no longer counts.
func TestApprovalsFollowMembershipChanges(t *testing.T) {
	h := harness.New(t)
	h.InitMembers()
	changeMembership(t, h, wire.MembershipAdd, "Org3MSP", harness.Org1Admin, harness.Org2Admin)
	if _, err := h.Propose(harness.Org1Author, fixture.Policy("joined", 1, "true")); err != nil {
		t.Fatal(err)
	}
	if got, want := approveAll(t, h, "joined", harness.Org1Admin, harness.Org3Admin), []string{wire.PolicyProposed, wire.PolicyActive}; !equal(got, want) {
		t.Fatalf("with Org3 a member: states %v, want %v", got, want)
	}
	changeMembership(t, h, wire.MembershipRemove, "Org3MSP", harness.Org1Admin, harness.Org2Admin)
	if _, err := h.Propose(harness.Org1Author, fixture.Policy("left", 1, "true")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Approve(harness.Org1Admin, "left", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Approve(harness.Org3Admin, "left", 1); err == nil {
		t.Fatal("Org3's admin approved a policy after Org3 left")
	}
	if got, want := approveAll(t, h, "left", harness.Org2Admin), []string{wire.PolicyActive}; !equal(got, want) {
		t.Fatalf("after Org3 left: states %v, want %v", got, want)
	}
}
