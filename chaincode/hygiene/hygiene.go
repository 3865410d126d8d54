// Package hygiene is the "hygiene" contract: the consortium's alert
// hygiene rules and each organisation's blast-radius caps, as ledger data,
// so every member applies the same rules.
//
// Rules (wire.HygieneRule) are proposed, approved and revoked exactly like
// response policies (package policies), with the same quorum floors
// (ledgerview.QuorumFloor / QuorumReached under the current membership: a
// consortium rule needs a majority of current members, an org rule its
// owner). A suppress rule marks the alerts it matches as suppressed until
// it expires; a dedup rule sets the window in which repeated detections
// merge into one alert. The alerts contract reads the active rules with
// one bounded scan (at most wire.MaxActiveHygieneRules).
//
// Caps (wire.OrgCaps) are one record per organisation, written only by
// that organisation's admins: at most N responses carrying an action type
// per window, across every policy (package planning enforces them).
//
// Guarantees:
//   - versions of a rule are sequential and immutable; re-proposing the
//     same content is a no-op, other content a conflict; only the owning
//     organisation proposes and revokes; only members' admins approve,
//     each organisation once per version;
//   - a suppress rule must expire, at most wire.MaxSuppressionSeconds after
//     its proposal, and must give its reason;
//   - rule and cap writes never touch a key RaiseAlerts writes; a
//     RaiseAlerts that read the active rules while they changed is
//     invalidated as a phantom read and retried.
package hygiene

import (
	"fmt"
	"time"

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

// Contract is the hygiene contract, registered as "hygiene".
type Contract struct {
	contractapi.Contract
}

// New returns the contract with its name set.
func New() *Contract {
	return &Contract{Contract: contract.Named(wire.ContractHygiene)}
}

// head is the per-rule index: owner, latest proposed and active version.
type head struct {
	ID     string `json:"id"`
	Owner  string `json:"owner"`
	Latest uint32 `json:"latest"`
	Active uint32 `json:"active"`
}

func ref(r *wire.HygieneRule) string { return fmt.Sprintf("%s@%d", r.ID, r.Version) }

// ProposeRule records a new rule version (ruleJSON is a wire.HygieneRule
// without chaincode-set fields) in state proposed and returns it as JSON.
func (c *Contract) ProposeRule(ctx contractapi.TransactionContextInterface, ruleJSON string) (string, error) {
	return contract.Submit(ctx, wire.TxProposeHygieneRule, access.Author, func(tx contract.Call) (*wire.HygieneRule, error) { return propose(tx, ruleJSON) })
}

func propose(c contract.Call, ruleJSON string) (*wire.HygieneRule, error) {
	id, fn, stub := c.ID, c.Fn, c.Stub
	r, err := wire.Decode[wire.HygieneRule]([]byte(ruleJSON), "rule")
	if err != nil {
		return nil, err
	}
	if r.Owner != "" {
		if err := id.RequireOrg(fn, r.Owner); err != nil {
			return nil, err
		}
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if _, err := policy.Compile(r.Condition); err != nil {
		return nil, err
	}
	members, err := ledgerview.MemberFor(stub, id, fn)
	if err != nil {
		return nil, err
	}
	r.Scope = wire.ScopeOf(r.Scope)
	r.Quorum = max(r.Quorum, ledgerview.QuorumFloor(r.Scope, members))
	if n := len(members.MSPs); r.Quorum > n {
		return nil, &wire.ValidationError{Field: "quorum", Reason: fmt.Sprintf("%d exceeds the %d consortium members", r.Quorum, n)}
	}
	h, hKey, err := loadHead(stub, r.ID)
	if err != nil {
		return nil, err
	}
	if h != nil && h.Owner != id.MSP {
		return nil, id.Deny(fn, fmt.Sprintf("ownership of rule %q (owned by %s)", r.ID, h.Owner))
	}
	if h != nil && r.Version <= h.Latest {
		existing, err := loadVersion(stub, r.ID, r.Version)
		if err != nil {
			return nil, err
		}
		if existing.SameProposal(&r) {
			return existing, nil // replay of the same proposal
		}
		return nil, &state.ConflictError{Kind: "rule", ID: ref(&r),
			Reason: fmt.Sprintf("version %d was already proposed with other content; propose version %d", r.Version, h.Latest+1)}
	}
	next := uint32(1)
	if h != nil {
		next = h.Latest + 1
	}
	if r.Version != next {
		return nil, &state.ConflictError{Kind: "rule", ID: ref(&r), Reason: fmt.Sprintf("versions are sequential: the next version is %d", next)}
	}
	now, err := state.TxTime(stub)
	if err != nil {
		return nil, err
	}
	if r.Kind == wire.RuleSuppress {
		if !r.ExpiresAt.After(now.Time) {
			return nil, &wire.ValidationError{Field: "expiresAt", Reason: fmt.Sprintf("%s is not after the proposal (%s)", r.ExpiresAt, now)}
		}
		if r.ExpiresAt.Sub(now.Time) > wire.MaxSuppressionSeconds*time.Second {
			return nil, &wire.ValidationError{Field: "expiresAt", Reason: fmt.Sprintf("%s is more than %d days after the proposal", r.ExpiresAt, wire.MaxSuppressionSeconds/86400)}
		}
	}
	actor := id.Actor()
	r.Owner, r.State, r.ProposedBy, r.ProposedAt, r.ProposedTx = id.MSP, wire.PolicyProposed, &actor, now, stub.GetTxID()
	if h == nil {
		h = &head{ID: r.ID, Owner: id.MSP}
	}
	h.Latest = r.Version
	if err := putVersion(stub, &r); err != nil {
		return nil, err
	}
	if err := state.Put(stub, hKey, h); err != nil {
		return nil, err
	}
	return &r, nil
}

// ApproveRule records the caller's organisation's approval of rule ruleID
// version version (the caller must be an admin of a member) and activates
// it once ledgerview.QuorumReached under the current membership. Returns
// the version.
func (c *Contract) ApproveRule(ctx contractapi.TransactionContextInterface, ruleID string, version uint32) (string, error) {
	return contract.Submit(ctx, wire.TxApproveHygieneRule, access.Admin, func(tx contract.Call) (*wire.HygieneRule, error) { return approve(tx, ruleID, version) })
}

func approve(c contract.Call, ruleID string, version uint32) (*wire.HygieneRule, error) {
	id, fn, stub := c.ID, c.Fn, c.Stub
	members, err := ledgerview.MemberFor(stub, id, fn)
	if err != nil {
		return nil, err
	}
	r, err := loadVersion(stub, ruleID, version)
	if err != nil {
		return nil, err
	}
	for _, a := range r.Approvals {
		if a.MSP == id.MSP {
			return r, nil // this organisation already approved: idempotent
		}
	}
	if r.State != wire.PolicyProposed {
		return nil, &state.StateError{Kind: "rule", ID: ref(r), State: r.State, Action: "approve"}
	}
	h, hKey, err := loadHead(stub, r.ID)
	if err != nil {
		return nil, err
	}
	if h == nil {
		return nil, &state.LedgerError{Op: "get", Key: hKey, Err: state.Inconsistent("rule %s has versions but no head", r.ID)}
	}
	if h.Active > r.Version {
		return nil, &state.StateError{Kind: "rule", ID: ref(r), State: fmt.Sprintf("older than active version %d", h.Active), Action: "approve"}
	}
	now, err := state.TxTime(stub)
	if err != nil {
		return nil, err
	}
	txID := stub.GetTxID()
	r.Approvals = append(r.Approvals, wire.Approval{MSP: id.MSP, Subject: id.Subject, At: now, TxID: txID})
	if ledgerview.QuorumReached(r.Approvals, members, r.Quorum, r.Scope, r.Owner) {
		if err := activate(stub, r, h, now, txID, id); err != nil {
			return nil, err
		}
		if err := state.Put(stub, hKey, h); err != nil {
			return nil, err
		}
	}
	if err := putVersion(stub, r); err != nil {
		return nil, err
	}
	return r, nil
}

func activate(stub shim.ChaincodeStubInterface, r *wire.HygieneRule, h *head, now wire.Time, txID string, id access.Identity) error {
	if h.Active == 0 {
		n, err := state.Count(stub, keys.ActiveRule, nil, wire.MaxActiveHygieneRules)
		if err != nil {
			return err
		}
		if n >= wire.MaxActiveHygieneRules {
			return &state.ConflictError{Kind: "rule", ID: ref(r), Reason: fmt.Sprintf("%d rules are already active (the limit); revoke one first", n)}
		}
	} else {
		prev, err := loadVersion(stub, r.ID, h.Active)
		if err != nil {
			return err
		}
		actor := id.Actor()
		prev.State, prev.EndedAt, prev.EndedTx, prev.EndedBy = wire.PolicySuperseded, now, txID, &actor
		prev.EndReason = fmt.Sprintf("superseded by version %d", r.Version)
		if err := putVersion(stub, prev); err != nil {
			return err
		}
	}
	r.State, r.ActivatedAt, r.ActivatedTx = wire.PolicyActive, now, txID
	h.Active = r.Version
	aKey, err := keys.Key(keys.ActiveRule, r.ID)
	if err != nil {
		return err
	}
	return state.Put(stub, aKey, r)
}

// RevokeRule ends rule ruleID version version (proposed or active) with a
// reason; only the owning organisation's authors or admins may. Revoking
// a revoked version is a no-op. Returns the version.
func (c *Contract) RevokeRule(ctx contractapi.TransactionContextInterface, ruleID string, version uint32, reason string) (string, error) {
	return contract.Submit(ctx, wire.TxRevokeHygieneRule, access.Author, func(tx contract.Call) (*wire.HygieneRule, error) { return revoke(tx, ruleID, version, reason) })
}

func revoke(c contract.Call, ruleID string, version uint32, reason string) (*wire.HygieneRule, error) {
	id, fn, stub := c.ID, c.Fn, c.Stub
	if err := wire.ValidateReason(reason); err != nil {
		return nil, err
	}
	r, err := loadVersion(stub, ruleID, version)
	if err != nil {
		return nil, err
	}
	if err := id.RequireOrg(fn, r.Owner); err != nil {
		return nil, err
	}
	switch r.State {
	case wire.PolicyRevoked:
		return r, nil
	case wire.PolicyProposed, wire.PolicyActive:
	default:
		return nil, &state.StateError{Kind: "rule", ID: ref(r), State: r.State, Action: "revoke"}
	}
	now, err := state.TxTime(stub)
	if err != nil {
		return nil, err
	}
	if r.State == wire.PolicyActive {
		h, hKey, err := loadHead(stub, r.ID)
		if err != nil {
			return nil, err
		}
		if h == nil {
			return nil, &state.LedgerError{Op: "get", Key: hKey, Err: state.Inconsistent("rule %s has versions but no head", r.ID)}
		}
		h.Active = 0
		if err := state.Put(stub, hKey, h); err != nil {
			return nil, err
		}
		aKey, err := keys.Key(keys.ActiveRule, r.ID)
		if err != nil {
			return nil, err
		}
		if err := state.Delete(stub, aKey); err != nil {
			return nil, err
		}
	}
	actor := id.Actor()
	r.State, r.EndedAt, r.EndedTx, r.EndedBy, r.EndReason = wire.PolicyRevoked, now, stub.GetTxID(), &actor, reason
	if err := putVersion(stub, r); err != nil {
		return nil, err
	}
	return r, nil
}

// GetRule returns rule ruleID at version version as JSON; version 0 means
// the active version, or the latest if none is active.
func (c *Contract) GetRule(ctx contractapi.TransactionContextInterface, ruleID string, version uint32) (string, error) {
	return contract.Read(ctx, wire.TxGetHygieneRule, func(stub shim.ChaincodeStubInterface) (*wire.HygieneRule, error) {
		if version == 0 {
			h, _, err := loadHead(stub, ruleID)
			if err != nil {
				return nil, err
			}
			if h == nil {
				return nil, &state.NotFoundError{Kind: "rule", ID: ruleID}
			}
			version = h.Latest
			if h.Active != 0 {
				version = h.Active
			}
		}
		return loadVersion(stub, ruleID, version)
	})
}

// ListRules returns a page (wire.Page of wire.HygieneRule) of rule versions
// matching filterJSON (a wire.HygieneRuleFilter; "" = all), ordered by rule
// id then version.
func (c *Contract) ListRules(ctx contractapi.TransactionContextInterface, filterJSON string, pageSize int32, bookmark string) (string, error) {
	return contract.List(ctx, wire.TxListHygieneRules, filterJSON, pageSize, bookmark, func(f *wire.HygieneRuleFilter) contract.Query[wire.HygieneRule] {
		var attrs []string
		if f.ID != "" {
			attrs = []string{f.ID}
		}
		return contract.Query[wire.HygieneRule]{ObjectType: keys.HygieneRule, Attrs: attrs, Keep: f.Match}
	})
}

// GetRuleHistory returns a page (wire.Page of wire.HistoryEntry of
// wire.HygieneRule) of every write to rule ruleID version version, newest
// first.
func (c *Contract) GetRuleHistory(ctx contractapi.TransactionContextInterface, ruleID string, version uint32, pageSize int32, bookmark string) (string, error) {
	return contract.History[wire.HygieneRule](ctx, wire.TxGetHygieneRuleHistory, pageSize, bookmark, func(stub shim.ChaincodeStubInterface) (string, error) {
		if _, err := loadVersion(stub, ruleID, version); err != nil {
			return "", err
		}
		return keys.Key(keys.HygieneRule, ruleID, keys.Uint10(version))
	})
}

// SetOrgCaps replaces the caller's organisation's blast-radius caps
// (capsJSON is a wire.OrgCaps whose msp is the caller's; an admin of that
// organisation only) and returns the record as JSON. Marks already
// counted stay counted: lowering a cap takes effect at once.
func (c *Contract) SetOrgCaps(ctx contractapi.TransactionContextInterface, capsJSON string) (string, error) {
	return contract.Submit(ctx, wire.TxSetOrgCaps, access.Admin, func(tx contract.Call) (*wire.OrgCaps, error) {
		id, fn, stub := tx.ID, tx.Fn, tx.Stub
		caps, err := wire.Decode[wire.OrgCaps]([]byte(capsJSON), "caps")
		if err != nil {
			return nil, err
		}
		if err := caps.Validate(); err != nil {
			return nil, err
		}
		if err := id.RequireOrg(fn, caps.MSP); err != nil {
			return nil, err
		}
		if _, err := ledgerview.MemberFor(stub, id, fn); err != nil {
			return nil, err
		}
		now, err := state.TxTime(stub)
		if err != nil {
			return nil, err
		}
		if caps.Caps == nil {
			caps.Caps = []wire.OrgCap{}
		}
		actor := id.Actor()
		caps.SetBy, caps.SetAt, caps.SetTx = &actor, now, stub.GetTxID()
		key, err := keys.Key(keys.OrgCaps, caps.MSP)
		if err != nil {
			return nil, err
		}
		if err := state.Put(stub, key, &caps); err != nil {
			return nil, err
		}
		return &caps, nil
	})
}

// GetOrgCaps returns organisation msp's caps as JSON (an empty list when
// it set none).
func (c *Contract) GetOrgCaps(ctx contractapi.TransactionContextInterface, msp string) (string, error) {
	return contract.Read(ctx, wire.TxGetOrgCaps, func(stub shim.ChaincodeStubInterface) (*wire.OrgCaps, error) {
		return ledgerview.OrgCaps(stub, msp)
	})
}

func loadHead(stub shim.ChaincodeStubInterface, ruleID string) (*head, string, error) {
	key, err := keys.Key(keys.HygieneHead, ruleID)
	if err != nil {
		return nil, "", &wire.ValidationError{Field: "ruleId", Reason: err.Error()}
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

func loadVersion(stub shim.ChaincodeStubInterface, ruleID string, version uint32) (*wire.HygieneRule, error) {
	key, err := keys.Key(keys.HygieneRule, ruleID, keys.Uint10(version))
	if err != nil {
		return nil, &wire.ValidationError{Field: "ruleId", Reason: err.Error()}
	}
	r, found, err := state.Get[wire.HygieneRule](stub, key)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, &state.NotFoundError{Kind: "rule", ID: fmt.Sprintf("%s@%d", ruleID, version)}
	}
	return r, nil
}

func putVersion(stub shim.ChaincodeStubInterface, r *wire.HygieneRule) error {
	key, err := keys.Key(keys.HygieneRule, r.ID, keys.Uint10(r.Version))
	if err != nil {
		return err
	}
	return state.Put(stub, key, r)
}
