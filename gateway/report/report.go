package report

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// Format is the version of the report's JSON layout.
const Format = 1

// Report is a compliance report for one period. Its JSON encoding is the
// machine-readable report; the HTML is rendered from it.
type Report struct {
	Format      int       `json:"format"`
	GeneratedAt time.Time `json:"generatedAt"`
	// Org is the MSP of the organisation that signs the report.
	Org       string    `json:"org"`
	Channel   string    `json:"channel"`
	Chaincode string    `json:"chaincode"`
	Period    Period    `json:"period"`
	Scope     Scope     `json:"scope"`
	Anchoring Anchoring `json:"anchoring"`
	Alerts    Alerts    `json:"alerts"`
	Policies  []Policy  `json:"policies"`
	Responses Responses `json:"responses"`
	Models    []Model   `json:"models"`
	Evidence  Evidence  `json:"evidence"`
}

// Period is the half-open interval [From, To) the report covers: batches
// whose events' time overlaps it, alerts raised and responses created in
// it, policies in force during some of it.
type Period struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Scope names whose batches, alerts and responses the report covers: one
// organisation's gateways (GatewayID "" = all of them). Policies and models
// are the consortium's, so they are not scoped.
type Scope struct {
	MSP       string `json:"msp"`
	GatewayID string `json:"gatewayId,omitempty"`
}

// Anchoring lists the anchored batches.
type Anchoring struct {
	Batches int     `json:"batches"`
	Events  uint64  `json:"events"`
	Items   []Batch `json:"items"`
}

// Batch is one anchored batch: its Merkle root, the transaction that
// anchored it and, when the evidence bundle holds it, the block.
type Batch struct {
	ID             string    `json:"id"`
	MSP            string    `json:"msp"`
	GatewayID      string    `json:"gatewayId"`
	RootHash       string    `json:"rootHash"`
	TreeSizeBefore uint64    `json:"treeSizeBefore"`
	TreeSizeAfter  uint64    `json:"treeSizeAfter"`
	Events         uint64    `json:"events"`
	FirstEventTime time.Time `json:"firstEventTime"`
	LastEventTime  time.Time `json:"lastEventTime"`
	AnchoredAt     time.Time `json:"anchoredAt,omitzero"`
	TxID           string    `json:"txId"`
	Block          *uint64   `json:"block,omitempty"`
	Submitter      string    `json:"submitter,omitempty"`
}

// Alerts lists the alerts raised in the period with counts by category and
// status.
type Alerts struct {
	Total      int             `json:"total"`
	ByStatus   []Count         `json:"byStatus"`
	ByCategory []CategoryCount `json:"byCategory"`
	Items      []Alert         `json:"items"`
}

// Count is how many records have one value of a field.
type Count struct {
	Key   string `json:"key"`
	Count int    `json:"count"`
}

// CategoryCount is the alerts of one category, by status.
type CategoryCount struct {
	Category string  `json:"category"`
	Total    int     `json:"total"`
	ByStatus []Count `json:"byStatus"`
}

// Alert is one alert as the ledger holds it now.
type Alert struct {
	ID          string    `json:"id"`
	RaisedAt    time.Time `json:"raisedAt"`
	RaisedTx    string    `json:"raisedTx"`
	GatewayID   string    `json:"gatewayId"`
	Severity    string    `json:"severity"`
	Category    string    `json:"category"`
	Status      string    `json:"status"`
	Score       float64   `json:"score"`
	Model       string    `json:"model"`
	ModelSHA256 string    `json:"modelSha256,omitempty"`
	Asset       string    `json:"asset,omitempty"`
	Principal   string    `json:"principal,omitempty"`
	BatchID     string    `json:"batchId"`
	EventHash   string    `json:"eventHash"`
	// The last status change, when there was one.
	ChangedBy string    `json:"changedBy,omitempty"`
	ChangedAt time.Time `json:"changedAt,omitzero"`
	ChangedTx string    `json:"changedTx,omitempty"`
	Reason    string    `json:"reason,omitempty"`
}

// Policy is a response policy (one version) that was in force during some
// of the period, with who proposed and approved it.
type Policy struct {
	ID                string     `json:"id"`
	Version           uint32     `json:"version"`
	State             string     `json:"state"`
	Description       string     `json:"description,omitempty"`
	Condition         string     `json:"condition"`
	Actions           []string   `json:"actions"`
	Mode              string     `json:"mode"`
	ResponseApprovals int        `json:"responseApprovals"`
	ProposedBy        string     `json:"proposedBy,omitempty"`
	ProposedAt        time.Time  `json:"proposedAt,omitzero"`
	ProposedTx        string     `json:"proposedTx,omitempty"`
	Approvals         []Approval `json:"approvals"`
	ActivatedAt       time.Time  `json:"activatedAt,omitzero"`
	ActivatedTx       string     `json:"activatedTx,omitempty"`
	EndedAt           time.Time  `json:"endedAt,omitzero"`
	EndedTx           string     `json:"endedTx,omitempty"`
	EndedBy           string     `json:"endedBy,omitempty"`
	EndReason         string     `json:"endReason,omitempty"`
}

// Approval is one organisation's approval, as recorded on the ledger.
type Approval struct {
	MSP     string    `json:"msp"`
	Subject string    `json:"subject"`
	At      time.Time `json:"at"`
	TxID    string    `json:"txId"`
}

// Responses lists the actions decided in the period with counts by state.
type Responses struct {
	Total   int        `json:"total"`
	ByState []Count    `json:"byState"`
	Items   []Response `json:"items"`
}

// Response is one action the ledger decided, with its approvals and the
// outcomes the executor recorded.
type Response struct {
	ID                string     `json:"id"`
	AlertID           string     `json:"alertId"`
	PolicyID          string     `json:"policyId"`
	PolicyVersion     uint32     `json:"policyVersion"`
	Mode              string     `json:"mode"`
	State             string     `json:"state"`
	Target            string     `json:"target"`
	Actions           []string   `json:"actions"`
	RequiredApprovals int        `json:"requiredApprovals"`
	Approvals         []Approval `json:"approvals"`
	Outcomes          []Outcome  `json:"outcomes"`
	CreatedAt         time.Time  `json:"createdAt"`
	CreatedTx         string     `json:"createdTx"`
}

// Outcome is one result the executor recorded.
type Outcome struct {
	Status string    `json:"status"`
	Detail string    `json:"detail"`
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	TxID   string    `json:"txId"`
}

// Model is a model used in the period (named by an alert or an anchored
// batch), with its registration on the ledger. Registered is false when
// the ledger has no registration of that name and version.
type Model struct {
	Name         string     `json:"name"`
	Version      string     `json:"version"`
	SHA256       string     `json:"sha256"`
	Registered   bool       `json:"registered"`
	State        string     `json:"state,omitempty"`
	RegisteredBy string     `json:"registeredBy,omitempty"`
	RegisteredTx string     `json:"registeredTx,omitempty"`
	Approvals    []Approval `json:"approvals"`
	ApprovedAt   time.Time  `json:"approvedAt,omitzero"`
	ApprovedTx   string     `json:"approvedTx,omitempty"`
	Alerts       int        `json:"alerts"`
	Batches      int        `json:"batches"`
	// SHA256Mismatch lists other digests the alerts or batches gave for
	// this name and version than the registration's.
	SHA256Mismatch []string `json:"sha256Mismatch,omitempty"`
}

// Verdicts of the evidence check.
const (
	// VerdictVerified: the bundle verified and holds every anchored batch
	// of the period, each with the transaction the ledger names.
	VerdictVerified = "verified"
	// VerdictFailed: the bundle has problems (Findings say which).
	VerdictFailed = "failed"
	// VerdictIncomplete: the bundle verified but misses batches the ledger
	// anchored in the period, or names other transactions for them.
	VerdictIncomplete = "incomplete"
	// VerdictNothingAnchored: neither the ledger nor the store has a batch
	// in the period, so there was nothing to verify.
	VerdictNothingAnchored = "nothing-anchored"
)

// Evidence is the result of verifying the period's evidence bundle.
type Evidence struct {
	Verdict string `json:"verdict"`
	// Source says where the bundle came from; Bundle names the file and
	// BundleSHA256 is the digest of its bytes.
	Source       string      `json:"source"`
	Bundle       string      `json:"bundle,omitempty"`
	BundleSHA256 string      `json:"bundleSha256,omitempty"`
	Events       int         `json:"events"`
	Batches      int         `json:"batches"`
	Transactions int         `json:"transactions"`
	Endorsements int         `json:"endorsements"`
	TrustedCAs   []TrustedCA `json:"trustedCAs"`
	Findings     []string    `json:"findings"`
	Missing      []string    `json:"missing"`
	Mismatched   []string    `json:"mismatched"`
	Anchors      []Anchor    `json:"anchors"`
}

// TrustedCA is a CA certificate the bundle took from the channel
// configuration, by SHA-256 fingerprint, for the auditor to compare with
// the consortium's record.
type TrustedCA struct {
	MSP    string `json:"msp"`
	SHA256 string `json:"sha256"`
}

// Anchor is where the bundle says a batch was anchored.
type Anchor struct {
	BatchID string `json:"batchId"`
	TxID    string `json:"txId"`
	Block   uint64 `json:"block"`
}

// Inputs is what Assemble builds a report from. Lists may hold records
// outside the period or scope (Assemble keeps only what belongs) and come
// in any order.
type Inputs struct {
	GeneratedAt time.Time
	Org         string
	Channel     string
	Chaincode   string
	Period      Period
	Scope       Scope
	Batches     []wire.Batch
	Alerts      []wire.Alert
	Policies    []wire.Policy
	Responses   []wire.Response
	Models      []wire.ModelRecord
	// Evidence is the checked bundle (CheckBundle), or nil when no batch
	// was there to export.
	Evidence *Evidence
}

// ErrPeriod reports a period whose From is not before its To, or unset.
var ErrPeriod = errors.New("report: the period must have From before To")

// Assemble builds the report. It fails only on an invalid period or scope.
func Assemble(in Inputs) (*Report, error) {
	p := in.Period
	if p.From.IsZero() || p.To.IsZero() || !p.From.Before(p.To) {
		return nil, fmt.Errorf("%w (from %s, to %s)", ErrPeriod, p.From.Format(time.RFC3339), p.To.Format(time.RFC3339))
	}
	if in.Scope.MSP == "" {
		return nil, errors.New("report: scope needs the organisation's MSP")
	}
	r := &Report{
		Format: Format, GeneratedAt: in.GeneratedAt.UTC(), Org: in.Org, Channel: in.Channel, Chaincode: in.Chaincode,
		Period: Period{From: p.From.UTC(), To: p.To.UTC()}, Scope: in.Scope,
		Policies: []Policy{}, Models: []Model{},
	}
	inScope := func(msp, gw string) bool {
		return msp == in.Scope.MSP && (in.Scope.GatewayID == "" || gw == in.Scope.GatewayID)
	}
	inPeriod := func(t time.Time) bool { return !t.Before(r.Period.From) && t.Before(r.Period.To) }
	models := newModelIndex(in.Models)

	r.Anchoring.Items = []Batch{}
	for _, b := range in.Batches {
		if !inScope(b.MSP, b.GatewayID) || b.LastEventTime.Before(r.Period.From) || !b.FirstEventTime.Before(r.Period.To) {
			continue
		}
		r.Anchoring.Items = append(r.Anchoring.Items, Batch{
			ID: b.ID, MSP: b.MSP, GatewayID: b.GatewayID, RootHash: b.RootHash,
			TreeSizeBefore: b.TreeSizeBefore, TreeSizeAfter: b.TreeSizeAfter, Events: b.TreeSizeAfter - b.TreeSizeBefore,
			FirstEventTime: b.FirstEventTime.UTC(), LastEventTime: b.LastEventTime.UTC(), AnchoredAt: utc(b.AnchoredAt),
			TxID: b.TxID, Submitter: actor(b.Submitter),
		})
		for _, m := range b.Models {
			models.use(m, false)
		}
	}
	slices.SortFunc(r.Anchoring.Items, func(a, b Batch) int {
		return cmp.Or(cmp.Compare(a.GatewayID, b.GatewayID), cmp.Compare(a.TreeSizeBefore, b.TreeSizeBefore), cmp.Compare(a.ID, b.ID))
	})
	r.Anchoring.Items = slices.CompactFunc(r.Anchoring.Items, func(a, b Batch) bool { return a.ID == b.ID })
	for _, b := range r.Anchoring.Items {
		r.Anchoring.Events += b.Events
	}
	r.Anchoring.Batches = len(r.Anchoring.Items)

	r.Alerts = alertsOf(in.Alerts, inScope, inPeriod, models)
	r.Responses = responsesOf(in.Responses, inScope, inPeriod)
	r.Policies = policiesInForce(in.Policies, r.Period)
	r.Models = models.report()

	if in.Evidence != nil {
		r.Evidence = *in.Evidence
		reconcile(&r.Evidence, r.Anchoring.Items)
	} else {
		r.Evidence = Evidence{Source: "none", TrustedCAs: []TrustedCA{}, Findings: []string{}, Anchors: []Anchor{}}
		reconcile(&r.Evidence, r.Anchoring.Items)
		if len(r.Evidence.Missing) == 0 {
			r.Evidence.Verdict = VerdictNothingAnchored
		}
	}
	// Blocks come from the bundle's transactions, exactly as committed.
	blocks := map[string]Anchor{}
	for _, a := range r.Evidence.Anchors {
		blocks[a.BatchID] = a
	}
	for i := range r.Anchoring.Items {
		if a, ok := blocks[r.Anchoring.Items[i].ID]; ok && a.TxID == r.Anchoring.Items[i].TxID {
			blk := a.Block
			r.Anchoring.Items[i].Block = &blk
		}
	}
	return r, nil
}

// reconcile compares the bundle's batches with the ledger's and sets the
// verdict: a verified bundle missing a batch of the period, or naming
// another transaction for one, is incomplete.
func reconcile(e *Evidence, batches []Batch) {
	byID := map[string]Anchor{}
	for _, a := range e.Anchors {
		byID[a.BatchID] = a
	}
	e.Missing, e.Mismatched = []string{}, []string{}
	for _, b := range batches {
		a, ok := byID[b.ID]
		switch {
		case !ok:
			e.Missing = append(e.Missing, b.ID)
		case a.TxID != b.TxID:
			e.Mismatched = append(e.Mismatched, fmt.Sprintf("batch %s: bundle names tx %s, the ledger tx %s", b.ID, a.TxID, b.TxID))
		}
	}
	switch {
	case len(e.Findings) > 0:
		e.Verdict = VerdictFailed
	case len(e.Missing) > 0 || len(e.Mismatched) > 0:
		e.Verdict = VerdictIncomplete
	case e.Verdict == "":
		e.Verdict = VerdictVerified
	}
}

func alertsOf(all []wire.Alert, inScope func(string, string) bool, inPeriod func(time.Time) bool, models *modelIndex) Alerts {
	out := Alerts{Items: []Alert{}, ByStatus: []Count{}, ByCategory: []CategoryCount{}}
	seen := map[string]bool{}
	for _, a := range all {
		if !inScope(a.MSP, a.GatewayID) || !inPeriod(a.RaisedAt.Time) || seen[a.ID] {
			continue
		}
		seen[a.ID] = true
		models.use(a.Detector, true)
		status := a.Status
		if status == "" {
			status = wire.AlertOpen
		}
		it := Alert{
			ID: a.ID, RaisedAt: a.RaisedAt.UTC(), RaisedTx: a.RaisedTx, GatewayID: a.GatewayID, Severity: a.Severity,
			Category: a.Category, Status: status, Score: a.Score, Model: a.Detector.ID + "@" + a.Detector.Version,
			ModelSHA256: a.Detector.SHA256, Asset: a.Asset, Principal: a.Principal, BatchID: a.BatchID, EventHash: a.EventHash,
		}
		if c := a.LastChange; c != nil {
			it.ChangedBy, it.ChangedAt, it.ChangedTx, it.Reason = actor(&c.By), utc(c.At), c.TxID, c.Reason
		}
		out.Items = append(out.Items, it)
	}
	slices.SortFunc(out.Items, func(a, b Alert) int { return cmp.Or(a.RaisedAt.Compare(b.RaisedAt), cmp.Compare(a.ID, b.ID)) })
	out.Total = len(out.Items)
	byCat := map[string]map[string]int{}
	byStatus := map[string]int{}
	for _, a := range out.Items {
		if byCat[a.Category] == nil {
			byCat[a.Category] = map[string]int{}
		}
		byCat[a.Category][a.Status]++
		byStatus[a.Status]++
	}
	out.ByStatus = counts(byStatus)
	for _, cat := range sortedKeys(byCat) {
		cc := CategoryCount{Category: cat, ByStatus: counts(byCat[cat])}
		for _, c := range cc.ByStatus {
			cc.Total += c.Count
		}
		out.ByCategory = append(out.ByCategory, cc)
	}
	return out
}

func responsesOf(all []wire.Response, inScope func(string, string) bool, inPeriod func(time.Time) bool) Responses {
	out := Responses{Items: []Response{}, ByState: []Count{}}
	seen := map[string]bool{}
	byState := map[string]int{}
	for _, r := range all {
		if !inScope(r.MSP, r.GatewayID) || !inPeriod(r.CreatedAt.Time) || seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		it := Response{
			ID: r.ID, AlertID: r.AlertID, PolicyID: r.PolicyID, PolicyVersion: r.PolicyVersion, Mode: r.Mode, State: r.State,
			Target: r.Target, Actions: actionTypes(r.Actions), RequiredApprovals: r.RequiredApprovals,
			Approvals: approvals(r.Approvals), Outcomes: []Outcome{}, CreatedAt: r.CreatedAt.UTC(), CreatedTx: r.CreatedTx,
		}
		for _, o := range r.Outcomes {
			it.Outcomes = append(it.Outcomes, Outcome{Status: o.Status, Detail: o.Detail, By: actor(&o.By), At: utc(o.At), TxID: o.TxID})
		}
		byState[r.State]++
		out.Items = append(out.Items, it)
	}
	slices.SortFunc(out.Items, func(a, b Response) int { return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID)) })
	out.Total = len(out.Items)
	out.ByState = counts(byState)
	return out
}

// policiesInForce keeps the policy versions that were active during some
// of the period: activated before its end and not ended before its start.
func policiesInForce(all []wire.Policy, p Period) []Policy {
	out := []Policy{}
	seen := map[string]bool{}
	for _, x := range all {
		key := fmt.Sprintf("%s/%d", x.ID, x.Version)
		if x.ActivatedAt.IsZero() || !x.ActivatedAt.Before(p.To) || (!x.EndedAt.IsZero() && !x.EndedAt.After(p.From)) || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, Policy{
			ID: x.ID, Version: x.Version, State: x.State, Description: x.Description, Condition: x.Condition,
			Actions: actionTypes(x.Actions), Mode: x.Mode, ResponseApprovals: x.ResponseApprovals,
			ProposedBy: actor(x.ProposedBy), ProposedAt: utc(x.ProposedAt), ProposedTx: x.ProposedTx,
			Approvals: approvals(x.Approvals), ActivatedAt: utc(x.ActivatedAt), ActivatedTx: x.ActivatedTx,
			EndedAt: utc(x.EndedAt), EndedTx: x.EndedTx, EndedBy: actor(x.EndedBy), EndReason: x.EndReason,
		})
	}
	slices.SortFunc(out, func(a, b Policy) int { return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.Version, b.Version)) })
	return out
}

// modelIndex gathers the models the period's alerts and batches name and
// joins them with their registrations.
type modelIndex struct {
	reg  map[string]wire.ModelRecord
	used map[string]*Model
}

func newModelIndex(recs []wire.ModelRecord) *modelIndex {
	ix := &modelIndex{reg: map[string]wire.ModelRecord{}, used: map[string]*Model{}}
	for _, m := range recs {
		ix.reg[m.Name+"@"+m.Version] = m
	}
	return ix
}

func (ix *modelIndex) use(m wire.Model, alert bool) {
	key := m.ID + "@" + m.Version
	u := ix.used[key]
	if u == nil {
		u = &Model{Name: m.ID, Version: m.Version, SHA256: m.SHA256, Approvals: []Approval{}}
		if r, ok := ix.reg[key]; ok {
			u.Registered, u.SHA256, u.State = true, r.SHA256, r.State
			u.RegisteredBy, u.RegisteredTx = actor(r.RegisteredBy), r.RegisteredTx
			u.Approvals, u.ApprovedAt, u.ApprovedTx = approvals(r.Approvals), utc(r.ApprovedAt), r.ApprovedTx
		}
		ix.used[key] = u
	}
	if m.SHA256 != "" && m.SHA256 != u.SHA256 && !slices.Contains(u.SHA256Mismatch, m.SHA256) {
		u.SHA256Mismatch = append(u.SHA256Mismatch, m.SHA256)
		slices.Sort(u.SHA256Mismatch)
	}
	if alert {
		u.Alerts++
	} else {
		u.Batches++
	}
}

func (ix *modelIndex) report() []Model {
	out := []Model{}
	for _, k := range sortedKeys(ix.used) {
		out = append(out, *ix.used[k])
	}
	return out
}

func approvals(as []wire.Approval) []Approval {
	out := make([]Approval, 0, len(as))
	for _, a := range as {
		out = append(out, Approval{MSP: a.MSP, Subject: a.Subject, At: utc(a.At), TxID: a.TxID})
	}
	return out
}

func actionTypes(as []wire.Action) []string {
	out := make([]string, 0, len(as))
	for _, a := range as {
		out = append(out, a.Type)
	}
	return out
}

func actor(a *wire.Actor) string {
	if a == nil || (a.MSP == "" && a.Subject == "") {
		return ""
	}
	return a.MSP + ": " + a.Subject
}

func utc(t wire.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func counts(m map[string]int) []Count {
	out := make([]Count, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, Count{Key: k, Count: m[k]})
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
