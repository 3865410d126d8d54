// Package ledgerview reads the records one contract writes and other
// contracts rely on: anchored batches (written by events, read by alerts),
// the consortium's membership (written by consortium at initialisation and
// by every applied membership change, read wherever a
// quorum or a member's right counts), the active policy set (written by
// policies, read by response planning), and the active hygiene rules and
// organisation caps (written by hygiene, read by alerts and planning). It lets contracts share these
// reads without importing each other.
//
// Guarantees: every read fails closed like package state (a failed or
// undecodable read is an error, never "absent"); absence is a
// *state.NotFoundError.
package ledgerview

import (
	"errors"
	"fmt"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/access"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/keys"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/state"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// BatchLocator is what a batch-id key (keys.Batch) holds: where the batch
// record lives. The events contract writes it beside each batch.
type BatchLocator struct {
	MSP           string `json:"msp"`
	GatewayID     string `json:"gatewayId"`
	TreeSizeAfter uint64 `json:"treeSizeAfter"`
}

// Batch reads an anchored batch by id; absence is a *state.NotFoundError,
// an id that is not a hash a *wire.ValidationError.
func Batch(stub shim.ChaincodeStubInterface, batchID string) (*wire.Batch, error) {
	if !wire.IsHash(batchID) {
		return nil, &wire.ValidationError{Field: "batchId", Reason: fmt.Sprintf("%q must be 64 lowercase hex digits", batchID)}
	}
	idKey, err := keys.Key(keys.Batch, batchID)
	if err != nil {
		return nil, err
	}
	loc, found, err := state.Get[BatchLocator](stub, idKey)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, &state.NotFoundError{Kind: "batch", ID: batchID}
	}
	recKey, err := keys.Key(keys.GatewayBatch, loc.MSP, loc.GatewayID, keys.Uint20(loc.TreeSizeAfter))
	if err != nil {
		return nil, err
	}
	b, found, err := state.Get[wire.Batch](stub, recKey)
	if err != nil {
		return nil, err
	}
	if !found {
		// The locator exists but its record does not: the state is
		// inconsistent, which must abort rather than read as "absent".
		return nil, &state.LedgerError{Op: "get", Key: recKey, Err: state.Inconsistent("batch %s has a locator but no record", batchID)}
	}
	return b, nil
}

// ErrNoMembers is wrapped by Members when membership was never initialised.
var ErrNoMembers = errors.New("consortium membership is not initialised (call consortium:InitMembers)")

// Members reads the membership; absent membership is a
// *state.NotFoundError wrapping ErrNoMembers, because quorums cannot be
// computed without it.
func Members(stub shim.ChaincodeStubInterface) (*wire.Members, error) {
	key, err := keys.Key(keys.Members)
	if err != nil {
		return nil, err
	}
	m, found, err := state.Get[wire.Members](stub, key)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%w: %w", &state.NotFoundError{Kind: "membership", ID: "consortium"}, ErrNoMembers)
	}
	return m, nil
}

// RequireMember refuses (*access.DeniedError) a caller whose MSP is not a
// member: only members' approvals count.
func RequireMember(m *wire.Members, id access.Identity, fn string) error {
	if m.Has(id.MSP) {
		return nil
	}
	return id.Deny(fn, "consortium membership (its MSP is not in the membership record: consortium:InitMembers and later majority-approved membership changes)")
}

// MemberFor reads the membership and refuses a caller that is not a
// member: the first two steps of every quorum transaction.
func MemberFor(stub shim.ChaincodeStubInterface, id access.Identity, fn string) (*wire.Members, error) {
	m, err := Members(stub)
	if err != nil {
		return nil, err
	}
	if err := RequireMember(m, id, fn); err != nil {
		return nil, err
	}
	return m, nil
}

// CountMembers counts distinct member organisations among approvals: an
// organisation that left the consortium no longer counts.
func CountMembers(approvals []wire.Approval, m *wire.Members) int {
	seen := map[string]bool{}
	for _, a := range approvals {
		if m.Has(a.MSP) {
			seen[a.MSP] = true
		}
	}
	return len(seen)
}

// Floor is the fewest member approvals that may enact a record acting for
// (or served to) every member: a majority of the current members. It is
// read from the membership at each approval, never fixed at proposal,
// because the membership may grow.
func Floor(m *wire.Members) int { return wire.DefaultQuorum(len(m.MSPs)) }

// QuorumFloor is the floor for a record of the given scope: Floor for a
// consortium-wide record (wire.ScopeConsortium or ""), 1 for an
// org-scoped one (its owner alone may enact it).
func QuorumFloor(scope string, m *wire.Members) int {
	if wire.ScopeOf(scope) == wire.ScopeOrg {
		return 1
	}
	return Floor(m)
}

// QuorumReached reports whether approvals enact a record of the given
// scope, owner and asked quorum under the current membership m: at least
// max(quorum, QuorumFloor(scope, m)) distinct current members approved,
// and, for an org-scoped record, the owner is among them.
func QuorumReached(approvals []wire.Approval, m *wire.Members, quorum int, scope, owner string) bool {
	if wire.ScopeOf(scope) == wire.ScopeOrg {
		owned := false
		for _, a := range approvals {
			owned = owned || (a.MSP == owner && m.Has(owner))
		}
		if !owned {
			return false
		}
	}
	return CountMembers(approvals, m) >= max(quorum, QuorumFloor(scope, m))
}

// MaxActivePolicies bounds the active policy set RaiseAlerts evaluates.
const MaxActivePolicies = 256

// ActivePolicies returns every active policy version (keys.ActivePolicy),
// in policy-id order, with one bounded scan.
func ActivePolicies(stub shim.ChaincodeStubInterface) ([]wire.Policy, error) {
	return state.Scan[wire.Policy](stub, keys.ActivePolicy, nil, MaxActivePolicies)
}

// ActiveHygieneRules returns every active hygiene rule version
// (keys.ActiveRule), in rule-id order, with one bounded scan; expired
// suppress rules are included (callers check wire.HygieneRule.InForce).
func ActiveHygieneRules(stub shim.ChaincodeStubInterface) ([]wire.HygieneRule, error) {
	return state.Scan[wire.HygieneRule](stub, keys.ActiveRule, nil, wire.MaxActiveHygieneRules)
}

// OrgCaps reads organisation msp's blast-radius caps; an organisation
// that set none has an empty record (not an error).
func OrgCaps(stub shim.ChaincodeStubInterface, msp string) (*wire.OrgCaps, error) {
	key, err := keys.Key(keys.OrgCaps, msp)
	if err != nil {
		return nil, err
	}
	c, found, err := state.Get[wire.OrgCaps](stub, key)
	if err != nil {
		return nil, err
	}
	if !found {
		return &wire.OrgCaps{MSP: msp, Caps: []wire.OrgCap{}}, nil
	}
	return c, nil
}
