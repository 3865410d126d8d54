// Package events is the "events" contract: Merkle-batch anchors of the
// gateways' telemetry logs. Each gateway keeps an append-only RFC 6962
// log; each sealed batch is anchored once with the tree size before and
// after, the root hash, the event sequence and time range, counts per
// class and the models that scored it.
//
// Guarantees:
//   - a batch is anchored under the caller's own MSP ID only, by a gateway
//     identity (bound to that gateway id if its certificate says so);
//   - the batch id is recomputed (wire.BatchID) and must match;
//   - each gateway's log only grows: a batch must start at the previous
//     checkpoint's tree size and continue its event sequence, so no gap,
//     overlap or fork is ever anchored;
//   - replaying an anchored batch id returns the stored record and writes
//     nothing, whatever the checkpoint has become since;
//   - writes touch only keys of that (MSP, gateway): two gateways anchoring
//     at once never conflict.
package events

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

// Contract is the events contract, registered as "events".
type Contract struct {
	contractapi.Contract
}

// New returns the contract with its name set.
func New() *Contract {
	return &Contract{Contract: contract.Named(wire.ContractEvents)}
}

// AnchorBatch records one sealed batch (batchJSON is a wire.Batch without
// the chaincode-set fields) and returns the stored batch as JSON. It
// writes three keys: the batch, its id locator and the gateway's
// checkpoint.
func (c *Contract) AnchorBatch(ctx contractapi.TransactionContextInterface, batchJSON string) (string, error) {
	return contract.Submit(ctx, wire.TxAnchorBatch, access.Gateway, func(tx contract.Call) (*wire.Batch, error) { return anchor(tx, batchJSON) })
}

func anchor(c contract.Call, batchJSON string) (*wire.Batch, error) {
	id, fn, stub := c.ID, c.Fn, c.Stub
	b, err := wire.Decode[wire.Batch]([]byte(batchJSON), "batch")
	if err != nil {
		return nil, err
	}
	if err := id.RequireOrg(fn, b.MSP); err != nil {
		return nil, err
	}
	if err := id.RequireGatewayID(fn, b.GatewayID); err != nil {
		return nil, err
	}
	if err := b.Validate(); err != nil {
		return nil, err
	}
	if existing, err := ledgerview.Batch(stub, b.ID); err == nil {
		return existing, nil // replay: the batch is already anchored
	} else if !state.IsNotFound(err) {
		return nil, err
	}
	ckKey, err := keys.Key(keys.Checkpoint, b.MSP, b.GatewayID)
	if err != nil {
		return nil, err
	}
	prev, found, err := state.Get[wire.Checkpoint](stub, ckKey)
	if err != nil {
		return nil, err
	}
	var prevSize uint64
	if found {
		prevSize = prev.TreeSize
		if b.FirstSeq != prev.LastSeq+1 {
			return nil, &state.ConflictError{Kind: "gateway log", ID: b.MSP + "/" + b.GatewayID,
				Reason: fmt.Sprintf("firstSeq %d does not continue the anchored sequence (next is %d)", b.FirstSeq, prev.LastSeq+1)}
		}
	}
	if b.TreeSizeBefore != prevSize {
		return nil, &state.ConflictError{Kind: "gateway log", ID: b.MSP + "/" + b.GatewayID,
			Reason: fmt.Sprintf("treeSizeBefore %d does not extend the anchored tree size %d", b.TreeSizeBefore, prevSize)}
	}
	now, err := state.TxTime(stub)
	if err != nil {
		return nil, err
	}
	actor := id.Actor()
	b.AnchoredAt, b.TxID, b.Submitter = now, stub.GetTxID(), &actor
	recKey, err := keys.Key(keys.GatewayBatch, b.MSP, b.GatewayID, keys.Uint20(b.TreeSizeAfter))
	if err != nil {
		return nil, err
	}
	idKey, err := keys.Key(keys.Batch, b.ID)
	if err != nil {
		return nil, err
	}
	ck := wire.Checkpoint{
		MSP: b.MSP, GatewayID: b.GatewayID, TreeSize: b.TreeSizeAfter, RootHash: b.RootHash,
		LastSeq: b.LastSeq, LastEventTime: b.LastEventTime, BatchID: b.ID, AnchoredAt: now, TxID: b.TxID,
	}
	if err := state.Put(stub, recKey, &b); err != nil {
		return nil, err
	}
	if err := state.Put(stub, idKey, &ledgerview.BatchLocator{MSP: b.MSP, GatewayID: b.GatewayID, TreeSizeAfter: b.TreeSizeAfter}); err != nil {
		return nil, err
	}
	if err := state.Put(stub, ckKey, &ck); err != nil {
		return nil, err
	}
	return &b, nil
}

// GetBatch returns the anchored batch with id batchID as JSON.
func (c *Contract) GetBatch(ctx contractapi.TransactionContextInterface, batchID string) (string, error) {
	return contract.Read(ctx, wire.TxGetBatch, func(stub shim.ChaincodeStubInterface) (*wire.Batch, error) {
		return ledgerview.Batch(stub, batchID)
	})
}

// ListBatches returns a page (wire.Page of wire.Batch) of the batches of
// gateway gatewayID of organisation msp (msp "" = the caller's; gatewayID
// "" = every gateway of msp), in tree order, keeping those whose event
// time range overlaps [from, to) (RFC 3339; "" = unbounded).
func (c *Contract) ListBatches(ctx contractapi.TransactionContextInterface, msp, gatewayID, from, to string, pageSize int32, bookmark string) (string, error) {
	return contract.Submit(ctx, wire.TxListBatches, access.Read, func(tx contract.Call) (wire.Page[wire.Batch], error) {
		return listBatches(tx, msp, gatewayID, from, to, pageSize, bookmark)
	})
}

func listBatches(c contract.Call, msp, gatewayID, from, to string, pageSize int32, bookmark string) (wire.Page[wire.Batch], error) {
	var page wire.Page[wire.Batch]
	if msp == "" {
		msp = c.ID.MSP
	}
	var lo, hi wire.Time
	var err error
	if from != "" {
		if lo, err = wire.ParseTime(from); err != nil {
			return page, &wire.ValidationError{Field: "from", Reason: err.Error()}
		}
	}
	if to != "" {
		if hi, err = wire.ParseTime(to); err != nil {
			return page, &wire.ValidationError{Field: "to", Reason: err.Error()}
		}
	}
	attrs := []string{msp}
	if gatewayID != "" {
		attrs = append(attrs, gatewayID)
	}
	return state.List(c.Stub, keys.GatewayBatch, attrs, pageSize, bookmark, func(b *wire.Batch) bool {
		return (lo.IsZero() || !b.LastEventTime.Before(lo.Time)) && (hi.IsZero() || b.FirstEventTime.Before(hi.Time))
	})
}

// LatestCheckpoint returns the checkpoint (wire.Checkpoint) of gateway
// gatewayID of organisation msp ("" = the caller's) as JSON.
func (c *Contract) LatestCheckpoint(ctx contractapi.TransactionContextInterface, msp, gatewayID string) (string, error) {
	return contract.Submit(ctx, wire.TxLatestCheckpoint, access.Read, func(tx contract.Call) (*wire.Checkpoint, error) { return latestCheckpoint(tx, msp, gatewayID) })
}

func latestCheckpoint(c contract.Call, msp, gatewayID string) (*wire.Checkpoint, error) {
	if msp == "" {
		msp = c.ID.MSP
	}
	key, err := keys.Key(keys.Checkpoint, msp, gatewayID)
	if err != nil {
		return nil, &wire.ValidationError{Field: "gatewayId", Reason: err.Error()}
	}
	ck, found, err := state.Get[wire.Checkpoint](c.Stub, key)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, &state.NotFoundError{Kind: "checkpoint", ID: msp + "/" + gatewayID}
	}
	return ck, nil
}
