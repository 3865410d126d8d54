package console

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
)

// evaluate reads a ledger query into out.
func (c *Console) evaluate(ctx context.Context, out any, contract, tx string, args ...string) error {
	raw, err := c.deps.Ledger.Evaluate(ctx, contract, tx, args...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &gateway.LedgerRejectedError{Op: tx, Stage: gateway.StageEvaluate, Code: wire.CodeInternal, Reason: "decode result: " + err.Error()}
	}
	return nil
}

func (c *Console) pageSize() string { return strconv.Itoa(c.cfg.PageSize) }

// ---- Overview ----

type modelRow struct {
	Name, Version, SHA256, State string
	ApprovedBy                   []string
	Problem                      string
}

type overviewData struct {
	Span       string
	Spans      []string
	Charts     []chart
	Sample     Sample
	HasSample  bool
	Lag        string
	Ready      bool
	HasReady   bool
	Checks     []kv
	Models     []modelRow
	ModelsOff  bool
	GatewayMSP string
	GatewayID  string
}

type kv struct{ Key, Value string }

func (c *Console) overview(w http.ResponseWriter, r *http.Request, s *session) {
	d := overviewData{GatewayMSP: c.deps.GatewayMSP, GatewayID: c.deps.GatewayID, Span: "hour", Spans: []string{"hour", "day"}}
	if v := r.URL.Query().Get("span"); v != "" {
		d.Span = v
	}
	sp, ok := spans[d.Span]
	if !ok {
		c.fail(w, r, s, http.StatusBadRequest, "Bad span", fmt.Sprintf("span %q is not one of hour, day.", d.Span))
		return
	}
	now := c.now()
	samples := c.samples.snapshot()
	if sp.Name == "day" {
		samples = c.samples.snapshotDay()
	}
	if c.deps.Stats != nil {
		cur := c.deps.Stats()
		if cur.At.IsZero() {
			cur.At = now
		}
		samples = append(samples, cur)
		d.Sample, d.HasSample = cur, true
		d.Lag = cur.Lag.Round(time.Millisecond).String()
	}
	n, per := sp.bars(), " per "+sp.Per
	d.Charts = []chart{
		spanChart("Events in"+per, "events", perBucket(samples, now, n, sp.Bucket, func(s Sample) uint64 { return s.Stored }), sp),
		spanChart("Events anchored"+per, "events", perBucket(samples, now, n, sp.Bucket, func(s Sample) uint64 { return s.Anchored }), sp),
		spanChart("Alerts raised"+per, "alerts", perBucket(samples, now, n, sp.Bucket, func(s Sample) uint64 { return s.Alerts }), sp),
	}
	ctx, cancel := c.ctx(r)
	times, partial, err := c.actionTimes(ctx, now.Add(-sp.Window))
	cancel()
	ac := spanChart("Actions executed"+per, "actions", countBuckets(times, now, n, sp.Bucket), sp)
	switch {
	case err != nil:
		_, _, why := ledgerAnswer(err)
		ac.Summary = "not available: " + why
	case partial:
		ac.Summary += fmt.Sprintf(" (from the first %d responses only)", maxActionResponses)
	}
	d.Charts = append(d.Charts, ac)
	if c.deps.Ready != nil {
		ctx, cancel := c.ctx(r)
		ready, checks := c.deps.Ready(ctx)
		cancel()
		d.Ready, d.HasReady = ready, true
		for k, v := range checks {
			d.Checks = append(d.Checks, kv{k, v})
		}
		sort.Slice(d.Checks, func(i, j int) bool { return d.Checks[i].Key < d.Checks[j].Key })
	}
	if c.deps.Models == nil {
		d.ModelsOff = true
	} else {
		for _, m := range c.deps.Models() {
			row := modelRow{Name: m.ID, Version: m.Version, SHA256: m.SHA256}
			ctx, cancel := c.ctx(r)
			var rec wire.ModelRecord
			if err := c.evaluate(ctx, &rec, wire.ContractModels, wire.TxGetModel, m.ID, m.Version); err != nil {
				_, _, row.Problem = ledgerAnswer(err)
			} else {
				row.State = rec.State
				for _, a := range rec.Approvals {
					row.ApprovedBy = append(row.ApprovedBy, a.MSP+" ("+a.Subject+")")
				}
			}
			cancel()
			d.Models = append(d.Models, row)
		}
	}
	c.render(w, r, s, http.StatusOK, "overview", "overview", "Overview", d)
}

// maxActionResponses bounds the responses the overview reads for its
// actions chart, so the page stays cheap however many there are.
const maxActionResponses = 5000

// actionTimes returns when this gateway's responses recorded an outcome
// (an action executed, succeeded or not) since since, from the ledger's
// responses (the responder keeps no counters the console could sample).
// partial: more responses exist than were read.
func (c *Console) actionTimes(ctx context.Context, since time.Time) ([]time.Time, bool, error) {
	f, _ := json.Marshal(wire.ResponseFilter{MSP: c.deps.GatewayMSP, GatewayID: c.deps.GatewayID})
	var times []time.Time
	bm, read := "", 0
	for read < maxActionResponses {
		var page wire.Page[wire.Response]
		if err := c.evaluate(ctx, &page, wire.ContractResponses, wire.TxListResponses, string(f), strconv.Itoa(wire.MaxPageSize), bm); err != nil {
			return nil, false, err
		}
		read += len(page.Records)
		for _, r := range page.Records {
			for _, o := range r.Outcomes {
				if t := o.At.Time; !t.IsZero() && !t.Before(since) {
					times = append(times, t)
				}
			}
		}
		if page.Bookmark == "" || len(page.Records) == 0 {
			return times, false, nil
		}
		bm = page.Bookmark
	}
	return times, true, nil
}

// ---- Alerts ----

type alertFilterForm struct {
	Status, Severity, Category, Model, Host, Gateway, MSP, From, To, Bookmark string
}

type alertsData struct {
	F        alertFilterForm
	Alerts   []wire.Alert
	Next     string
	First    string
	Fetched  int32
	Statuses []string
	Levels   []string
	Bad      string
}

// parseWhen reads a datetime-local or RFC 3339 value.
func parseWhen(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (use 2006-01-02T15:04 or RFC 3339)", v)
}

func (c *Console) alerts(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	f := alertFilterForm{Status: q.Get("status"), Severity: q.Get("severity"), Category: q.Get("category"), Model: q.Get("model"),
		Host: q.Get("host"), Gateway: q.Get("gateway"), MSP: q.Get("msp"), From: q.Get("from"), To: q.Get("to"), Bookmark: q.Get("bookmark")}
	d := alertsData{F: f, Statuses: []string{wire.AlertOpen, wire.AlertAcknowledged, wire.AlertResolved, wire.AlertFalsePositive},
		Levels: []string{wire.SeverityInfo, wire.SeverityLow, wire.SeverityMedium, wire.SeverityHigh, wire.SeverityCritical}}
	filter := wire.AlertFilter{MSP: f.MSP, GatewayID: f.Gateway, Status: f.Status, MinSeverity: f.Severity, Category: f.Category, Asset: f.Host}
	if filter.GatewayID != "" && filter.MSP == "" {
		filter.MSP = c.deps.GatewayMSP // the scan narrows by msp, then gateway
	}
	from, err1 := parseWhen(f.From)
	to, err2 := parseWhen(f.To)
	if err := firstErr(err1, err2, filter.Validate()); err != nil {
		c.fail(w, r, s, http.StatusBadRequest, "Bad filter", err.Error())
		return
	}
	if !from.IsZero() {
		filter.Since = wire.NewTime(from)
	}
	if !to.IsZero() {
		filter.Until = wire.NewTime(to)
	}
	fj, _ := json.Marshal(filter)
	ctx, cancel := c.ctx(r)
	defer cancel()
	var page wire.Page[wire.Alert]
	if err := c.evaluate(ctx, &page, wire.ContractAlerts, wire.TxListAlerts, string(fj), c.pageSize(), f.Bookmark); err != nil {
		c.ledgerFail(w, r, s, err)
		return
	}
	for _, a := range page.Records {
		// The ledger's filter has no model: it is applied to the page.
		if f.Model != "" && a.Detector.ID != f.Model && a.Detector.SHA256 != f.Model {
			continue
		}
		d.Alerts = append(d.Alerts, a)
	}
	d.Fetched = page.Fetched
	base := []string{"status", f.Status, "severity", f.Severity, "category", f.Category, "model", f.Model, "host", f.Host,
		"gateway", f.Gateway, "msp", f.MSP, "from", f.From, "to", f.To}
	if page.Bookmark != "" {
		d.Next = link(Prefix+"/alerts", append(base, "bookmark", page.Bookmark)...)
	}
	if f.Bookmark != "" {
		d.First = link(Prefix+"/alerts", base...)
	}
	c.render(w, r, s, http.StatusOK, "alerts", "alerts", "Alerts", d)
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// ---- Alert detail ----

type historyRow struct {
	wire.HistoryEntry[wire.Alert]
	Block    string
	Change   *wire.AlertStatusChange
	IsRaised bool
}

type citedEvent struct {
	Seq       uint64
	ID        string
	Time      time.Time
	Host      string
	Raw       string
	LeafHash  string
	Proof     gateway.InclusionProof
	Root      string
	TreeSize  uint64
	AnchorTx  string
	Block     uint64
	Available bool
	Why       string
}

type alertData struct {
	Alert       wire.Alert
	History     []historyRow
	HistoryNext string
	Event       citedEvent
	Responses   []wire.Response
	RespNext    string
	Problems    []string
	CanAct      bool
	Actions     []kv // status value, button label
	Self        string
}

func (c *Console) alertDetail(w http.ResponseWriter, r *http.Request, s *session) {
	batch, id := r.PathValue("batch"), r.PathValue("alert")
	ctx, cancel := c.ctx(r)
	defer cancel()
	d := alertData{Self: Prefix + "/alerts/" + url.PathEscape(batch) + "/" + url.PathEscape(id)}
	if err := c.evaluate(ctx, &d.Alert, wire.ContractAlerts, wire.TxGetAlert, batch, id); err != nil {
		c.ledgerFail(w, r, s, err)
		return
	}
	var hist wire.Page[wire.HistoryEntry[wire.Alert]]
	if err := c.evaluate(ctx, &hist, wire.ContractAlerts, wire.TxGetAlertHistory, batch, id, c.pageSize(), r.URL.Query().Get("history")); err != nil {
		c.ledgerFail(w, r, s, err)
		return
	}
	for _, e := range hist.Records {
		row := historyRow{HistoryEntry: e}
		if e.Value != nil {
			row.Change = e.Value.LastChange
			row.IsRaised = e.TxID == d.Alert.RaisedTx
		}
		if c.deps.Blocks != nil {
			if b, err := c.deps.Blocks(ctx, e.TxID); err == nil {
				row.Block = strconv.FormatUint(b, 10)
			}
		}
		d.History = append(d.History, row)
	}
	if hist.Bookmark != "" {
		d.HistoryNext = link(d.Self, "history", hist.Bookmark)
	}
	d.Event = c.citedEvent(ctx, d.Alert)
	rf, _ := json.Marshal(wire.ResponseFilter{AlertID: d.Alert.ID})
	var resp wire.Page[wire.Response]
	if err := c.evaluate(ctx, &resp, wire.ContractResponses, wire.TxListResponses, string(rf), c.pageSize(), r.URL.Query().Get("responses")); err != nil {
		_, _, msg := ledgerAnswer(err)
		d.Problems = append(d.Problems, "responses: "+msg)
	} else {
		d.Responses = resp.Records
		if resp.Bookmark != "" {
			d.RespNext = link(d.Self, "responses", resp.Bookmark)
		}
	}
	for _, to := range []kv{{wire.AlertAcknowledged, "Acknowledge"}, {wire.AlertResolved, "Resolve"}, {wire.AlertFalsePositive, "Mark false positive"}, {wire.AlertOpen, "Reopen"}} {
		if wire.AlertTransitionAllowed(d.Alert.Status, to.Key) {
			d.Actions = append(d.Actions, to)
		}
	}
	d.CanAct = s.analyst
	c.render(w, r, s, http.StatusOK, "alert", "alerts", "Alert "+short(d.Alert.ID), d)
}

func short(s string) string {
	if len(s) > 16 {
		return s[:12] + "…"
	}
	return s
}

// citedEvent finds the alert's event in this gateway's store by its leaf
// hash within the alert's batch, with its inclusion proof against the
// batch's anchored root.
func (c *Console) citedEvent(ctx context.Context, a wire.Alert) citedEvent {
	ev := citedEvent{LeafHash: a.EventHash}
	if c.deps.Store == nil {
		ev.Why = "this gateway has no event store attached"
		return ev
	}
	if a.MSP != c.deps.GatewayMSP || a.GatewayID != c.deps.GatewayID {
		ev.Why = "the event is in the log of gateway " + a.MSP + "/" + a.GatewayID + ", not this gateway's; ask that gateway (or its evidence export) for the proof"
		return ev
	}
	b, err := c.deps.Store.Batch(ctx, a.BatchID)
	if err != nil {
		ev.Why = "batch " + a.BatchID + " is not in this gateway's store: " + err.Error()
		return ev
	}
	ev.Root, ev.TreeSize, ev.AnchorTx, ev.Block = b.RootHash, b.TreeSizeAfter, b.TxID, b.BlockNumber
	const chunk = 1000
	for from := b.TreeSizeBefore; from < b.TreeSizeAfter; from += chunk {
		to := min(from+chunk, b.TreeSizeAfter)
		leaves, err := c.deps.Store.Leaves(ctx, from, to)
		if err != nil {
			ev.Why = "read the batch's events: " + err.Error()
			return ev
		}
		for i, l := range leaves {
			if hex.EncodeToString(l.LeafHash[:]) != a.EventHash {
				continue
			}
			seq := from + uint64(i)
			p, err := c.deps.Store.InclusionProof(ctx, seq, b.TreeSizeAfter)
			if err != nil {
				ev.Why = "inclusion proof: " + err.Error()
				return ev
			}
			ev.Seq, ev.ID, ev.Time, ev.Host, ev.Proof, ev.Available = seq, l.Event.ID, l.Event.Time, l.Event.Host, p, true
			ev.Raw = string(l.Event.Raw)
			if len(ev.Raw) > 2048 {
				ev.Raw = ev.Raw[:2048] + "…"
			}
			return ev
		}
	}
	ev.Why = "no event of batch " + a.BatchID + " has leaf hash " + a.EventHash
	return ev
}

// alertStatus submits alerts:UpdateAlertStatus and shows the ledger's answer.
func (c *Console) alertStatus(w http.ResponseWriter, r *http.Request, s *session) {
	batch, id := r.PathValue("batch"), r.PathValue("alert")
	status := r.PostFormValue("status")
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	switch status {
	case wire.AlertAcknowledged, wire.AlertResolved, wire.AlertFalsePositive, wire.AlertOpen:
	default:
		c.fail(w, r, s, http.StatusBadRequest, "Bad request", fmt.Sprintf("%q is not an alert status. Nothing was changed.", status))
		return
	}
	if reason == "" {
		reason = status + " from the console by " + s.name
	}
	if err := wire.ValidateReason(reason); err != nil {
		c.fail(w, r, s, http.StatusBadRequest, "Bad reason", err.Error()+". Nothing was changed.")
		return
	}
	ctx, cancel := c.ctx(r)
	defer cancel()
	if _, err := c.deps.Ledger.Submit(ctx, wire.ContractAlerts, wire.TxUpdateAlertStatus, batch, id, status, reason); err != nil {
		c.log.Info("console: alert status refused", "credential", s.name, "alert", id, "err", err)
		c.ledgerFail(w, r, s, err)
		return
	}
	c.log.Info("console: alert status changed", "credential", s.name, "alert", id, "status", status)
	http.Redirect(w, r, link(Prefix+"/alerts/"+url.PathEscape(batch)+"/"+url.PathEscape(id), "done", "Alert "+status+": committed on the ledger."), http.StatusSeeOther)
}

// ---- Responses ----

type responsesData struct {
	State, Policy, Alert string
	States               []string
	Responses            []wire.Response
	Next, First          string
}

func (c *Console) responses(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	d := responsesData{State: q.Get("state"), Policy: q.Get("policy"), Alert: q.Get("alert"),
		States: []string{wire.ResponseRequested, wire.ResponseAwaitingApproval, wire.ResponseDryRun, wire.ResponseRateLimited,
			wire.ResponseSucceeded, wire.ResponseFailed, wire.ResponseRollbackRequested, wire.ResponseRolledBack}}
	fj, _ := json.Marshal(wire.ResponseFilter{State: d.State, PolicyID: d.Policy, AlertID: d.Alert})
	ctx, cancel := c.ctx(r)
	defer cancel()
	var page wire.Page[wire.Response]
	bm := q.Get("bookmark")
	if err := c.evaluate(ctx, &page, wire.ContractResponses, wire.TxListResponses, string(fj), c.pageSize(), bm); err != nil {
		c.ledgerFail(w, r, s, err)
		return
	}
	d.Responses = page.Records
	base := []string{"state", d.State, "policy", d.Policy, "alert", d.Alert}
	if page.Bookmark != "" {
		d.Next = link(Prefix+"/responses", append(base, "bookmark", page.Bookmark)...)
	}
	if bm != "" {
		d.First = link(Prefix+"/responses", base...)
	}
	c.render(w, r, s, http.StatusOK, "responses", "responses", "Responses", d)
}

// approveResponse submits responses:ApproveResponse.
func (c *Console) approveResponse(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	ctx, cancel := c.ctx(r)
	defer cancel()
	raw, err := c.deps.Ledger.Submit(ctx, wire.ContractResponses, wire.TxApproveResponse, id)
	if err != nil {
		c.log.Info("console: approval refused", "credential", s.name, "response", id, "err", err)
		c.ledgerFail(w, r, s, err)
		return
	}
	var resp wire.Response
	_ = json.Unmarshal(raw, &resp)
	c.log.Info("console: response approved", "credential", s.name, "response", id, "state", resp.State)
	back := safeNext(r.PostFormValue("back"))
	if back == Prefix+"/" {
		back = Prefix + "/responses"
	}
	http.Redirect(w, r, link(back, "done", "Response "+short(id)+" approved: now "+resp.State+"."), http.StatusSeeOther)
}

// ---- Policies ----

type policiesData struct {
	State       string
	States      []string
	Policies    []wire.Policy
	Next, First string
}

func (c *Console) policies(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	d := policiesData{State: q.Get("state"), States: []string{wire.PolicyActive, wire.PolicyProposed, wire.PolicySuperseded, wire.PolicyRevoked}}
	fj, _ := json.Marshal(wire.PolicyFilter{State: d.State})
	ctx, cancel := c.ctx(r)
	defer cancel()
	var page wire.Page[wire.Policy]
	bm := q.Get("bookmark")
	if err := c.evaluate(ctx, &page, wire.ContractPolicies, wire.TxListPolicies, string(fj), c.pageSize(), bm); err != nil {
		c.ledgerFail(w, r, s, err)
		return
	}
	d.Policies = page.Records
	if page.Bookmark != "" {
		d.Next = link(Prefix+"/policies", "state", d.State, "bookmark", page.Bookmark)
	}
	if bm != "" {
		d.First = link(Prefix+"/policies", "state", d.State)
	}
	c.render(w, r, s, http.StatusOK, "policies", "policies", "Policies", d)
}

type policyData struct {
	Policy  wire.Policy
	History []wire.HistoryEntry[wire.Policy]
	Next    string
}

func (c *Console) policyDetail(w http.ResponseWriter, r *http.Request, s *session) {
	id, ver := r.PathValue("id"), r.PathValue("version")
	if _, err := strconv.ParseUint(ver, 10, 32); err != nil {
		c.fail(w, r, s, http.StatusBadRequest, "Bad version", fmt.Sprintf("%q is not a policy version number.", ver))
		return
	}
	ctx, cancel := c.ctx(r)
	defer cancel()
	var d policyData
	if err := c.evaluate(ctx, &d.Policy, wire.ContractPolicies, wire.TxGetPolicy, id, ver); err != nil {
		c.ledgerFail(w, r, s, err)
		return
	}
	var hist wire.Page[wire.HistoryEntry[wire.Policy]]
	if err := c.evaluate(ctx, &hist, wire.ContractPolicies, wire.TxGetPolicyHistory, id, ver, c.pageSize(), r.URL.Query().Get("bookmark")); err != nil {
		c.ledgerFail(w, r, s, err)
		return
	}
	d.History = hist.Records
	if hist.Bookmark != "" {
		d.Next = link(Prefix+"/policies/"+url.PathEscape(id)+"/"+ver, "bookmark", hist.Bookmark)
	}
	c.render(w, r, s, http.StatusOK, "policy", "policies", "Policy "+id+" v"+ver, d)
}

// ---- Evidence ----

// batchRow is an anchored batch with its block, where known.
type batchRow struct {
	wire.Batch
	Block string
}

type evidenceData struct {
	MSP, Gateway, From, To string
	Batches                []batchRow
	Next, First            string
	MaxBundle              string
	Online                 bool
	Reports                bool
	Signer                 string
}

func (c *Console) evidence(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	d := evidenceData{MSP: q.Get("msp"), Gateway: q.Get("gateway"), From: q.Get("from"), To: q.Get("to"),
		MaxBundle: fmt.Sprintf("%d MiB", c.cfg.MaxBundleBytes>>20), Online: c.deps.Online != nil}
	if rs := c.deps.Reports; rs != nil && rs.Signer != nil {
		d.Reports, d.Signer = true, rs.Signer.MSPID()
	}
	if !q.Has("msp") && !q.Has("gateway") {
		d.MSP, d.Gateway = c.deps.GatewayMSP, c.deps.GatewayID
	}
	from, err1 := parseWhen(d.From)
	to, err2 := parseWhen(d.To)
	if err := firstErr(err1, err2); err != nil {
		c.fail(w, r, s, http.StatusBadRequest, "Bad filter", err.Error())
		return
	}
	rfc := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format(time.RFC3339)
	}
	ctx, cancel := c.ctx(r)
	defer cancel()
	var page wire.Page[wire.Batch]
	bm := q.Get("bookmark")
	if err := c.evaluate(ctx, &page, wire.ContractEvents, wire.TxListBatches, d.MSP, d.Gateway, rfc(from), rfc(to), c.pageSize(), bm); err != nil {
		c.ledgerFail(w, r, s, err)
		return
	}
	for _, b := range page.Records {
		row := batchRow{Batch: b}
		// The block is known for this gateway's own batches (its store
		// recorded the commit); other gateways' batches show the tx only.
		if c.deps.Store != nil && b.MSP == c.deps.GatewayMSP && b.GatewayID == c.deps.GatewayID {
			if sb, err := c.deps.Store.Batch(ctx, b.ID); err == nil && sb.TxID == b.TxID && sb.BlockNumber > 0 {
				row.Block = strconv.FormatUint(sb.BlockNumber, 10)
			}
		}
		d.Batches = append(d.Batches, row)
	}
	base := []string{"msp", d.MSP, "gateway", d.Gateway, "from", d.From, "to", d.To}
	if page.Bookmark != "" {
		d.Next = link(Prefix+"/evidence", append(base, "bookmark", page.Bookmark)...)
	}
	if bm != "" {
		d.First = link(Prefix+"/evidence", base...)
	}
	c.render(w, r, s, http.StatusOK, "evidence", "evidence", "Evidence", d)
}
