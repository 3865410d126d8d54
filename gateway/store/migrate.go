package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ledgerguard/ledgerguard/gateway/durable"
	"github.com/ledgerguard/ledgerguard/gateway/merkle"
)

// Store formats. Format 1 (ledgerguard before segment files) kept every
// event in Pebble under 'e' seq and every leaf hash as a level-0 node;
// format 2 keeps both in segment files. The format is recorded under
// keyFormat; a store without it is format 1 if it holds anything.
const (
	formatPebbleOnly = 1
	formatSegments   = 2
)

var keyFormat = []byte{prefixMeta, 'f', 'o', 'r', 'm', 'a', 't'}

// FormatError reports a store of a format this version cannot open (a
// newer one): nothing was changed.
type FormatError struct {
	Dir    string
	Format uint64
}

// Error implements error.
func (e *FormatError) Error() string {
	return fmt.Sprintf("store: %s has store format %d; this gateway reads formats %d and %d (a newer gateway wrote it)", e.Dir, e.Format, formatPebbleOnly, formatSegments)
}

// ensureFormat makes the database format 2: it records the format of a new
// store, and migrates a format-1 store (see migrate).
func (s *Store) ensureFormat() error {
	v, err := s.get(keyFormat)
	switch {
	case err == nil:
		f, n := binary.Uvarint(v)
		if n <= 0 {
			return corrupt(keyFormat, errors.New("bad format varint"))
		}
		if f != formatSegments {
			return &FormatError{Dir: s.dir, Format: f}
		}
		return nil
	case !errors.Is(err, pebble.ErrNotFound):
		return fmt.Errorf("store: read format: %w", err)
	}
	_, hasTree, err := s.getOK(keyTree)
	if err != nil {
		return err
	}
	if !hasTree {
		// A new store, or one whose first write never committed.
		b := s.db.NewBatch()
		if err := b.Set(keyFormat, binary.AppendUvarint(nil, formatSegments), nil); err != nil {
			return err
		}
		return s.commitSync(b)
	}
	return s.migrate()
}

func (s *Store) getOK(key []byte) ([]byte, bool, error) {
	v, err := s.get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	return v, err == nil, err
}

// migrate converts a format-1 store at open, streaming: it copies every
// event record, checked, with its leaf hash (recomputed and compared with
// the stored level-0 node) into fresh segment files, fsyncs them, and then
// in one atomic, fsynced Pebble write records format 2 and deletes the
// format-1 event records and the nodes below nodeMinLevel. A crash before that write leaves
// a format-1 store, migrated again from scratch at the next open (the
// partial segment files are removed first); after it, the store is format
// 2. The id index, interior nodes, batches and checkpoint are shared by
// both formats and stay as they are, so nothing acknowledged can be lost.
func (s *Store) migrate() error {
	meta, err := s.readTreeMeta()
	if err != nil {
		return err
	}
	log.Printf("store: %s is in the Pebble-only format 1; migrating its %d events to segment files (format 2)", s.dir, meta.size)
	segDir := s.cfg.fs.PathJoin(s.dir, segDirName)
	if err := s.cfg.fs.RemoveAll(segDir); err != nil {
		return fmt.Errorf("store: migrate: remove partial segments: %w", err)
	}
	l, err := openSegLog(s.cfg.fs, s.dir, 0, s.cfg.segmentBytes, s.cfg.preallocates())
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer l.close()

	events, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixEvent}, UpperBound: []byte{prefixEvent + 1}})
	if err != nil {
		return err
	}
	defer events.Close()
	var lo, hi [10]byte
	leaves, err := s.db.NewIter(&pebble.IterOptions{LowerBound: bytes.Clone(nodeKey(&lo, 0, 0)), UpperBound: bytes.Clone(nodeKey(&hi, 1, 0))})
	if err != nil {
		return err
	}
	defer leaves.Close()

	// Flush at most a segment at a time, so migrated segments have the
	// configured size, and memory stays bounded.
	flushAt := int(min(4<<20, s.cfg.segmentBytes))
	var (
		frames []byte
		starts []int
		first  uint64
		seq    uint64
	)
	flush := func() error {
		if len(starts) == 0 {
			return nil
		}
		if err := l.write(first, frames, starts); err != nil {
			return fmt.Errorf("store: migrate: write segment: %w", err)
		}
		first += uint64(len(starts))
		frames, starts = frames[:0], starts[:0]
		return nil
	}
	okLeaf := leaves.First()
	for ok := events.First(); ok; ok = events.Next() {
		k := events.Key()
		if len(k) != 9 || binary.BigEndian.Uint64(k[1:]) != seq {
			return corrupt(seqKey(prefixEvent, seq), errors.New("format-1 event record missing below tree size"))
		}
		v, err := events.ValueAndErr()
		if err != nil {
			return err
		}
		e, leaf, err := decodeEventRecord(v)
		if err != nil {
			return corrupt(k, err)
		}
		if e.Seq != seq {
			return corrupt(k, fmt.Errorf("record holds seq %d", e.Seq))
		}
		hash := merkle.LeafHash(leaf)
		var kb [10]byte
		if !okLeaf || !bytes.Equal(leaves.Key(), nodeKey(&kb, 0, seq)) || !bytes.Equal(leaves.Value(), hash) {
			return corrupt(nodeKey(&kb, 0, seq), errors.New("format-1 leaf node missing or not the hash of its event"))
		}
		okLeaf = leaves.Next()

		at := len(frames)
		starts = append(starts, at)
		frames = append(frames, make([]byte, frameOverhead)...)
		binary.BigEndian.PutUint64(frames[at+durable.FrameHeaderSize:], seq)
		copy(frames[at+durable.FrameHeaderSize+8:], hash)
		frames = append(frames, leaf...)
		durable.PutFrameHeader(frames[at:], frames[at+durable.FrameHeaderSize:])
		seq++
		if len(frames) >= flushAt {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := events.Error(); err != nil {
		return err
	}
	if seq != meta.size {
		return corrupt(keyTree, fmt.Errorf("checkpoint size %d but %d format-1 event records", meta.size, seq))
	}
	if err := flush(); err != nil {
		return err
	}
	// The last segment's index is rebuilt at every open; syncing it here
	// too keeps the migrated files complete on their own.
	segs := *l.segs.Load()
	if err := segs[len(segs)-1].idx.Sync(); err != nil {
		return fmt.Errorf("store: migrate: sync index: %w", err)
	}

	b := s.db.NewBatch()
	if err := b.Set(keyFormat, binary.AppendUvarint(nil, formatSegments), nil); err != nil {
		return err
	}
	if err := b.DeleteRange([]byte{prefixEvent}, []byte{prefixEvent + 1}, nil); err != nil {
		return err
	}
	if err := b.DeleteRange(bytes.Clone(nodeKey(&lo, 0, 0)), bytes.Clone(nodeKey(&hi, nodeMinLevel, 0)), nil); err != nil {
		return err
	}
	if err := s.commitSync(b); err != nil {
		return fmt.Errorf("store: migrate: record format 2: %w", err)
	}
	log.Printf("store: %s migrated to format 2: %d events in %d segment files", s.dir, seq, len(segs))
	return nil
}

func (s *Store) readTreeMeta() (treeMeta, error) {
	v, ok, err := s.getOK(keyTree)
	if err != nil || !ok {
		return treeMeta{}, err
	}
	m, err := decodeTreeMeta(v)
	if err != nil {
		return treeMeta{}, corrupt(keyTree, err)
	}
	return m, nil
}
