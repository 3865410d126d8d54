package fabric

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/protobuf/proto"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
)

// GetResponse evaluates responses:GetResponse.
func (l *Ledger) GetResponse(ctx context.Context, id string) (*wire.Response, error) {
	var r wire.Response
	if err := l.evaluateJSON(ctx, &r, wire.ContractResponses, wire.TxGetResponse, id); err != nil {
		return nil, err
	}
	return &r, nil
}

// GetResponses evaluates responses:GetResponses: one lookup per id, in
// order.
func (l *Ledger) GetResponses(ctx context.Context, ids []string) ([]wire.ResponseLookup, error) {
	arg, err := json.Marshal(ids)
	if err != nil {
		return nil, encodeError(wire.TxGetResponses, "ids", err)
	}
	var out []wire.ResponseLookup
	if err := l.evaluateJSON(ctx, &out, wire.ContractResponses, wire.TxGetResponses, string(arg)); err != nil {
		return nil, err
	}
	if len(out) != len(ids) {
		return nil, &gateway.LedgerRejectedError{Op: wire.TxGetResponses, Stage: gateway.StageEvaluate, Code: wire.CodeInternal,
			Reason: fmt.Sprintf("%d lookups for %d ids", len(out), len(ids))}
	}
	return out, nil
}

// BatchAlerts evaluates alerts:ListAlerts filtered to one anchored batch
// of one gateway (a filter that reads only that batch's alert sets),
// following the bookmark for at most pages pages of wire.MaxPageSize.
func (l *Ledger) BatchAlerts(ctx context.Context, msp, gatewayID, batchID string, pages int) ([]wire.Alert, error) {
	filter, err := json.Marshal(wire.AlertFilter{MSP: msp, GatewayID: gatewayID, BatchID: batchID})
	if err != nil {
		return nil, encodeError(wire.TxListAlerts, "filter", err)
	}
	var out []wire.Alert
	bookmark := ""
	for range pages {
		var page wire.Page[wire.Alert]
		if err := l.evaluateJSON(ctx, &page, wire.ContractAlerts, wire.TxListAlerts, string(filter), strconv.Itoa(wire.MaxPageSize), bookmark); err != nil {
			return nil, err
		}
		out = append(out, page.Records...)
		if bookmark = page.Bookmark; bookmark == "" {
			break
		}
	}
	return out, nil
}

// GetAlert evaluates alerts:GetAlert(batchID, alertID).
func (l *Ledger) GetAlert(ctx context.Context, batchID, alertID string) (*wire.Alert, error) {
	var a wire.Alert
	if err := l.evaluateJSON(ctx, &a, wire.ContractAlerts, wire.TxGetAlert, batchID, alertID); err != nil {
		return nil, err
	}
	return &a, nil
}

// RecordOutcome submits responses:RecordOutcome and waits for its commit.
// A refusal with wire.CodeNotFound at endorsement is transient here (see
// lagging).
func (l *Ledger) RecordOutcome(ctx context.Context, id, status, detail string) error {
	_, _, err := l.submit(ctx, wire.ContractResponses, wire.TxRecordOutcome, id, status, detail)
	return lagging(err)
}

// RecordOutcomes submits responses:RecordOutcomes with up to
// wire.MaxOutcomesPerTx records and waits for its commit. It returns one
// result per record, in order: a record the chaincode refused alone
// carries its code there, and the others are on the ledger. A refusal
// with wire.CodeNotFound at endorsement is transient (see lagging).
func (l *Ledger) RecordOutcomes(ctx context.Context, recs []wire.OutcomeRecord) ([]wire.OutcomeResult, error) {
	arg, err := json.Marshal(recs)
	if err != nil {
		return nil, encodeError(wire.TxRecordOutcomes, "outcomes", err)
	}
	res, st, err := l.submit(ctx, wire.ContractResponses, wire.TxRecordOutcomes, string(arg))
	if err != nil {
		return nil, lagging(err)
	}
	var out wire.OutcomesResult
	if err := json.Unmarshal(res, &out); err != nil {
		return nil, decodeError(wire.TxRecordOutcomes, st, "result", err)
	}
	if len(out.Results) != len(recs) {
		return nil, &gateway.LedgerRejectedError{Op: wire.TxRecordOutcomes, Stage: gateway.StageCommit, TxID: st.TransactionID, Code: wire.CodeInternal,
			Reason: fmt.Sprintf("%d results for %d outcomes", len(out.Results), len(recs))}
	}
	return out.Results, nil
}

// lagging turns a refusal saying the response does not exist into a
// transient error. The responder only records outcomes of responses it has
// just read on its own peer, so wire.CodeNotFound from an endorser means
// that endorser (another org's peer) has not yet committed the block that
// created the response; retrying after it catches up is right, while
// treating it as final would leave an executed action without its outcome.
func lagging(err error) error {
	var rej *gateway.LedgerRejectedError
	if errors.As(err, &rej) && rej.Code == wire.CodeNotFound && rej.Stage == gateway.StageEndorse {
		return &gateway.LedgerUnavailableError{Op: rej.Op, Stage: rej.Stage, TxID: rej.TxID, Code: rej.Code,
			Err: fmt.Errorf("an endorser has not caught up yet: %s", rej.Reason)}
	}
	return err
}

// Checkpoint is the position of a chaincode event stream, with
// fabric-gateway's Checkpointer method set: the block of the next event to
// handle, the last handled transaction in it, and a durable update. It must
// be durable when CheckpointTransaction returns.
type Checkpoint interface {
	BlockNumber() uint64
	TransactionID() string
	CheckpointTransaction(block uint64, txID string) error
}

// Events implements gateway.ChaincodeEventSource with fabric-gateway's chaincode
// event stream of the Ledger's chaincode, resumed after a Checkpoint. The
// first start with an empty checkpoint fixes its start block in the
// checkpoint, so a restart before the first event neither skips nor
// repeats anything.
type Events struct {
	l          *Ledger
	cp         Checkpoint
	startBlock *uint64
}

// NewEvents returns the event source of l's chaincode resuming after cp.
// startBlock is where an empty checkpoint starts; nil means the channel's
// current height.
func NewEvents(l *Ledger, cp Checkpoint, startBlock *uint64) *Events {
	return &Events{l: l, cp: cp, startBlock: startBlock}
}

// Position returns the checkpoint: the block of the next event and the
// last handled transaction in it.
func (e *Events) Position() (uint64, string) { return e.cp.BlockNumber(), e.cp.TransactionID() }

// Events starts the chaincode event stream after the checkpoint.
func (e *Events) Events(ctx context.Context) (<-chan gateway.ChaincodeEvent, error) {
	opts := []client.ChaincodeEventsOption{}
	if e.cp.BlockNumber() == 0 && e.cp.TransactionID() == "" {
		start, err := e.start(ctx)
		if err != nil {
			return nil, err
		}
		opts = append(opts, client.WithStartBlock(start))
	}
	opts = append(opts, client.WithCheckpoint(e.cp))
	in, err := e.l.c.gw.GetNetwork(e.l.channel).ChaincodeEvents(ctx, e.l.chaincode, opts...)
	if err != nil {
		return nil, classify("ChaincodeEvents", gateway.StageEvaluate, err)
	}
	out := make(chan gateway.ChaincodeEvent)
	go func() {
		defer close(out)
		for ev := range in {
			select {
			case out <- gateway.ChaincodeEvent{Name: ev.EventName, BlockNumber: ev.BlockNumber, TxID: ev.TransactionID, Payload: ev.Payload}:
			case <-ctx.Done():
				for range in { // let fabric-gateway's reader finish
				}
				return
			}
		}
	}()
	return out, nil
}

// start fixes the first block to read and persists it, so a restart
// before the first event resumes from the same block.
func (e *Events) start(ctx context.Context) (uint64, error) {
	var start uint64
	if e.startBlock != nil {
		start = *e.startBlock
	} else {
		raw, err := e.l.evaluateSystem(ctx, qscc, qsccGetChainInfo, e.l.channel)
		if err != nil {
			return 0, err
		}
		var info common.BlockchainInfo
		if err := proto.Unmarshal(raw, &info); err != nil {
			return 0, &gateway.LedgerRejectedError{Op: qsccGetChainInfo, Stage: gateway.StageEvaluate, Code: wire.CodeInternal, Reason: "decode: " + err.Error()}
		}
		start = info.GetHeight()
	}
	if err := e.cp.CheckpointTransaction(start, ""); err != nil {
		return 0, fmt.Errorf("fabric events: checkpoint: %w", err)
	}
	return start, nil
}

// Checkpoint records ev as handled; the position is durable when it returns.
func (e *Events) Checkpoint(_ context.Context, ev gateway.ChaincodeEvent) error {
	return e.cp.CheckpointTransaction(ev.BlockNumber, ev.TxID)
}
