// Package policies is the "policies" contract: response policies as ledger
// data. An author proposes a policy version; it becomes active only when a
// quorum of member organisations' admins approved that exact version; a
// later version supersedes it on activation; its owner can revoke it.
//
// Guarantees:
//   - a proposal with invalid CEL, an unknown action, a missing parameter or
//     a bad template is refused with the reason (package policy validates);
//   - versions of a policy are sequential and immutable: re-proposing a
//     version with identical content is a no-op, with other content a
//     conflict; only the owning organisation proposes and revokes;
//   - only members' admins approve, each organisation once per version;
//   - no single member enacts a policy that acts for the consortium: a
//     consortium-scoped version (the default) activates only with
//     approvals from a majority of the members current at that approval
//     (floor(n/2)+1 of n, recomputed at every approval because the
//     membership may grow), whatever quorum its author asked; a quorum
//     below that floor is raised to it at proposal, not refused. An
//     org-scoped version acts only on its owner's own alerts and assets
//     (package planning checks this), so its owner may enact it alone
//     (floor 1), but its approvals must include the owner's;
//   - at most MaxActivePolicies policies are active, so RaiseAlerts loads
//     them with one bounded scan;
//   - policy writes never touch a key RaiseAlerts writes, so authoring and
//     approving never conflict with alert traffic (a RaiseAlerts that read
//     the active set while it changed is invalidated as a phantom read and
//     retried, so no alert is evaluated against a stale set).
package policies

import (
	"fmt"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/access"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/contract"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/keys"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/ledgerview"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/state"
	"github.com/ledgerguard/ledgerguard/chaincode/policy"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// MaxActivePolicies bounds the active set RaiseAlerts evaluates.
const MaxActivePolicies = ledgerview.MaxActivePolicies

// Contract is the policies contract, registered as "policies".
type Contract struct {
	contractapi.Contract
}

// New returns the contract with its name set.
func New() *Contract {
	return &Contract{Contract: contract.Named(wire.ContractPolicies)}
}

// head is the per-policy index: owner, latest proposed and active version.
type head struct {
	ID     string `json:"id"`
	Owner  string `json:"owner"`
	Latest uint32 `json:"latest"`
	Active uint32 `json:"active"`
}

// ProposePolicy records a new policy version (policyJSON is a wire.Policy
// without chaincode-set fields) in state proposed and returns it as JSON.
func (c *Contract) ProposePolicy(ctx contractapi.TransactionContextInterface, policyJSON string) (string, error) {
	return contract.Submit(ctx, wire.TxProposePolicy, access.Author, func(tx contract.Call) (*wire.Policy, error) { return propose(tx, policyJSON) })
}

func propose(c contract.Call, policyJSON string) (*wire.Policy, error) {
	id, fn, stub := c.ID, c.Fn, c.Stub
	p, err := wire.Decode[wire.Policy]([]byte(policyJSON), "policy")
	if err != nil {
		return nil, err
	}
	if p.Owner != "" {
		if err := id.RequireOrg(fn, p.Owner); err != nil {
			return nil, err
		}
	}
	if err := policy.Validate(&p); err != nil {
		return nil, err
	}
	members, err := ledgerview.MemberFor(stub, id, fn)
	if err != nil {
		return nil, err
	}
	n := len(members.MSPs)
	// The floor is not the proposer's to lower: a quorum below it (0
	// included) is raised to it, and the stored version shows the raised
	// value. Approval checks the floor again against the membership of
	// that moment.
	p.Scope = wire.ScopeOf(p.Scope)
	p.Quorum = max(p.Quorum, ledgerview.QuorumFloor(p.Scope, members))
	if p.Quorum > n {
		return nil, &wire.ValidationError{Field: "quorum", Reason: fmt.Sprintf("%d exceeds the %d consortium members", p.Quorum, n)}
	}
	if p.ResponseApprovals > n {
		return nil, &wire.ValidationError{Field: "responseApprovals", Reason: fmt.Sprintf("%d exceeds the %d consortium members", p.ResponseApprovals, n)}
	}
	h, hKey, err := loadHead(stub, p.ID)
	if err != nil {
		return nil, err
	}
	if h != nil && h.Owner != id.MSP {
		return nil, id.Deny(fn, fmt.Sprintf("ownership of policy %q (owned by %s)", p.ID, h.Owner))
	}
	if h != nil && p.Version <= h.Latest {
		existing, err := loadVersion(stub, p.ID, p.Version)
		if err != nil {
			return nil, err
		}
		if existing.SameProposal(&p) {
			return existing, nil // replay of the same proposal
		}
		return nil, &state.ConflictError{Kind: "policy", ID: fmt.Sprintf("%s@%d", p.ID, p.Version),
			Reason: fmt.Sprintf("version %d was already proposed with other content; propose version %d", p.Version, h.Latest+1)}
	}
	next := uint32(1)
	if h != nil {
		next = h.Latest + 1
	}
	if p.Version != next {
		return nil, &state.ConflictError{Kind: "policy", ID: fmt.Sprintf("%s@%d", p.ID, p.Version),
			Reason: fmt.Sprintf("versions are sequential: the next version is %d", next)}
	}
	now, err := state.TxTime(stub)
	if err != nil {
		return nil, err
	}
	actor := id.Actor()
	p.Owner, p.State, p.ProposedBy, p.ProposedAt, p.ProposedTx = id.MSP, wire.PolicyProposed, &actor, now, stub.GetTxID()
	if h == nil {
		h = &head{ID: p.ID, Owner: id.MSP}
	}
	h.Latest = p.Version
	if err := putVersion(stub, &p); err != nil {
		return nil, err
	}
	if err := state.Put(stub, hKey, h); err != nil {
		return nil, err
	}
	return &p, nil
}

// ApprovePolicy records the caller's organisation's approval of policy
// policyID version version (the caller must be an admin of a member) and
// activates the version once the quorum is reached
// (ledgerview.QuorumReached under the current membership). Returns the version.
func (c *Contract) ApprovePolicy(ctx contractapi.TransactionContextInterface, policyID string, version uint32) (string, error) {
	return contract.Submit(ctx, wire.TxApprovePolicy, access.Admin, func(tx contract.Call) (*wire.Policy, error) { return approve(tx, policyID, version) })
}

func approve(c contract.Call, policyID string, version uint32) (*wire.Policy, error) {
	id, fn, stub := c.ID, c.Fn, c.Stub
	members, err := ledgerview.MemberFor(stub, id, fn)
	if err != nil {
		return nil, err
	}
	p, err := loadVersion(stub, policyID, version)
	if err != nil {
		return nil, err
	}
	for _, a := range p.Approvals {
		if a.MSP == id.MSP {
			return p, nil // this organisation already approved: idempotent
		}
	}
	if p.State != wire.PolicyProposed {
		return nil, &state.StateError{Kind: "policy", ID: fmt.Sprintf("%s@%d", p.ID, p.Version), State: p.State, Action: "approve"}
	}
	h, hKey, err := loadHead(stub, p.ID)
	if err != nil {
		return nil, err
	}
	if h == nil {
		return nil, &state.LedgerError{Op: "get", Key: hKey, Err: state.Inconsistent("policy %s has versions but no head", p.ID)}
	}
	if h.Active > p.Version {
		return nil, &state.StateError{Kind: "policy", ID: fmt.Sprintf("%s@%d", p.ID, p.Version),
			State: fmt.Sprintf("older than active version %d", h.Active), Action: "approve"}
	}
	now, err := state.TxTime(stub)
	if err != nil {
		return nil, err
	}
	txID := stub.GetTxID()
	p.Approvals = append(p.Approvals, wire.Approval{MSP: id.MSP, Subject: id.Subject, At: now, TxID: txID})
	if ledgerview.QuorumReached(p.Approvals, members, p.Quorum, p.Scope, p.Owner) {
		if err := activate(stub, p, h, now, txID, id); err != nil {
			return nil, err
		}
		if err := state.Put(stub, hKey, h); err != nil {
			return nil, err
		}
	}
	if err := putVersion(stub, p); err != nil {
		return nil, err
	}
	return p, nil
}

// activate makes p the active version: it supersedes the previous active
// version, writes the active copy and updates h (the caller writes h and p).
func activate(stub shim.ChaincodeStubInterface, p *wire.Policy, h *head, now wire.Time, txID string, id access.Identity) error {
	if h.Active == 0 {
		n, err := state.Count(stub, keys.ActivePolicy, nil, MaxActivePolicies)
		if err != nil {
			return err
		}
		if n >= MaxActivePolicies {
			return &state.ConflictError{Kind: "policy", ID: fmt.Sprintf("%s@%d", p.ID, p.Version),
				Reason: fmt.Sprintf("%d policies are already active (the limit); revoke one first", n)}
		}
	} else {
		prev, err := loadVersion(stub, p.ID, h.Active)
		if err != nil {
			return err
		}
		actor := id.Actor()
		prev.State, prev.EndedAt, prev.EndedTx, prev.EndedBy = wire.PolicySuperseded, now, txID, &actor
		prev.EndReason = fmt.Sprintf("superseded by version %d", p.Version)
		if err := putVersion(stub, prev); err != nil {
			return err
		}
	}
	p.State, p.ActivatedAt, p.ActivatedTx = wire.PolicyActive, now, txID
	h.Active = p.Version
	aKey, err := keys.Key(keys.ActivePolicy, p.ID)
	if err != nil {
		return err
	}
	return state.Put(stub, aKey, p)
}

// RevokePolicy ends policy policyID version version (proposed or active)
// with a reason; only the owning organisation's authors or admins may.
// Revoking a revoked version is a no-op. Returns the version.
func (c *Contract) RevokePolicy(ctx contractapi.TransactionContextInterface, policyID string, version uint32, reason string) (string, error) {
	return contract.Submit(ctx, wire.TxRevokePolicy, access.Author, func(tx contract.Call) (*wire.Policy, error) { return revoke(tx, policyID, version, reason) })
}

func revoke(c contract.Call, policyID string, version uint32, reason string) (*wire.Policy, error) {
	id, fn, stub := c.ID, c.Fn, c.Stub
	if err := wire.ValidateReason(reason); err != nil {
		return nil, err
	}
	p, err := loadVersion(stub, policyID, version)
	if err != nil {
		return nil, err
	}
	if err := id.RequireOrg(fn, p.Owner); err != nil {
		return nil, err
	}
	switch p.State {
	case wire.PolicyRevoked:
		return p, nil
	case wire.PolicyProposed, wire.PolicyActive:
	default:
		return nil, &state.StateError{Kind: "policy", ID: fmt.Sprintf("%s@%d", p.ID, p.Version), State: p.State, Action: "revoke"}
	}
	now, err := state.TxTime(stub)
	if err != nil {
		return nil, err
	}
	if p.State == wire.PolicyActive {
		h, hKey, err := loadHead(stub, p.ID)
		if err != nil {
			return nil, err
		}
		if h == nil {
			return nil, &state.LedgerError{Op: "get", Key: hKey, Err: state.Inconsistent("policy %s has versions but no head", p.ID)}
		}
		h.Active = 0
		if err := state.Put(stub, hKey, h); err != nil {
			return nil, err
		}
		aKey, err := keys.Key(keys.ActivePolicy, p.ID)
		if err != nil {
			return nil, err
		}
		if err := state.Delete(stub, aKey); err != nil {
			return nil, err
		}
	}
	actor := id.Actor()
	p.State, p.EndedAt, p.EndedTx, p.EndedBy, p.EndReason = wire.PolicyRevoked, now, stub.GetTxID(), &actor, reason
	if err := putVersion(stub, p); err != nil {
		return nil, err
	}
	return p, nil
}

// GetPolicy returns policy policyID at version version as JSON; version 0
// means the active version, or the latest if none is active.
func (c *Contract) GetPolicy(ctx contractapi.TransactionContextInterface, policyID string, version uint32) (string, error) {
	return contract.Read(ctx, wire.TxGetPolicy, func(stub shim.ChaincodeStubInterface) (*wire.Policy, error) {
		if version == 0 {
			h, _, err := loadHead(stub, policyID)
			if err != nil {
				return nil, err
			}
			if h == nil {
				return nil, &state.NotFoundError{Kind: "policy", ID: policyID}
			}
			version = h.Latest
			if h.Active != 0 {
				version = h.Active
			}
		}
		return loadVersion(stub, policyID, version)
	})
}

// ListPolicies returns a page (wire.Page of wire.Policy) of policy
// versions matching filterJSON (a wire.PolicyFilter; "" = all), ordered by
// policy id then version.
func (c *Contract) ListPolicies(ctx contractapi.TransactionContextInterface, filterJSON string, pageSize int32, bookmark string) (string, error) {
	return contract.List(ctx, wire.TxListPolicies, filterJSON, pageSize, bookmark, func(f *wire.PolicyFilter) contract.Query[wire.Policy] {
		var attrs []string
		if f.ID != "" {
			attrs = []string{f.ID}
		}
		return contract.Query[wire.Policy]{ObjectType: keys.Policy, Attrs: attrs, Keep: f.Match}
	})
}

// GetPolicyHistory returns a page (wire.Page of wire.HistoryEntry of
// wire.Policy) of every write to policy policyID version version, newest
// first: proposal, each approval, activation, supersession or revocation.
func (c *Contract) GetPolicyHistory(ctx contractapi.TransactionContextInterface, policyID string, version uint32, pageSize int32, bookmark string) (string, error) {
	return contract.History[wire.Policy](ctx, wire.TxGetPolicyHistory, pageSize, bookmark, func(stub shim.ChaincodeStubInterface) (string, error) {
		if _, err := loadVersion(stub, policyID, version); err != nil {
			return "", err
		}
		return keys.Key(keys.Policy, policyID, keys.Uint10(version))
	})
}

func loadHead(stub shim.ChaincodeStubInterface, policyID string) (*head, string, error) {
	key, err := keys.Key(keys.PolicyHead, policyID)
	if err != nil {
		return nil, "", &wire.ValidationError{Field: "policyId", Reason: err.Error()}
	}
	h, found, err := state.Get[head](stub, key)
	if err != nil {
		return nil, key, err
	}
	if !found {
		return nil, key, nil
	}
	return h, key, nil
}

func loadVersion(stub shim.ChaincodeStubInterface, policyID string, version uint32) (*wire.Policy, error) {
	key, err := keys.Key(keys.Policy, policyID, keys.Uint10(version))
	if err != nil {
		return nil, &wire.ValidationError{Field: "policyId", Reason: err.Error()}
	}
	p, found, err := state.Get[wire.Policy](stub, key)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, &state.NotFoundError{Kind: "policy", ID: fmt.Sprintf("%s@%d", policyID, version)}
	}
	return p, nil
}

func putVersion(stub shim.ChaincodeStubInterface, p *wire.Policy) error {
	key, err := keys.Key(keys.Policy, p.ID, keys.Uint10(p.Version))
	if err != nil {
		return err
	}
	return state.Put(stub, key, p)
}
