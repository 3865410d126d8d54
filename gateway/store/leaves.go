package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/merkle"
)

// MaxLeaves bounds one Leaves call, so a reader pages through a long range
// rather than holding it all in memory at once. It is above
// DefaultBatchMaxEvents: one call reads a default-sized batch.
const MaxLeaves = 65_536

// Leaves returns the leaves [from, to) of the log in order: each event
// decoded, with its stored canonical bytes and its stored leaf hash (the
// level-0 Merkle node), so readers that need the leaf never re-encode or
// re-hash the event. It requires from <= to <= Size() (else
// *TreeSizeError) and to-from <= MaxLeaves (else *ArgumentError). The
// range is read with one iterator per key space rather than a point lookup
// per event; each record's frame checksum is verified, and a missing or
// malformed record or node is a *CorruptRecordError.
func (s *Store) Leaves(ctx context.Context, from, to uint64) ([]gateway.Leaf, error) {
	if from > to {
		return nil, &ArgumentError{Arg: "from", Err: fmt.Errorf("%d is after to %d", from, to)}
	}
	if to-from > MaxLeaves {
		return nil, &ArgumentError{Arg: "to", Err: fmt.Errorf("range of %d leaves exceeds MaxLeaves (%d)", to-from, MaxLeaves)}
	}
	if err := s.readLock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	if size := s.state.Load().size; to > size {
		return nil, &TreeSizeError{What: "leaf range end", Requested: to, Size: size}
	}
	n := int(to - from)
	if n == 0 {
		return []gateway.Leaf{}, nil
	}
	out := make([]gateway.Leaf, n)
	if err := s.leafEvents(from, to, out); err != nil {
		return nil, err
	}
	if err := s.leafHashes(from, to, out); err != nil {
		return nil, err
	}
	return out, nil
}

// leafEvents fills out[i].Event and out[i].Canonical from the event
// records [from, to). The canonical bytes of the whole range share one
// allocation: the iterator's values are only valid until it moves.
func (s *Store) leafEvents(from, to uint64, out []gateway.Leaf) error {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: seqKey(prefixEvent, from), UpperBound: seqKey(prefixEvent, to)})
	if err != nil {
		return err
	}
	defer it.Close()
	var arena []byte
	seq := from
	for ok := it.First(); ok; ok = it.Next() {
		if k := it.Key(); len(k) != 9 || binary.BigEndian.Uint64(k[1:]) != seq {
			return corrupt(seqKey(prefixEvent, seq), errors.New("event record missing below tree size"))
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		e, canonical, err := decodeEventRecord(v)
		if err != nil {
			return corrupt(it.Key(), err)
		}
		if e.Seq != seq {
			return corrupt(it.Key(), fmt.Errorf("record holds seq %d", e.Seq))
		}
		if cap(arena)-len(arena) < len(canonical) {
			// Size the next chunk for the rest of the range at this
			// record's size, so a range costs a few allocations.
			arena = make([]byte, 0, max(len(canonical)*int(to-seq), 4096))
		}
		start := len(arena)
		arena = append(arena, canonical...)
		out[seq-from] = gateway.Leaf{Event: e, Canonical: arena[start:len(arena):len(arena)]}
		seq++
	}
	if err := it.Error(); err != nil {
		return err
	}
	if seq != to {
		return corrupt(seqKey(prefixEvent, seq), errors.New("event record missing below tree size"))
	}
	return nil
}

// leafHashes fills out[i].LeafHash from the stored level-0 Merkle nodes
// [from, to): every leaf is a perfect node, stored with its event.
func (s *Store) leafHashes(from, to uint64, out []gateway.Leaf) error {
	var lo, hi [10]byte
	lower := bytes.Clone(nodeKey(&lo, 0, from))
	upper := bytes.Clone(nodeKey(&hi, 0, to))
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return err
	}
	defer it.Close()
	var kb [10]byte
	seq := from
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if !bytes.Equal(k, nodeKey(&kb, 0, seq)) {
			return corrupt(nodeKey(&kb, 0, seq), fmt.Errorf("%w: level 0 index %d", errMissingNode, seq))
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		if len(v) != merkle.HashSize {
			return corrupt(k, fmt.Errorf("node hash is %d bytes", len(v)))
		}
		copy(out[seq-from].LeafHash[:], v)
		seq++
	}
	if err := it.Error(); err != nil {
		return err
	}
	if seq != to {
		return corrupt(nodeKey(&kb, 0, seq), fmt.Errorf("%w: level 0 index %d", errMissingNode, seq))
	}
	return nil
}
