package events_test

import (
	"errors"
	"testing"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/access"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/fixture"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/harness"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/keys"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/ledgertest"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/state"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

func anchorAndRaise(h *harness.H, id *ledgertest.Identity, b wire.Batch, alerts []wire.Alert) (string, error) {
	return h.Call(id, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Events.AnchorAndRaise(ctx, fixture.JSON(b), fixture.JSON(alerts))
	})
}

// TestAnchorAndRaise anchors a batch and raises its alerts in one
// transaction: the alerts are checked against the batch recorded in the
// same transaction (the test ledger, like Fabric, gives a transaction no
// read of its own writes), the active policy is evaluated and the
// transaction emits its one ResponsesRequested event; a replay writes
// nothing and reports the alerts as existing.
func TestAnchorAndRaise(t *testing.T) {
	h := harness.New(t)
	h.InitMembers()
	h.Activate(fixture.Policy("isolate-critical", 1, `alert.severity == "critical"`))
	b := fixture.Batch("Org1MSP", "gw-1", 0, 10)
	alerts := []wire.Alert{
		fixture.Alert(b, 2, wire.SeverityCritical, "T1110", "host-2"),
		fixture.Alert(b, 7, wire.SeverityHigh, "T1110", "host-7"),
	}
	events := len(h.L.Events())
	out, err := anchorAndRaise(h, harness.Org1Gateway, b, alerts)
	if err != nil {
		t.Fatalf("AnchorAndRaise() = %v", err)
	}
	got := harness.Decode[wire.AnchorRaiseResult](t, out)
	if got.Batch == nil || got.Batch.ID != b.ID || got.Batch.TxID == "" || got.Alerts == nil {
		t.Fatalf("result = %+v", got)
	}
	if got.Alerts.Created != 2 || len(got.Alerts.Existing) != 0 || len(got.Alerts.Responses) != 1 {
		t.Fatalf("raise result = created %d, existing %d, responses %d; want 2, 0, 1", got.Alerts.Created, len(got.Alerts.Existing), len(got.Alerts.Responses))
	}
	if got.Alerts.TxID != got.Batch.TxID {
		t.Fatalf("alerts raised in tx %s, batch anchored in tx %s: want one transaction", got.Alerts.TxID, got.Batch.TxID)
	}
	evs := h.L.Events()[events:]
	if len(evs) != 1 || evs[0].Name != wire.EventResponsesRequested || evs[0].TxID != got.Batch.TxID {
		t.Fatalf("events = %+v, want one %s of tx %s", evs, wire.EventResponsesRequested, got.Batch.TxID)
	}
	if n := h.L.CountKeys(keys.GatewayBatch); n != 1 {
		t.Fatalf("%d batches stored, want 1", n)
	}
	if n := h.L.CountKeys(keys.AlertSet); n != 1 {
		t.Fatalf("%d alert sets stored, want 1", n)
	}
	// The alert reads back through the alerts contract.
	raw := h.Must(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Alerts.GetAlert(ctx, b.ID, alerts[0].ID)
	})
	if a := harness.Decode[wire.Alert](t, raw); a.RaisedTx != got.Batch.TxID {
		t.Fatalf("alert raised in %s, want %s", a.RaisedTx, got.Batch.TxID)
	}

	// Replay after a lost acknowledgement: the stored records come back,
	// nothing is written, no event is emitted.
	tx := h.L.Begin(harness.Org1Gateway)
	out, err = h.Events.AnchorAndRaise(tx.Ctx(), fixture.JSON(b), fixture.JSON(alerts))
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	if w := tx.Written(); len(w) != 0 {
		t.Fatalf("replay wrote %v", w)
	}
	if tx.Event() != nil {
		t.Fatalf("replay emitted %+v", tx.Event())
	}
	tx.Discard()
	rep := harness.Decode[wire.AnchorRaiseResult](t, out)
	if rep.Batch.TxID != got.Batch.TxID || rep.Alerts.Created != 0 || len(rep.Alerts.Existing) != 2 {
		t.Fatalf("replay = batch tx %s, created %d, existing %d; want %s, 0, 2", rep.Batch.TxID, rep.Alerts.Created, len(rep.Alerts.Existing), got.Batch.TxID)
	}

	// The next batch continues the log; plain AnchorBatch and RaiseAlerts
	// still see the fused transaction's records.
	next := fixture.Batch("Org1MSP", "gw-1", 10, 5)
	if _, err := anchor(h, harness.Org1Gateway, fixture.JSON(next)); err != nil {
		t.Fatalf("anchor after the fused transaction: %v", err)
	}
}

// TestAnchorAndRaiseRefusals checks that the fused transaction keeps every
// rule of AnchorBatch and RaiseAlerts, and that a refusal of either part
// writes nothing at all.
func TestAnchorAndRaiseRefusals(t *testing.T) {
	b := fixture.Batch("Org1MSP", "gw-1", 0, 10)
	other := fixture.Batch("Org1MSP", "gw-1", 10, 10)
	ok := fixture.Alert(b, 3, wire.SeverityHigh, "T1110", "host-3")
	tests := []struct {
		name    string
		who     *ledgertest.Identity
		batch   wire.Batch
		alerts  func() []wire.Alert
		wantErr any
	}{
		{"other org's gateway", harness.Org2Gateway, b, func() []wire.Alert { return []wire.Alert{ok} }, new(*access.DeniedError)},
		{"analyst", harness.Org1Analyst, b, func() []wire.Alert { return []wire.Alert{ok} }, new(*access.DeniedError)},
		{"batch does not extend the log", harness.Org1Gateway, other, func() []wire.Alert { return []wire.Alert{fixture.Alert(other, 12, wire.SeverityHigh, "T1110", "h")} }, new(*state.ConflictError)},
		{"alert of another batch", harness.Org1Gateway, b, func() []wire.Alert { return []wire.Alert{fixture.Alert(other, 12, wire.SeverityHigh, "T1110", "h")} }, new(*wire.ValidationError)},
		{"alert outside the batch's time range", harness.Org1Gateway, b, func() []wire.Alert {
			a := ok
			a.EventTime = other.LastEventTime
			return []wire.Alert{a}
		}, new(*wire.ValidationError)},
		{"detector the batch does not list", harness.Org1Gateway, b, func() []wire.Alert {
			a := ok
			a.Detector.Version = "9.9.9"
			a.ID = wire.AlertID(a.MSP, a.GatewayID, a.EventHash, a.Detector.ID, a.Detector.Version)
			return []wire.Alert{a}
		}, new(*wire.ValidationError)},
		{"no alerts", harness.Org1Gateway, b, func() []wire.Alert { return []wire.Alert{} }, new(*wire.ValidationError)},
		{"duplicate alerts", harness.Org1Gateway, b, func() []wire.Alert { return []wire.Alert{ok, ok} }, new(*wire.ValidationError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := harness.New(t)
			h.InitMembers()
			_, err := anchorAndRaise(h, tt.who, tt.batch, tt.alerts())
			if !errors.As(err, tt.wantErr) {
				t.Fatalf("AnchorAndRaise() = %v, want %T", err, tt.wantErr)
			}
			if code := codeOf(err); code == "" || code == wire.CodeInternal {
				t.Fatalf("error %v carries code %q, want its refusal's code", err, code)
			}
			for _, kind := range []string{keys.GatewayBatch, keys.Checkpoint, keys.AlertSet} {
				if n := h.L.CountKeys(kind); n != 0 {
					t.Fatalf("refused transaction stored %d %s keys", n, kind)
				}
			}
		})
	}
}

// FuzzAnchorAndRaise submits arbitrary batch and alert JSON as a gateway:
// the contract must refuse what is invalid with a coded error, never panic.
func FuzzAnchorAndRaise(f *testing.F) {
	b := fixture.Batch("Org1MSP", "gw-1", 0, 10)
	f.Add(fixture.JSON(b), fixture.JSON([]wire.Alert{fixture.Alert(b, 3, wire.SeverityHigh, "T1110", "h")}))
	f.Add(fixture.JSON(b), `[]`)
	f.Add(`{}`, `[{}]`)
	f.Fuzz(func(t *testing.T, batchJSON, alertsJSON string) {
		h := harness.New(t)
		_, err := h.Call(harness.Org1Gateway, func(ctx contractapi.TransactionContextInterface) (string, error) {
			return h.Events.AnchorAndRaise(ctx, batchJSON, alertsJSON)
		})
		if err != nil && codeOf(err) == "" {
			t.Fatalf("uncoded error %v", err)
		}
		if err != nil && h.L.CountKeys(keys.Checkpoint)+h.L.CountKeys(keys.AlertSet) != 0 {
			t.Fatalf("refused input wrote state: %v", err)
		}
	})
}

// codeOf returns the code the contract encoded err with ("" when none).
func codeOf(err error) wire.Code {
	var e *wire.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
