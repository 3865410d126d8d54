package evidence

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
)

// LogSource is the part of the gateway's store an export reads
// (gateway/store.Store implements it).
type LogSource interface {
	// BatchOf returns the sealed batch holding leaf seq, false if none yet.
	BatchOf(ctx context.Context, seq uint64) (gateway.Batch, bool, error)
	// EventBySeq returns the event at leaf index seq.
	EventBySeq(ctx context.Context, seq uint64) (gateway.Event, error)
	// EventByID returns the event with its stored canonical bytes and its
	// inclusion proof against the tree of size treeSize (0: its batch's).
	EventByID(ctx context.Context, id string, treeSize uint64) (gateway.EventProof, error)
	// ConsistencyProof proves the tree of size1 is a prefix of that of size2.
	ConsistencyProof(ctx context.Context, size1, size2 uint64) (gateway.ConsistencyProof, error)
}

// LedgerSource is the ledger side of an export (gateway/fabric's
// EvidenceSource implements it on qscc, cscc and the events contract).
type LedgerSource interface {
	// Transaction returns a committed transaction: its envelope bytes
	// exactly as in the block, the block number and the validation code.
	Transaction(ctx context.Context, txID string) (envelope []byte, block uint64, validationCode int32, err error)
	// ChannelMSPs returns the channel's application organisations with
	// their CA certificates, from the channel's configuration block.
	ChannelMSPs(ctx context.Context) ([]OrgMSP, error)
	// AnchoredBatch returns the ledger's record of a batch (its TxID is the
	// anchoring transaction), or an error wrapping ErrNotAnchored.
	AnchoredBatch(ctx context.Context, batchID string) (wire.Batch, error)
}

// Request says what to export. Exactly one of a time range (From <= To,
// either may be zero for open-ended) or EventIDs is given; the gateway,
// channel and chaincode are required.
type Request struct {
	GatewayMSP string
	GatewayID  string
	Channel    string
	Chaincode  string
	From, To   time.Time
	EventIDs   []string
	Gzip       bool
	// Progress, if set, is called after every ProgressEvery events written.
	Progress func(events, total int)
}

// RequestError reports a Request Export cannot act on.
type RequestError struct{ Reason string }

func (e *RequestError) Error() string { return "evidence: export request: " + e.Reason }

// NotSealedError reports a requested event that is not in a sealed batch
// yet, so it has no anchored root to prove it against.
type NotSealedError struct{ EventID string }

func (e *NotSealedError) Error() string {
	return fmt.Sprintf("evidence: event %s is not in a sealed batch yet", e.EventID)
}

// NotAnchoredError reports an exported batch whose anchoring transaction
// cannot be found (the gateway has not anchored it yet, or the ledger does
// not know it).
type NotAnchoredError struct {
	BatchID string
	Err     error
}

func (e *NotAnchoredError) Error() string {
	return fmt.Sprintf("evidence: batch %s is not anchored: %v", e.BatchID, e.Err)
}
func (e *NotAnchoredError) Unwrap() error { return e.Err }

// SourceError reports a failed read of the store or the ledger while
// exporting, naming what was being read.
type SourceError struct {
	What string // e.g. "event seq 12", "transaction 3fa..."
	Err  error
}

func (e *SourceError) Error() string { return fmt.Sprintf("evidence: export: %s: %v", e.What, e.Err) }
func (e *SourceError) Unwrap() error { return e.Err }

// ErrNothingToExport is returned when no sealed batch matches the request.
var ErrNothingToExport = errors.New("evidence: no sealed batch matches the request")

// Summary counts what Export wrote.
type Summary struct {
	Batches int
	Events  int
}

// Export writes a bundle for req to w: every sealed batch that overlaps the
// time range (by its events' times) or holds a listed event, whole, in log
// order, with its anchoring transaction and proofs. It fails, writing
// possibly a partial bundle (callers write to a temporary file), if a batch
// is not anchored or a source fails.
func Export(ctx context.Context, w io.Writer, log LogSource, ledger LedgerSource, req Request) (Summary, error) {
	if err := req.validate(); err != nil {
		return Summary{}, err
	}
	batches, err := selectBatches(ctx, log, req)
	if err != nil {
		return Summary{}, err
	}
	if len(batches) == 0 {
		return Summary{}, ErrNothingToExport
	}
	orgs, err := ledger.ChannelMSPs(ctx)
	if err != nil {
		return Summary{}, &SourceError{What: "channel configuration", Err: err}
	}
	h := Header{
		Created: time.Now().UTC(), Channel: req.Channel, Chaincode: req.Chaincode,
		GatewayMSP: req.GatewayMSP, GatewayID: req.GatewayID,
		Query: Query{From: req.From, To: req.To, EventIDs: req.EventIDs}, Orgs: orgs,
		Batches: len(batches),
	}
	for _, b := range batches {
		h.Events += int(b.TreeSizeAfter - b.TreeSizeBefore)
	}
	enc, err := NewEncoder(w, h, req.Gzip)
	if err != nil {
		return Summary{}, err
	}
	var sum Summary
	var prev *gateway.Batch
	for i := range batches {
		b := batches[i]
		err := exportBatch(ctx, enc, log, ledger, b, prev, func() {
			sum.Events++
			if req.Progress != nil && sum.Events%ProgressEvery == 0 {
				req.Progress(sum.Events, h.Events)
			}
		})
		if err != nil {
			return sum, err
		}
		sum.Batches++
		prev = &batches[i]
	}
	if req.Progress != nil {
		req.Progress(sum.Events, h.Events)
	}
	return sum, enc.Close()
}

func (r Request) validate() error {
	switch {
	case r.GatewayMSP == "" || r.GatewayID == "":
		return &RequestError{"gateway MSP and id are required"}
	case r.Channel == "" || r.Chaincode == "":
		return &RequestError{"channel and chaincode are required"}
	case len(r.EventIDs) > 0 && (!r.From.IsZero() || !r.To.IsZero()):
		return &RequestError{"give a time range or event ids, not both"}
	case len(r.EventIDs) == 0 && r.From.IsZero() && r.To.IsZero():
		return &RequestError{"give a time range or event ids"}
	case !r.From.IsZero() && !r.To.IsZero() && r.To.Before(r.From):
		return &RequestError{fmt.Sprintf("time range ends (%s) before it starts (%s)", r.To.Format(time.RFC3339), r.From.Format(time.RFC3339))}
	}
	return nil
}

// selectBatches returns the sealed batches to export, in log order.
func selectBatches(ctx context.Context, log LogSource, req Request) ([]gateway.Batch, error) {
	if len(req.EventIDs) > 0 {
		byID := map[string]gateway.Batch{}
		for _, id := range req.EventIDs {
			ep, err := log.EventByID(ctx, id, 0)
			if err != nil {
				return nil, &SourceError{What: "event " + id, Err: err}
			}
			if ep.Batch == nil {
				return nil, &NotSealedError{EventID: id}
			}
			byID[ep.Batch.ID] = *ep.Batch
		}
		out := make([]gateway.Batch, 0, len(byID))
		for _, b := range byID {
			out = append(out, b)
		}
		slices.SortFunc(out, func(a, b gateway.Batch) int { return compareU64(a.TreeSizeBefore, b.TreeSizeBefore) })
		return out, nil
	}
	// Batches tile the log, so walking them from leaf 0 visits each once;
	// their event times are not monotonic across batches, so every batch
	// is looked at.
	var out []gateway.Batch
	for seq := uint64(0); ; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b, ok, err := log.BatchOf(ctx, seq)
		if err != nil {
			return nil, &SourceError{What: fmt.Sprintf("batch of seq %d", seq), Err: err}
		}
		if !ok {
			return out, nil
		}
		if (req.To.IsZero() || !b.TimeFrom.After(req.To)) && (req.From.IsZero() || !b.TimeTo.Before(req.From)) {
			out = append(out, b)
		}
		if b.TreeSizeAfter <= seq {
			return nil, &SourceError{What: fmt.Sprintf("batch %s", b.ID), Err: fmt.Errorf("does not advance past seq %d", seq)}
		}
		seq = b.TreeSizeAfter
	}
}

func compareU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// exportBatch writes one batch record and its events.
func exportBatch(ctx context.Context, enc *Encoder, log LogSource, ledger LedgerSource, b gateway.Batch, prev *gateway.Batch, onEvent func()) error {
	txID := b.TxID
	if txID == "" {
		rec, err := ledger.AnchoredBatch(ctx, b.ID)
		if err != nil {
			return &NotAnchoredError{BatchID: b.ID, Err: err}
		}
		txID = rec.TxID
	}
	env, block, code, err := ledger.Transaction(ctx, txID)
	if err != nil {
		return &NotAnchoredError{BatchID: b.ID, Err: fmt.Errorf("transaction %s: %w", txID, err)}
	}
	rec := BatchRecord{Batch: b, Transaction: Transaction{TxID: txID, Block: block, ValidationCode: code, Envelope: env}}
	if prev != nil {
		cp, err := log.ConsistencyProof(ctx, prev.TreeSizeAfter, b.TreeSizeAfter)
		if err != nil {
			return &SourceError{What: fmt.Sprintf("consistency proof %d..%d", prev.TreeSizeAfter, b.TreeSizeAfter), Err: err}
		}
		rec.Consistency = &cp
	}
	var events []EventRecord
	for seq := b.TreeSizeBefore; seq < b.TreeSizeAfter; seq++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		// EventBySeq names the event; EventByID returns its stored bytes
		// (the leaf exactly) with the proof against the batch's root.
		e, err := log.EventBySeq(ctx, seq)
		if err != nil {
			return &SourceError{What: fmt.Sprintf("event seq %d", seq), Err: err}
		}
		ep, err := log.EventByID(ctx, e.ID, b.TreeSizeAfter)
		if err != nil {
			return &SourceError{What: fmt.Sprintf("event %s seq %d", e.ID, seq), Err: err}
		}
		if ep.Proof.LeafIndex != seq || ep.Root != b.RootHash {
			return &SourceError{What: fmt.Sprintf("event %s seq %d", e.ID, seq), Err: fmt.Errorf("store returned leaf %d under root %s, want leaf %d under the batch root %s", ep.Proof.LeafIndex, ep.Root, seq, b.RootHash)}
		}
		if seq == b.TreeSizeBefore {
			if rec.Prefix, err = PrefixFromInclusion(ep.Proof); err != nil {
				return &SourceError{What: fmt.Sprintf("prefix of batch %s", b.ID), Err: err}
			}
		}
		events = append(events, EventRecord{Seq: seq, ID: e.ID, Canonical: ep.Canonical, Proof: ep.Proof})
	}
	if rec.Prefix == nil {
		rec.Prefix = []string{}
	}
	if err := enc.Batch(rec); err != nil {
		return err
	}
	for _, ev := range events {
		if err := enc.Event(ev); err != nil {
			return err
		}
		onEvent()
	}
	return nil
}
