package fabric

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/evidence"
)

// EvidenceSource reads from the ledger what an evidence bundle needs, as
// the client's identity (any channel reader, e.g. "auditor"): committed
// transactions from the query system chaincode (qscc), the channel's
// organisations from its configuration block (cscc), and anchored batch
// records from the events contract. It implements evidence.LedgerSource and
// evidence.OnlineSource.
type EvidenceSource struct {
	l *Ledger
}

// NewEvidenceSource returns the evidence view of chaincode on channel.
func NewEvidenceSource(c *Client, channel, chaincode string) *EvidenceSource {
	return &EvidenceSource{l: NewLedger(c, channel, chaincode)}
}

// EvidenceError reports a ledger read for evidence that failed, naming the
// query and its argument (a transaction or batch id). Err is classified like
// every ledger error of this package (errors.As finds the
// *gateway.LedgerRejectedError or errors.Is gateway.ErrLedgerUnavailable).
type EvidenceError struct {
	Op  string // "GetBlockByTxID", "GetConfigBlock", "GetBatch", ...
	Arg string
	Err error
}

// Error implements error.
func (e *EvidenceError) Error() string {
	return fmt.Sprintf("fabric evidence: %s %s: %v", e.Op, e.Arg, e.Err)
}

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *EvidenceError) Unwrap() error { return e.Err }

// Transaction returns the envelope of transaction txID byte for byte as it
// is in its block (taken from the block rather than re-encoded from
// GetTransactionByID, so signatures over it stay checkable), the block
// number, and the validation code the committing peer recorded in the
// block's transaction filter.
func (s *EvidenceSource) Transaction(ctx context.Context, txID string) ([]byte, uint64, int32, error) {
	raw, err := s.l.evaluateSystem(ctx, qscc, qsccGetBlockByTxID, s.l.channel, txID)
	if err != nil {
		return nil, 0, 0, &EvidenceError{Op: qsccGetBlockByTxID, Arg: txID, Err: err}
	}
	var block common.Block
	if err := proto.Unmarshal(raw, &block); err != nil {
		return nil, 0, 0, &EvidenceError{Op: qsccGetBlockByTxID, Arg: txID, Err: fmt.Errorf("decode block: %w", err)}
	}
	env, code, err := TransactionInBlock(&block, txID)
	if err != nil {
		return nil, 0, 0, &EvidenceError{Op: qsccGetBlockByTxID, Arg: txID, Err: err}
	}
	return env, block.GetHeader().GetNumber(), code, nil
}

// TransactionInBlock returns the envelope bytes of transaction txID in
// block and its validation code from the block's transaction filter.
func TransactionInBlock(block *common.Block, txID string) ([]byte, int32, error) {
	filter := block.GetMetadata().GetMetadata()
	idx := int(common.BlockMetadataIndex_TRANSACTIONS_FILTER)
	for i, data := range block.GetData().GetData() {
		var env common.Envelope
		var payload common.Payload
		var ch common.ChannelHeader
		if proto.Unmarshal(data, &env) != nil || proto.Unmarshal(env.Payload, &payload) != nil ||
			proto.Unmarshal(payload.GetHeader().GetChannelHeader(), &ch) != nil || ch.TxId != txID {
			continue
		}
		if len(filter) <= idx || len(filter[idx]) <= i {
			return nil, 0, fmt.Errorf("block %d has no validation code for transaction %d", block.GetHeader().GetNumber(), i)
		}
		return data, int32(filter[idx][i]), nil
	}
	return nil, 0, fmt.Errorf("transaction %s is not in block %d", txID, block.GetHeader().GetNumber())
}

// ChannelMSPs returns the channel's application organisations with their
// root and intermediate CA certificates and peer OU, read from the
// channel's current configuration block (cscc GetConfigBlock): the
// channel's own record, not files on this machine.
func (s *EvidenceSource) ChannelMSPs(ctx context.Context) ([]evidence.OrgMSP, error) {
	raw, err := s.l.evaluateSystem(ctx, cscc, csccGetConfigBlock, s.l.channel)
	if err != nil {
		return nil, &EvidenceError{Op: csccGetConfigBlock, Arg: s.l.channel, Err: err}
	}
	var block common.Block
	if err := proto.Unmarshal(raw, &block); err != nil {
		return nil, &EvidenceError{Op: csccGetConfigBlock, Arg: s.l.channel, Err: fmt.Errorf("decode block: %w", err)}
	}
	orgs, err := ApplicationMSPs(&block)
	if err != nil {
		return nil, &EvidenceError{Op: csccGetConfigBlock, Arg: s.l.channel, Err: err}
	}
	return orgs, nil
}

// ApplicationMSPs extracts each application organisation's MSP from a
// channel configuration block, sorted by MSP id.
func ApplicationMSPs(block *common.Block) ([]evidence.OrgMSP, error) {
	data := block.GetData().GetData()
	if len(data) != 1 {
		return nil, fmt.Errorf("config block %d holds %d envelopes, want 1", block.GetHeader().GetNumber(), len(data))
	}
	var env common.Envelope
	var payload common.Payload
	var cfg common.ConfigEnvelope
	if err := proto.Unmarshal(data[0], &env); err != nil {
		return nil, fmt.Errorf("decode config envelope: %w", err)
	}
	if err := proto.Unmarshal(env.Payload, &payload); err != nil {
		return nil, fmt.Errorf("decode config payload: %w", err)
	}
	if err := proto.Unmarshal(payload.Data, &cfg); err != nil {
		return nil, fmt.Errorf("decode config: %w", err)
	}
	app := cfg.GetConfig().GetChannelGroup().GetGroups()["Application"]
	if app == nil {
		return nil, errors.New("channel configuration has no Application group")
	}
	var out []evidence.OrgMSP
	for name, g := range app.Groups {
		v := g.GetValues()["MSP"]
		if v == nil {
			return nil, fmt.Errorf("application organisation %s has no MSP value", name)
		}
		var mc msp.MSPConfig
		var fc msp.FabricMSPConfig
		if err := proto.Unmarshal(v.Value, &mc); err != nil {
			return nil, fmt.Errorf("decode MSP of %s: %w", name, err)
		}
		if mc.Type != 0 { // 0 is FABRIC (X.509); idemix MSPs cannot endorse
			continue
		}
		if err := proto.Unmarshal(mc.Config, &fc); err != nil {
			return nil, fmt.Errorf("decode Fabric MSP of %s: %w", name, err)
		}
		o := evidence.OrgMSP{MSPID: fc.Name}
		for _, c := range fc.RootCerts {
			o.RootCerts = append(o.RootCerts, string(c))
		}
		for _, c := range fc.IntermediateCerts {
			o.IntermediateCerts = append(o.IntermediateCerts, string(c))
		}
		if ous := fc.GetFabricNodeOus(); ous.GetEnable() && ous.GetPeerOuIdentifier() != nil {
			o.PeerOU = ous.GetPeerOuIdentifier().GetOrganizationalUnitIdentifier()
		}
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b evidence.OrgMSP) int { return strings.Compare(a.MSPID, b.MSPID) })
	return out, nil
}

// AnchoredBatch returns the events contract's record of batch id (GetBatch);
// a batch the ledger does not hold yields an error wrapping
// evidence.ErrNotAnchored.
func (s *EvidenceSource) AnchoredBatch(ctx context.Context, id string) (wire.Batch, error) {
	var b wire.Batch
	err := s.l.evaluateJSON(ctx, &b, wire.ContractEvents, wire.TxGetBatch, id)
	if rej := new(gateway.LedgerRejectedError); errors.As(err, &rej) && rej.Code == wire.CodeNotFound {
		return wire.Batch{}, &EvidenceError{Op: wire.TxGetBatch, Arg: id, Err: fmt.Errorf("%w: %w", evidence.ErrNotAnchored, err)}
	}
	if err != nil {
		return wire.Batch{}, &EvidenceError{Op: wire.TxGetBatch, Arg: id, Err: err}
	}
	return b, nil
}

// Compile-time checks that EvidenceSource serves both sides of evidence.
var (
	_ evidence.LedgerSource = (*EvidenceSource)(nil)
	_ evidence.OnlineSource = (*EvidenceSource)(nil)
)
