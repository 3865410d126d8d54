package wire

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Limits on a policy; they bound proposal size and evaluation cost.
const (
	MaxConditionLen     = 4096
	MaxActionsPerPolicy = 8
	MaxParamsPerAction  = 16
	MaxParamLen         = 1024
	MaxWindowSeconds    = 30 * 24 * 3600
	MaxLimitMax         = 1000
	maxPolicyIDLen      = 64
)

// Policy modes: enforce requests actions; dry-run records what it would
// have requested without asking anyone to act.
const (
	ModeEnforce = "enforce"
	ModeDryRun  = "dry-run"
)

// Policy states. A version is proposed, becomes active when a quorum of
// member organisations approved it, and ends superseded (a later version
// became active) or revoked.
const (
	PolicyProposed   = "proposed"
	PolicyActive     = "active"
	PolicySuperseded = "superseded"
	PolicyRevoked    = "revoked"
)

// Policy scopes: what a policy may act on, and so who must enact it.
// A consortium policy is evaluated against every member's alerts, so it
// needs approvals from a majority of the current members whatever quorum
// its author asked for; an org policy acts only on its owner's own alerts
// and assets, so its owner may enact it alone (its approvals must include
// the owner). An empty scope means consortium.
const (
	ScopeConsortium = "consortium"
	ScopeOrg        = "org"
)

// ScopeOf returns scope, or ScopeConsortium when it is empty.
func ScopeOf(scope string) string {
	if scope == "" {
		return ScopeConsortium
	}
	return scope
}

// Action types the executor knows how to carry out.
const (
	ActionIsolateHost  = "isolate_host"
	ActionMFAChallenge = "mfa_challenge"
	ActionOpenIncident = "open_incident"
	ActionBlockIP      = "block_ip"
	ActionNotify       = "notify"
	ActionWebhook      = "webhook"
)

// actionSpec lists an action type's required and optional parameters.
type actionSpec struct {
	required []string
	optional []string
}

var actionCatalog = map[string]actionSpec{
	ActionIsolateHost:  {required: []string{"host"}, optional: []string{"reason", "duration"}},
	ActionMFAChallenge: {required: []string{"principal"}, optional: []string{"reason"}},
	ActionOpenIncident: {required: []string{"title"}, optional: []string{"severity", "description", "assignee"}},
	ActionBlockIP:      {required: []string{"ip"}, optional: []string{"duration", "reason"}},
	ActionNotify:       {required: []string{"channel", "message"}},
	ActionWebhook:      {required: []string{"url"}, optional: []string{"body"}},
}

// ActionTypes returns the known action types, sorted.
func ActionTypes() []string {
	out := make([]string, 0, len(actionCatalog))
	for t := range actionCatalog {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Action is one thing a policy asks the executor to do. Params values may
// contain {{alert.…}} templates (see [ResolveTemplate]); in a response
// request they are already resolved.
type Action struct {
	Type   string            `json:"type"`
	Params map[string]string `json:"params"`
}

// RateLimit caps how many responses one policy requests per target within
// a fixed window of transaction time: at most Max per WindowSeconds, the
// window starting at a multiple of WindowSeconds since the Unix epoch.
// Target is a template naming what is limited (default "{{alert.asset}}").
type RateLimit struct {
	Max           int    `json:"max"`
	WindowSeconds int64  `json:"windowSeconds"`
	Target        string `json:"target,omitempty"`
}

// DefaultLimitTarget is the rate-limit target when a limit names none.
const DefaultLimitTarget = "{{alert.asset}}"

// Approval is one organisation's approval of a policy version or of a
// response, by one of its admins.
type Approval struct {
	MSP     string `json:"msp"`
	Subject string `json:"subject"`
	At      Time   `json:"at"`
	TxID    string `json:"txId"`
}

// Policy is a response policy version. The author fills ID through Owner
// (Owner may be given and must then be the author's MSP ID; Scope is
// ScopeConsortium, the default, or ScopeOrg). Quorum is the number of
// member organisations whose approvals activate the version; the chaincode
// raises it to its scope's floor (a majority of the current members for a
// consortium policy, 1 for an org policy), so 0 or any smaller number asks
// for the floor. The chaincode sets the rest.
type Policy struct {
	ID                string     `json:"id"`
	Version           uint32     `json:"version"`
	Description       string     `json:"description,omitempty"`
	Condition         string     `json:"condition"`
	Actions           []Action   `json:"actions"`
	Mode              string     `json:"mode"`
	Limit             *RateLimit `json:"limit,omitempty"`
	ResponseApprovals int        `json:"responseApprovals"`
	// EscalateLimited turns a response this policy's rate limit or its
	// organisation's cap (wire.OrgCaps) would stop into one awaiting
	// human approval (at least one) instead of ending it rate-limited.
	EscalateLimited bool   `json:"escalateLimited,omitempty"`
	Quorum          int    `json:"quorum,omitempty"`
	Scope           string `json:"scope,omitempty"`
	Owner           string `json:"owner,omitempty"`

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

// Validate checks a proposed policy's structure: id, version, mode, known
// actions with their required parameters and valid templates, the rate
// limit, approval counts, the scope and that no chaincode-set field is present. It
// does not compile the condition (package policy does, with CEL) nor check
// counts against the consortium's size (the chaincode does).
func (p *Policy) Validate() error {
	if err := checkToken("id", p.ID, maxPolicyIDLen); err != nil {
		return err
	}
	if p.Version == 0 {
		return invalid("version", "must be at least 1")
	}
	if err := checkText("description", p.Description, maxTextLen, false); err != nil {
		return err
	}
	if err := checkText("condition", p.Condition, MaxConditionLen, true); err != nil {
		return err
	}
	if p.Mode != ModeEnforce && p.Mode != ModeDryRun {
		return invalid("mode", "%q must be %q or %q", truncate(p.Mode, 40), ModeEnforce, ModeDryRun)
	}
	if len(p.Actions) == 0 || len(p.Actions) > MaxActionsPerPolicy {
		return invalid("actions", "must list 1..%d actions, got %d", MaxActionsPerPolicy, len(p.Actions))
	}
	for i, a := range p.Actions {
		if err := a.validate(fmt.Sprintf("actions[%d]", i)); err != nil {
			return err
		}
	}
	if l := p.Limit; l != nil {
		if l.Max < 1 || l.Max > MaxLimitMax {
			return invalid("limit.max", "%d must be 1..%d", l.Max, MaxLimitMax)
		}
		if l.WindowSeconds < 1 || l.WindowSeconds > MaxWindowSeconds {
			return invalid("limit.windowSeconds", "%d must be 1..%d", l.WindowSeconds, MaxWindowSeconds)
		}
		if err := checkTemplate("limit.target", l.Target, MaxParamLen); err != nil {
			return err
		}
	}
	if p.ResponseApprovals < 0 {
		return invalid("responseApprovals", "%d must not be negative (0 = autonomous)", p.ResponseApprovals)
	}
	if p.Quorum < 0 {
		return invalid("quorum", "%d must not be negative (0 = majority of members)", p.Quorum)
	}
	if p.Scope != "" && p.Scope != ScopeConsortium && p.Scope != ScopeOrg {
		return invalid("scope", "%q must be %q or %q", truncate(p.Scope, 40), ScopeConsortium, ScopeOrg)
	}
	if p.Owner != "" {
		if err := checkToken("owner", p.Owner, maxTokenLen); err != nil {
			return err
		}
	}
	if p.State != "" || p.ProposedBy != nil || !p.ProposedAt.IsZero() || p.ProposedTx != "" ||
		len(p.Approvals) > 0 || !p.ActivatedAt.IsZero() || p.ActivatedTx != "" ||
		!p.EndedAt.IsZero() || p.EndedTx != "" || p.EndedBy != nil || p.EndReason != "" {
		return invalid("state", "state, proposal, approval, activation and end fields are set by the chaincode and must be omitted")
	}
	return nil
}

// SameProposal reports whether q proposes exactly what p does (the fields
// an author writes), so a replayed proposal can be recognised.
func (p *Policy) SameProposal(q *Policy) bool {
	if p.ID != q.ID || p.Version != q.Version || p.Description != q.Description ||
		p.Condition != q.Condition || p.Mode != q.Mode || p.ResponseApprovals != q.ResponseApprovals ||
		p.EscalateLimited != q.EscalateLimited ||
		ScopeOf(p.Scope) != ScopeOf(q.Scope) ||
		len(p.Actions) != len(q.Actions) || (p.Limit == nil) != (q.Limit == nil) {
		return false
	}
	if p.Limit != nil && *p.Limit != *q.Limit {
		return false
	}
	for i := range p.Actions {
		a, b := p.Actions[i], q.Actions[i]
		if a.Type != b.Type || len(a.Params) != len(b.Params) {
			return false
		}
		for k, v := range a.Params {
			if w, ok := b.Params[k]; !ok || w != v {
				return false
			}
		}
	}
	return true
}

func (a Action) validate(field string) error {
	spec, ok := actionCatalog[a.Type]
	if !ok {
		return invalid(field+".type", "unknown action %q (known: %s)", truncate(a.Type, 40), strings.Join(ActionTypes(), ", "))
	}
	if len(a.Params) > MaxParamsPerAction {
		return invalid(field+".params", "%d parameters exceeds the limit of %d", len(a.Params), MaxParamsPerAction)
	}
	for _, r := range spec.required {
		if a.Params[r] == "" {
			return invalid(field+".params."+r, "action %s requires parameter %q", a.Type, r)
		}
	}
	names := make([]string, 0, len(a.Params))
	for k := range a.Params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !contains(spec.required, k) && !contains(spec.optional, k) {
			return invalid(field+".params."+k, "action %s has no parameter %q (allowed: %s)", a.Type, truncate(k, 40),
				strings.Join(append(append([]string{}, spec.required...), spec.optional...), ", "))
		}
		if err := checkTemplate(field+".params."+k, a.Params[k], MaxParamLen); err != nil {
			return err
		}
	}
	if a.Type == ActionWebhook {
		u := a.Params["url"]
		if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			return invalid(field+".params.url", "%q must start with https:// or http://", truncate(u, 80))
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// templateRef matches one {{alert.path}} reference.
var templateRef = regexp.MustCompile(`\{\{\s*alert\.([A-Za-z0-9_.]+)\s*\}\}`)

// TemplateRefs are the alert references a template may use, besides
// alert.fields.<key> for any field key.
var TemplateRefs = []string{
	"id", "msp", "gateway", "eventHash", "batchId", "severity", "score", "category",
	"asset", "principal", "model.name", "model.version", "model.sha256",
}

func checkTemplate(field, s string, max int) error {
	if err := checkText(field, s, max, false); err != nil {
		return err
	}
	rest := templateRef.ReplaceAllStringFunc(s, func(m string) string {
		return "" // references are checked below; what remains must hold no "{{"
	})
	if strings.Contains(rest, "{{") || strings.Contains(rest, "}}") {
		return invalid(field, "%q has a malformed template: use {{alert.<name>}}", truncate(s, 80))
	}
	for _, m := range templateRef.FindAllStringSubmatch(s, -1) {
		ref := m[1]
		if strings.HasPrefix(ref, "fields.") && isIdent(strings.TrimPrefix(ref, "fields.")) {
			continue
		}
		if !contains(TemplateRefs, ref) {
			return invalid(field, "unknown template reference {{alert.%s}} (known: %s, fields.<key>)", ref, strings.Join(TemplateRefs, ", "))
		}
	}
	return nil
}

// ResolveTemplate replaces each {{alert.<name>}} in s with the alert's
// value: a pure function of s and the alert, so every endorser resolves
// the same text. A field key the alert lacks resolves to "". Scores are
// formatted with strconv 'g' and shortest precision.
func ResolveTemplate(s string, a *Alert) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	return templateRef.ReplaceAllStringFunc(s, func(m string) string {
		ref := templateRef.FindStringSubmatch(m)[1]
		if k, ok := strings.CutPrefix(ref, "fields."); ok {
			return a.Fields[k]
		}
		switch ref {
		case "id":
			return a.ID
		case "msp":
			return a.MSP
		case "gateway":
			return a.GatewayID
		case "eventHash":
			return a.EventHash
		case "batchId":
			return a.BatchID
		case "severity":
			return a.Severity
		case "score":
			return strconv.FormatFloat(a.Score, 'g', -1, 64)
		case "category":
			return a.Category
		case "asset":
			return a.Asset
		case "principal":
			return a.Principal
		case "model.name":
			return a.Detector.ID
		case "model.version":
			return a.Detector.Version
		case "model.sha256":
			return a.Detector.SHA256
		}
		return "" // unreachable for validated templates
	})
}

// ResolveActions returns the policy's actions with every parameter
// resolved against the alert. Params are copied, never shared.
func ResolveActions(actions []Action, a *Alert) []Action {
	out := make([]Action, len(actions))
	for i, act := range actions {
		params := make(map[string]string, len(act.Params))
		for k, v := range act.Params {
			params[k] = ResolveTemplate(v, a)
		}
		out[i] = Action{Type: act.Type, Params: params}
	}
	return out
}

// PolicyFilter selects policy versions in ListPolicies; empty fields match
// everything. With ID set only that policy's versions are scanned.
type PolicyFilter struct {
	ID    string `json:"id,omitempty"`
	State string `json:"state,omitempty"`
	Owner string `json:"owner,omitempty"`
}

// Match reports whether a policy version passes the filter.
func (f *PolicyFilter) Match(p *Policy) bool {
	return (f.ID == "" || p.ID == f.ID) && (f.State == "" || p.State == f.State) && (f.Owner == "" || p.Owner == f.Owner)
}
