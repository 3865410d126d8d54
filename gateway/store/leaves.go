package store

import (
	"context"
	"fmt"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// MaxLeaves bounds one Leaves call, so a reader pages through a long range
// rather than holding it all in memory at once. It is above
// DefaultBatchMaxEvents: one call reads a default-sized batch.
const MaxLeaves = 65_536

// Leaves returns the leaves [from, to) of the log in order: each event
// decoded, with its stored canonical bytes and its stored leaf hash
// (computed once, at append, and kept in its segment record), so readers
// that need the leaf never re-encode or re-hash the event. It requires
// from <= to <= Size() (else *TreeSizeError) and to-from <= MaxLeaves
// (else *ArgumentError). The range is read with a few large reads per
// segment rather than a lookup per event, and the canonical bytes of the
// whole range share the buffer they were read into; each record's frame
// checksum is verified, and a damaged or misplaced record is a
// *SegmentCorruptError naming its file and offset. With WithRecentLeaves,
// a range whose every record is still held in memory is made from there
// instead (the very frames the appender wrote to the files, decoded
// alike, with nothing read, copied or checksummed: those records were
// written by this process and the files are checked when they are read).
// Either way the canonical bytes are shared (with the rest of the range,
// and with the store's memory and other readers' leaves), so callers
// must not modify them.
func (s *Store) Leaves(ctx context.Context, from, to uint64) ([]gateway.Leaf, error) {
	hint := 0 // the previous event's field count: neighbours are alike
	return s.leaves(ctx, from, to, func(r record, dst *gateway.Leaf) error {
		e, err := decodeLeafSized(r.leaf, r.seq, hint)
		hint = len(e.Fields)
		*dst = gateway.Leaf{Event: e, Canonical: r.leaf, LeafHash: r.hash}
		return err
	})
}

// HeaderLeaves is Leaves with partial leaves (gateway.HeaderLeaf): each
// event read from the segment files carries only its header, read from
// its canonical bytes (gateway.ReadHeader), and its fields are decoded
// only if a reader asks (Leaf.Full, which decodes exactly as Leaves
// does). It is for readers that score every event from its canonical
// bytes and need the whole event for a few (the alerter): decoding every
// event's fields into maps was a sixth of the gateway's CPU under ingest
// load, and a third of what it allocated per event. Leaves made from
// WithRecentLeaves' memory are made alike (see Leaves). A leaf whose
// header ReadHeader does not read is
// decoded whole here, and one that does not decode is a
// *SegmentCorruptError, as from Leaves; the fields of the others are
// checked only when they are decoded (the frame checksum was verified).
func (s *Store) HeaderLeaves(ctx context.Context, from, to uint64) ([]gateway.Leaf, error) {
	strs := gateway.NewInterner(maxInterned) // the headers' few distinct strings, shared
	decode := s.decodeHeld                   // one closure for the range, not one per leaf
	return s.leaves(ctx, from, to, func(r record, dst *gateway.Leaf) error {
		h, ok := gateway.ReadHeader(r.leaf, strs.Intern)
		if !ok || h.Seq != r.seq {
			e, err := decodeLeaf(r.leaf, r.seq)
			*dst = gateway.Leaf{Event: e, Canonical: r.leaf, LeafHash: r.hash}
			return err
		}
		*dst = gateway.HeaderLeaf(h, r.leaf, r.hash, decode)
		return nil
	})
}

// decodeHeld is decodeLeaf for a partial leaf's Full: a leaf that does not
// decode is a *SegmentCorruptError naming its segment file, as it is from
// Leaves (the segment list is read without the store's lock: it is an
// atomic snapshot, and a segment's path never changes).
func (s *Store) decodeHeld(leaf []byte, seq uint64) (gateway.Event, error) {
	e, err := decodeLeaf(leaf, seq)
	if err != nil {
		seg, _ := s.log.find(seq)
		return gateway.Event{}, &SegmentCorruptError{Path: seg.path, Reason: fmt.Sprintf("event seq %d: %v", seq, err)}
	}
	return e, nil
}

// maxInterned bounds the distinct header strings one HeaderLeaves call
// shares (sources, sourcetypes, hosts, indexes, classes: a few dozen in
// practice).
const maxInterned = 1024

// leaves is Leaves, making the leaf of each record, read from the segment
// files or held in memory, with leaf, into its place in the result (a
// leaf is a few hundred bytes with pointers: returned by value, it was
// copied twice more, with the garbage collector's write barriers).
func (s *Store) leaves(ctx context.Context, from, to uint64, leaf func(r record, dst *gateway.Leaf) error) ([]gateway.Leaf, error) {
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
	size := s.state.Load().size
	if to > size {
		return nil, &TreeSizeError{What: "leaf range end", Requested: to, Size: size}
	}
	out := make([]gateway.Leaf, to-from)
	if len(out) == 0 {
		return out, nil
	}
	// A leaf refused from memory is read from the files, which report
	// the failure with the file and offset.
	fromMemory := s.recent.each(from, len(out), func(r record) bool {
		return leaf(r, &out[r.seq-from]) == nil
	})
	if fromMemory {
		s.observeLeaves(len(out), size-from, true)
		return out, nil
	}
	err := s.log.readRange(from, to, func(r record) error {
		if err := leaf(r, &out[r.seq-from]); err != nil {
			seg, _ := s.log.find(r.seq)
			return &SegmentCorruptError{Path: seg.path, Reason: fmt.Sprintf("event seq %d: %v", r.seq, err)}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.observeLeaves(len(out), size-from, false)
	return out, nil
}

// observeLeaves counts n leaves returned from memory or the files, and
// reports the read to WithLeavesObserver's function.
func (s *Store) observeLeaves(n int, behind uint64, fromMemory bool) {
	if fromMemory {
		s.stats.leavesMemory.Add(uint64(n))
	} else {
		s.stats.leavesFiles.Add(uint64(n))
	}
	if f := s.cfg.leavesObserver; f != nil {
		f(LeavesRead{Events: n, Behind: behind, FromMemory: fromMemory})
	}
}

// maxFieldsHint caps the map decodeLeafSized makes up front, so one odd
// event with thousands of fields does not make every later one allocate
// for as many.
const maxFieldsHint = 128

// decodeLeafSized is decodeLeaf with the Fields map made for hint entries
// up front (Leaves passes the previous event's count). Decoded into a nil
// map, a 41-field flow record's Fields grows several times, and growing
// was a quarter of the alerter's decode CPU (make bench ingest profile).
// The result is exactly decodeLeaf's: a leaf whose sized decode fails,
// holds another seq or has no fields is decoded by decodeLeaf itself (so
// an event without fields keeps the nil or empty map decodeLeaf gives
// it), and decoding into an empty map adds the same entries as decoding
// into a nil one.
func decodeLeafSized(leaf []byte, seq uint64, hint int) (gateway.Event, error) {
	if hint <= 0 {
		return decodeLeaf(leaf, seq)
	}
	e := gateway.Event{Fields: make(map[string]any, min(hint, maxFieldsHint))}
	if err := leafJSON.Unmarshal(leaf, &e); err != nil || e.Seq != seq || len(e.Fields) == 0 {
		return decodeLeaf(leaf, seq)
	}
	return e, nil
}
