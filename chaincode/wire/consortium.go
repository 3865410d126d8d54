package wire

import (
	"sort"
)

// MaxMembers bounds the consortium's size.
const MaxMembers = 64

// Members is the consortium's membership: the MSP IDs of the channel's
// application organisations whose approvals count. Chaincode cannot read
// the channel configuration, so the deploy script records it once and
// later changes go through a majority-approved MembershipChange
// (scripts/org.sh). ChangedTx names the transaction that applied the
// latest change (empty until one did).
type Members struct {
	MSPs          []string `json:"msps"`
	InitializedBy Actor    `json:"initializedBy"`
	InitializedAt Time     `json:"initializedAt"`
	TxID          string   `json:"txId"`
	ChangedAt     Time     `json:"changedAt,omitzero"`
	ChangedTx     string   `json:"changedTx,omitempty"`
}

// Has reports whether msp is a member.
func (m *Members) Has(msp string) bool {
	i := sort.SearchStrings(m.MSPs, msp)
	return i < len(m.MSPs) && m.MSPs[i] == msp
}

// DefaultQuorum is a majority of n members: floor(n/2)+1.
func DefaultQuorum(n int) int { return n/2 + 1 }

// CanonicalMSPs validates a list of MSP IDs and returns it sorted, refusing
// duplicates and an empty list, so that two lists naming the same set are
// byte-identical.
func CanonicalMSPs(msps []string) ([]string, error) {
	if len(msps) == 0 || len(msps) > MaxMembers {
		return nil, invalid("members", "must list 1..%d MSP IDs, got %d", MaxMembers, len(msps))
	}
	out := append([]string(nil), msps...)
	sort.Strings(out)
	for i, m := range out {
		if err := checkToken("members", m, maxTokenLen); err != nil {
			return nil, err
		}
		if i > 0 && out[i-1] == m {
			return nil, invalid("members", "%q is listed twice", m)
		}
	}
	return out, nil
}

// Membership change actions: a member organisation joins or leaves.
const (
	MembershipAdd    = "add"
	MembershipRemove = "remove"
)

// Membership change states: proposed (collecting approvals) or applied
// (the membership record changed in the transaction that reached the
// quorum).
const (
	MembershipChangeProposed = "proposed"
	MembershipChangeApplied  = "applied"
)

// MembershipChange is a proposal to add or remove one organisation. It is
// keyed by the organisation's MSP ID, so at most one change per
// organisation is open at a time; an applied change is replaced by the
// next proposal for that organisation (the key's history keeps it).
// Approvals counts only admins of current members, and the change is
// applied once a majority of the current members (DefaultQuorum) approved.
type MembershipChange struct {
	MSP       string     `json:"msp"`
	Action    string     `json:"action"`
	State     string     `json:"state"`
	Approvals []Approval `json:"approvals"`
	// Required is the majority of the membership the change was last
	// approved under, for display; the quorum is computed again at every
	// approval from the current membership.
	Required   int    `json:"required"`
	ProposedBy Actor  `json:"proposedBy"`
	ProposedAt Time   `json:"proposedAt"`
	ProposedTx string `json:"proposedTx"`
	AppliedTx  string `json:"appliedTx,omitempty"`
}

// ValidateMembershipAction checks that action is add or remove and msp is
// a valid MSP ID.
func ValidateMembershipAction(action, msp string) error {
	if action != MembershipAdd && action != MembershipRemove {
		return invalid("action", "%q must be %q or %q", action, MembershipAdd, MembershipRemove)
	}
	return checkToken("msp", msp, maxTokenLen)
}

// With returns the sorted membership list with msp added (a no-op when it
// is a member).
func (m *Members) With(msp string) []string {
	if m.Has(msp) {
		return append([]string(nil), m.MSPs...)
	}
	out := append(append([]string(nil), m.MSPs...), msp)
	sort.Strings(out)
	return out
}

// Without returns the sorted membership list with msp removed.
func (m *Members) Without(msp string) []string {
	out := make([]string, 0, len(m.MSPs))
	for _, s := range m.MSPs {
		if s != msp {
			out = append(out, s)
		}
	}
	return out
}
