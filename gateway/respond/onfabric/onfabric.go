// Package onfabric gives the responder (package respond) its ledger and
// its event source on Hyperledger Fabric, through the fabric-gateway
// client (github.com/hyperledger/fabric-gateway/pkg/client): contract
// calls to the responses and alerts contracts, and the chaincode event
// stream resumed from a crash-safe checkpoint file (fabric-gateway's
// FileCheckpointer format, but replaced atomically rather than in place).
//
// It takes a *client.Gateway rather than the gateway/fabric adapter so
// adapters do not import each other; gateway/cmd passes
// fabric.Client.Gateway(). Guarantees: errors are classified by
// gateway/fabric/fabricerr, the same rules as every other ledger call
// (transient ones wrap gateway.ErrLedgerUnavailable, the chaincode's
// refusals are *gateway.LedgerRejectedError); a
// checkpoint is fsynced before Checkpoint returns; the first start with
// an empty checkpoint file fixes its start block in that file, so a
// restart before the first event neither skips nor repeats anything.
package onfabric

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/protobuf/proto"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/fabric/fabricerr"
	"github.com/ledgerguard/ledgerguard/gateway/respond"
)

// Ledger implements respond.Ledger on the ledgerguard chaincode.
type Ledger struct {
	responses *client.Contract
	alerts    *client.Contract
}

// NewLedger returns the responder's ledger on a channel's chaincode; gw
// must act as a gateway identity of the responder's organisation (only
// it may record outcomes).
func NewLedger(gw *client.Gateway, channel, chaincode string) *Ledger {
	n := gw.GetNetwork(channel)
	return &Ledger{responses: n.GetContractWithName(chaincode, "responses"), alerts: n.GetContractWithName(chaincode, "alerts")}
}

// GetResponse evaluates responses:GetResponse.
func (l *Ledger) GetResponse(ctx context.Context, id string) (*wire.Response, error) {
	b, err := l.responses.EvaluateWithContext(ctx, "GetResponse", client.WithArguments(id))
	if err != nil {
		return nil, fabricerr.Classify("GetResponse", "", err)
	}
	var r wire.Response
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, &gateway.LedgerRejectedError{Op: "GetResponse", Reason: "decode: " + err.Error()}
	}
	return &r, nil
}

// GetAlert evaluates alerts:GetAlert(batchID, alertID).
func (l *Ledger) GetAlert(ctx context.Context, batchID, alertID string) (*wire.Alert, error) {
	b, err := l.alerts.EvaluateWithContext(ctx, "GetAlert", client.WithArguments(batchID, alertID))
	if err != nil {
		return nil, fabricerr.Classify("GetAlert", "", err)
	}
	var a wire.Alert
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, &gateway.LedgerRejectedError{Op: "GetAlert", Reason: "decode: " + err.Error()}
	}
	return &a, nil
}

// RecordOutcome submits responses:RecordOutcome and waits for its commit.
func (l *Ledger) RecordOutcome(ctx context.Context, id, status, detail string) error {
	_, commit, err := l.responses.SubmitAsync("RecordOutcome", client.WithArguments(id, status, detail))
	if err != nil {
		return lagging(fabricerr.Classify("RecordOutcome", "", err))
	}
	st, err := commit.StatusWithContext(ctx)
	if err != nil {
		return fabricerr.Classify("RecordOutcome", "", err)
	}
	if !st.Successful {
		return fabricerr.ClassifyCode("RecordOutcome", st.TransactionID, st.Code)
	}
	return nil
}

// Events implements respond.EventSource with fabric-gateway's chaincode
// event stream and file checkpointer.
type Events struct {
	network    *client.Network
	chaincode  string
	cp         *atomicCheckpointer
	startBlock *uint64
}

// NewEvents opens (creating if needed) the checkpoint file. startBlock is
// where an empty checkpoint starts; nil means the channel's current
// height. Close releases the file.
func NewEvents(gw *client.Gateway, channel, chaincode, checkpointFile string, startBlock *uint64) (*Events, error) {
	cp, err := openCheckpointer(checkpointFile)
	if err != nil {
		return nil, fmt.Errorf("onfabric: checkpoint file %s: %w", checkpointFile, err)
	}
	return &Events{network: gw.GetNetwork(channel), chaincode: chaincode, cp: cp, startBlock: startBlock}, nil
}

// Close closes the checkpoint file.
func (e *Events) Close() error { return nil }

// Position returns the checkpoint: the block of the next event and the
// last handled transaction in it.
func (e *Events) Position() (uint64, string) { return e.cp.BlockNumber(), e.cp.TransactionID() }

// Events starts the chaincode event stream after the checkpoint.
func (e *Events) Events(ctx context.Context) (<-chan respond.Event, error) {
	opts := []client.ChaincodeEventsOption{}
	if e.cp.BlockNumber() == 0 && e.cp.TransactionID() == "" {
		start, err := e.start(ctx)
		if err != nil {
			return nil, err
		}
		opts = append(opts, client.WithStartBlock(start))
	}
	opts = append(opts, client.WithCheckpoint(e.cp))
	in, err := e.network.ChaincodeEvents(ctx, e.chaincode, opts...)
	if err != nil {
		return nil, fabricerr.Classify("ChaincodeEvents", "", err)
	}
	out := make(chan respond.Event)
	go func() {
		defer close(out)
		for ev := range in {
			select {
			case out <- respond.Event{Name: ev.EventName, BlockNumber: ev.BlockNumber, TxID: ev.TransactionID, Payload: ev.Payload}:
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
		raw, err := e.network.GetContract("qscc").EvaluateWithContext(ctx, "GetChainInfo", client.WithArguments(e.network.Name()))
		if err != nil {
			return 0, fabricerr.Classify("GetChainInfo", "", err)
		}
		var info common.BlockchainInfo
		if err := proto.Unmarshal(raw, &info); err != nil {
			return 0, &gateway.LedgerRejectedError{Op: "GetChainInfo", Reason: "decode: " + err.Error()}
		}
		start = info.GetHeight()
	}
	if err := e.cp.CheckpointTransaction(start, ""); err != nil {
		return 0, fmt.Errorf("onfabric: checkpoint: %w", err)
	}
	return start, nil
}

// Checkpoint records ev as handled; the position is durable (written to a
// temporary file, fsynced and renamed into place) when it returns.
func (e *Events) Checkpoint(_ context.Context, ev respond.Event) error {
	return e.cp.CheckpointTransaction(ev.BlockNumber, ev.TxID)
}

// lagging turns a refusal that says the response does not exist into a
// transient error. The responder only records outcomes of responses it has
// just read on its own peer, so "not found" from an endorser means that
// endorser (another org's peer) has not yet committed the block that
// created the response; retrying after it catches up is right, while
// treating it as final would leave an executed action without its outcome.
func lagging(err error) error {
	var rej *gateway.LedgerRejectedError
	if errors.As(err, &rej) && strings.Contains(rej.Reason, `response "`) && strings.Contains(rej.Reason, `" not found`) {
		return fmt.Errorf("%s: an endorser has not caught up yet: %w: %w", rej.Op, gateway.ErrLedgerUnavailable, err)
	}
	return err
}
