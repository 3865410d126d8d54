package fabric

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
)

// Ledger is the typed client of the ledgerguard chaincode on one channel,
// acting as its Client's identity. It implements every ledger-facing
// interface of the gateway (gateway.Ledger, the alerter's, provenance's,
// the responder's respond.Ledger) and a generic Evaluate/Submit for the
// CLI. Every error it returns is classified (see classify): transient ones
// are *gateway.LedgerUnavailableError (errors.Is gateway.ErrLedgerUnavailable),
// permanent ones *gateway.LedgerRejectedError, both naming the operation,
// stage and transaction id.
type Ledger struct {
	c         *Client
	channel   string
	chaincode string
	// argFormUntil (Unix nanoseconds) is when RaiseAlerts next tries the
	// transient form after it last had to fall back to the argument form:
	// until then it sends the argument form straight away, so a gateway
	// ahead of its chaincode does not pay a refused endorsement per
	// transaction.
	argFormUntil atomic.Int64
	// plainFormUntil is the same for the compressed transient form
	// (wire.TransientAlertsDeflate): until then RaiseAlerts sends the
	// plain transient form straight away.
	plainFormUntil atomic.Int64
}

// argFormRetry is how long RaiseAlerts keeps to the argument form after a
// fallback before it tries the transient form again (the chaincode may
// have been upgraded, or the local endorser come back).
const argFormRetry = 10 * time.Minute

// Ledger anchors the gateway's log (the other interfaces it serves are
// checked in interfaces_test.go, so this package does not depend on the
// pipelines).
var _ gateway.Ledger = (*Ledger)(nil)

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

// Evaluate evaluates transaction tx of contract (names from chaincode/wire)
// on one peer and returns its result; nothing is written.
func (l *Ledger) Evaluate(ctx context.Context, contract, tx string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, l.c.stageTimeouts().Evaluate)
	defer cancel()
	res, err := l.contract(contract).EvaluateWithContext(ctx, tx, client.WithArguments(args...))
	if err != nil {
		return nil, classify(tx, gateway.StageEvaluate, err)
	}
	return res, nil
}

// Submit submits transaction tx of contract, waits for its commit and
// returns its result. A transaction committed invalid is an error.
func (l *Ledger) Submit(ctx context.Context, contract, tx string, args ...string) ([]byte, error) {
	res, _, err := l.submit(ctx, contract, tx, args...)
	return res, err
}

// Ping evaluates system:Ping: the chaincode answers on the client's peer.
func (l *Ledger) Ping(ctx context.Context) ([]byte, error) {
	return l.Evaluate(ctx, wire.ContractSystem, wire.TxPing)
}

// submit is Submit returning the commit status too (tx id, block).
func (l *Ledger) submit(ctx context.Context, contract, tx string, args ...string) ([]byte, *client.Status, error) {
	return l.submitWith(ctx, contract, tx, client.WithArguments(args...))
}

// submitWith submits transaction tx with proposal options (arguments,
// transient data, endorsing organisations), waits for its commit and
// returns its result and commit status. A transaction committed invalid
// is an error.
func (l *Ledger) submitWith(ctx context.Context, contract, tx string, opts ...client.ProposalOption) ([]byte, *client.Status, error) {
	txn, err := l.endorse(ctx, contract, tx, opts...)
	if err != nil {
		return nil, nil, classify(tx, gateway.StageEndorse, err)
	}
	return l.order(ctx, tx, txn)
}

// endorse builds transaction tx of contract and has it endorsed, within
// the endorse timeout. Its error is fabric-gateway's, unclassified, so
// RaiseAlerts can tell the refusals the argument form gets past.
func (l *Ledger) endorse(ctx context.Context, contract, tx string, opts ...client.ProposalOption) (*client.Transaction, error) {
	p, err := l.contract(contract).NewProposal(tx, opts...)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, l.c.stageTimeouts().Endorse)
	defer cancel()
	return p.EndorseWithContext(ctx)
}

// order sends an endorsed transaction to the orderers (within the submit
// timeout), waits for its commit (within the commit-status timeout) and
// returns its result and commit status; errors are classified.
func (l *Ledger) order(ctx context.Context, tx string, txn *client.Transaction) ([]byte, *client.Status, error) {
	sctx, cancel := context.WithTimeout(ctx, l.c.stageTimeouts().Submit)
	commit, err := txn.SubmitWithContext(sctx)
	cancel()
	if err != nil {
		return nil, nil, withTxID(classify(tx, gateway.StageSubmit, err), txn.TransactionID())
	}
	st, err := l.commitStatus(ctx, tx, commit)
	if err != nil {
		return nil, nil, err
	}
	return txn.Result(), st, nil
}

// commitStatus waits for an ordered transaction's commit and returns its
// status, or the classified error when it could not be read or the
// transaction was committed invalid. The wait is bounded by the
// commit-status timeout: the peer answers only once the transaction is in
// a block, and a transaction the orderers accepted but then lost (a Raft
// leader change drops what the old leader had not cut into a block) is in
// none, so without the bound its caller would wait for ever — the anchorer
// with it, and ingest behind the anchorer's backpressure. Timing out is
// transient (gateway.ErrLedgerUnavailable): the caller submits again, and
// the transactions the gateway resubmits are keyed so that a replay is
// recognised (a batch anchored or an alert raised already comes back as
// existing), whether the lost one committed late or never. Sighting
// reports are not (each is recorded anew): after such an error
// (gateway.MayHaveCommitted) they are not reported again.
func (l *Ledger) commitStatus(ctx context.Context, tx string, commit *client.Commit) (*client.Status, error) {
	bound := l.c.stageTimeouts().CommitStatus
	cctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	st, err := commit.StatusWithContext(cctx)
	if err != nil {
		// The deadline shows as cctx ending or, when gRPC's own timer
		// fired first, as a DeadlineExceeded status with cctx not yet
		// ended; the caller's ctx still alive says it was the bound.
		if ctx.Err() == nil && (cctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || status.Code(err) == codes.DeadlineExceeded) {
			err = fmt.Errorf("no commit within %v (the orderers may have lost the transaction; submit it again): %w", bound, err)
		}
		return nil, withTxID(classify(tx, gateway.StageCommit, err), commit.TransactionID())
	}
	if !st.Successful {
		return nil, committedInvalid(tx, st.TransactionID, st.Code)
	}
	return st, nil
}

// argumentForm reports whether err, RaiseAlerts' endorsement error for a
// transient form (raw, as the client returns it), is one an older form
// gets past: a chaincode older than the form finding no alerts
// (wire.CodeInvalid with the texts those versions give: the plain
// transient form's chaincode does not know the compressed key and says
// the alerts "are required", the argument form's chaincode reads the
// empty argument as malformed JSON), or Fabric's gateway refusing to send
// transient data outside its organisation (FailedPrecondition: its own
// organisation has no endorser for the chaincode, which discovery would
// otherwise route around). Any other refusal, invalid alerts among them,
// is the chaincode's answer in every form: falling back would cost two
// more endorsements and keep the gateway on a form whose blocks carry
// each alert twice for argFormRetry.
func argumentForm(err error) bool {
	if ref, ok := refusal(err); ok {
		return ref.Code == wire.CodeInvalid && (strings.Contains(ref.Message, olderNoAlerts) || strings.Contains(ref.Message, olderEmptyArgument))
	}
	s, ok := status.FromError(err)
	return ok && s.Code() == codes.FailedPrecondition
}

// The refusals of chaincode versions older than a RaiseAlerts form, as
// those versions word them (their texts are fixed: they are released).
const (
	olderNoAlerts      = "invalid alerts: are required"
	olderEmptyArgument = "invalid alerts: malformed JSON"
)

// withTxID names txID in a classified error that does not name one yet.
func withTxID(err error, txID string) error {
	var u *gateway.LedgerUnavailableError
	var r *gateway.LedgerRejectedError
	switch {
	case errors.As(err, &u) && u.TxID == "":
		u.TxID = txID
	case errors.As(err, &r) && r.TxID == "":
		r.TxID = txID
	}
	return err
}

// evaluateJSON evaluates and decodes the result into out.
func (l *Ledger) evaluateJSON(ctx context.Context, out any, contract, tx string, args ...string) error {
	raw, err := l.Evaluate(ctx, contract, tx, args...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &gateway.LedgerRejectedError{Op: tx, Stage: gateway.StageEvaluate, Code: wire.CodeInternal, Reason: "decode result: " + err.Error()}
	}
	return nil
}

// Fabric's system chaincodes and the functions this package calls on them.
const (
	qscc               = "qscc"
	qsccGetChainInfo   = "GetChainInfo"
	qsccGetBlockByTxID = "GetBlockByTxID"
	cscc               = "cscc"
	csccGetConfigBlock = "GetConfigBlock"
)

// evaluateSystem evaluates function fn of Fabric's system chaincode cc
// (qscc, cscc) on the ledger's channel.
func (l *Ledger) evaluateSystem(ctx context.Context, cc, fn string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, l.c.stageTimeouts().Evaluate)
	defer cancel()
	res, err := l.c.gw.GetNetwork(l.channel).GetContract(cc).EvaluateWithContext(ctx, fn, client.WithArguments(args...))
	if err != nil {
		return nil, classify(fn, gateway.StageEvaluate, err)
	}
	return res, nil
}

func (l *Ledger) contract(name string) *client.Contract {
	return l.c.gw.GetNetwork(l.channel).GetContractWithName(l.chaincode, name)
}

// decodeError is a result the chaincode committed but this client cannot
// decode: a version mismatch, final for the same chaincode.
func decodeError(op string, st *client.Status, what string, err error) error {
	return &gateway.LedgerRejectedError{Op: op, Stage: gateway.StageCommit, TxID: st.TransactionID, Code: wire.CodeInternal,
		Reason: "decode " + what + ": " + err.Error()}
}

// encodeError is an argument this client cannot encode.
func encodeError(op, what string, err error) error {
	return &gateway.LedgerRejectedError{Op: op, Code: wire.CodeInvalid, Reason: "encode " + what + ": " + err.Error()}
}

// AnchorBatch submits events:AnchorBatch and waits for the commit. A batch
// the chaincode already holds is returned as Replayed with the original
// transaction id, and is not written again.
func (l *Ledger) AnchorBatch(ctx context.Context, b gateway.Batch) (gateway.Anchor, error) {
	arg, err := json.Marshal(BatchToWire(b))
	if err != nil {
		return gateway.Anchor{}, encodeError(wire.TxAnchorBatch, "batch", err)
	}
	res, st, err := l.submit(ctx, wire.ContractEvents, wire.TxAnchorBatch, string(arg))
	if err != nil {
		return gateway.Anchor{}, err
	}
	var rec wire.Batch
	if err := json.Unmarshal(res, &rec); err != nil {
		return gateway.Anchor{}, decodeError(wire.TxAnchorBatch, st, "result", err)
	}
	return anchorOf(&rec, st), nil
}

// anchorOf is where the stored batch rec is: the transaction st, or, when
// the chaincode returned the record an earlier transaction wrote, that one
// (Replayed).
func anchorOf(rec *wire.Batch, st *client.Status) gateway.Anchor {
	if rec.TxID != "" && rec.TxID != st.TransactionID {
		return gateway.Anchor{TxID: rec.TxID, BlockNumber: 0, Replayed: true}
	}
	return gateway.Anchor{TxID: st.TransactionID, BlockNumber: st.BlockNumber}
}

// RaiseAlerts submits alerts:RaiseAlerts and waits for the commit. Alerts
// already on the ledger come back in RaiseResult.Existing and are not
// written again, so a retry after a lost acknowledgement is safe.
//
// The alerts travel in the transient map with an empty argument, so the
// block carries each alert once, in the set the chaincode writes, instead
// of twice: alerts are most of the channel's bytes under load, and every
// orderer and peer hashes, copies, replicates and stores each block byte.
// They travel compressed (wire.TransientAlertsDeflate): the transient map
// is not in the block, but each endorser receives it, hashes it for its
// signature checks, forwards it (the organisation's gateway peer) and
// hands it to the chaincode, at about 670 bytes of JSON per alert against
// about 105 compressed (the peers' CPU per alert fell 14-17 % with it).
//
// Two refusals at endorsement, where nothing was ordered, make it endorse
// the same alerts again in an older form (argumentForm), and keep to that
// form for argFormRetry: a chaincode older than the compressed form
// (it finds no alerts, wire.CodeInvalid) gets the plain transient form
// (wire.TransientAlerts); a chaincode older than the transient form (it
// reads the empty argument as malformed JSON, wire.CodeInvalid), and
// Fabric's gateway refusing to send transient data to another
// organisation's endorsers when its own organisation has none for the
// chaincode (FailedPrecondition), get the argument form, which every
// version accepts. Alerts the current chaincode finds invalid are refused
// in every form and the last refusal is returned: two more endorsements,
// only for a transaction that fails anyway.
func (l *Ledger) RaiseAlerts(ctx context.Context, alerts []wire.Alert) (wire.RaiseResult, error) {
	arg, err := json.Marshal(alerts)
	if err != nil {
		return wire.RaiseResult{}, encodeError(wire.TxRaiseAlerts, "alerts", err)
	}
	if now := time.Now().UnixNano(); now >= l.argFormUntil.Load() && now >= l.plainFormUntil.Load() {
		z, err := wire.CompressTransientAlerts(arg)
		if err != nil {
			return wire.RaiseResult{}, encodeError(wire.TxRaiseAlerts, "alerts", err)
		}
		res, done, err := l.raiseTransient(ctx, wire.TransientAlertsDeflate, z)
		if done {
			return res, err
		}
		l.plainFormUntil.Store(time.Now().Add(argFormRetry).UnixNano())
	}
	if time.Now().UnixNano() >= l.argFormUntil.Load() {
		res, done, err := l.raiseTransient(ctx, wire.TransientAlerts, arg)
		if done {
			return res, err
		}
		l.argFormUntil.Store(time.Now().Add(argFormRetry).UnixNano())
	}
	res, st, err := l.submit(ctx, wire.ContractAlerts, wire.TxRaiseAlerts, string(arg))
	if err != nil {
		return wire.RaiseResult{}, err
	}
	return raiseResult(res, st)
}

// raiseTransient submits RaiseAlerts with an empty argument and value
// under key in the transient map. done is false, with nothing ordered,
// when the endorsers refused that form in a way an older form gets past
// (argumentForm); otherwise res and err are the call's outcome.
func (l *Ledger) raiseTransient(ctx context.Context, key string, value []byte) (res wire.RaiseResult, done bool, err error) {
	txn, err := l.endorse(ctx, wire.ContractAlerts, wire.TxRaiseAlerts,
		client.WithArguments(""), client.WithTransient(map[string][]byte{key: value}))
	switch {
	case err == nil:
		raw, st, err := l.order(ctx, wire.TxRaiseAlerts, txn)
		if err != nil {
			return wire.RaiseResult{}, true, err
		}
		res, err := raiseResult(raw, st)
		return res, true, err
	case argumentForm(err):
		return wire.RaiseResult{}, false, nil
	default:
		return wire.RaiseResult{}, true, classify(wire.TxRaiseAlerts, gateway.StageEndorse, err)
	}
}

// raiseResult decodes RaiseAlerts' result.
func raiseResult(res []byte, st *client.Status) (wire.RaiseResult, error) {
	var out wire.RaiseResult
	if err := json.Unmarshal(res, &out); err != nil {
		return wire.RaiseResult{}, decodeError(wire.TxRaiseAlerts, st, "result", err)
	}
	return out, nil
}

// AnchoredSize returns the tree size the ledger has anchored for a gateway
// (events:LatestCheckpoint), 0 when it has anchored nothing yet (the
// chaincode answers wire.CodeNotFound).
func (l *Ledger) AnchoredSize(ctx context.Context, msp, gatewayID string) (uint64, error) {
	var ck wire.Checkpoint
	err := l.evaluateJSON(ctx, &ck, wire.ContractEvents, wire.TxLatestCheckpoint, msp, gatewayID)
	if rej := new(gateway.LedgerRejectedError); errors.As(err, &rej) && rej.Code == wire.CodeNotFound {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return ck.TreeSize, nil
}
