// Package consortium is the "consortium" contract: the list of member
// organisations whose approvals count. Chaincode cannot read the channel
// configuration, so the deploy script records the channel's application
// organisations once, right after the chaincode is committed.
//
// Guarantees: membership is written exactly once, by an admin of an
// organisation in the list; re-sending the same set (in any order) is a
// successful no-op that writes nothing, and any other set is refused, so
// no organisation can later add or drop members on its own.
package consortium

import (
	"errors"
	"fmt"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/access"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/contract"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/keys"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/ledgerview"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/state"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// Contract is the consortium contract, registered as "consortium".
type Contract struct {
	contractapi.Contract
}

// New returns the contract with its name set.
func New() *Contract {
	return &Contract{Contract: contract.Named(wire.ContractConsortium)}
}

// InitMembers records the consortium's members from membersJSON, a JSON
// array of MSP IDs (e.g. ["Org1MSP","Org2MSP"]). The caller must be an org
// admin whose MSP is in the list. It returns the Members record as JSON.
func (c *Contract) InitMembers(ctx contractapi.TransactionContextInterface, membersJSON string) (string, error) {
	return contract.Submit(ctx, wire.TxInitMembers, access.Admin, func(tx contract.Call) (*wire.Members, error) { return initMembers(tx, membersJSON) })
}

func initMembers(c contract.Call, membersJSON string) (*wire.Members, error) {
	id, fn, stub := c.ID, c.Fn, c.Stub
	list, err := wire.Decode[[]string]([]byte(membersJSON), "members")
	if err != nil {
		return nil, err
	}
	msps, err := wire.CanonicalMSPs(list)
	if err != nil {
		return nil, err
	}
	proposed := wire.Members{MSPs: msps}
	if !proposed.Has(id.MSP) {
		return nil, id.Deny(fn, "membership of the list it initialises (its MSP is not in it)")
	}
	existing, err := ledgerview.Members(stub)
	switch {
	case errors.Is(err, ledgerview.ErrNoMembers):
	case err != nil:
		return nil, err
	default:
		if !equal(existing.MSPs, msps) {
			return nil, &state.ConflictError{Kind: "membership", ID: "consortium",
				Reason: fmt.Sprintf("already initialised with %v; membership cannot be changed", existing.MSPs)}
		}
		return existing, nil
	}
	now, err := state.TxTime(stub)
	if err != nil {
		return nil, err
	}
	proposed.InitializedBy = id.Actor()
	proposed.InitializedAt = now
	proposed.TxID = stub.GetTxID()
	key, err := keys.Key(keys.Members)
	if err != nil {
		return nil, err
	}
	if err := state.Put(stub, key, &proposed); err != nil {
		return nil, err
	}
	return &proposed, nil
}

// GetMembers returns the Members record as JSON; any reader may call it.
func (c *Contract) GetMembers(ctx contractapi.TransactionContextInterface) (string, error) {
	return contract.Read(ctx, wire.TxGetMembers, ledgerview.Members)
}

// ErrNoMembers is wrapped by a membership read (ledgerview.Members) when
// membership was never initialised.
var ErrNoMembers = ledgerview.ErrNoMembers

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
