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
