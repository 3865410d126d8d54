// Package responses is the "responses" contract: what happens to a
// response after RaiseAlerts created it (package planning decides and
// writes new ones).
//
// Guarantees:
//   - a response's id is wire.ResponseID(alert, policy, version), so the
//     same alert and policy version can never request twice;
//   - a response runs only in state requested: created so by an autonomous
//     enforce policy, or moved there once the policy's number of member
//     organisations approved it (ApproveResponse emits ResponsesRequested
//     at that moment, so the executor learns of it exactly once);
//   - only the owning organisation's gateway records outcomes, following
//     wire.OutcomeAllowed; re-recording the current status is a no-op, so
//     an executor may retry after a timeout; RecordOutcomes applies the
//     same rules to many outcomes in one transaction and refuses a bad
//     record alone;
//   - every transaction sets at most one chaincode event, and none when it
//     created nothing runnable.
package responses

import (
	"errors"
	"fmt"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/access"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/contract"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/keys"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/ledgerview"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/state"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// Contract is the responses contract, registered as "responses".
type Contract struct {
	contractapi.Contract
}

// New returns the contract with its name set.
func New() *Contract {
	return &Contract{Contract: contract.Named(wire.ContractResponses)}
}

// ApproveResponse records the caller's organisation's approval (the caller
// must be an admin of a member) of a response awaiting approval. When the
// approvals reach the policy's count the response becomes requested and
// the transaction emits ResponsesRequested for it. Approving twice is a
// no-op. Returns the response as JSON.
func (c *Contract) ApproveResponse(ctx contractapi.TransactionContextInterface, responseID string) (string, error) {
	return contract.Submit(ctx, wire.TxApproveResponse, access.Admin, func(tx contract.Call) (*wire.Response, error) { return approveResponse(tx, responseID) })
}

func approveResponse(c contract.Call, responseID string) (*wire.Response, error) {
	id, fn, stub := c.ID, c.Fn, c.Stub
	if _, err := ledgerview.MemberFor(stub, id, fn); err != nil {
		return nil, err
	}
	r, key, err := Load(stub, responseID)
	if err != nil {
		return nil, err
	}
	for _, a := range r.Approvals {
		if a.MSP == id.MSP {
			return r, nil
		}
	}
	if r.State != wire.ResponseAwaitingApproval {
		return nil, &state.StateError{Kind: "response", ID: r.ID, State: r.State, Action: "approve"}
	}
	now, err := state.TxTime(stub)
	if err != nil {
		return nil, err
	}
	txID := stub.GetTxID()
	r.Approvals = append(r.Approvals, wire.Approval{MSP: id.MSP, Subject: id.Subject, At: now, TxID: txID})
	r.UpdatedAt, r.UpdatedTx = now, txID
	runnable := len(r.Approvals) >= r.RequiredApprovals
	if runnable {
		r.State = wire.ResponseRequested
	}
	if err := state.Put(stub, key, r); err != nil {
		return nil, err
	}
	if runnable {
		ev := wire.ResponseEvent{TxID: txID, Requests: []wire.ResponseRequest{r.Request()}}
		if err := state.Emit(stub, wire.EventResponsesRequested, &ev); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// RecordOutcome records what the executor did (status succeeded, failed,
// rolled-back, or refused when it would not execute, with a free-text
// detail) for a response of the caller's organisation; the caller must have the gateway role. Recording the
// response's current status again is a no-op. Returns the response.
func (c *Contract) RecordOutcome(ctx contractapi.TransactionContextInterface, responseID, status, detail string) (string, error) {
	return contract.Submit(ctx, wire.TxRecordOutcome, access.Gateway, func(tx contract.Call) (*wire.Response, error) { return recordOutcome(tx, responseID, status, detail) })
}

func recordOutcome(c contract.Call, responseID, status, detail string) (*wire.Response, error) {
	if !wire.IsOutcomeStatus(status) {
		return nil, &wire.ValidationError{Field: "status", Reason: fmt.Sprintf("%q must be succeeded, failed, rolled-back or refused", status)}
	}
	if err := wire.ValidateOutcomeDetail(detail); err != nil {
		return nil, err
	}
	r, key, err := Load(c.Stub, responseID)
	if err != nil {
		return nil, err
	}
	now, err := state.TxTime(c.Stub)
	if err != nil {
		return nil, err
	}
	if _, err := applyOutcome(c, r, key, status, detail, now); err != nil {
		return nil, err
	}
	return r, nil
}

// RecordOutcomes records several outcomes in one transaction: outcomesJSON
// is a JSON array of 1..wire.MaxOutcomesPerTx wire.OutcomeRecord, each
// checked exactly as RecordOutcome checks its arguments (the caller has
// the gateway role; the response is its organisation's; the transition
// follows wire.OutcomeAllowed; re-recording the current status is a
// no-op). Returns a wire.OutcomesResult: one result per record, in order.
//
// A record's own refusal (wire.CodeInvalid for its fields,
// wire.CodeDenied for another organisation's response, wire.CodeState for
// a transition the response's state does not allow) is reported in its
// result and the others are still recorded: these refusals are final for
// that record alone, so one bad record never holds back the executor's
// other outcomes. The whole transaction fails, recording nothing, only
// when retrying all of it is right or the argument itself is malformed:
// a malformed array, a count out of range or a response id listed twice
// (wire.CodeInvalid); a response that does not exist (wire.CodeNotFound:
// an executor records only responses it has read, so on an endorser this
// means that peer has not caught up yet, and the client retries); and a
// world-state failure (wire.CodeUnavailable).
func (c *Contract) RecordOutcomes(ctx contractapi.TransactionContextInterface, outcomesJSON string) (string, error) {
	return contract.Submit(ctx, wire.TxRecordOutcomes, access.Gateway, func(tx contract.Call) (*wire.OutcomesResult, error) {
		return recordOutcomes(tx, outcomesJSON)
	})
}

func recordOutcomes(c contract.Call, outcomesJSON string) (*wire.OutcomesResult, error) {
	list, err := wire.Decode[[]wire.OutcomeRecord]([]byte(outcomesJSON), "outcomes")
	if err != nil {
		return nil, err
	}
	if len(list) == 0 || len(list) > wire.MaxOutcomesPerTx {
		return nil, &wire.ValidationError{Field: "outcomes", Reason: fmt.Sprintf("must hold 1..%d outcomes, got %d", wire.MaxOutcomesPerTx, len(list))}
	}
	first := make(map[string]int, len(list))
	for i := range list {
		if j, dup := first[list[i].ResponseID]; dup {
			return nil, &wire.ValidationError{Field: fmt.Sprintf("outcomes[%d].responseId", i), Reason: fmt.Sprintf("duplicates outcomes[%d]", j)}
		}
		first[list[i].ResponseID] = i
	}
	now, err := state.TxTime(c.Stub)
	if err != nil {
		return nil, err
	}
	out := &wire.OutcomesResult{Results: make([]wire.OutcomeResult, len(list))}
	for i := range list {
		o, res := &list[i], &out.Results[i]
		res.ResponseID = o.ResponseID
		if err := o.Validate(fmt.Sprintf("outcomes[%d]", i)); err != nil {
			refuse(res, err)
			continue
		}
		r, key, err := Load(c.Stub, o.ResponseID)
		if err != nil {
			return nil, fmt.Errorf("outcomes[%d]: %w", i, err)
		}
		res.State = r.State
		recorded, err := applyOutcome(c, r, key, o.Status, o.Detail, now)
		if err != nil {
			if !refusable(err) {
				return nil, fmt.Errorf("outcomes[%d]: %w", i, err)
			}
			refuse(res, err)
			continue
		}
		res.State, res.Recorded = r.State, recorded
	}
	return out, nil
}

// refusable reports whether err refuses one record of RecordOutcomes
// alone: its code is final for that record and says nothing about the
// others.
func refusable(err error) bool {
	var coded wire.Coder
	if !errors.As(err, &coded) {
		return false
	}
	switch coded.ErrorCode() {
	case wire.CodeInvalid, wire.CodeDenied, wire.CodeState:
		return true
	}
	return false
}

// refuse fills a record's result with its refusal.
func refuse(res *wire.OutcomeResult, err error) {
	e := wire.Encode(err).(*wire.Error)
	res.Code, res.Message = e.Code, e.Message
}

// applyOutcome records an outcome with status and detail (both already
// valid) on response r, stored under key, as caller c at time now, and
// writes it. It reports false, writing nothing, when r already has that
// status (a replay). r is updated in place.
func applyOutcome(c contract.Call, r *wire.Response, key, status, detail string, now wire.Time) (bool, error) {
	if err := c.ID.RequireOrg(c.Fn, r.MSP); err != nil {
		return false, err
	}
	// No gateway binding here: the responder executes its organisation's
	// responses whichever gateway raised the alert (respond.gateway_ids
	// may narrow that per process), and an outcome moves a response only
	// along the transitions OutcomeAllowed permits, so a gateway identity
	// of the org is the executor.
	if r.State == status {
		return false, nil // replay of the outcome already recorded
	}
	if !wire.OutcomeAllowed(r.State, status) {
		return false, &state.StateError{Kind: "response", ID: r.ID, State: r.State, Action: "record outcome " + status}
	}
	if len(r.Outcomes) >= wire.MaxOutcomes {
		return false, &state.StateError{Kind: "response", ID: r.ID, State: fmt.Sprintf("at its limit of %d outcomes", wire.MaxOutcomes), Action: "record outcome " + status}
	}
	txID := c.Stub.GetTxID()
	r.Outcomes = append(r.Outcomes, wire.Outcome{Status: status, Detail: detail, By: c.ID.Actor(), At: now, TxID: txID})
	r.State, r.UpdatedAt, r.UpdatedTx = status, now, txID
	if err := state.Put(c.Stub, key, r); err != nil {
		return false, err
	}
	return true, nil
}

// RequestRollback asks the executor to undo a succeeded response of the
// caller's organisation (analyst or admin), with a reason, and emits
// RollbackRequested. Asking again is a no-op without an event.
func (c *Contract) RequestRollback(ctx contractapi.TransactionContextInterface, responseID, reason string) (string, error) {
	return contract.Submit(ctx, wire.TxRequestRollback, access.Analyst, func(tx contract.Call) (*wire.Response, error) { return requestRollback(tx, responseID, reason) })
}

func requestRollback(c contract.Call, responseID, reason string) (*wire.Response, error) {
	id, fn, stub := c.ID, c.Fn, c.Stub
	if err := wire.ValidateReason(reason); err != nil {
		return nil, err
	}
	r, key, err := Load(stub, responseID)
	if err != nil {
		return nil, err
	}
	if err := id.RequireOrg(fn, r.MSP); err != nil {
		return nil, err
	}
	if r.State == wire.ResponseRollbackRequested {
		return r, nil
	}
	if r.State != wire.ResponseSucceeded {
		return nil, &state.StateError{Kind: "response", ID: r.ID, State: r.State, Action: "request rollback (only a succeeded response can be rolled back)"}
	}
	now, err := state.TxTime(stub)
	if err != nil {
		return nil, err
	}
	txID := stub.GetTxID()
	actor := id.Actor()
	r.State, r.RollbackBy, r.RollbackReason, r.UpdatedAt, r.UpdatedTx = wire.ResponseRollbackRequested, &actor, reason, now, txID
	if err := state.Put(stub, key, r); err != nil {
		return nil, err
	}
	ev := wire.ResponseEvent{TxID: txID, Requests: []wire.ResponseRequest{r.Request()}}
	if err := state.Emit(stub, wire.EventRollbackRequested, &ev); err != nil {
		return nil, err
	}
	return r, nil
}

// GetResponse returns a response as JSON.
func (c *Contract) GetResponse(ctx contractapi.TransactionContextInterface, responseID string) (string, error) {
	return contract.Read(ctx, wire.TxGetResponse, func(stub shim.ChaincodeStubInterface) (*wire.Response, error) {
		r, _, err := Load(stub, responseID)
		return r, err
	})
}

// GetResponses returns the responses idsJSON names (a JSON array of
// 1..wire.MaxResponsesPerRead ids) as a JSON array of
// wire.ResponseLookup, one per id in order: a malformed or unknown id is
// reported in its own entry, so one cannot hide the others. An executor
// reads what it is about to run in one call instead of one per response.
func (c *Contract) GetResponses(ctx contractapi.TransactionContextInterface, idsJSON string) (string, error) {
	return contract.Read(ctx, wire.TxGetResponses, func(stub shim.ChaincodeStubInterface) ([]wire.ResponseLookup, error) {
		ids, err := wire.Decode[[]string]([]byte(idsJSON), "ids")
		if err != nil {
			return nil, err
		}
		if len(ids) == 0 || len(ids) > wire.MaxResponsesPerRead {
			return nil, &wire.ValidationError{Field: "ids", Reason: fmt.Sprintf("must hold 1..%d ids, got %d", wire.MaxResponsesPerRead, len(ids))}
		}
		out := make([]wire.ResponseLookup, len(ids))
		for i, id := range ids {
			out[i].ID = id
			r, _, err := Load(stub, id)
			if err != nil {
				var coded wire.Coder
				if !errors.As(err, &coded) || (coded.ErrorCode() != wire.CodeNotFound && coded.ErrorCode() != wire.CodeInvalid) {
					return nil, fmt.Errorf("ids[%d]: %w", i, err)
				}
				refused := wire.Encode(err).(*wire.Error)
				out[i].Code, out[i].Message = refused.Code, refused.Message
				continue
			}
			out[i].Response = r
		}
		return out, nil
	})
}

// ListResponses returns a page (wire.Page of wire.Response) of responses
// matching filterJSON (a wire.ResponseFilter; "" = all), in id order. With
// a filter a page may hold fewer than pageSize records: follow the bookmark.
func (c *Contract) ListResponses(ctx contractapi.TransactionContextInterface, filterJSON string, pageSize int32, bookmark string) (string, error) {
	return contract.List(ctx, wire.TxListResponses, filterJSON, pageSize, bookmark, func(f *wire.ResponseFilter) contract.Query[wire.Response] {
		return contract.Query[wire.Response]{ObjectType: keys.Response, Keep: f.Match}
	})
}

// Load reads a response and returns it with its key; absence is a
// *state.NotFoundError.
func Load(stub shim.ChaincodeStubInterface, responseID string) (*wire.Response, string, error) {
	if !wire.IsHash(responseID) {
		return nil, "", &wire.ValidationError{Field: "responseId", Reason: fmt.Sprintf("%q must be 64 lowercase hex digits", responseID)}
	}
	key, err := keys.Key(keys.Response, responseID)
	if err != nil {
		return nil, "", err
	}
	r, found, err := state.Get[wire.Response](stub, key)
	if err != nil {
		return nil, "", err
	}
	if !found {
		return nil, "", &state.NotFoundError{Kind: "response", ID: responseID}
	}
	return r, key, nil
}
