package wire

import "errors"

// Response states. RaiseAlerts creates a response as requested (run now),
// awaiting-approval (organisations must approve first), dry-run (recorded,
// never run) or rate-limited (the policy's limit for this target and window
// was reached: recorded, never run). The executor then records outcomes.
const (
	ResponseRequested         = "requested"
	ResponseAwaitingApproval  = "awaiting-approval"
	ResponseDryRun            = "dry-run"
	ResponseRateLimited       = "rate-limited"
	ResponseSucceeded         = "succeeded"
	ResponseFailed            = "failed"
	ResponseRollbackRequested = "rollback-requested"
	ResponseRolledBack        = "rolled-back"
	// ResponseRefused is the outcome of a responder that would not
	// execute a response: its organisation did not approve the policy
	// that requested it (and the policy is not its own org-scoped one).
	ResponseRefused = "refused"
)

// Chaincode event names. Fabric carries one event per transaction, so each
// names one kind and its payload ([ResponseEvent]) lists every request.
const (
	EventResponsesRequested = "ResponsesRequested"
	EventRollbackRequested  = "RollbackRequested"
)

// ApprovedBy reports whether msp is among the organisations that approved
// the response's policy version.
func (r *Response) ApprovedBy(msp string) bool { return contains(r.PolicyApprovedBy, msp) }

// MaxOutcomes bounds the outcomes one response can accumulate.
const MaxOutcomes = 16

// outcomeTransitions lists the states an outcome may be recorded from.
var outcomeTransitions = map[string][]string{
	ResponseSucceeded:  {ResponseRequested, ResponseFailed},
	ResponseFailed:     {ResponseRequested, ResponseRollbackRequested},
	ResponseRolledBack: {ResponseSucceeded, ResponseRollbackRequested},
	ResponseRefused:    {ResponseRequested},
}

// IsOutcomeStatus reports whether s is a status RecordOutcome accepts.
func IsOutcomeStatus(s string) bool {
	_, ok := outcomeTransitions[s]
	return ok
}

// OutcomeAllowed reports whether an outcome with status to may be recorded
// on a response in state from: requested → succeeded|failed|refused; failed →
// succeeded (a retry worked); succeeded → rolled-back (the executor undid
// it); rollback-requested → rolled-back|failed.
func OutcomeAllowed(from, to string) bool {
	return contains(outcomeTransitions[to], from)
}

// Outcome is one result the executor reported for a response.
type Outcome struct {
	Status string `json:"status"`
	Detail string `json:"detail"`
	By     Actor  `json:"by"`
	At     Time   `json:"at"`
	TxID   string `json:"txId"`
}

// Response is the record of what a policy version decided for one alert
// (AlertID of batch BatchID):
// the actions (parameters resolved from the alert), the approvals it needs
// and got, and what the executor reported. MSP and GatewayID are the
// alert's: that organisation's gateway executes and reports.
// PolicyScope, PolicyOwner and PolicyApprovedBy copy, at planning time,
// the policy version's scope, owner and approving organisations, so a
// responder can check that its own organisation enacted the policy before
// it acts (defence in depth: the chaincode already enforces the quorum).
type Response struct {
	ID                string   `json:"id"`
	AlertID           string   `json:"alertId"`
	BatchID           string   `json:"batchId"`
	PolicyID          string   `json:"policyId"`
	PolicyVersion     uint32   `json:"policyVersion"`
	MSP               string   `json:"msp"`
	GatewayID         string   `json:"gatewayId"`
	Mode              string   `json:"mode"`
	State             string   `json:"state"`
	Target            string   `json:"target"`
	Actions           []Action `json:"actions"`
	PolicyScope       string   `json:"policyScope,omitempty"`
	PolicyOwner       string   `json:"policyOwner,omitempty"`
	PolicyApprovedBy  []string `json:"policyApprovedBy,omitempty"`
	RequiredApprovals int      `json:"requiredApprovals"`
	// LimitedBy says which blast-radius limit stopped the response
	// (LimitedByPolicy, LimitedByOrgCap + ":" + action type): it is
	// rate-limited, or awaiting approval when its policy escalates.
	LimitedBy      string     `json:"limitedBy,omitempty"`
	Approvals      []Approval `json:"approvals,omitempty"`
	Outcomes       []Outcome  `json:"outcomes,omitempty"`
	RollbackBy     *Actor     `json:"rollbackBy,omitempty"`
	RollbackReason string     `json:"rollbackReason,omitempty"`
	CreatedAt      Time       `json:"createdAt"`
	CreatedTx      string     `json:"createdTx"`
	UpdatedAt      Time       `json:"updatedAt,omitzero"`
	UpdatedTx      string     `json:"updatedTx,omitempty"`
}

// ResponseRequest is a response as the chaincode event announces it: what
// to do, for which alert (AlertID in batch BatchID: the pair GetAlert
// takes), and in which state. Executors act only on state
// requested (and on rollback-requested in a RollbackRequested event).
type ResponseRequest struct {
	ID            string   `json:"id"`
	AlertID       string   `json:"alertId"`
	BatchID       string   `json:"batchId"`
	PolicyID      string   `json:"policyId"`
	PolicyVersion uint32   `json:"policyVersion"`
	MSP           string   `json:"msp"`
	GatewayID     string   `json:"gatewayId"`
	Mode          string   `json:"mode"`
	State         string   `json:"state"`
	Target        string   `json:"target"`
	Actions       []Action `json:"actions"`
	// PolicyScope, PolicyOwner and PolicyApprovedBy are the response's
	// (see [Response]).
	PolicyScope      string   `json:"policyScope,omitempty"`
	PolicyOwner      string   `json:"policyOwner,omitempty"`
	PolicyApprovedBy []string `json:"policyApprovedBy,omitempty"`
}

// Request returns the event view of the response.
func (r *Response) Request() ResponseRequest {
	return ResponseRequest{
		ID: r.ID, AlertID: r.AlertID, BatchID: r.BatchID, PolicyID: r.PolicyID, PolicyVersion: r.PolicyVersion,
		MSP: r.MSP, GatewayID: r.GatewayID, Mode: r.Mode, State: r.State, Target: r.Target, Actions: r.Actions,
		PolicyScope: r.PolicyScope, PolicyOwner: r.PolicyOwner, PolicyApprovedBy: r.PolicyApprovedBy,
	}
}

// ResponseEvent is the payload of the ResponsesRequested and
// RollbackRequested chaincode events: every request one transaction
// created or made runnable, in the order it handled them.
type ResponseEvent struct {
	TxID     string            `json:"txId"`
	Requests []ResponseRequest `json:"requests"`
}

// ResponseFilter selects responses in ListResponses; empty fields match
// everything.
type ResponseFilter struct {
	MSP       string `json:"msp,omitempty"`
	GatewayID string `json:"gatewayId,omitempty"`
	State     string `json:"state,omitempty"`
	PolicyID  string `json:"policyId,omitempty"`
	AlertID   string `json:"alertId,omitempty"`
}

// Match reports whether a response passes the filter.
func (f *ResponseFilter) Match(r *Response) bool {
	return (f.MSP == "" || r.MSP == f.MSP) && (f.GatewayID == "" || r.GatewayID == f.GatewayID) &&
		(f.State == "" || r.State == f.State) && (f.PolicyID == "" || r.PolicyID == f.PolicyID) &&
		(f.AlertID == "" || r.AlertID == f.AlertID)
}

// ValidateOutcomeDetail checks the executor's free-text detail.
func ValidateOutcomeDetail(detail string) error {
	return checkText("detail", detail, 4096, false)
}

// ValidateReason checks an analyst's or author's free-text reason, which is
// required: every decision on the ledger says why.
func ValidateReason(reason string) error {
	return checkText("reason", reason, maxTextLen, true)
}

// MaxOutcomesPerTx bounds the outcomes one RecordOutcomes transaction
// records: each is one key written, and a few hundred keep a transaction
// well inside a block while making the per-transaction cost (signatures,
// endorsement, validation) negligible per outcome.
const MaxOutcomesPerTx = 500

// OutcomeRecord is one outcome in a RecordOutcomes argument: the same
// three values RecordOutcome takes.
type OutcomeRecord struct {
	ResponseID string `json:"responseId"`
	Status     string `json:"status"`
	Detail     string `json:"detail"`
}

// Validate checks a record's own fields (the response id's form, the
// status, the detail); field prefixes the error's field (e.g. "outcomes[3]").
func (o *OutcomeRecord) Validate(field string) error {
	switch {
	case !IsHash(o.ResponseID):
		return &ValidationError{Field: field + ".responseId", Reason: "must be 64 lowercase hex digits"}
	case !IsOutcomeStatus(o.Status):
		return &ValidationError{Field: field + ".status", Reason: "must be succeeded, failed, rolled-back or refused"}
	}
	if err := ValidateOutcomeDetail(o.Detail); err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			ve.Field = field + "." + ve.Field
		}
		return err
	}
	return nil
}

// OutcomeResult is what RecordOutcomes did with one record. Code is empty
// when the record is accepted: Recorded then says whether this
// transaction appended the outcome (false: the response already had that
// status, a replay). Otherwise Code (CodeInvalid, CodeDenied or
// CodeState) and Message say why this record alone was refused; State is
// the response's state after the transaction whenever it was read.
type OutcomeResult struct {
	ResponseID string `json:"responseId"`
	State      string `json:"state,omitempty"`
	Recorded   bool   `json:"recorded,omitempty"`
	Code       Code   `json:"code,omitempty"`
	Message    string `json:"message,omitempty"`
}

// OK reports whether the record was accepted (recorded or a replay).
func (r *OutcomeResult) OK() bool { return r.Code == "" }

// OutcomesResult is RecordOutcomes' result: one OutcomeResult per record,
// in the order of the argument.
type OutcomesResult struct {
	Results []OutcomeResult `json:"results"`
}

// MaxResponsesPerRead bounds the ids one GetResponses call reads.
const MaxResponsesPerRead = MaxPageSize

// ResponseLookup is GetResponses' answer for one id: the response, or the
// code (CodeInvalid for a malformed id, CodeNotFound) and message saying
// why there is none.
type ResponseLookup struct {
	ID       string    `json:"id"`
	Response *Response `json:"response,omitempty"`
	Code     Code      `json:"code,omitempty"`
	Message  string    `json:"message,omitempty"`
}
