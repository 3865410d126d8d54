package wire

import "fmt"

// Hygiene rule kinds. A suppress rule marks the alerts its condition
// matches as suppressed (recorded, countable, citing the rule, never
// evaluated by response policies) until it expires. A dedup rule makes
// the alerts its condition matches merge, within fixed windows of
// WindowSeconds of event time, into one alert per (organisation, detector,
// category, asset, principal) whose count and last-seen grow.
const (
	RuleSuppress = "suppress"
	RuleDedup    = "dedup"
)

// Limits on hygiene rules and org caps.
const (
	// MaxActiveHygieneRules bounds the active rules RaiseAlerts loads with
	// one bounded scan.
	MaxActiveHygieneRules = 64
	// MaxSuppressionSeconds bounds how long a suppress rule may run: a
	// suppression is a decision to revisit, not a permanent blind spot.
	MaxSuppressionSeconds = 366 * 24 * 3600
	// MaxDedupWindowSeconds bounds a dedup rule's window.
	MaxDedupWindowSeconds = 7 * 24 * 3600
	// MaxOrgCaps bounds the caps one organisation sets.
	MaxOrgCaps = 16
	// MaxOrgCapMax bounds one cap's count; the count is a bounded range
	// read of at most this many marks.
	MaxOrgCapMax = 1000
)

// HygieneRule is one version of a suppression or deduplication rule,
// proposed and approved exactly like a response [Policy] (same states,
// scopes and quorum floors). The author fills ID through Owner; the
// chaincode sets the rest. Condition is CEL over the same alert variables
// as policies (package policy). A suppress rule needs ExpiresAt (after the
// proposal, at most [MaxSuppressionSeconds] later) and Reason; a dedup rule
// needs WindowSeconds (1..[MaxDedupWindowSeconds]).
type HygieneRule struct {
	ID            string `json:"id"`
	Version       uint32 `json:"version"`
	Kind          string `json:"kind"`
	Description   string `json:"description,omitempty"`
	Condition     string `json:"condition"`
	Reason        string `json:"reason,omitempty"`
	ExpiresAt     Time   `json:"expiresAt,omitzero"`
	WindowSeconds int64  `json:"windowSeconds,omitempty"`
	Quorum        int    `json:"quorum,omitempty"`
	Scope         string `json:"scope,omitempty"`
	Owner         string `json:"owner,omitempty"`

	State       string     `json:"state,omitempty"`
	ProposedBy  *Actor     `json:"proposedBy,omitempty"`
	ProposedAt  Time       `json:"proposedAt,omitzero"`
	ProposedTx  string     `json:"proposedTx,omitempty"`
	Approvals   []Approval `json:"approvals,omitempty"`
	ActivatedAt Time       `json:"activatedAt,omitzero"`
	ActivatedTx string     `json:"activatedTx,omitempty"`
	EndedAt     Time       `json:"endedAt,omitzero"`
	EndedTx     string     `json:"endedTx,omitempty"`
	EndedBy     *Actor     `json:"endedBy,omitempty"`
	EndReason   string     `json:"endReason,omitempty"`
}

// Validate checks a proposed rule's structure (not its CEL condition,
// which package policy compiles, nor ExpiresAt against the proposal time,
// which the chaincode checks).
func (r *HygieneRule) Validate() error {
	if err := checkToken("id", r.ID, maxPolicyIDLen); err != nil {
		return err
	}
	if r.Version == 0 {
		return invalid("version", "must be at least 1")
	}
	if err := checkText("description", r.Description, maxTextLen, false); err != nil {
		return err
	}
	if err := checkText("condition", r.Condition, MaxConditionLen, true); err != nil {
		return err
	}
	switch r.Kind {
	case RuleSuppress:
		if r.ExpiresAt.IsZero() {
			return invalid("expiresAt", "a suppress rule must expire (at most %d days after its proposal)", MaxSuppressionSeconds/86400)
		}
		if err := checkText("reason", r.Reason, maxTextLen, true); err != nil {
			return err
		}
		if r.WindowSeconds != 0 {
			return invalid("windowSeconds", "only dedup rules have a window")
		}
	case RuleDedup:
		if r.WindowSeconds < 1 || r.WindowSeconds > MaxDedupWindowSeconds {
			return invalid("windowSeconds", "%d must be 1..%d", r.WindowSeconds, MaxDedupWindowSeconds)
		}
		if err := checkText("reason", r.Reason, maxTextLen, false); err != nil {
			return err
		}
	default:
		return invalid("kind", "%q must be %q or %q", truncate(r.Kind, 40), RuleSuppress, RuleDedup)
	}
	if r.Quorum < 0 {
		return invalid("quorum", "%d must not be negative (0 = majority of members)", r.Quorum)
	}
	if r.Scope != "" && r.Scope != ScopeConsortium && r.Scope != ScopeOrg {
		return invalid("scope", "%q must be %q or %q", truncate(r.Scope, 40), ScopeConsortium, ScopeOrg)
	}
	if r.Owner != "" {
		if err := checkToken("owner", r.Owner, maxTokenLen); err != nil {
			return err
		}
	}
	if r.State != "" || r.ProposedBy != nil || !r.ProposedAt.IsZero() || r.ProposedTx != "" ||
		len(r.Approvals) > 0 || !r.ActivatedAt.IsZero() || r.ActivatedTx != "" ||
		!r.EndedAt.IsZero() || r.EndedTx != "" || r.EndedBy != nil || r.EndReason != "" {
		return invalid("state", "state, proposal, approval, activation and end fields are set by the chaincode and must be omitted")
	}
	return nil
}

// SameProposal reports whether q proposes exactly what r does.
func (r *HygieneRule) SameProposal(q *HygieneRule) bool {
	return r.ID == q.ID && r.Version == q.Version && r.Kind == q.Kind && r.Description == q.Description &&
		r.Condition == q.Condition && r.Reason == q.Reason && r.ExpiresAt.Equal(q.ExpiresAt.Time) &&
		r.WindowSeconds == q.WindowSeconds && ScopeOf(r.Scope) == ScopeOf(q.Scope)
}

// InForce reports whether an active rule applies at transaction time now:
// a suppress rule stops applying at its expiry.
func (r *HygieneRule) InForce(now Time) bool {
	return r.State == PolicyActive && (r.ExpiresAt.IsZero() || now.Before(r.ExpiresAt.Time))
}

// HygieneRuleFilter selects rule versions in ListHygieneRules; empty
// fields match everything.
type HygieneRuleFilter struct {
	ID    string `json:"id,omitempty"`
	Kind  string `json:"kind,omitempty"`
	State string `json:"state,omitempty"`
	Owner string `json:"owner,omitempty"`
}

// Match reports whether a rule version passes the filter.
func (f *HygieneRuleFilter) Match(r *HygieneRule) bool {
	return (f.ID == "" || r.ID == f.ID) && (f.Kind == "" || r.Kind == f.Kind) &&
		(f.State == "" || r.State == f.State) && (f.Owner == "" || r.Owner == f.Owner)
}

// RuleRef names the rule version that decided something about an alert.
type RuleRef struct {
	ID      string `json:"id"`
	Version uint32 `json:"version"`
}

// MergedDetection is a detection RaiseAlerts merged into an existing
// alert (Into, of batch IntoBatchID) instead of recording a new one: the
// set of its own batch keeps this compact reference, so the audit trail
// still cites its event and a replay of it is recognised.
type MergedDetection struct {
	ID          string `json:"id"`
	EventHash   string `json:"eventHash"`
	EventTime   Time   `json:"eventTime"`
	Into        string `json:"into"`
	IntoBatchID string `json:"intoBatchId"`
}

// DedupRecord is the state of one deduplicated alert: the alert the first
// detection of (organisation, detector, category, asset, principal) in
// one window created, and how many detections it stands for. It lives
// under (msp, key, windowStart); its key history is the record of every
// merge.
type DedupRecord struct {
	MSP           string  `json:"msp"`
	Key           string  `json:"key"`
	WindowStart   Time    `json:"windowStart"`
	WindowSeconds int64   `json:"windowSeconds"`
	Rule          RuleRef `json:"rule"`
	BatchID       string  `json:"batchId"`
	AlertID       string  `json:"alertId"`
	Count         int     `json:"count"`
	FirstSeen     Time    `json:"firstSeen"`
	LastSeen      Time    `json:"lastSeen"`
	UpdatedTx     string  `json:"updatedTx"`
}

// MergedAlert reports, in a RaiseResult, one detection merged into an
// existing alert and that alert's count after the merge.
type MergedAlert struct {
	AlertID     string `json:"alertId"`
	IntoBatchID string `json:"intoBatchId"`
	IntoAlertID string `json:"intoAlertId"`
	Count       int    `json:"count"`
}

// OrgCap caps, for one organisation, how many responses carrying action
// type Action may be created per fixed window of WindowSeconds of
// transaction time, across all policies.
type OrgCap struct {
	Action        string `json:"action"`
	Max           int    `json:"max"`
	WindowSeconds int64  `json:"windowSeconds"`
}

// OrgCaps is one organisation's blast-radius limits, set by its admins
// (one key per organisation; an empty Caps removes every cap).
type OrgCaps struct {
	MSP   string   `json:"msp"`
	Caps  []OrgCap `json:"caps"`
	SetBy *Actor   `json:"setBy,omitempty"`
	SetAt Time     `json:"setAt,omitzero"`
	SetTx string   `json:"setTx,omitempty"`
}

// Validate checks the caps as submitted: known action types, each once,
// bounded counts and windows.
func (c *OrgCaps) Validate() error {
	if err := checkToken("msp", c.MSP, maxTokenLen); err != nil {
		return err
	}
	if len(c.Caps) > MaxOrgCaps {
		return invalid("caps", "%d caps exceeds the limit of %d", len(c.Caps), MaxOrgCaps)
	}
	seen := map[string]bool{}
	for i, cp := range c.Caps {
		f := fmt.Sprintf("caps[%d]", i)
		if _, ok := actionCatalog[cp.Action]; !ok {
			return invalid(f+".action", "unknown action %q", truncate(cp.Action, 40))
		}
		if seen[cp.Action] {
			return invalid(f+".action", "%s is capped twice", cp.Action)
		}
		seen[cp.Action] = true
		if cp.Max < 0 || cp.Max > MaxOrgCapMax {
			return invalid(f+".max", "%d must be 0..%d", cp.Max, MaxOrgCapMax)
		}
		if cp.WindowSeconds < 1 || cp.WindowSeconds > MaxWindowSeconds {
			return invalid(f+".windowSeconds", "%d must be 1..%d", cp.WindowSeconds, MaxWindowSeconds)
		}
	}
	if c.SetBy != nil || !c.SetAt.IsZero() || c.SetTx != "" {
		return invalid("setBy", "setBy, setAt and setTx are set by the chaincode and must be omitted")
	}
	return nil
}

// Cap returns the cap on action type action, if any.
func (c *OrgCaps) Cap(action string) (OrgCap, bool) {
	for _, cp := range c.Caps {
		if cp.Action == action {
			return cp, true
		}
	}
	return OrgCap{}, false
}

// Limited-by values of a response the blast-radius limits stopped.
const (
	LimitedByPolicy = "policy-limit"
	LimitedByOrgCap = "org-cap"
)
