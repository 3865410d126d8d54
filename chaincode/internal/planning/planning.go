// Package planning turns matching response policies into response
// requests within one RaiseAlerts transaction: it evaluates the active
// policies (read through package ledgerview) against each new alert, writes
// the responses and rate-limit marks, and lists what it created for the
// transaction's one chaincode event. The alerts contract drives it; the
// responses contract owns what happens to a response afterwards.
package planning

import (
	"fmt"
	"strings"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/keys"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/ledgerview"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/state"
	"github.com/ledgerguard/ledgerguard/chaincode/policy"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// maxEvalErrors bounds the evaluation errors a RaiseAlerts result reports.
const maxEvalErrors = 100

// Planner decides, within one RaiseAlerts transaction, which responses the
// active policies request for each new alert, and writes them. It loads
// and compiles the active policies once, evaluates them in policy-id order
// (the key order of the bounded scan, so the result never depends on map
// order), and keeps the transaction's own rate-limit counts in memory
// because Fabric transactions do not read their own writes.
//
// Rate limits: each counted response writes one small mark under
// (policy, sha256(target), window start, response id). Counting the marks
// of (policy, target, window) reads at most limit.max keys, and Fabric
// re-runs that range read at commit: if a concurrent transaction in the
// same block added a mark for the same policy and target, this one is
// invalidated as a phantom read. That is the intended behaviour for a
// limit — the retry sees the other mark — and unrelated targets and
// policies never conflict.
//
// Organisation caps (wire.OrgCaps, set by each organisation's admins) bound
// the responses carrying an action type per organisation and window,
// across all policies, with the same kind of marks under
// (msp, action type, window start, response id). A response either limit
// stops ends rate-limited (LimitedBy says which), or awaiting approval
// (at least one) when its policy sets EscalateLimited; it writes no mark.
type Planner struct {
	stub     shim.ChaincodeStubInterface
	now      wire.Time
	txID     string
	policies []compiled
	counts   map[string]int // marks under a counted prefix, this transaction's included
	caps     map[string]*wire.OrgCaps
	loaded   bool

	// Created lists every response written, in order.
	Created []wire.ResponseRequest
	// EvalErrors lists failed evaluations (at most maxEvalErrors).
	EvalErrors []wire.EvalError
}

type compiled struct {
	p    wire.Policy
	cond *policy.Condition
	err  error
}

// NewPlanner returns a planner for the transaction; it loads policies on
// first use, so a transaction whose alerts are all replays reads none.
func NewPlanner(stub shim.ChaincodeStubInterface, now wire.Time, txID string) *Planner {
	return &Planner{stub: stub, now: now, txID: txID, counts: map[string]int{}, caps: map[string]*wire.OrgCaps{}, Created: []wire.ResponseRequest{}}
}

func (pl *Planner) load() error {
	if pl.loaded {
		return nil
	}
	active, err := ledgerview.ActivePolicies(pl.stub)
	if err != nil {
		return fmt.Errorf("load active policies: %w", err)
	}
	pl.policies = make([]compiled, len(active))
	for i, p := range active {
		// A stored policy was validated at proposal; if it no longer
		// compiles (e.g. after a CEL upgrade) it matches nothing and every
		// alert reports the error, rather than blocking all alerts.
		cond, err := policy.CompileCached(p.Condition)
		pl.policies[i] = compiled{p: p, cond: cond, err: err}
	}
	pl.loaded = true
	return nil
}

// Plan evaluates every active policy against a newly recorded alert and
// writes a response for each match (one key each, plus one rate-limit
// mark when the policy has a limit and the response counts against it).
// An org-scoped policy is evaluated only against its owner's alerts.
func (pl *Planner) Plan(a *wire.Alert) error {
	if err := pl.load(); err != nil {
		return err
	}
	if len(pl.policies) == 0 {
		return nil
	}
	vars := policy.VarsOf(a)
	in := policy.NewInput(&vars) // bound once, shared by every policy
	for i := range pl.policies {
		c := &pl.policies[i]
		if !InScope(&c.p, a) {
			continue
		}
		err := c.err
		matched := false
		if err == nil {
			matched, err = c.cond.MatchInput(in)
		}
		if err != nil {
			if len(pl.EvalErrors) < maxEvalErrors {
				pl.EvalErrors = append(pl.EvalErrors, wire.EvalError{AlertID: a.ID, PolicyID: c.p.ID, PolicyVersion: c.p.Version, Error: err.Error()})
			}
			continue
		}
		if !matched {
			continue
		}
		if err := pl.create(a, &c.p); err != nil {
			return err
		}
	}
	return nil
}

// InScope reports whether policy p may act on alert a: a consortium
// policy on every member's alerts, an org-scoped policy only on alerts of
// its owner organisation. Responses are addressed to the alert's
// organisation, so an org-scoped policy's requests only ever reach its
// owner's responder.
func InScope(p *wire.Policy, a *wire.Alert) bool {
	return wire.ScopeOf(p.Scope) != wire.ScopeOrg || a.MSP == p.Owner
}

// approvedBy lists the organisations that approved p, in approval order.
func approvedBy(p *wire.Policy) []string {
	out := make([]string, 0, len(p.Approvals))
	for _, a := range p.Approvals {
		out = append(out, a.MSP)
	}
	return out
}

func (pl *Planner) create(a *wire.Alert, p *wire.Policy) error {
	r := wire.Response{
		ID: wire.ResponseID(a.ID, p.ID, p.Version), AlertID: a.ID, BatchID: a.BatchID, PolicyID: p.ID, PolicyVersion: p.Version,
		MSP: a.MSP, GatewayID: a.GatewayID, Mode: p.Mode,
		Actions: wire.ResolveActions(p.Actions, a), RequiredApprovals: p.ResponseApprovals,
		PolicyScope: wire.ScopeOf(p.Scope), PolicyOwner: p.Owner, PolicyApprovedBy: approvedBy(p),
		CreatedAt: pl.now, CreatedTx: pl.txID,
	}
	target := wire.DefaultLimitTarget
	if p.Limit != nil && p.Limit.Target != "" {
		target = p.Limit.Target
	}
	key, err := keys.Key(keys.Response, r.ID)
	if err != nil {
		return err
	}
	// Alerts are idempotent per batch; should a gateway raise the same
	// alert id in another batch, its response (keyed by alert id, policy
	// and version) already exists and must not be requested again.
	existing, err := pl.stub.GetState(key)
	if err != nil {
		return &state.LedgerError{Op: "get", Key: key, Err: err}
	}
	if existing != nil {
		return nil
	}
	r.Target = wire.ResolveTemplate(target, a)
	// Blast-radius limits: the policy's per-target limit, then the alert
	// organisation's cap per action type (not for dry runs, which never
	// act). Both are checked before either is marked, so a response one
	// limit stops is never counted by the other.
	var marks []string
	if p.Limit != nil {
		mark, ok, err := pl.admit(p, &r)
		if err != nil {
			return err
		}
		if !ok {
			r.LimitedBy = wire.LimitedByPolicy
		}
		marks = append(marks, mark)
	}
	if r.LimitedBy == "" && p.Mode != wire.ModeDryRun {
		capMarks, action, err := pl.capCheck(&r)
		if err != nil {
			return err
		}
		if action != "" {
			r.LimitedBy = wire.LimitedByOrgCap + ":" + action
		}
		marks = append(marks, capMarks...)
	}
	limited := r.LimitedBy != ""
	if !limited {
		for _, k := range marks {
			if err := state.PutRaw(pl.stub, k, []byte(pl.now.String())); err != nil {
				return err
			}
			pl.counts[countKey(k)]++
		}
	}
	switch {
	case limited && p.EscalateLimited && p.Mode != wire.ModeDryRun:
		// Escalation: a person decides instead of the limit dropping it.
		r.State = wire.ResponseAwaitingApproval
		r.RequiredApprovals = max(r.RequiredApprovals, 1)
	case limited:
		r.State = wire.ResponseRateLimited
	case p.Mode == wire.ModeDryRun:
		r.State = wire.ResponseDryRun
	case p.ResponseApprovals > 0:
		r.State = wire.ResponseAwaitingApproval
	default:
		r.State = wire.ResponseRequested
	}
	if err := state.Put(pl.stub, key, &r); err != nil {
		return err
	}
	pl.Created = append(pl.Created, r.Request())
	return nil
}

// countKey is the in-memory count key of a mark: the mark's key without
// its last attribute (the response id), i.e. its counted prefix.
func countKey(mark string) string {
	trimmed := strings.TrimSuffix(mark, "\x00")
	return trimmed[:strings.LastIndexByte(trimmed, 0)+1]
}

// windowStart floors the transaction time to a window of w seconds.
func (pl *Planner) windowStart(w int64) string {
	sec := pl.now.Unix()
	start := sec - ((sec%w)+w)%w // floor to the window, also before 1970
	if start < 0 {
		start = 0
	}
	return keys.Uint20(uint64(start))
}

// count returns how many marks lie under the prefix (objectType, attrs),
// counting this transaction's own marks (Fabric transactions do not read
// their own writes), reading at most max keys.
func (pl *Planner) count(objectType string, attrs []string, max int) (int, error) {
	prefix, err := keys.Key(objectType, attrs...)
	if err != nil {
		return 0, err
	}
	if _, ok := pl.counts[prefix]; !ok {
		n, err := state.Count(pl.stub, objectType, attrs, max)
		if err != nil {
			return 0, err
		}
		pl.counts[prefix] = n
	}
	return pl.counts[prefix], nil
}

// capCheck checks r against its organisation's caps (wire.OrgCaps): for
// each capped action type r carries, it counts the organisation's marks
// in the cap's current window with a bounded range read (at most the
// cap's max keys). It returns the marks to write if r is admitted, or the
// first action type (in r's action order) whose cap is reached. The count
// is a range read Fabric re-runs at commit: of two responses of one
// organisation and action type in one block, the second is invalidated
// as a phantom read and retried — caps apply to responses, which are
// rare, never to alerts.
func (pl *Planner) capCheck(r *wire.Response) (marks []string, limitedAction string, err error) {
	caps, ok := pl.caps[r.MSP]
	if !ok {
		if caps, err = ledgerview.OrgCaps(pl.stub, r.MSP); err != nil {
			return nil, "", fmt.Errorf("load caps of %s: %w", r.MSP, err)
		}
		pl.caps[r.MSP] = caps
	}
	if len(caps.Caps) == 0 {
		return nil, "", nil
	}
	seen := map[string]bool{}
	for _, act := range r.Actions {
		if seen[act.Type] {
			continue
		}
		seen[act.Type] = true
		cp, ok := caps.Cap(act.Type)
		if !ok {
			continue
		}
		window := pl.windowStart(cp.WindowSeconds)
		attrs := []string{r.MSP, act.Type, window}
		n, err := pl.count(keys.CapMark, attrs, cp.Max)
		if err != nil {
			return nil, "", err
		}
		if n >= cp.Max {
			return nil, act.Type, nil
		}
		mark, err := keys.Key(keys.CapMark, r.MSP, act.Type, window, r.ID)
		if err != nil {
			return nil, "", err
		}
		marks = append(marks, mark)
	}
	return marks, "", nil
}

// admit counts the policy's responses for r's target in the current
// window and returns the mark r would write and whether it is below the
// limit; the caller writes the mark once every limit admitted r.
func (pl *Planner) admit(p *wire.Policy, r *wire.Response) (string, bool, error) {
	target := keys.Digest(r.Target)
	window := pl.windowStart(p.Limit.WindowSeconds)
	n, err := pl.count(keys.RateMark, []string{p.ID, target, window}, p.Limit.Max)
	if err != nil {
		return "", false, err
	}
	key, err := keys.Key(keys.RateMark, p.ID, target, window, r.ID)
	if err != nil {
		return "", false, err
	}
	return key, n < p.Limit.Max, nil
}
