package wire

import (
	"sort"
)

// MaxMembers bounds the consortium's size.
const MaxMembers = 64

// Members is the consortium's membership: the MSP IDs of the channel's
// application organisations whose approvals count. Chaincode cannot read
// the channel configuration, so the deploy script records it once.
type Members struct {
	MSPs          []string `json:"msps"`
	InitializedBy Actor    `json:"initializedBy"`
	InitializedAt Time     `json:"initializedAt"`
	TxID          string   `json:"txId"`
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
