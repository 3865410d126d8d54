// Package alerts is the "alerts" contract: detections the gateways raise,
// many per transaction, and the analysts' decisions on them.
//
// Guarantees:
//   - RaiseAlerts writes exactly one key per new alert (no secondary
//     indexes), plus one per response request and one per rate-limit mark,
//     because on Fabric the cost of a transaction is its keys written;
//   - an alert is raised only by a gateway of the alert's own organisation,
//     for an event of a batch that gateway anchored, scored by a model the
//     batch lists, at an event time inside the batch's range; its id is
//     recomputed (wire.AlertID) and must match;
//   - a replayed alert id is reported as existing and neither rewritten
//     nor re-evaluated, so a retry after a crash writes nothing twice;
//   - every active policy is evaluated against every new alert, in a fixed
//     order, and the one chaincode event lists every request created;
//   - each alert's audit trail is its key history, read page by page.
package alerts

import (
	"fmt"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/ledgerguard/ledgerguard/chaincode/events"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/access"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/keys"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/state"
	"github.com/ledgerguard/ledgerguard/chaincode/responses"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// Contract is the alerts contract, registered as "alerts".
type Contract struct {
	contractapi.Contract
}

// New returns the contract with its name set.
func New() *Contract {
	c := &Contract{}
	c.Name = "alerts"
	return c
}

// RaiseAlerts records alertsJSON, a JSON array of 1..wire.MaxAlertsPerTx
// wire.Alert (without chaincode-set fields), evaluates the active policies
// against each new one and returns a wire.RaiseResult as JSON. If it
// created any response request it emits one ResponsesRequested event
// (wire.ResponseEvent) listing them all.
func (c *Contract) RaiseAlerts(ctx contractapi.TransactionContextInterface, alertsJSON string) (string, error) {
	const fn = "RaiseAlerts"
	res, err := raise(ctx, fn, alertsJSON)
	if err != nil {
		return "", fmt.Errorf("%s: %w", fn, err)
	}
	return state.JSON(res)
}

func raise(ctx contractapi.TransactionContextInterface, fn, alertsJSON string) (*wire.RaiseResult, error) {
	id, err := access.Require(ctx.GetClientIdentity(), fn, access.Gateway)
	if err != nil {
		return nil, err
	}
	list, err := wire.Decode[[]wire.Alert]([]byte(alertsJSON), "alerts")
	if err != nil {
		return nil, err
	}
	if len(list) == 0 || len(list) > wire.MaxAlertsPerTx {
		return nil, &wire.ValidationError{Field: "alerts", Reason: fmt.Sprintf("must hold 1..%d alerts, got %d", wire.MaxAlertsPerTx, len(list))}
	}
	seen := make(map[string]int, len(list))
	for i := range list {
		a := &list[i]
		if err := id.RequireOrg(fn, a.MSP); err != nil {
			return nil, err
		}
		if err := id.RequireGatewayID(fn, a.GatewayID); err != nil {
			return nil, err
		}
		field := fmt.Sprintf("alerts[%d]", i)
		if err := a.Validate(field); err != nil {
			return nil, err
		}
		if j, dup := seen[a.ID]; dup {
			return nil, &wire.ValidationError{Field: field + ".id", Reason: fmt.Sprintf("duplicates alerts[%d]", j)}
		}
		seen[a.ID] = i
	}
	stub := ctx.GetStub()
	if err := checkBatches(stub, list); err != nil {
		return nil, err
	}
	now, err := state.TxTime(stub)
	if err != nil {
		return nil, err
	}
	txID := stub.GetTxID()
	actor := id.Actor()
	planner := responses.NewPlanner(stub, now, txID)
	res := &wire.RaiseResult{TxID: txID, Existing: []string{}}
	for i := range list {
		a := &list[i]
		key, err := keys.Key(keys.Alert, a.ID)
		if err != nil {
			return nil, err
		}
		// One read per alert is the price of idempotency: a replayed id
		// must be recognised, never rewritten or re-evaluated.
		existing, err := stub.GetState(key)
		if err != nil {
			return nil, &state.LedgerError{Op: "get", Key: key, Err: err}
		}
		if existing != nil {
			res.Existing = append(res.Existing, a.ID)
			continue
		}
		a.Status, a.RaisedAt, a.RaisedTx, a.RaisedBy = wire.AlertOpen, now, txID, &actor
		if err := state.Put(stub, key, a); err != nil {
			return nil, err
		}
		res.Created++
		if err := planner.Plan(a); err != nil {
			return nil, err
		}
	}
	res.Responses, res.EvalErrors = planner.Created, planner.EvalErrors
	if len(planner.Created) > 0 {
		ev := wire.ResponseEvent{TxID: txID, Requests: planner.Created}
		if err := state.Emit(stub, wire.EventResponsesRequested, &ev); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// checkBatches verifies, reading each referenced batch once, that every
// alert's batch is anchored by the alert's own gateway, lists its detector
// and spans its event time.
func checkBatches(stub shim.ChaincodeStubInterface, list []wire.Alert) error {
	batches := map[string]*wire.Batch{}
	for i := range list {
		a := &list[i]
		field := fmt.Sprintf("alerts[%d]", i)
		b, ok := batches[a.BatchID]
		if !ok {
			var err error
			if b, err = events.LoadBatch(stub, a.BatchID); err != nil {
				return fmt.Errorf("%s.batchId: %w", field, err)
			}
			batches[a.BatchID] = b
		}
		if b.MSP != a.MSP || b.GatewayID != a.GatewayID {
			return &wire.ValidationError{Field: field + ".batchId", Reason: fmt.Sprintf("batch %s was anchored by %s/%s, not %s/%s", b.ID, b.MSP, b.GatewayID, a.MSP, a.GatewayID)}
		}
		if !b.HasModel(a.Detector) {
			return &wire.ValidationError{Field: field + ".detector", Reason: fmt.Sprintf("model %s version %s (sha256 %s) is not among the models batch %s lists", a.Detector.ID, a.Detector.Version, a.Detector.SHA256, b.ID)}
		}
		if a.EventTime.Before(b.FirstEventTime.Time) || a.EventTime.After(b.LastEventTime.Time) {
			return &wire.ValidationError{Field: field + ".eventTime", Reason: fmt.Sprintf("%s is outside batch %s's event time range %s..%s", a.EventTime, b.ID, b.FirstEventTime, b.LastEventTime)}
		}
	}
	return nil
}

// UpdateAlertStatus moves an alert of the caller's organisation (analyst
// or admin) to status (acknowledged, resolved, false-positive, or open to
// reopen a closed one) with a required reason. Repeating the current
// status with the same reason is a no-op. Returns the alert as JSON.
func (c *Contract) UpdateAlertStatus(ctx contractapi.TransactionContextInterface, alertID, status, reason string) (string, error) {
	const fn = "UpdateAlertStatus"
	a, err := updateStatus(ctx, fn, alertID, status, reason)
	if err != nil {
		return "", fmt.Errorf("%s: %w", fn, err)
	}
	return state.JSON(a)
}

func updateStatus(ctx contractapi.TransactionContextInterface, fn, alertID, status, reason string) (*wire.Alert, error) {
	id, err := access.Require(ctx.GetClientIdentity(), fn, access.Analyst)
	if err != nil {
		return nil, err
	}
	switch status {
	case wire.AlertOpen, wire.AlertAcknowledged, wire.AlertResolved, wire.AlertFalsePositive:
	default:
		return nil, &wire.ValidationError{Field: "status", Reason: fmt.Sprintf("%q must be acknowledged, resolved, false-positive or open", status)}
	}
	if err := wire.ValidateReason(reason); err != nil {
		return nil, err
	}
	stub := ctx.GetStub()
	a, key, err := load(stub, alertID)
	if err != nil {
		return nil, err
	}
	if err := id.RequireOrg(fn, a.MSP); err != nil {
		return nil, err
	}
	if a.Status == status && a.LastChange != nil && a.LastChange.Reason == reason {
		return a, nil // replay of the change already recorded
	}
	if !wire.AlertTransitionAllowed(a.Status, status) {
		return nil, &state.StateError{Kind: "alert", ID: a.ID, State: a.Status, Action: "move to " + status}
	}
	now, err := state.TxTime(stub)
	if err != nil {
		return nil, err
	}
	a.LastChange = &wire.AlertStatusChange{AlertID: a.ID, From: a.Status, Status: status, Reason: reason, By: id.Actor(), At: now, TxID: stub.GetTxID()}
	a.Status = status
	if err := state.Put(stub, key, a); err != nil {
		return nil, err
	}
	return a, nil
}

// GetAlert returns an alert as JSON.
func (c *Contract) GetAlert(ctx contractapi.TransactionContextInterface, alertID string) (string, error) {
	const fn = "GetAlert"
	if _, err := access.Require(ctx.GetClientIdentity(), fn, access.Read); err != nil {
		return "", fmt.Errorf("%s: %w", fn, err)
	}
	a, _, err := load(ctx.GetStub(), alertID)
	if err != nil {
		return "", fmt.Errorf("%s: %w", fn, err)
	}
	return state.JSON(a)
}

// ListAlerts returns a page (wire.Page of wire.Alert) of alerts matching
// filterJSON (a wire.AlertFilter; "" = all), in alert-id order. Alerts have
// no secondary index (one key per alert keeps RaiseAlerts cheap), so the
// query scans alert keys and filters: a page may hold fewer than pageSize
// records, or none, while the bookmark is not "" — follow it.
func (c *Contract) ListAlerts(ctx contractapi.TransactionContextInterface, filterJSON string, pageSize int32, bookmark string) (string, error) {
	const fn = "ListAlerts"
	if _, err := access.Require(ctx.GetClientIdentity(), fn, access.Read); err != nil {
		return "", fmt.Errorf("%s: %w", fn, err)
	}
	f, err := wire.DecodeOptional[wire.AlertFilter](filterJSON, "filter")
	if err != nil {
		return "", fmt.Errorf("%s: %w", fn, err)
	}
	if err := f.Validate(); err != nil {
		return "", fmt.Errorf("%s: %w", fn, err)
	}
	page, err := state.List(ctx.GetStub(), keys.Alert, nil, pageSize, bookmark, f.Match)
	if err != nil {
		return "", fmt.Errorf("%s: %w", fn, err)
	}
	return state.JSON(page)
}

// GetAlertHistory returns a page (wire.Page of wire.HistoryEntry of
// wire.Alert) of the alert's audit trail, newest first: the raise and
// every status change, each with its transaction id and timestamp.
func (c *Contract) GetAlertHistory(ctx contractapi.TransactionContextInterface, alertID string, pageSize int32, bookmark string) (string, error) {
	const fn = "GetAlertHistory"
	if _, err := access.Require(ctx.GetClientIdentity(), fn, access.Read); err != nil {
		return "", fmt.Errorf("%s: %w", fn, err)
	}
	stub := ctx.GetStub()
	_, key, err := load(stub, alertID)
	if err != nil {
		return "", fmt.Errorf("%s: %w", fn, err)
	}
	page, err := state.History[wire.Alert](stub, key, pageSize, bookmark)
	if err != nil {
		return "", fmt.Errorf("%s: %w", fn, err)
	}
	return state.JSON(page)
}

func load(stub shim.ChaincodeStubInterface, alertID string) (*wire.Alert, string, error) {
	if !wire.IsHash(alertID) {
		return nil, "", &wire.ValidationError{Field: "alertId", Reason: fmt.Sprintf("%q must be 64 lowercase hex digits", alertID)}
	}
	key, err := keys.Key(keys.Alert, alertID)
	if err != nil {
		return nil, "", err
	}
	a, found, err := state.Get[wire.Alert](stub, key)
	if err != nil {
		return nil, "", err
	}
	if !found {
		return nil, "", &state.NotFoundError{Kind: "alert", ID: alertID}
	}
	return a, key, nil
}
