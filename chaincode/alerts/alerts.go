// Package alerts is the "alerts" contract: detections the gateways raise,
// many per transaction, and the analysts' decisions on them.
//
// Storage: alerts live in sets. A RaiseAlerts transaction writes, for each
// batch its alerts reference, one wire.AlertSet under
// (msp, gatewayId, batchId, seq) holding all of that batch's new alerts,
// because on Fabric the cost of a transaction is its keys written (each
// PutState is a round trip between chaincode and peer, on every endorser).
// An analyst's status change writes a small per-alert status record under
// (batchId, alertId). Alerts are therefore addressed by (batchId, alertId).
//
// Guarantees:
//   - RaiseAlerts writes exactly one key per batch that has new alerts,
//     however many alerts it carries, plus one per response request and
//     one per rate-limit mark (matches are rare);
//   - an alert is raised only by a gateway of the alert's own organisation,
//     for an event of a batch that gateway anchored, scored by a model the
//     batch lists, at an event time inside the batch's range; its id is
//     recomputed (wire.AlertID) and must match;
//   - a replayed alert (same id in the same batch) is reported as existing
//     and neither rewritten nor re-evaluated, so a retry after a crash
//     writes nothing twice: RaiseAlerts reads the batch's existing sets (at
//     most wire.MaxAlertSetsPerBatch) with one range read. Fabric re-runs
//     that read at validation, so of two concurrent RaiseAlerts for the
//     same batch in one block the second is invalidated (a phantom read,
//     which the gateway retries); different batches never conflict;
//   - every active policy is evaluated against every new alert, in a fixed
//     order, and the one chaincode event lists every request created;
//   - each alert's audit trail is its creation (from its set) followed by
//     its status record's key history, read page by page;
//   - hygiene (package hygiene's rules, applied by hygiene.go): a new alert
//     an in-force suppress rule matches is recorded with status
//     suppressed, citing the rule, and never planned; a new alert a dedup
//     rule matches either opens its window's wire.DedupRecord or is merged
//     into the alert that did (its set keeps a wire.MergedDetection, the
//     record's count and last-seen grow, RaiseResult.Merged reports it,
//     and it is not planned again). Every detection is counted: each is in
//     exactly one of Created, Merged or Existing. A transaction writes one
//     dedup record per (entity, detector, category, window) it touched.
package alerts

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/access"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/contract"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/intelrec"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/keys"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/ledgerview"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/planning"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/state"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// Contract is the alerts contract, registered as "alerts".
type Contract struct {
	contractapi.Contract
}

// New returns the contract with its name set.
func New() *Contract {
	return &Contract{Contract: contract.Named(wire.ContractAlerts)}
}

// RaiseAlerts records alertsJSON, a JSON array of 1..wire.MaxAlertsPerTx
// wire.Alert (without chaincode-set fields), or, when alertsJSON is empty,
// the same array from the transient map (wire.TransientAlertsDeflate,
// compressed, or else wire.TransientAlerts: the gateway's way, so the
// block carries each alert once, in its set),
// evaluates the active policies
// against each new one and returns a wire.RaiseResult as JSON (Existing
// lists replayed ids ordered by batch id, then alert id). If it created any
// response request it emits one ResponsesRequested event
// (wire.ResponseEvent) listing them all.
func (c *Contract) RaiseAlerts(ctx contractapi.TransactionContextInterface, alertsJSON string) (string, error) {
	return contract.Submit(ctx, wire.TxRaiseAlerts, access.Gateway, func(tx contract.Call) (*wire.RaiseResult, error) { return raise(tx, alertsJSON) })
}

// at prefixes a validation error's field with alerts[i]; other errors pass.
func at(i int, err error) error {
	var ve *wire.ValidationError
	if errors.As(err, &ve) {
		ve.Field = "alerts[" + strconv.Itoa(i) + "]." + ve.Field
	}
	return err
}

// idIndex is an alert id and its index in the input, with the id's first
// eight bytes as a big-endian number (prefix): comparing prefixes orders
// two ids as comparing the ids does unless the prefixes are equal, and
// decides almost every comparison of a sort (ids are hex digests) with
// one instruction instead of a call.
type idIndex struct {
	prefix uint64
	id     string
	i      int
}

// idPrefix returns the first eight bytes of id as a big-endian number,
// zero-padded: prefix order is the ids' order where prefixes differ.
func idPrefix(id string) uint64 {
	var p uint64
	for k := 0; k < 8; k++ {
		p <<= 8
		if k < len(id) {
			p |= uint64(id[k])
		}
	}
	return p
}

// compareIDIndex orders by id, then input index.
func compareIDIndex(x, y idIndex) int {
	if x.prefix != y.prefix {
		return cmp.Compare(x.prefix, y.prefix)
	}
	return cmp.Or(strings.Compare(x.id, y.id), cmp.Compare(x.i, y.i))
}

func raise(c contract.Call, alertsJSON string) (*wire.RaiseResult, error) {
	id, fn, stub := c.ID, c.Fn, c.Stub
	list, err := decodeInput(stub, alertsJSON)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 || len(list) > wire.MaxAlertsPerTx {
		return nil, &wire.ValidationError{Field: "alerts", Reason: fmt.Sprintf("must hold 1..%d alerts, got %d", wire.MaxAlertsPerTx, len(list))}
	}
	for i := range list {
		a := &list[i]
		if err := id.RequireOrg(fn, a.MSP); err != nil {
			return nil, err
		}
		if err := id.RequireGatewayID(fn, a.GatewayID); err != nil {
			return nil, err
		}
		if err := a.Validate(""); err != nil {
			return nil, at(i, err)
		}
	}
	// order holds the input indices sorted by alert id: duplicates become
	// neighbours, and each batch's alerts come out already in set order.
	// Ties (duplicate ids, refused below) sort in input order, so the pair
	// the error names does not depend on the sort algorithm. The ids are
	// sorted beside their indices (not through list, whose alerts are
	// large) for locality.
	byID := make([]idIndex, len(list))
	for i := range list {
		byID[i] = idIndex{prefix: idPrefix(list[i].ID), id: list[i].ID, i: i}
	}
	slices.SortFunc(byID, compareIDIndex)
	order := make([]int, len(list))
	for k := range byID {
		order[k] = byID[k].i
		if k > 0 && byID[k].id == byID[k-1].id {
			return nil, &wire.ValidationError{Field: "alerts[" + strconv.Itoa(byID[k].i) + "].id", Reason: "duplicates alerts[" + strconv.Itoa(byID[k-1].i) + "]"}
		}
	}
	if err := checkBatches(stub, list); err != nil {
		return nil, err
	}
	groups := map[string][]int{}
	var batchIDs []string
	for _, i := range order {
		b := list[i].BatchID
		if _, ok := groups[b]; !ok {
			batchIDs = append(batchIDs, b)
		}
		groups[b] = append(groups[b], i)
	}
	sort.Strings(batchIDs)
	now, err := state.TxTime(stub)
	if err != nil {
		return nil, err
	}
	txID := stub.GetTxID()
	actor := id.Actor()
	planner := planning.NewPlanner(stub, now, txID)
	hy := newHygiene(stub, now, txID)
	res := &wire.RaiseResult{TxID: txID, Existing: []string{}}
	plan := make([]bool, len(list))
	for _, batchID := range batchIDs {
		idx := groups[batchID]
		first := &list[idx[0]]
		seq, have, err := existingIDs(stub, first.MSP, first.GatewayID, batchID)
		if err != nil {
			return nil, err
		}
		set := wire.AlertSet{MSP: first.MSP, GatewayID: first.GatewayID, BatchID: batchID, Seq: seq,
			RaisedAt: now, RaisedTx: txID, RaisedBy: actor, Alerts: make([]wire.Alert, 0, len(idx))}
		for _, i := range idx {
			a := &list[i]
			if _, dup := have[a.ID]; dup {
				res.Existing = append(res.Existing, a.ID)
				continue
			}
			into, merged, err := hy.apply(a)
			if err != nil {
				return nil, err
			}
			if merged {
				set.Merged = append(set.Merged, wire.MergedDetection{ID: a.ID, EventHash: a.EventHash, EventTime: a.EventTime, Into: into.AlertID, IntoBatchID: into.BatchID})
				res.Merged = append(res.Merged, wire.MergedAlert{AlertID: a.ID, IntoBatchID: into.BatchID, IntoAlertID: into.AlertID, Count: into.Count})
				continue
			}
			if a.SuppressedBy != nil {
				res.Suppressed = append(res.Suppressed, a.ID)
			} else {
				plan[i] = true
			}
			set.Add(*a)
		}
		if len(set.Alerts) == 0 && len(set.Merged) == 0 {
			continue // a replay of alerts already recorded: nothing to write
		}
		if seq >= wire.MaxAlertSetsPerBatch {
			return nil, &state.StateError{Kind: "batch", ID: batchID, State: fmt.Sprintf("at its limit of %d alert sets", wire.MaxAlertSetsPerBatch),
				Action: "raise more alerts for it (raise a batch's alerts in few transactions)"}
		}
		key, err := keys.Key(keys.AlertSet, set.MSP, set.GatewayID, batchID, keys.SetSeq(seq))
		if err != nil {
			return nil, err
		}
		value, err := wire.EncodeStoredAlertSet(&set)
		if err != nil {
			var ve *wire.ValidationError
			if errors.As(err, &ve) {
				return nil, err // too large a set: the caller's to split
			}
			return nil, &state.LedgerError{Op: "encode", Key: key, Err: err}
		}
		if err := state.PutRaw(stub, key, value); err != nil {
			return nil, err
		}
		res.Created += len(set.Alerts)
	}
	if err := hy.flush(); err != nil {
		return nil, err
	}
	// Policies see the new, unsuppressed alerts (not merged repeats) in
	// input order, so rate limits admit the alerts the gateway sent first.
	for i := range list {
		if plan[i] {
			if err := planner.Plan(&list[i]); err != nil {
				return nil, err
			}
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

// decodeInput decodes RaiseAlerts' alerts: alertsJSON, or when it is
// empty the transient map's (see RaiseAlerts).
func decodeInput(stub shim.ChaincodeStubInterface, alertsJSON string) ([]wire.Alert, error) {
	in := []byte(alertsJSON)
	if alertsJSON == "" {
		tm, err := stub.GetTransient()
		if err != nil {
			return nil, &state.LedgerError{Op: "read transient", Err: err}
		}
		if z, ok := tm[wire.TransientAlertsDeflate]; ok {
			// DecodeAlerts(InflateTransientAlerts(z))'s result, with kept
			// buffers.
			return wire.DecodeTransientAlerts(z)
		}
		var ok bool
		if in, ok = tm[wire.TransientAlerts]; !ok {
			return nil, &wire.ValidationError{Field: "alerts", Reason: "are required, as the argument or in transient " + wire.TransientAlerts + " or " + wire.TransientAlertsDeflate}
		}
	}
	return wire.DecodeAlerts(in, "alerts") // Decode[[]wire.Alert]'s result, faster
}

// existingIDs reads the batch's alert sets with one range read (which
// Fabric re-runs at validation: a concurrent new set of the same batch
// invalidates this transaction) and returns how many there are (the next
// set's seq) and the ids they hold (nil when there are none). It refuses
// more than wire.MaxAlertSetsPerBatch sets.
func existingIDs(stub shim.ChaincodeStubInterface, msp, gatewayID, batchID string) (int, map[string]struct{}, error) {
	attrs := []string{msp, gatewayID, batchID}
	it, err := stub.GetStateByPartialCompositeKey(keys.AlertSet, attrs)
	if err != nil {
		return 0, nil, &state.LedgerError{Op: "scan", Key: keys.AlertSet, Err: err}
	}
	defer it.Close()
	n := 0
	var have map[string]struct{}
	for it.HasNext() {
		kv, err := it.Next()
		if err != nil {
			return 0, nil, &state.LedgerError{Op: "scan", Key: keys.AlertSet, Err: err}
		}
		if n == wire.MaxAlertSetsPerBatch {
			return 0, nil, &state.LedgerError{Op: "scan", Key: kv.Key, Err: state.Inconsistent("batch %s has more than %d alert sets", batchID, wire.MaxAlertSetsPerBatch)}
		}
		n++
		if have == nil {
			have = make(map[string]struct{}, 1024)
		}
		// Only the ids: the idempotency check needs nothing else.
		if err := wire.StoredAlertSetIDs(kv.Value, func(id string) { have[id] = struct{}{} }); err != nil {
			return 0, nil, &state.LedgerError{Op: "decode", Key: kv.Key, Err: err}
		}
	}
	return n, have, nil
}

// checkBatches verifies, reading each referenced batch once, that every
// alert's batch is anchored by the alert's own gateway, lists its detector
// and spans its event time.
func checkBatches(stub shim.ChaincodeStubInterface, list []wire.Alert) error {
	batches := map[string]*wire.Batch{}
	for i := range list {
		a := &list[i]
		b, ok := batches[a.BatchID]
		if !ok {
			var err error
			if b, err = ledgerview.Batch(stub, a.BatchID); err != nil {
				return fmt.Errorf("alerts[%d].batchId: %w", i, err)
			}
			batches[a.BatchID] = b
		}
		if b.MSP != a.MSP || b.GatewayID != a.GatewayID {
			return &wire.ValidationError{Field: fmt.Sprintf("alerts[%d].batchId", i), Reason: fmt.Sprintf("batch %s was anchored by %s/%s, not %s/%s", b.ID, b.MSP, b.GatewayID, a.MSP, a.GatewayID)}
		}
		if a.Detector.ID == wire.DetectorIntelMatch {
			if err := checkIntelMatch(stub, a); err != nil {
				return fmt.Errorf("alerts[%d].detector: %w", i, err)
			}
		} else if !b.HasModel(a.Detector) {
			return &wire.ValidationError{Field: fmt.Sprintf("alerts[%d].detector", i), Reason: fmt.Sprintf("model %s version %s (sha256 %s) is not among the models batch %s lists", a.Detector.ID, a.Detector.Version, a.Detector.SHA256, b.ID)}
		}
		if a.EventTime.Before(b.FirstEventTime.Time) || a.EventTime.After(b.LastEventTime.Time) {
			return &wire.ValidationError{Field: fmt.Sprintf("alerts[%d].eventTime", i), Reason: fmt.Sprintf("%s is outside batch %s's event time range %s..%s", a.EventTime, b.ID, b.FirstEventTime, b.LastEventTime)}
		}
	}
	return nil
}

// checkIntelMatch verifies the indicator an intel-match alert cites
// rather than a model: its version must be the id of an indicator on the
// ledger, with the alert's sha256 as keyed hash, shared by the
// organisation the alert names, and visible to the alert's organisation
// (an AMBER indicator only to its recipients). A revoked or purged one is
// accepted: the gateway may have matched it just before the revocation
// reached it, and refusing would refuse the whole batch forever.
func checkIntelMatch(stub shim.ChaincodeStubInterface, a *wire.Alert) error {
	sharer := a.Fields[wire.AlertFieldIntelSharedBy]
	if a.Detector.Version != wire.IndicatorID(sharer, a.Detector.SHA256) {
		return &wire.ValidationError{Field: "detector", Reason: fmt.Sprintf("intel-match version %s is not the id of indicator %s shared by %q", a.Detector.Version, a.Detector.SHA256, sharer)}
	}
	k, err := keys.Key(keys.Indicator, a.Detector.Version)
	if err != nil {
		return err
	}
	ind, found, err := intelrec.Get(stub, k) // the intel contract's stored form
	if err != nil {
		return err
	}
	if !found || !ind.VisibleTo(a.MSP) {
		return &state.NotFoundError{Kind: "indicator", ID: a.Detector.Version}
	}
	if ind.Hash != a.Detector.SHA256 || ind.SharedBy != sharer {
		return &wire.ValidationError{Field: "detector", Reason: fmt.Sprintf("indicator %s has hash %s shared by %s, not %s by %s", ind.ID, ind.Hash, ind.SharedBy, a.Detector.SHA256, sharer)}
	}
	return nil
}

// UpdateAlertStatus moves alert alertID of batch batchID, of the caller's
// organisation (analyst or admin), to status (acknowledged, resolved,
// false-positive, or open to reopen a closed one) with a required reason,
// writing the alert's status record. Repeating the current status with the
// same reason is a no-op. Returns the alert as JSON.
func (c *Contract) UpdateAlertStatus(ctx contractapi.TransactionContextInterface, batchID, alertID, status, reason string) (string, error) {
	return contract.Submit(ctx, wire.TxUpdateAlertStatus, access.Analyst, func(tx contract.Call) (*wire.Alert, error) { return updateStatus(tx, batchID, alertID, status, reason) })
}

func updateStatus(c contract.Call, batchID, alertID, status, reason string) (*wire.Alert, error) {
	id, fn, stub := c.ID, c.Fn, c.Stub
	switch status {
	case wire.AlertOpen, wire.AlertAcknowledged, wire.AlertResolved, wire.AlertFalsePositive:
	default:
		return nil, &wire.ValidationError{Field: "status", Reason: fmt.Sprintf("%q must be acknowledged, resolved, false-positive or open", status)}
	}
	if err := wire.ValidateReason(reason); err != nil {
		return nil, err
	}
	r, err := load(stub, batchID, alertID)
	if err != nil {
		return nil, err
	}
	a := &r.alert
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
	change := &wire.AlertStatusChange{AlertID: a.ID, BatchID: a.BatchID, From: a.Status, Status: status, Reason: reason, By: id.Actor(), At: now, TxID: stub.GetTxID()}
	if err := state.Put(stub, r.statusKey, change); err != nil {
		return nil, err
	}
	a.Apply(change)
	return a, nil
}

// GetAlert returns alert alertID of batch batchID as JSON, with its
// current status.
func (c *Contract) GetAlert(ctx contractapi.TransactionContextInterface, batchID, alertID string) (string, error) {
	return contract.Read(ctx, wire.TxGetAlert, func(stub shim.ChaincodeStubInterface) (*wire.Alert, error) {
		r, err := load(stub, batchID, alertID)
		if err != nil {
			return nil, err
		}
		return &r.alert, nil
	})
}

// GetAlertHistory returns a page (wire.Page of wire.HistoryEntry of
// wire.Alert) of the alert's audit trail, newest first: every status
// change (from the status record's key history) and, for a deduplicated
// alert, every later transaction that merged detections into it (from its
// dedup record's key history, with the count and last-seen it left), then
// the raise (the transaction that wrote the alert's set). Each entry's value is the alert
// as that transaction left it. The bookmark is the transaction id of the
// last entry returned.
func (c *Contract) GetAlertHistory(ctx contractapi.TransactionContextInterface, batchID, alertID string, pageSize int32, bookmark string) (string, error) {
	return contract.Read(ctx, wire.TxGetAlertHistory, func(stub shim.ChaincodeStubInterface) (wire.Page[wire.HistoryEntry[wire.Alert]], error) {
		return history(stub, batchID, alertID, pageSize, bookmark)
	})
}

func history(stub shim.ChaincodeStubInterface, batchID, alertID string, pageSize int32, bookmark string) (wire.Page[wire.HistoryEntry[wire.Alert]], error) {
	page := wire.Page[wire.HistoryEntry[wire.Alert]]{Records: []wire.HistoryEntry[wire.Alert]{}}
	if err := state.CheckPageSize(pageSize); err != nil {
		return page, err
	}
	r, err := load(stub, batchID, alertID)
	if err != nil {
		return page, err
	}
	skipping := bookmark != ""
	// add appends e unless the page is full, in which case it sets the
	// bookmark and reports false.
	add := func(e wire.HistoryEntry[wire.Alert]) bool {
		if skipping {
			skipping = e.TxID != bookmark
			return true
		}
		if int32(len(page.Records)) == pageSize {
			page.Bookmark = page.Records[len(page.Records)-1].TxID
			return false
		}
		page.Records = append(page.Records, e)
		page.Fetched++
		return true
	}
	if r.raised.DedupKey != "" {
		// A deduplicated alert's trail interleaves its status changes
		// with the merges that grew its count.
		entries, raised, err := dedupTrail(stub, r)
		if err != nil {
			return page, err
		}
		for _, e := range entries {
			if !add(e) {
				return page, nil
			}
		}
		if !add(wire.HistoryEntry[wire.Alert]{TxID: raised.RaisedTx, Timestamp: raised.RaisedAt, Value: &raised}) {
			return page, nil
		}
		if skipping {
			return page, &wire.ValidationError{Field: "bookmark", Reason: fmt.Sprintf("transaction %s is not in this alert's history", strconv.Quote(bookmark))}
		}
		return page, nil
	}
	it, err := stub.GetHistoryForKey(r.statusKey)
	if err != nil {
		return page, &state.LedgerError{Op: "history", Key: r.statusKey, Err: err}
	}
	defer it.Close()
	for it.HasNext() {
		m, err := it.Next()
		if err != nil {
			return page, &state.LedgerError{Op: "history", Key: r.statusKey, Err: err}
		}
		e := wire.HistoryEntry[wire.Alert]{TxID: m.TxId, IsDelete: m.IsDelete}
		if m.Timestamp != nil {
			e.Timestamp = wire.NewTime(m.Timestamp.AsTime())
		}
		if !m.IsDelete {
			var change wire.AlertStatusChange
			if err := json.Unmarshal(m.Value, &change); err != nil {
				return page, &state.LedgerError{Op: "decode history", Key: r.statusKey, Err: err}
			}
			v := r.raised
			v.Apply(&change)
			e.Value = &v
		}
		if !add(e) {
			return page, nil
		}
	}
	raised := r.raised
	if !add(wire.HistoryEntry[wire.Alert]{TxID: raised.RaisedTx, Timestamp: raised.RaisedAt, Value: &raised}) {
		return page, nil
	}
	if skipping {
		return page, &wire.ValidationError{Field: "bookmark", Reason: fmt.Sprintf("transaction %s is not in this alert's history", strconv.Quote(bookmark))}
	}
	return page, nil
}

// Work bounds of one ListAlerts call: it reads at most listSets alert sets
// and stops after the set in which it examined listExamine alerts, so a
// selective filter over many sets returns a short (even empty) page with a
// bookmark instead of running long.
const (
	listSets    = 16
	listExamine = 5000
	// maxStatusScan bounds the range read of one batch's status records;
	// past it ListAlerts reads each candidate's status record instead.
	maxStatusScan = 1000
)

// ListAlerts returns a page (wire.Page of wire.Alert) of alerts matching
// filterJSON (a wire.AlertFilter; "" = all), with their current status, in
// set-key order (msp, gateway, batch, set) and alert-id order within a
// set. The filter's msp, gatewayId and batchId (each requiring the ones
// before it) narrow the scan to a key prefix; the other fields are applied
// to each alert examined. Fetched counts the alerts examined, so a page
// may hold fewer than pageSize records, or none, while the bookmark (the
// set key followed by the index in the set to resume at) is not "":
// follow it.
func (c *Contract) ListAlerts(ctx contractapi.TransactionContextInterface, filterJSON string, pageSize int32, bookmark string) (string, error) {
	return contract.Read(ctx, wire.TxListAlerts, func(stub shim.ChaincodeStubInterface) (wire.Page[wire.Alert], error) {
		f, err := wire.DecodeOptional[wire.AlertFilter](filterJSON, "filter")
		if err != nil {
			return wire.Page[wire.Alert]{}, err
		}
		if err := f.Validate(); err != nil {
			return wire.Page[wire.Alert]{}, err
		}
		return list(stub, &f, pageSize, bookmark)
	})
}

func list(stub shim.ChaincodeStubInterface, f *wire.AlertFilter, pageSize int32, bookmark string) (wire.Page[wire.Alert], error) {
	page := wire.Page[wire.Alert]{Records: []wire.Alert{}}
	if err := state.CheckPageSize(pageSize); err != nil {
		return page, err
	}
	var attrs []string
	if f.MSP != "" {
		attrs = append(attrs, f.MSP)
		if f.GatewayID != "" {
			attrs = append(attrs, f.GatewayID)
			if f.BatchID != "" {
				attrs = append(attrs, f.BatchID)
			}
		}
	}
	prefix, err := shim.CreateCompositeKey(keys.AlertSet, attrs)
	if err != nil {
		return page, &wire.ValidationError{Field: "filter", Reason: err.Error()}
	}
	startKey, skip := "", 0
	if bookmark != "" {
		cut := strings.LastIndexByte(bookmark, 0)
		n, err := strconv.Atoi(bookmark[cut+1:])
		if cut < 0 || err != nil || n < 0 || !strings.HasPrefix(bookmark, prefix) {
			return page, &wire.ValidationError{Field: "bookmark", Reason: "does not belong to this query (pass the bookmark of the previous page, or \"\")"}
		}
		startKey, skip = bookmark[:cut+1], n
	}
	it, meta, err := stub.GetStateByPartialCompositeKeyWithPagination(keys.AlertSet, attrs, listSets, startKey)
	if err != nil {
		return page, &state.LedgerError{Op: "scan", Key: prefix, Err: err}
	}
	defer it.Close()
	st := statuses{stub: stub, byBatch: map[string]map[string]*wire.AlertStatusChange{}}
	// Status lives in the status records: match the other fields first,
	// then read the status of the candidates only.
	rest := *f
	rest.Status = ""
	examined := 0
	for it.HasNext() {
		kv, err := it.Next()
		if err != nil {
			return page, &state.LedgerError{Op: "scan", Key: prefix, Err: err}
		}
		var set wire.AlertSet
		if err := wire.DecodeStoredAlertSet(kv.Value, &set); err != nil {
			return page, &state.LedgerError{Op: "decode", Key: kv.Key, Err: err}
		}
		from := 0
		if kv.Key == startKey {
			from = skip
		}
		if !f.Since.IsZero() && set.RaisedAt.Before(f.Since.Time) || !f.Until.IsZero() && !set.RaisedAt.Before(f.Until.Time) {
			from = len(set.Alerts) // the whole set is outside the time range
		}
		for i := from; i < len(set.Alerts); i++ {
			if int32(len(page.Records)) == pageSize {
				page.Bookmark = kv.Key + strconv.Itoa(i)
				return page, nil
			}
			examined++
			page.Fetched++
			a := set.Recorded(i)
			if !rest.Match(&a) {
				continue
			}
			if err := fillDedup(stub, &a); err != nil {
				return page, err
			}
			change, err := st.get(set.BatchID, a.ID)
			if err != nil {
				return page, err
			}
			a.Apply(change)
			if f.Status != "" && a.Status != f.Status {
				continue
			}
			page.Records = append(page.Records, a)
		}
		if examined >= listExamine {
			// Resume at the next set: the one after this key.
			if it.HasNext() {
				next, err := it.Next()
				if err != nil {
					return page, &state.LedgerError{Op: "scan", Key: prefix, Err: err}
				}
				page.Bookmark = next.Key + "0"
			} else if meta != nil && meta.Bookmark != "" {
				page.Bookmark = meta.Bookmark + "0"
			}
			return page, nil
		}
	}
	if meta != nil && meta.Bookmark != "" {
		page.Bookmark = meta.Bookmark + "0"
	}
	return page, nil
}

// statuses reads the status records of the alerts ListAlerts examines:
// one bounded range read per batch (status records are rare, so usually a
// single empty read), falling back to one read per alert for a batch with
// more than maxStatusScan of them.
type statuses struct {
	stub    shim.ChaincodeStubInterface
	byBatch map[string]map[string]*wire.AlertStatusChange // nil map: too many, read one by one
}

func (s *statuses) get(batchID, alertID string) (*wire.AlertStatusChange, error) {
	m, ok := s.byBatch[batchID]
	if !ok {
		var err error
		if m, err = s.scan(batchID); err != nil {
			return nil, err
		}
		s.byBatch[batchID] = m
	}
	if m != nil {
		return m[alertID], nil
	}
	key, err := keys.Key(keys.AlertStatus, batchID, alertID)
	if err != nil {
		return nil, err
	}
	c, _, err := state.Get[wire.AlertStatusChange](s.stub, key)
	return c, err
}

func (s *statuses) scan(batchID string) (map[string]*wire.AlertStatusChange, error) {
	it, err := s.stub.GetStateByPartialCompositeKey(keys.AlertStatus, []string{batchID})
	if err != nil {
		return nil, &state.LedgerError{Op: "scan", Key: keys.AlertStatus, Err: err}
	}
	defer it.Close()
	m := map[string]*wire.AlertStatusChange{}
	for it.HasNext() {
		if len(m) == maxStatusScan {
			return nil, nil
		}
		kv, err := it.Next()
		if err != nil {
			return nil, &state.LedgerError{Op: "scan", Key: keys.AlertStatus, Err: err}
		}
		c := new(wire.AlertStatusChange)
		if err := json.Unmarshal(kv.Value, c); err != nil {
			return nil, &state.LedgerError{Op: "decode", Key: kv.Key, Err: err}
		}
		m[c.AlertID] = c
	}
	return m, nil
}

// recorded is an alert as load found it.
type recorded struct {
	raised    wire.Alert // as raised: open, no last change
	alert     wire.Alert // with its current status
	statusKey string
	// mergedInto is set (and the rest empty) when the id is a detection
	// deduplication merged into another alert.
	mergedInto *wire.MergedDetection
}

// load finds alert alertID of batch batchID: it reads the batch (for its
// gateway), then the batch's alert sets in order until one holds the
// alert, and the alert's status record. The set scan stops at the set that
// holds the alert, so an update transaction's read set does not cover sets
// added later: a status change does not conflict with a later RaiseAlerts
// for the same batch.
func load(stub shim.ChaincodeStubInterface, batchID, alertID string) (*recorded, error) {
	if !wire.IsHash(batchID) {
		return nil, &wire.ValidationError{Field: "batchId", Reason: fmt.Sprintf("%q must be 64 lowercase hex digits", batchID)}
	}
	if !wire.IsHash(alertID) {
		return nil, &wire.ValidationError{Field: "alertId", Reason: fmt.Sprintf("%q must be 64 lowercase hex digits", alertID)}
	}
	b, err := ledgerview.Batch(stub, batchID)
	if err != nil {
		if state.IsNotFound(err) {
			return nil, &state.NotFoundError{Kind: "alert", ID: batchID + "/" + alertID}
		}
		return nil, err
	}
	r, err := find(stub, b, alertID)
	if err != nil {
		return nil, err
	}
	if r.mergedInto != nil {
		// A merged detection reads as the alert it was merged into.
		m := r.mergedInto
		if m.IntoBatchID == batchID && m.Into == alertID {
			return nil, &state.LedgerError{Op: "get", Key: alertID, Err: state.Inconsistent("alert %s is merged into itself", alertID)}
		}
		return load(stub, m.IntoBatchID, m.Into)
	}
	if r.statusKey, err = keys.Key(keys.AlertStatus, batchID, alertID); err != nil {
		return nil, err
	}
	change, _, err := state.Get[wire.AlertStatusChange](stub, r.statusKey)
	if err != nil {
		return nil, err
	}
	r.alert = r.raised
	// The current count and last-seen; r.raised keeps the alert as raised.
	if err := fillDedup(stub, &r.alert); err != nil {
		return nil, err
	}
	r.alert.Apply(change)
	return r, nil
}

func find(stub shim.ChaincodeStubInterface, b *wire.Batch, alertID string) (*recorded, error) {
	it, err := stub.GetStateByPartialCompositeKey(keys.AlertSet, []string{b.MSP, b.GatewayID, b.ID})
	if err != nil {
		return nil, &state.LedgerError{Op: "scan", Key: keys.AlertSet, Err: err}
	}
	defer it.Close()
	for n := 0; it.HasNext(); n++ {
		if n == wire.MaxAlertSetsPerBatch {
			break
		}
		kv, err := it.Next()
		if err != nil {
			return nil, &state.LedgerError{Op: "scan", Key: keys.AlertSet, Err: err}
		}
		var set wire.AlertSet
		if err := wire.DecodeStoredAlertSet(kv.Value, &set); err != nil {
			return nil, &state.LedgerError{Op: "decode", Key: kv.Key, Err: err}
		}
		if i := set.Find(alertID); i >= 0 {
			return &recorded{raised: set.Recorded(i)}, nil
		}
		if i := set.FindMerged(alertID); i >= 0 {
			return &recorded{mergedInto: &set.Merged[i]}, nil
		}
	}
	return nil, &state.NotFoundError{Kind: "alert", ID: b.ID + "/" + alertID}
}
