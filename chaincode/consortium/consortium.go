// Package consortium is the "consortium" contract: the list of member
// organisations whose approvals count. Chaincode cannot read the channel
// configuration, so the deploy script records the channel's application
// organisations once, right after the chaincode is committed.
//
// Guarantees: membership is initialised exactly once, by an admin of an
// organisation in the list; re-sending the same set (in any order) is a
// successful no-op that writes nothing, and any other set is refused, so
// no organisation can add or drop members on its own. After that the
// membership changes only through ProposeMembershipChange and
// ApproveMembershipChange: one organisation joins or leaves once admins of
// a majority of the current members (wire.DefaultQuorum, counted from the
// membership at each approval) approved, the last member cannot leave, and
// the change is applied in the transaction that reaches the majority.
// Joining the channel (scripts/org.sh) and joining the consortium are two
// steps: the channel update decides who can transact, this record whose
// approvals count.
package consortium

import (
	"errors"
	"fmt"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
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
		// A deploy after a membership change re-sends the channel's
		// current organisations: that is the stored set, so a no-op.
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

// ProposeMembershipChange opens a change that adds (action "add") or
// removes (action "remove") organisation msp, with the caller's
// organisation's approval; the caller must be an admin of a member. When
// that approval alone is a majority (a one-member consortium) the change is
// applied at once. Adding a member or removing a non-member is a
// *state.ConflictError, removing the last member a *state.StateError, and
// proposing while another change for msp is open a *state.ConflictError.
// Returns the MembershipChange as JSON.
func (c *Contract) ProposeMembershipChange(ctx contractapi.TransactionContextInterface, action, msp string) (string, error) {
	return contract.Submit(ctx, wire.TxProposeMembershipChange, access.Admin, func(tx contract.Call) (*wire.MembershipChange, error) {
		return proposeChange(tx, action, msp)
	})
}

// ApproveMembershipChange adds the caller's organisation's approval (the
// caller must be an admin of a member) to the open change for msp, and
// applies it once admins of a majority of the current members approved.
// Approving twice, or approving a change already applied, is a no-op.
// Returns the MembershipChange as JSON.
func (c *Contract) ApproveMembershipChange(ctx contractapi.TransactionContextInterface, msp string) (string, error) {
	return contract.Submit(ctx, wire.TxApproveMembershipChange, access.Admin, func(tx contract.Call) (*wire.MembershipChange, error) {
		return approveChange(tx, msp)
	})
}

// GetMembershipChange returns the latest change proposed for msp as JSON;
// any reader may call it. None is a *state.NotFoundError.
func (c *Contract) GetMembershipChange(ctx contractapi.TransactionContextInterface, msp string) (string, error) {
	return contract.Read(ctx, wire.TxGetMembershipChange, func(stub shim.ChaincodeStubInterface) (*wire.MembershipChange, error) {
		ch, _, err := loadChange(stub, msp)
		return ch, err
	})
}

func loadChange(stub shim.ChaincodeStubInterface, msp string) (*wire.MembershipChange, string, error) {
	key, err := keys.Key(keys.MemberChange, msp)
	if err != nil {
		return nil, "", err
	}
	ch, found, err := state.Get[wire.MembershipChange](stub, key)
	if err != nil {
		return nil, "", err
	}
	if !found {
		return nil, key, &state.NotFoundError{Kind: "membership change", ID: msp}
	}
	return ch, key, nil
}

// checkApplicable refuses a change that no longer fits the membership m.
func checkApplicable(m *wire.Members, action, msp string) error {
	switch {
	case action == wire.MembershipAdd && m.Has(msp):
		return &state.ConflictError{Kind: "membership", ID: msp, Reason: "is already a member"}
	case action == wire.MembershipRemove && !m.Has(msp):
		return &state.ConflictError{Kind: "membership", ID: msp, Reason: "is not a member"}
	case action == wire.MembershipRemove && len(m.MSPs) == 1:
		return &state.StateError{Kind: "membership", ID: msp, State: "the last member", Action: "remove"}
	case action == wire.MembershipAdd && len(m.MSPs) >= wire.MaxMembers:
		return &state.StateError{Kind: "membership", ID: msp, State: fmt.Sprintf("full (%d members)", wire.MaxMembers), Action: "add"}
	}
	return nil
}

func proposeChange(c contract.Call, action, msp string) (*wire.MembershipChange, error) {
	id, fn, stub := c.ID, c.Fn, c.Stub
	if err := wire.ValidateMembershipAction(action, msp); err != nil {
		return nil, err
	}
	members, err := ledgerview.MemberFor(stub, id, fn)
	if err != nil {
		return nil, err
	}
	if err := checkApplicable(members, action, msp); err != nil {
		return nil, err
	}
	prev, key, err := loadChange(stub, msp)
	switch {
	case state.IsNotFound(err):
	case err != nil:
		return nil, err
	case prev.State == wire.MembershipChangeProposed:
		return nil, &state.ConflictError{Kind: "membership change", ID: msp,
			Reason: fmt.Sprintf("a change %q is already open (approve it with ApproveMembershipChange)", prev.Action)}
	}
	now, err := state.TxTime(stub)
	if err != nil {
		return nil, err
	}
	ch := &wire.MembershipChange{
		MSP: msp, Action: action, State: wire.MembershipChangeProposed,
		Approvals:  []wire.Approval{{MSP: id.MSP, Subject: id.Subject, At: now, TxID: stub.GetTxID()}},
		ProposedBy: id.Actor(), ProposedAt: now, ProposedTx: stub.GetTxID(),
	}
	return ch, settle(stub, key, ch, members, now)
}

func approveChange(c contract.Call, msp string) (*wire.MembershipChange, error) {
	id, fn, stub := c.ID, c.Fn, c.Stub
	members, err := ledgerview.MemberFor(stub, id, fn)
	if err != nil {
		return nil, err
	}
	ch, key, err := loadChange(stub, msp)
	if err != nil {
		return nil, err
	}
	if ch.State == wire.MembershipChangeApplied {
		return ch, nil
	}
	for _, a := range ch.Approvals {
		if a.MSP == id.MSP {
			return ch, nil
		}
	}
	if err := checkApplicable(members, ch.Action, msp); err != nil {
		return nil, err
	}
	now, err := state.TxTime(stub)
	if err != nil {
		return nil, err
	}
	ch.Approvals = append(ch.Approvals, wire.Approval{MSP: id.MSP, Subject: id.Subject, At: now, TxID: stub.GetTxID()})
	return ch, settle(stub, key, ch, members, now)
}

// settle writes the change and, once a majority of the current members
// approved it, applies it to the membership record in the same
// transaction.
func settle(stub shim.ChaincodeStubInterface, key string, ch *wire.MembershipChange, m *wire.Members, now wire.Time) error {
	ch.Required = ledgerview.Floor(m)
	if ledgerview.CountMembers(ch.Approvals, m) >= ch.Required {
		next := *m
		if ch.Action == wire.MembershipAdd {
			next.MSPs = m.With(ch.MSP)
		} else {
			next.MSPs = m.Without(ch.MSP)
		}
		next.ChangedAt, next.ChangedTx = now, stub.GetTxID()
		mkey, err := keys.Key(keys.Members)
		if err != nil {
			return err
		}
		if err := state.Put(stub, mkey, &next); err != nil {
			return err
		}
		ch.State, ch.AppliedTx = wire.MembershipChangeApplied, stub.GetTxID()
	}
	return state.Put(stub, key, ch)
}
