package fabric

import (
	"context"
	"encoding/json"
	"maps"
	"strings"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/fabric/fabricerr"
)

// Ledger implements gateway.Ledger on the ledgerguard chaincode. Its errors
// are classified: transient ones wrap gateway.ErrLedgerUnavailable,
// permanent ones are *gateway.LedgerRejectedError.
type Ledger struct {
	c         *Client
	channel   string
	chaincode string
}

// NewLedger returns the gateway's view of the ledgerguard chaincode on a
// channel, acting as the client's identity.
func NewLedger(c *Client, channel, chaincode string) *Ledger {
	return &Ledger{c: c, channel: channel, chaincode: chaincode}
}

// BatchToWire converts a sealed batch to the chaincode's wire shape. The
// batch id is recomputed by the chaincode from the same fields.
func BatchToWire(b gateway.Batch) wire.Batch {
	counts := make(map[string]uint64, len(b.ClassCounts))
	for k, v := range maps.All(b.ClassCounts) {
		counts[k] = uint64(v)
	}
	models := make([]wire.Model, 0, len(b.Models))
	for _, m := range b.Models {
		models = append(models, wire.Model{ID: m.ID, Version: m.Version, SHA256: m.SHA256})
	}
	return wire.Batch{
		ID:             b.ID,
		MSP:            b.GatewayMSP,
		GatewayID:      b.GatewayID,
		TreeSizeBefore: b.TreeSizeBefore,
		TreeSizeAfter:  b.TreeSizeAfter,
		RootHash:       b.RootHash,
		FirstSeq:       b.FirstSeq,
		LastSeq:        b.LastSeq,
		FirstEventTime: wire.NewTime(b.TimeFrom),
		LastEventTime:  wire.NewTime(b.TimeTo),
		ClassCounts:    counts,
		Models:         models,
	}
}

// AnchorBatch submits events:AnchorBatch and waits for the commit. A batch
// the chaincode already holds is returned as Replayed with the original
// transaction id, and is not written again.
func (l *Ledger) AnchorBatch(ctx context.Context, b gateway.Batch) (gateway.Anchor, error) {
	arg, err := json.Marshal(BatchToWire(b))
	if err != nil {
		return gateway.Anchor{}, &gateway.LedgerRejectedError{Op: "AnchorBatch", Reason: "encode batch: " + err.Error()}
	}
	contract := l.c.Contract(l.channel, l.chaincode, "events")
	res, commit, err := contract.SubmitAsync("AnchorBatch", client.WithArguments(string(arg)))
	if err != nil {
		return gateway.Anchor{}, fabricerr.Classify("AnchorBatch", "", err)
	}
	st, err := commit.StatusWithContext(ctx)
	if err != nil {
		return gateway.Anchor{}, fabricerr.Classify("AnchorBatch", commit.TransactionID(), err)
	}
	if !st.Successful {
		return gateway.Anchor{}, fabricerr.ClassifyCode("AnchorBatch", st.TransactionID, st.Code)
	}
	var rec wire.Batch
	if err := json.Unmarshal(res, &rec); err != nil {
		return gateway.Anchor{}, &gateway.LedgerRejectedError{Op: "AnchorBatch", TxID: st.TransactionID, Reason: "decode result: " + err.Error()}
	}
	anc := gateway.Anchor{TxID: st.TransactionID, BlockNumber: st.BlockNumber}
	if rec.TxID != "" && rec.TxID != st.TransactionID {
		// The chaincode returned the record an earlier transaction wrote.
		anc = gateway.Anchor{TxID: rec.TxID, BlockNumber: 0, Replayed: true}
	}
	return anc, nil
}

// RaiseAlerts submits alerts:RaiseAlerts and waits for the commit. Alerts
// already on the ledger come back in RaiseResult.Existing and are not
// written again, so a retry after a lost acknowledgement is safe.
func (l *Ledger) RaiseAlerts(ctx context.Context, alerts []wire.Alert) (wire.RaiseResult, error) {
	arg, err := json.Marshal(alerts)
	if err != nil {
		return wire.RaiseResult{}, &gateway.LedgerRejectedError{Op: "RaiseAlerts", Reason: "encode alerts: " + err.Error()}
	}
	res, commit, err := l.c.Contract(l.channel, l.chaincode, "alerts").SubmitAsync("RaiseAlerts", client.WithArguments(string(arg)))
	if err != nil {
		return wire.RaiseResult{}, fabricerr.Classify("RaiseAlerts", "", err)
	}
	st, err := commit.StatusWithContext(ctx)
	if err != nil {
		return wire.RaiseResult{}, fabricerr.Classify("RaiseAlerts", commit.TransactionID(), err)
	}
	if !st.Successful {
		return wire.RaiseResult{}, fabricerr.ClassifyCode("RaiseAlerts", st.TransactionID, st.Code)
	}
	var out wire.RaiseResult
	if err := json.Unmarshal(res, &out); err != nil {
		return wire.RaiseResult{}, &gateway.LedgerRejectedError{Op: "RaiseAlerts", TxID: st.TransactionID, Reason: "decode result: " + err.Error()}
	}
	return out, nil
}

// AnchoredSize returns the tree size the ledger has anchored for a gateway
// (events:LatestCheckpoint), 0 when it has anchored nothing yet.
func (l *Ledger) AnchoredSize(ctx context.Context, msp, gatewayID string) (uint64, error) {
	res, err := l.c.Contract(l.channel, l.chaincode, "events").EvaluateWithContext(ctx, "LatestCheckpoint",
		client.WithArguments(msp, gatewayID))
	if err != nil {
		// Over gRPC only the chaincode's message survives; its NotFoundError
		// for a gateway without a checkpoint reads "checkpoint ... not found".
		if d := fabricerr.Details(err); strings.Contains(d, "checkpoint") && strings.Contains(d, "not found") {
			return 0, nil
		}
		return 0, fabricerr.Classify("LatestCheckpoint", "", err)
	}
	var ck wire.Checkpoint
	if err := json.Unmarshal(res, &ck); err != nil {
		return 0, &gateway.LedgerRejectedError{Op: "LatestCheckpoint", Reason: "decode result: " + err.Error()}
	}
	return ck.TreeSize, nil
}
