package fabric

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
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
		return gateway.Anchor{}, classify("AnchorBatch", "", err)
	}
	st, err := commit.StatusWithContext(ctx)
	if err != nil {
		return gateway.Anchor{}, classify("AnchorBatch", commit.TransactionID(), err)
	}
	if !st.Successful {
		return gateway.Anchor{}, classifyCode("AnchorBatch", st.TransactionID, st.Code)
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

// classify maps a fabric-gateway error to the gateway's two kinds.
func classify(op, txID string, err error) error {
	var endorse *client.EndorseError
	var submit *client.SubmitError
	var commitStatus *client.CommitStatusError
	var commitErr *client.CommitError
	switch {
	case errors.As(err, &commitErr):
		return classifyCode(op, commitErr.TransactionID, commitErr.Code)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return fmt.Errorf("%s (tx %s): %w: %w", op, txID, gateway.ErrLedgerUnavailable, err)
	case errors.As(err, &endorse):
		if chaincodeRejected(err) {
			return &gateway.LedgerRejectedError{Op: op, TxID: endorse.TransactionID, Reason: detailsOf(err)}
		}
		return fmt.Errorf("%s endorse (tx %s): %w: %w", op, endorse.TransactionID, gateway.ErrLedgerUnavailable, err)
	case errors.As(err, &submit):
		return fmt.Errorf("%s submit (tx %s): %w: %w", op, submit.TransactionID, gateway.ErrLedgerUnavailable, err)
	case errors.As(err, &commitStatus):
		return fmt.Errorf("%s commit status (tx %s): %w: %w", op, commitStatus.TransactionID, gateway.ErrLedgerUnavailable, err)
	}
	if s, ok := status.FromError(err); ok && transientCode(s.Code()) {
		return fmt.Errorf("%s (tx %s): %w: %w", op, txID, gateway.ErrLedgerUnavailable, err)
	}
	return &gateway.LedgerRejectedError{Op: op, TxID: txID, Reason: err.Error()}
}

// classifyCode maps a validation code of a committed-invalid transaction.
// MVCC and phantom read conflicts are races with another transaction: a
// retry sees the new state. Everything else is permanent.
func classifyCode(op, txID string, code peer.TxValidationCode) error {
	switch code {
	case peer.TxValidationCode_MVCC_READ_CONFLICT, peer.TxValidationCode_PHANTOM_READ_CONFLICT, peer.TxValidationCode_DUPLICATE_TXID:
		return fmt.Errorf("%s (tx %s) committed invalid (%s): %w", op, txID, code, gateway.ErrLedgerUnavailable)
	}
	return &gateway.LedgerRejectedError{Op: op, TxID: txID, Reason: "committed invalid: " + code.String()}
}

func transientCode(c codes.Code) bool {
	switch c {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted, codes.Canceled:
		return true
	}
	return false
}

// chaincodeRejected reports whether an endorsement failed because the
// chaincode returned an error (the peers answered, the input was refused),
// as opposed to peers being unreachable.
func chaincodeRejected(err error) bool {
	s, ok := status.FromError(err)
	if !ok {
		return false
	}
	if s.Code() != codes.Aborted && s.Code() != codes.Unknown && s.Code() != codes.FailedPrecondition {
		return false
	}
	for _, d := range s.Details() {
		if ed, ok := d.(interface{ GetMessage() string }); ok && ed.GetMessage() != "" {
			if isChaincodeMessage(ed.GetMessage()) {
				return true
			}
		}
	}
	return false
}

func isChaincodeMessage(msg string) bool {
	// Peers report a chaincode's error response as
	// "chaincode response 500, <message>".
	const prefix = "chaincode response 500"
	return len(msg) >= len(prefix) && msg[:len(prefix)] == prefix
}

// detailsOf returns the peers' error messages, which carry the
// chaincode's own explanation.
func detailsOf(err error) string {
	s, ok := status.FromError(err)
	if !ok {
		return err.Error()
	}
	msg := s.Message()
	for _, d := range s.Details() {
		if ed, ok := d.(interface {
			GetMspId() string
			GetMessage() string
		}); ok {
			msg += "; " + ed.GetMspId() + ": " + ed.GetMessage()
		}
	}
	return msg
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
		return wire.RaiseResult{}, classify("RaiseAlerts", "", err)
	}
	st, err := commit.StatusWithContext(ctx)
	if err != nil {
		return wire.RaiseResult{}, classify("RaiseAlerts", commit.TransactionID(), err)
	}
	if !st.Successful {
		return wire.RaiseResult{}, classifyCode("RaiseAlerts", st.TransactionID, st.Code)
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
		if d := detailsOf(err); strings.Contains(d, "checkpoint") && strings.Contains(d, "not found") {
			return 0, nil
		}
		return 0, classify("LatestCheckpoint", "", err)
	}
	var ck wire.Checkpoint
	if err := json.Unmarshal(res, &ck); err != nil {
		return 0, &gateway.LedgerRejectedError{Op: "LatestCheckpoint", Reason: "decode result: " + err.Error()}
	}
	return ck.TreeSize, nil
}
