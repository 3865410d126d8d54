package store

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"log"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
)

// One fsync per acknowledged group: the segment records are the source of
// truth for everything a group writes to Pebble (id index entries, Merkle
// nodes, the checkpoint, batches sealed by count), since all of it is
// computed from the records. So an Append is acknowledged once its records
// are fsynced in the segment file; the group's Pebble batch is applied
// after that fsync (never before: the OS may write Pebble's unsynced WAL
// out at any time, and a checkpoint must never get ahead of its records)
// without waiting for Pebble's WAL fsync, which indexSyncer runs off the
// acknowledgement path, overlapping the next group's segment write. Open
// replays the records past Pebble's durable checkpoint (replayTail).
//
// A group that seals a batch by count still waits for Pebble's fsync
// before it is acknowledged (one group in BatchMaxEvents/group size), so a
// batch is visible, to the anchorer too, exactly when it is durable, as
// before: a crash could otherwise seal it again differently (its Models
// come from configuration at sealing time).

// indexSyncer fsyncs Pebble's WAL after groups applied without waiting
// for it, one fsync at a time, each covering every group applied before
// it started.
type indexSyncer struct {
	kick chan struct{} // a group was applied: sync again
	done chan struct{} // closed when the syncer goroutine ends
	// mu is held during a sync; tryReopen holds it while it swaps the
	// database, so a sync never runs against a closed one.
	mu sync.Mutex
	// testHold, when set (tests only), is called before each sync; it
	// may block to keep Pebble's WAL unsynced, and returns whether to
	// sync this time.
	testHold func() bool
}

// applied asks the syncer to make what was applied to Pebble durable.
func (s *Store) applied() {
	select {
	case s.isync.kick <- struct{}{}:
	default:
	}
}

// syncLoop is the syncer goroutine; it ends when the store closes. A
// failed fsync is fatal, as on the acknowledgement path: the store
// refuses further writes (what it acknowledged is in the segment files).
func (s *Store) syncLoop() {
	defer close(s.isync.done)
	for {
		select {
		case <-s.closing:
			return
		case <-s.isync.kick:
		}
		if h := s.isync.testHold; h != nil && !h() {
			continue
		}
		s.isync.mu.Lock()
		db := s.db
		if db == nil || s.fatal.Load() != nil {
			s.isync.mu.Unlock()
			continue
		}
		err := syncWAL(db)
		s.isync.mu.Unlock()
		if err != nil {
			s.failWith(&FatalError{Op: "index-sync", FirstSeq: 1, LastSeq: 0, Err: err})
			continue
		}
		s.stats.indexSyncs.Add(1)
	}
}

// syncWAL fsyncs Pebble's WAL, and so every write applied before the
// call. A log-only record is the smallest synced write Pebble accepts.
func syncWAL(db *pebble.DB) error {
	b := db.NewBatch()
	if err := b.LogData(nil, nil); err != nil {
		return err
	}
	if err := db.ApplyNoSyncWait(b, pebble.Sync); err != nil {
		return err
	}
	if err := b.SyncWait(); err != nil {
		return err
	}
	return b.Close()
}

// replayChunk bounds the Pebble batch of one replay commit.
const replayChunk = 16384

// replayTail rebuilds the open batch's totals from its records and writes
// to Pebble what the groups past its durable checkpoint (a.size) wrote or
// would have written, from their segment records: id index entries,
// Merkle nodes, batches sealed by count and the checkpoint, in synced
// commits of at most replayChunk events. The leaf hashes are checked
// against the leaves, so a record that passed its frame checksum but holds
// another leaf's hash is refused rather than built into the tree.
func (a *appender) replayTail() error {
	s := a.s
	end := s.log.size()
	if s.cfg.readOnly && end > a.size {
		// A reader serves what the checkpoint covers and writes nothing:
		// the records past it are replayed (and batches sealed, with the
		// gateway's models and batch size) by the gateway's next open.
		end = a.size
	}
	if a.sealed >= end {
		return nil
	}
	replayFrom := a.size
	var b *pebble.Batch
	var setErr error
	set := func(k, v []byte) {
		if err := b.Set(k, v, nil); err != nil && setErr == nil {
			setErr = err
		}
	}
	visit := func(id compact.NodeID, h []byte) {
		if id.Level >= nodeMinLevel {
			set(nodeKey(&a.nodeKey, id.Level, id.Index), h)
		}
	}
	flush := func() error {
		if b == nil {
			return nil
		}
		root, err := a.root()
		if err != nil {
			return err
		}
		var meta treeMeta
		meta.size = a.size
		copy(meta.root[:], root)
		set(keyTree, encodeTreeMeta(meta))
		if setErr != nil {
			return setErr
		}
		if err := s.commitSync(b); err != nil {
			return err
		}
		b = nil
		return a.settle()
	}
	prefix := []byte{rfc6962.RFC6962LeafHashPrefix}
	err := s.log.readRange(a.sealed, end, func(r record) error {
		e, err := decodeLeaf(r.leaf, r.seq)
		if err != nil {
			return a.corruptRecord(r.seq, err.Error())
		}
		if r.seq < replayFrom {
			a.open.add(e, s.cfg.now)
			return nil
		}
		h := sha256.New()
		h.Write(prefix)
		h.Write(r.leaf)
		if sum := h.Sum(nil); string(sum) != string(r.hash[:]) {
			return a.corruptRecord(r.seq, fmt.Sprintf("leaf hash %x does not match its leaf (%x)", r.hash, sum))
		}
		id, err := parseID(e.ID)
		if err != nil {
			return a.corruptRecord(r.seq, err.Error())
		}
		if b == nil {
			b = s.db.NewBatch()
		}
		if err := a.rng.Append(r.hash[:], visit); err != nil {
			return err
		}
		a.key[0] = prefixID
		copy(a.key[1:], id[:])
		set(a.key[:33], a.varint[:binary.PutUvarint(a.varint[:], r.seq)])
		a.size = r.seq + 1
		a.open.add(e, s.cfg.now)
		if a.size-a.sealed >= s.cfg.batchMaxEvents {
			if err := a.sealInto(b); err != nil {
				return err
			}
		}
		if a.size-replayFrom >= replayChunk && a.size%replayChunk == 0 {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	if a.size > replayFrom {
		s.stats.replayed.Add(a.size - replayFrom)
		log.Printf("store: %s: replayed events %d..%d from the segment files into the indexes (whole in the segment, now fsynced, not yet in Pebble's checkpoint)", s.dir, replayFrom, a.size-1)
	}
	a.sealedIn = a.sealedIn[:0]
	return nil
}

// corruptRecord is the error for a record of the log that does not hold a
// valid event.
func (a *appender) corruptRecord(seq uint64, why string) error {
	sg, _ := a.s.log.find(seq)
	return &SegmentCorruptError{Path: sg.path, Reason: fmt.Sprintf("event seq %d: %s", seq, why)}
}
