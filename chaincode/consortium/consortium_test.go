package consortium_test

import (
	"errors"
	"testing"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/ledgerguard/ledgerguard/chaincode/consortium"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/access"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/harness"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/keys"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/ledgertest"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/state"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

func initAs(h *harness.H, id *ledgertest.Identity, members string) (string, error) {
	return h.Call(id, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Consortium.InitMembers(ctx, members)
	})
}

func TestInitMembers(t *testing.T) {
	tests := []struct {
		name    string
		who     *ledgertest.Identity
		members string
		wantErr any // pointer to the error type wanted, nil = success
	}{
		{"admin in list", harness.Org1Admin, `["Org2MSP","Org1MSP"]`, nil},
		{"gateway is not admin", harness.Org1Gateway, `["Org1MSP","Org2MSP"]`, new(*access.DeniedError)},
		{"author is not admin", harness.Org1Author, `["Org1MSP","Org2MSP"]`, new(*access.DeniedError)},
		{"admin not in list", harness.Org3Admin, `["Org1MSP","Org2MSP"]`, new(*access.DeniedError)},
		{"duplicate MSP", harness.Org1Admin, `["Org1MSP","Org1MSP"]`, new(*wire.ValidationError)},
		{"empty list", harness.Org1Admin, `[]`, new(*wire.ValidationError)},
		{"not JSON", harness.Org1Admin, `Org1MSP`, new(*wire.ValidationError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := harness.New(t)
			out, err := initAs(h, tt.who, tt.members)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("InitMembers() = %v", err)
				}
				m := harness.Decode[wire.Members](t, out)
				if len(m.MSPs) != 2 || m.MSPs[0] != "Org1MSP" || m.InitializedBy.MSP != "Org1MSP" {
					t.Fatalf("members = %+v", m)
				}
				return
			}
			if !errors.As(err, tt.wantErr) {
				t.Fatalf("InitMembers() = %v, want %T", err, tt.wantErr)
			}
			if h.L.CountKeys(keys.Members) != 0 {
				t.Fatal("a refused call wrote membership")
			}
		})
	}
}

func TestInitMembersOnce(t *testing.T) {
	h := harness.New(t)
	first := h.Must(harness.Org1Admin, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Consortium.InitMembers(ctx, `["Org1MSP","Org2MSP"]`)
	})
	// The same set, in another order, by the other member: a no-op.
	tx := h.L.Begin(harness.Org2Admin)
	again, err := h.Consortium.InitMembers(tx.Ctx(), `["Org2MSP","Org1MSP"]`)
	if err != nil {
		t.Fatalf("identical re-init = %v", err)
	}
	if len(tx.Written()) != 0 {
		t.Fatalf("identical re-init wrote %d keys", len(tx.Written()))
	}
	tx.Discard()
	if again != first {
		t.Errorf("re-init returned %s, want the stored %s", again, first)
	}
	var ce *state.ConflictError
	if _, err := initAs(h, harness.Org1Admin, `["Org1MSP","Org2MSP","Org3MSP"]`); !errors.As(err, &ce) {
		t.Fatalf("different set = %v, want *state.ConflictError", err)
	}
}

func TestGetMembers(t *testing.T) {
	h := harness.New(t)
	get := func(id *ledgertest.Identity) (string, error) {
		return h.Call(id, func(ctx contractapi.TransactionContextInterface) (string, error) { return h.Consortium.GetMembers(ctx) })
	}
	var nf *state.NotFoundError
	if _, err := get(harness.Org1Auditor); !errors.As(err, &nf) || !errors.Is(err, consortium.ErrNoMembers) {
		t.Fatalf("before init = %v, want not found", err)
	}
	h.InitMembers()
	if _, err := get(harness.Org1Auditor); err != nil {
		t.Fatalf("auditor read = %v", err)
	}
	var de *access.DeniedError
	if _, err := get(harness.Org1Plain); !errors.As(err, &de) {
		t.Fatalf("role-less read = %v, want denied", err)
	}
}

var org4Admin = ledgertest.Admin("Org4MSP", "admin4")

func propose(h *harness.H, id *ledgertest.Identity, action, msp string) (string, error) {
	return h.Call(id, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Consortium.ProposeMembershipChange(ctx, action, msp)
	})
}

func approve(h *harness.H, id *ledgertest.Identity, msp string) (string, error) {
	return h.Call(id, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Consortium.ApproveMembershipChange(ctx, msp)
	})
}

func members(t *testing.T, h *harness.H) []string {
	t.Helper()
	out := h.Must(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) { return h.Consortium.GetMembers(ctx) })
	return harness.Decode[wire.Members](t, out).MSPs
}

// TestMembershipChangeRefusals: each refused proposal or approval leaves
// the membership and the change records as they were.
func TestMembershipChangeRefusals(t *testing.T) {
	tests := []struct {
		name    string
		who     *ledgertest.Identity
		action  string
		msp     string
		wantErr any
	}{
		{"add a member", harness.Org1Admin, wire.MembershipAdd, "Org2MSP", new(*state.ConflictError)},
		{"remove a non-member", harness.Org1Admin, wire.MembershipRemove, "Org3MSP", new(*state.ConflictError)},
		{"unknown action", harness.Org1Admin, "rename", "Org3MSP", new(*wire.ValidationError)},
		{"empty msp", harness.Org1Admin, wire.MembershipAdd, "", new(*wire.ValidationError)},
		{"non-admin", harness.Org1Author, wire.MembershipAdd, "Org3MSP", new(*access.DeniedError)},
		{"non-member admin", harness.Org3Admin, wire.MembershipAdd, "Org3MSP", new(*access.DeniedError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := harness.New(t)
			h.InitMembers()
			_, err := propose(h, tt.who, tt.action, tt.msp)
			if !errors.As(err, tt.wantErr) {
				t.Fatalf("ProposeMembershipChange() = %v, want %T", err, tt.wantErr)
			}
			if got := h.L.CountKeys(keys.MemberChange); got != 0 {
				t.Errorf("a refused proposal wrote %d change records", got)
			}
			if got, want := members(t, h), []string{"Org1MSP", "Org2MSP"}; !equalStrings(got, want) {
				t.Errorf("members = %v, want %v", got, want)
			}
		})
	}
}

func equalStrings(a, b []string) bool {
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

// TestMembershipJoinAndLeave: a join needs a majority of the current
// members; once applied the new member's approval counts toward the next
// change, whose majority grew with the membership.
func TestMembershipJoinAndLeave(t *testing.T) {
	h := harness.New(t)
	h.InitMembers()
	out, err := propose(h, harness.Org1Admin, wire.MembershipAdd, "Org3MSP")
	if err != nil {
		t.Fatalf("propose add Org3 = %v", err)
	}
	if ch := harness.Decode[wire.MembershipChange](t, out); ch.State != wire.MembershipChangeProposed || ch.Required != 2 {
		t.Fatalf("after one of two approvals: state %s required %d, want proposed, 2", ch.State, ch.Required)
	}
	if got, want := members(t, h), []string{"Org1MSP", "Org2MSP"}; !equalStrings(got, want) {
		t.Fatalf("members before the majority = %v, want %v", got, want)
	}
	var ce *state.ConflictError
	if _, err := propose(h, harness.Org2Admin, wire.MembershipAdd, "Org3MSP"); !errors.As(err, &ce) {
		t.Fatalf("second open proposal = %v, want *state.ConflictError", err)
	}
	// The joining organisation cannot approve its own admission.
	var de *access.DeniedError
	if _, err := approve(h, harness.Org3Admin, "Org3MSP"); !errors.As(err, &de) {
		t.Fatalf("Org3 approving its own join = %v, want *access.DeniedError", err)
	}
	// Approving twice is a no-op.
	if _, err := approve(h, harness.Org1Admin, "Org3MSP"); err != nil {
		t.Fatalf("repeat approval = %v", err)
	}
	out, err = approve(h, harness.Org2Admin, "Org3MSP")
	if err != nil {
		t.Fatalf("Org2 approves = %v", err)
	}
	if ch := harness.Decode[wire.MembershipChange](t, out); ch.State != wire.MembershipChangeApplied || ch.AppliedTx == "" {
		t.Fatalf("after two of two approvals: %+v, want applied", ch)
	}
	if got, want := members(t, h), []string{"Org1MSP", "Org2MSP", "Org3MSP"}; !equalStrings(got, want) {
		t.Fatalf("members after the join = %v, want %v", got, want)
	}

	// Org4 joins: a majority of three is two, and Org3's approval counts.
	if _, err := propose(h, harness.Org3Admin, wire.MembershipAdd, "Org4MSP"); err != nil {
		t.Fatalf("Org3 proposes Org4 = %v", err)
	}
	if _, err := approve(h, harness.Org1Admin, "Org4MSP"); err != nil {
		t.Fatalf("Org1 approves Org4 = %v", err)
	}
	if got, want := members(t, h), []string{"Org1MSP", "Org2MSP", "Org3MSP", "Org4MSP"}; !equalStrings(got, want) {
		t.Fatalf("members after Org4 joined = %v, want %v", got, want)
	}

	// Org3 leaves: a majority of four is three.
	for i, id := range []*ledgertest.Identity{harness.Org1Admin, harness.Org2Admin, org4Admin} {
		var err error
		if i == 0 {
			_, err = propose(h, id, wire.MembershipRemove, "Org3MSP")
		} else {
			_, err = approve(h, id, "Org3MSP")
		}
		if err != nil {
			t.Fatalf("approval %d of Org3's removal = %v", i+1, err)
		}
		want := []string{"Org1MSP", "Org2MSP", "Org3MSP", "Org4MSP"}
		if i == 2 {
			want = []string{"Org1MSP", "Org2MSP", "Org4MSP"}
		}
		if got := members(t, h); !equalStrings(got, want) {
			t.Fatalf("after %d approvals of the removal: members = %v, want %v", i+1, got, want)
		}
	}
	// A removed organisation's admin no longer counts.
	if _, err := propose(h, harness.Org3Admin, wire.MembershipRemove, "Org1MSP"); !errors.As(err, &de) {
		t.Fatalf("removed Org3 proposing = %v, want *access.DeniedError", err)
	}
	// InitMembers with the current set stays a no-op after changes.
	if _, err := initAs(h, harness.Org1Admin, `["Org4MSP","Org2MSP","Org1MSP"]`); err != nil {
		t.Fatalf("InitMembers with the current set = %v", err)
	}
}

// TestMembershipLastMember: the last member cannot leave.
func TestMembershipLastMember(t *testing.T) {
	h := harness.New(t)
	h.Must(harness.Org1Admin, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Consortium.InitMembers(ctx, `["Org1MSP"]`)
	})
	var se *state.StateError
	if _, err := propose(h, harness.Org1Admin, wire.MembershipRemove, "Org1MSP"); !errors.As(err, &se) {
		t.Fatalf("removing the last member = %v, want *state.StateError", err)
	}
	// One member is its own majority: its proposal applies at once.
	if _, err := propose(h, harness.Org1Admin, wire.MembershipAdd, "Org2MSP"); err != nil {
		t.Fatalf("sole member adds Org2 = %v", err)
	}
	if got, want := members(t, h), []string{"Org1MSP", "Org2MSP"}; !equalStrings(got, want) {
		t.Fatalf("members = %v, want %v", got, want)
	}
}
