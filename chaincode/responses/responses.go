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
//     an executor may retry after a timeout;
//   - every transaction sets at most one chaincode event, and none when it
//     created nothing runnable.
package responses

import (
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
	id, fn, stub := c.ID, c.Fn, c.Stub
	if !wire.IsOutcomeStatus(status) {
		return nil, &wire.ValidationError{Field: "status", Reason: fmt.Sprintf("%q must be succeeded, failed, rolled-back or refused", status)}
	}
	if err := wire.ValidateOutcomeDetail(detail); err != nil {
		return nil, err
	}
	r, key, err := Load(stub, responseID)
	if err != nil {
		return nil, err
	}
	if err := id.RequireOrg(fn, r.MSP); err != nil {
		return nil, err
	}
	// No gateway binding here: the responder executes its organisation's
	// responses whichever gateway raised the alert (respond.gateway_ids
	// may narrow that per process), and an outcome moves a response only
	// along the transitions OutcomeAllowed permits, so a gateway identity
	// of the org is the executor.
	if r.State == status {
		return r, nil // replay of the outcome already recorded
	}
	if !wire.OutcomeAllowed(r.State, status) {
		return nil, &state.StateError{Kind: "response", ID: r.ID, State: r.State, Action: "record outcome " + status}
	}
	if len(r.Outcomes) >= wire.MaxOutcomes {
		return nil, &state.StateError{Kind: "response", ID: r.ID, State: fmt.Sprintf("at its limit of %d outcomes", wire.MaxOutcomes), Action: "record outcome " + status}
	}
	now, err := state.TxTime(stub)
	if err != nil {
		return nil, err
	}
	txID := stub.GetTxID()
	r.Outcomes = append(r.Outcomes, wire.Outcome{Status: status, Detail: detail, By: id.Actor(), At: now, TxID: txID})
	r.State, r.UpdatedAt, r.UpdatedTx = status, now, txID
	if err := state.Put(stub, key, r); err != nil {
		return nil, err
	}
	return r, nil
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
