package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ledgerguard/ledgerguard/gateway"
)

// batchByID reads a durably sealed batch.
func (s *Store) batchByID(id string, st *durableState) (gateway.Batch, error) {
	idb, err := parseID(id)
	if err != nil {
		return gateway.Batch{}, &BatchNotFoundError{BatchID: id}
	}
	k := idKey(prefixBatch, idb)
	v, err := s.get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return gateway.Batch{}, &BatchNotFoundError{BatchID: id}
	}
	if err != nil {
		return gateway.Batch{}, err
	}
	b, err := decodeBatch(v)
	if err != nil {
		return gateway.Batch{}, corrupt(k, err)
	}
	if b.ID != id {
		return gateway.Batch{}, corrupt(k, fmt.Errorf("record holds batch %s", b.ID))
	}
	if b.TreeSizeAfter > st.sealed {
		// Written but its fsync has not returned yet.
		return gateway.Batch{}, &BatchNotFoundError{BatchID: id}
	}
	return b, nil
}

// Batch returns the durably sealed batch with the given id, or
// *BatchNotFoundError.
func (s *Store) Batch(ctx context.Context, id string) (gateway.Batch, error) {
	if err := s.readLock(ctx); err != nil {
		return gateway.Batch{}, err
	}
	defer s.mu.RUnlock()
	return s.batchByID(id, s.state.Load())
}

// BatchOf returns the sealed batch holding leaf seq, and false while the
// leaf is not in a durably sealed batch yet.
func (s *Store) BatchOf(ctx context.Context, seq uint64) (gateway.Batch, bool, error) {
	if err := s.readLock(ctx); err != nil {
		return gateway.Batch{}, false, err
	}
	defer s.mu.RUnlock()
	return s.batchOf(seq, s.state.Load())
}

// batchOf finds the first batch whose TreeSizeAfter exceeds seq: batches
// tile the log, so that is the one holding seq.
func (s *Store) batchOf(seq uint64, st *durableState) (gateway.Batch, bool, error) {
	if seq >= st.sealed {
		return gateway.Batch{}, false, nil
	}
	it, err := s.db.NewIter(&pebble.IterOptions{
		LowerBound: seqKey(prefixBySize, seq+1),
		UpperBound: seqKey(prefixBySize, st.sealed+1),
	})
	if err != nil {
		return gateway.Batch{}, false, err
	}
	defer it.Close()
	if !it.First() {
		if err := it.Error(); err != nil {
			return gateway.Batch{}, false, err
		}
		return gateway.Batch{}, false, corrupt(seqKey(prefixBySize, seq+1), fmt.Errorf("no batch holds sealed seq %d", seq))
	}
	id, err := batchIDValue(it.Key(), it.Value())
	if err != nil {
		return gateway.Batch{}, false, err
	}
	b, err := s.batchByID(id, st)
	if err != nil {
		return gateway.Batch{}, false, err
	}
	if b.TreeSizeBefore > seq {
		return gateway.Batch{}, false, corrupt(it.Key(), fmt.Errorf("batch %s [%d,%d) does not hold seq %d", b.ID, b.TreeSizeBefore, b.TreeSizeAfter, seq))
	}
	return b, true, nil
}

func batchIDValue(key, v []byte) (string, error) {
	if len(v) != 32 {
		return "", corrupt(key, fmt.Errorf("batch id value is %d bytes", len(v)))
	}
	const digits = "0123456789abcdef"
	out := make([]byte, 64)
	for i, c := range v {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&15]
	}
	return string(out), nil
}

// PendingBatches returns durably sealed batches not yet anchored, in log
// order, at most MaxPendingBatches of them. Anchoring them in this order and
// calling MarkAnchored after each keeps the ledger's chain of batches
// contiguous; after a restart the same batches are returned again.
func (s *Store) PendingBatches(ctx context.Context) ([]gateway.Batch, error) {
	if err := s.readLock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	st := s.state.Load()
	it, err := s.db.NewIter(&pebble.IterOptions{
		LowerBound: []byte{prefixPending},
		UpperBound: seqKey(prefixPending, st.sealed+1),
	})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	out := []gateway.Batch{}
	for ok := it.First(); ok && len(out) < MaxPendingBatches; ok = it.Next() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		id, err := batchIDValue(it.Key(), it.Value())
		if err != nil {
			return nil, err
		}
		b, err := s.batchByID(id, st)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, it.Error()
}

// MarkAnchored records that batch id was anchored by transaction txID in
// block, durably, and removes it from PendingBatches. Repeating it with the
// same txID and block is a no-op; with a different one it returns
// *AnchorConflictError and changes nothing. It returns *BatchNotFoundError
// for a batch not durably sealed, and *FatalError if the write fails.
func (s *Store) MarkAnchored(ctx context.Context, id, txID string, block uint64) error {
	if txID == "" {
		return &ArgumentError{Arg: "txID", Err: errors.New("empty")}
	}
	if f := s.fatal.Load(); f != nil {
		return f
	}
	if err := s.readLock(ctx); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	s.anchorMu.Lock()
	defer s.anchorMu.Unlock()
	b, err := s.batchByID(id, s.state.Load())
	if err != nil {
		return err
	}
	if b.State == gateway.BatchAnchored {
		if b.TxID == txID && b.BlockNumber == block {
			return nil
		}
		return &AnchorConflictError{BatchID: id, TxID: txID, AnchoredTxID: b.TxID}
	}
	b.State = gateway.BatchAnchored
	b.TxID = txID
	b.BlockNumber = block
	b.AnchoredAt = s.cfg.now().UTC()
	v, err := encodeBatch(b)
	if err != nil {
		return err
	}
	idb, _ := parseID(id) // valid: batchByID parsed it
	wb := s.db.NewBatch()
	if err := wb.Set(idKey(prefixBatch, idb), v, nil); err != nil {
		return err
	}
	if err := wb.Delete(seqKey(prefixPending, b.TreeSizeAfter), nil); err != nil {
		return err
	}
	if err := s.commitSync(wb); err != nil {
		return s.failWith(&FatalError{Op: "mark-anchored", FirstSeq: 1, LastSeq: 0, Err: err})
	}
	return nil
}
