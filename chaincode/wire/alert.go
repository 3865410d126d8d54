package wire

import (
	"errors"
	"sort"
)

// Limits on alerts; they bound one transaction's size and one record's.
const (
	MaxAlertsPerTx   = 2000
	MaxAlertFields   = 32
	MaxFieldValueLen = 512
	maxTextLen       = 1024

	// MaxAlertSetsPerBatch bounds the alert sets one batch can hold: each
	// RaiseAlerts transaction that creates alerts of a batch adds one set,
	// and every later RaiseAlerts for that batch reads them all (the
	// idempotency check), so the read stays bounded. A gateway raises a
	// batch's alerts in one or a few transactions; the limit only stops a
	// runaway client.
	MaxAlertSetsPerBatch = 64
)

// TransientAlerts is the transient-map key that carries RaiseAlerts'
// alerts (the JSON array its argument would hold) when the argument is
// empty. The block then holds each alert once, in the set the chaincode
// writes, instead of also as the transaction's argument: alerts are most
// of a busy channel's bytes, and every byte of a block is hashed, copied,
// replicated and stored by every orderer and peer.
const TransientAlerts = "alerts.list"

// Alert severities, lowest first.
const (
	SeverityInfo     = "info"
	SeverityLow      = "low"
	SeverityMedium   = "medium"
	SeverityHigh     = "high"
	SeverityCritical = "critical"
)

var severityLevels = map[string]int64{
	SeverityInfo: 0, SeverityLow: 1, SeverityMedium: 2, SeverityHigh: 3, SeverityCritical: 4,
}

// SeverityLevel returns the rank of a severity (info 0 … critical 4) and
// whether s is a known severity; policies compare ranks, not names.
func SeverityLevel(s string) (int64, bool) {
	l, ok := severityLevels[s]
	return l, ok
}

// Alert statuses. An alert is raised open; analysts move it on.
const (
	AlertOpen          = "open"
	AlertAcknowledged  = "acknowledged"
	AlertResolved      = "resolved"
	AlertFalsePositive = "false-positive"
	// AlertSuppressed is the status of an alert an active suppress rule
	// matched when it was raised: recorded and countable, never evaluated
	// by response policies. Analysts may still open or close it.
	AlertSuppressed = "suppressed"
)

// alertTransitions lists, for each status, the statuses it may move to:
// open and acknowledged alerts can be acknowledged, resolved or marked
// false-positive; a closed alert can only be reopened.
var alertTransitions = map[string][]string{
	AlertOpen:          {AlertAcknowledged, AlertResolved, AlertFalsePositive},
	AlertAcknowledged:  {AlertResolved, AlertFalsePositive},
	AlertResolved:      {AlertOpen},
	AlertFalsePositive: {AlertOpen},
	AlertSuppressed:    {AlertOpen, AlertResolved, AlertFalsePositive},
}

// AlertTransitionAllowed reports whether an alert in status from may move
// to status to.
func AlertTransitionAllowed(from, to string) bool {
	for _, s := range alertTransitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Alert is one detection: an event (by hash, anchored in BatchID) that a
// model flagged. The gateway fills the fields down to Fields. The ledger
// stores alerts in sets ([AlertSet]); GetAlert and ListAlerts return them
// with Status, RaisedAt, RaisedTx, RaisedBy (from the set) and LastChange
// (from the alert's status record, absent until an analyst acts) filled in.
//
// Asset, Principal and Fields values may be pseudonymised ([Pseudonym]);
// Category holds a MITRE ATT&CK technique (T1110, T1110.001) or tactic
// (TA0006) where known, else a short free label.
type Alert struct {
	ID string `json:"id"`
	// MSP, GatewayID and BatchID are left out of the alerts of a stored
	// [AlertSet] (see [AlertSet.Add]); everywhere else they are set.
	MSP       string            `json:"msp,omitempty"`
	GatewayID string            `json:"gatewayId,omitempty"`
	EventHash string            `json:"eventHash"`
	BatchID   string            `json:"batchId,omitempty"`
	EventTime Time              `json:"eventTime"`
	Detector  Model             `json:"detector"`
	Score     float64           `json:"score"`
	Severity  string            `json:"severity"`
	Category  string            `json:"category"`
	Asset     string            `json:"asset,omitempty"`
	Principal string            `json:"principal,omitempty"`
	Fields    map[string]string `json:"fields,omitempty"`

	Status     string             `json:"status,omitempty"`
	RaisedAt   Time               `json:"raisedAt,omitzero"`
	RaisedTx   string             `json:"raisedTx,omitempty"`
	RaisedBy   *Actor             `json:"raisedBy,omitempty"`
	LastChange *AlertStatusChange `json:"lastChange,omitempty"`

	// SuppressedBy names the suppress rule that matched the alert when it
	// was raised (stored in the set; the alert reads as suppressed).
	SuppressedBy *RuleRef `json:"suppressedBy,omitempty"`
	// DedupKey is the key attributes (digest, window start) of the
	// alert's DedupRecord when a dedup rule matched it (stored in the
	// set); reads fill Count and LastSeen from that record.
	DedupKey string `json:"dedupKey,omitempty"`
	Count    int    `json:"count,omitempty"`
	LastSeen Time   `json:"lastSeen,omitzero"`
}

// AlertStatusChange is one analyst decision on an alert: the new status,
// who made it and why. It is the value of the alert's status record (one
// small key per alert, written only when an analyst acts); that key's
// history holds every change, and a read of the alert carries the latest.
type AlertStatusChange struct {
	AlertID string `json:"alertId"`
	BatchID string `json:"batchId"`
	From    string `json:"from"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	By      Actor  `json:"by"`
	At      Time   `json:"at"`
	TxID    string `json:"txId"`
}

// AlertSet is how the ledger stores alerts: the alerts one RaiseAlerts
// transaction created for one batch, under one key
// (msp, gatewayId, batchId, seq), so a transaction writes one key per batch
// however many alerts it carries. Seq numbers a batch's sets from 0 (at
// most [MaxAlertSetsPerBatch]). Alerts are sorted by id and hold only the
// gateway's fields, less MSP, GatewayID, BatchID and their detector's
// SHA256 ([AlertSet.Add]); the set carries those, and RaisedAt, RaisedTx
// and RaisedBy, once for all of them. Read an alert of a set with
// [AlertSet.Recorded].
type AlertSet struct {
	MSP       string  `json:"msp"`
	GatewayID string  `json:"gatewayId"`
	BatchID   string  `json:"batchId"`
	Seq       int     `json:"seq"`
	RaisedAt  Time    `json:"raisedAt"`
	RaisedTx  string  `json:"raisedTx"`
	RaisedBy  Actor   `json:"raisedBy"`
	Alerts    []Alert `json:"alerts"`
	// Models lists the detectors of Alerts, each once, in the order Add
	// first met them; an alert's detector whose id and version it lists
	// leaves its sha256 out. Absent from sets written before 2026-12-05.
	Models []Model `json:"models,omitempty"`
	// Merged lists the detections of this batch the transaction merged
	// into existing alerts (deduplication), sorted by id.
	Merged []MergedDetection `json:"merged,omitempty"`
}

// FindMerged returns the index of the merged detection with id (Merged
// is sorted by id), or -1.
func (s *AlertSet) FindMerged(id string) int {
	i := sort.Search(len(s.Merged), func(i int) bool { return s.Merged[i].ID >= id })
	if i < len(s.Merged) && s.Merged[i].ID == id {
		return i
	}
	return -1
}

// Find returns the index of the alert with id in the set (whose alerts are
// sorted by id), or -1.
func (s *AlertSet) Find(id string) int {
	i := sort.Search(len(s.Alerts), func(i int) bool { return s.Alerts[i].ID >= id })
	if i < len(s.Alerts) && s.Alerts[i].ID == id {
		return i
	}
	return -1
}

// Add appends alert a to the set as the set stores it: without MSP,
// GatewayID and BatchID, which the set carries once for all its alerts
// (its key is built from them), and with its detector's SHA256 in the
// set's Models table instead of in the alert (kept in the alert only if
// the table already holds another SHA256 for that id and version). These
// are about a third of a typical alert's bytes, and a set's bytes are what
// every endorser, orderer and peer handles; [AlertSet.Recorded] puts them
// back. Add alerts in a fixed order (RaiseAlerts: by id): the table's
// order, and so the stored bytes every endorser must agree on, follows it.
func (s *AlertSet) Add(a Alert) {
	a.MSP, a.GatewayID, a.BatchID = "", "", ""
	if sha, ok := s.modelSHA(a.Detector.ID, a.Detector.Version); !ok {
		s.Models = append(s.Models, a.Detector)
		a.Detector.SHA256 = ""
	} else if sha == a.Detector.SHA256 {
		a.Detector.SHA256 = ""
	}
	s.Alerts = append(s.Alerts, a)
}

// modelSHA returns the SHA256 the set's Models table holds for a model id
// and version, and whether it holds one.
func (s *AlertSet) modelSHA(id, version string) (string, bool) {
	for _, m := range s.Models {
		if m.ID == id && m.Version == version {
			return m.SHA256, true
		}
	}
	return "", false
}

// Recorded returns alert i of the set as recorded: with the set's MSP,
// GatewayID and BatchID where the stored alert leaves them out (sets
// written before [AlertSet.Add] carry them in every alert), its detector's
// SHA256 from the set's Models table where the alert leaves it out, the
// set's RaisedAt, RaisedTx and RaisedBy, and open (apply the alert's
// status record, if any, with [Alert.Apply]).
func (s *AlertSet) Recorded(i int) Alert {
	a := s.Alerts[i]
	if a.MSP == "" {
		a.MSP = s.MSP
	}
	if a.GatewayID == "" {
		a.GatewayID = s.GatewayID
	}
	if a.BatchID == "" {
		a.BatchID = s.BatchID
	}
	if a.Detector.SHA256 == "" {
		a.Detector.SHA256, _ = s.modelSHA(a.Detector.ID, a.Detector.Version)
	}
	by := s.RaisedBy
	a.Status, a.RaisedAt, a.RaisedTx, a.RaisedBy = AlertOpen, s.RaisedAt, s.RaisedTx, &by
	if a.SuppressedBy != nil {
		a.Status = AlertSuppressed
	}
	if a.DedupKey != "" && a.Count == 0 {
		a.Count, a.LastSeen = 1, a.EventTime
	}
	return a
}

// Apply sets the alert's current status from its latest status change.
func (a *Alert) Apply(c *AlertStatusChange) {
	if c == nil {
		return
	}
	a.Status, a.LastChange = c.Status, c
}

// Validate checks an alert as submitted by a gateway: required fields and
// formats, a known severity, bounded fields, that no chaincode-set field is
// present and that ID is the [AlertID] of the alert. field prefixes error
// paths (e.g. "alerts[3]"; "" = none); it is only used when the alert is
// invalid, so the happy path allocates nothing for it.
func (a *Alert) Validate(field string) error {
	err := a.validate()
	if err != nil && field != "" {
		prefixField(err, field)
	}
	return err
}

// prefixField prefixes a validation error's field with field and a dot
// (apart from Validate so that its happy path does not allocate the
// target errors.As needs).
func prefixField(err error, field string) {
	var ve *ValidationError
	if errors.As(err, &ve) {
		ve.Field = field + "." + ve.Field
	}
}

func (a *Alert) validate() error {
	if err := checkToken("msp", a.MSP, maxTokenLen); err != nil {
		return err
	}
	if err := checkToken("gatewayId", a.GatewayID, maxTokenLen); err != nil {
		return err
	}
	if err := checkHash("eventHash", a.EventHash); err != nil {
		return err
	}
	if err := checkHash("batchId", a.BatchID); err != nil {
		return err
	}
	if a.EventTime.IsZero() {
		return invalid("eventTime", "is required")
	}
	if err := a.Detector.validate("detector"); err != nil {
		return err
	}
	if _, ok := SeverityLevel(a.Severity); !ok {
		return invalid("severity", "%q is not one of info, low, medium, high, critical", truncate(a.Severity, 40))
	}
	if err := checkToken("category", a.Category, maxTokenLen); err != nil {
		return err
	}
	if err := checkText("asset", a.Asset, maxTextLen, false); err != nil {
		return err
	}
	if err := checkText("principal", a.Principal, maxTextLen, false); err != nil {
		return err
	}
	if len(a.Fields) > MaxAlertFields {
		return invalid("fields", "%d fields exceeds the limit of %d", len(a.Fields), MaxAlertFields)
	}
	if err := a.validateFields(); err != nil {
		return err
	}
	if a.Status != "" || !a.RaisedAt.IsZero() || a.RaisedTx != "" || a.RaisedBy != nil || a.LastChange != nil ||
		a.SuppressedBy != nil || a.DedupKey != "" || a.Count != 0 || !a.LastSeen.IsZero() {
		return invalid("status", "status, raisedAt, raisedTx, raisedBy, lastChange, suppressedBy, dedupKey, count and lastSeen are set by the chaincode and must be omitted")
	}
	if !isAlertID(a.ID, a.MSP, a.GatewayID, a.EventHash, a.Detector.ID, a.Detector.Version) {
		want := AlertID(a.MSP, a.GatewayID, a.EventHash, a.Detector.ID, a.Detector.Version)
		return invalid("id", "%q is not the alert id of these fields (want %s)", truncate(a.ID, 80), want)
	}
	return nil
}

// validateFields checks the fields map. Valid maps (the usual case) are
// checked in map order without sorting; only when one is bad are the keys
// sorted, so the first bad field is reported deterministically.
func (a *Alert) validateFields() error {
	bad := false
	for k, v := range a.Fields {
		if !isIdent(k) || checkText("fields", v, MaxFieldValueLen, false) != nil {
			bad = true
			break
		}
	}
	if !bad {
		return nil
	}
	keys := make([]string, 0, len(a.Fields))
	for k := range a.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !isIdent(k) {
			return invalid("fields", "key %q must match [A-Za-z_][A-Za-z0-9_]{0,63}", truncate(k, 80))
		}
		if err := checkText("fields["+k+"]", a.Fields[k], MaxFieldValueLen, false); err != nil {
			return err
		}
	}
	return nil
}

// isIdent reports whether s is a field name usable in CEL (alert.fields.k)
// and in action templates ({{alert.fields.k}}).
func isIdent(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// AlertFilter selects alerts in ListAlerts; empty fields match everything.
// Since/Until bound RaisedAt (since inclusive, until exclusive). MSP,
// GatewayID and BatchID narrow the scan itself (alert sets are keyed by
// msp, gateway and batch), so set them whenever they are known: a filter
// with msp, gatewayId and batchId reads only that batch's sets.
type AlertFilter struct {
	MSP         string `json:"msp,omitempty"`
	GatewayID   string `json:"gatewayId,omitempty"`
	Status      string `json:"status,omitempty"`
	MinSeverity string `json:"minSeverity,omitempty"`
	Category    string `json:"category,omitempty"`
	Asset       string `json:"asset,omitempty"`
	Principal   string `json:"principal,omitempty"`
	BatchID     string `json:"batchId,omitempty"`
	Since       Time   `json:"since,omitzero"`
	Until       Time   `json:"until,omitzero"`
}

// Validate checks the filter's enumerations.
func (f *AlertFilter) Validate() error {
	if f.MinSeverity != "" {
		if _, ok := SeverityLevel(f.MinSeverity); !ok {
			return invalid("filter.minSeverity", "%q is not a severity", truncate(f.MinSeverity, 40))
		}
	}
	if f.Status != "" {
		if _, ok := alertTransitions[f.Status]; !ok {
			return invalid("filter.status", "%q is not an alert status", truncate(f.Status, 40))
		}
	}
	return nil
}

// Match reports whether a recorded alert passes the filter.
func (f *AlertFilter) Match(a *Alert) bool {
	if f.MinSeverity != "" {
		min, _ := SeverityLevel(f.MinSeverity)
		if l, _ := SeverityLevel(a.Severity); l < min {
			return false
		}
	}
	switch {
	case f.MSP != "" && a.MSP != f.MSP,
		f.GatewayID != "" && a.GatewayID != f.GatewayID,
		f.Status != "" && a.Status != f.Status,
		f.Category != "" && a.Category != f.Category,
		f.Asset != "" && a.Asset != f.Asset,
		f.Principal != "" && a.Principal != f.Principal,
		f.BatchID != "" && a.BatchID != f.BatchID,
		!f.Since.IsZero() && a.RaisedAt.Before(f.Since.Time),
		!f.Until.IsZero() && !a.RaisedAt.Before(f.Until.Time):
		return false
	}
	return true
}

// RaiseResult is what RaiseAlerts returns: how many alerts it recorded, the
// ids it skipped because they were already on the ledger (a replay), the
// response requests it created (the same list the chaincode event
// carries) and the policy evaluations that failed (treated as no match).
// Merged lists the detections merged into an existing alert by a dedup
// rule (recorded as references, counted in that alert; not in Created),
// Suppressed the ids of new alerts recorded as suppressed (in Created).
// Every detection sent is in exactly one of Created, Merged or Existing.
type RaiseResult struct {
	TxID       string            `json:"txId"`
	Created    int               `json:"created"`
	Existing   []string          `json:"existing"`
	Merged     []MergedAlert     `json:"merged,omitempty"`
	Suppressed []string          `json:"suppressed,omitempty"`
	Responses  []ResponseRequest `json:"responses"`
	EvalErrors []EvalError       `json:"evalErrors,omitempty"`
}

// EvalError records a policy condition that failed to evaluate on an alert
// (e.g. a missing field key or the cost limit); such a policy does not
// match that alert.
type EvalError struct {
	AlertID       string `json:"alertId"`
	PolicyID      string `json:"policyId"`
	PolicyVersion uint32 `json:"policyVersion"`
	Error         string `json:"error"`
}
