// Package store is the gateway's embedded durable store: the append-only
// RFC 6962 Merkle log of one gateway's events, the sealed batches that get
// anchored on the ledger, and the proofs compliance needs later.
//
// # Guarantees
//
//   - Append returns only after its events are fsynced in the segment
//     file, which is the source of truth, and the id index entries,
//     Merkle nodes and checkpoint that cover them (derived from the
//     records, written to Pebble only after that fsync: never a checkpoint
//     without its records) are fsynced in Pebble. Open replays records
//     the segment holds past Pebble's durable checkpoint (a crash between
//     the two fsyncs; never acknowledged). WithAckAfterSegment trades the
//     second fsync on the acknowledgement path for a narrower corruption
//     guarantee (see there): Pebble's fsync then runs off the path
//     (indexsync.go), except for a group that seals a batch. Many
//     concurrent Append calls share one segment write, one Pebble write
//     and their fsyncs (group commit). A kill -9 at any point loses
//     nothing Append acknowledged.
//   - Every read reflects only fsynced state: an event, tree size, root,
//     proof or batch is visible once, and only once, it is durable.
//   - Sequence numbers are consecutive from 0 and equal the Merkle leaf
//     index; the leaf is the event's canonical bytes with its Seq set, stored
//     byte for byte with its leaf hash. An event whose id is already stored
//     is not appended again; Append returns the stored copy and its Seq.
//   - Batches cover the log without gap or overlap, in order; one is sealed
//     every WithBatchMaxEvents events (exactly that many) or once
//     WithBatchMaxWait has passed since its first event, in the same atomic
//     write as the events that complete it when cut by count. After a
//     restart, sealing resumes at the last sealed tree size and pending
//     batches stay pending, so nothing is anchored twice or skipped.
//   - Open keeps every whole, valid record of the last segment in seq
//     order and cuts off what follows the last of them (a torn write,
//     never acknowledged), and refuses to start with a *SegmentCorruptError
//     naming the file and offset when a record Pebble's checkpoint covers
//     (by default every acknowledged record) is damaged, or a whole record
//     past it does not hold its event, rather than drop what follows. With
//     WithAckAfterSegment, past the checkpoint (the last group or two
//     before a crash) a damaged record cannot be told from a torn write,
//     since the one fsync that acknowledged it is the one a torn write
//     lacks; it is cut there, and the cut logged with file and offset.
//     Older segments are checked record by record when read.
//   - A failed segment or WAL write or fsync is fatal (*FatalError): the
//     store refuses all further writes rather than risk acknowledging lost
//     data. When the cause is a full file system (ENOSPC) the store reopens
//     by itself once free space is back above WithMinFreeBytes, recovering
//     exactly what was fsynced (Pebble's WAL stays broken after a failed
//     write, so the database must be reopened); until then writes are
//     refused as unavailable and reads are served.
//   - Append refuses events (*DiskSpaceError) while the file system has
//     less than WithMinFreeBytes free, and Open refuses to start then.
//   - A store written before segment files (format 1: everything in
//     Pebble) is migrated at Open, streaming and crash-safe: a crash during
//     the migration leaves the old store, migrated again at the next open.
//
// # Layout: segment files for the log, Pebble for the small indexes
//
// Event bytes go to append-only segment files (segment.go): each record
// is framed and checksummed as durable's journal frames are, carries its
// seq and its leaf hash (computed once, at append), and is located through
// a fixed-width offset index per segment, so an append writes each event
// once, sequentially, with no LSM write amplification, and a range of
// leaves is a few large reads. Segments are named by their first seq and
// start with a versioned header, so retention or compaction can later
// drop or rewrite old segments whole.
//
// Pebble (github.com/cockroachdb/pebble/v2) keeps what is small or keyed
// at random: the id index (id → seq, about 40 bytes an event), the
// Merkle nodes from level 4 up (one per 16 events; lower ones are
// recomputed from leaf hashes), batches and the checkpoint. It serves them
// because its WAL groups concurrent synced commits into one fsync, its
// records and blocks are checksummed, its vfs.FS lets tests inject
// failures and crashes into every file the store writes (segments
// included), and it has years of use as CockroachDB's storage engine; a
// hand-written hash index for random ids would have to reinvent all of
// that. bbolt, the usual alternative, is a copy-on-write B+tree with a
// single writer and an fsync (plus page copies) per transaction.
//
// Duplicate ids are ruled out by a Bloom filter (idfilter.go) rebuilt from
// the id index at open; only the ids it cannot rule out (retries, and
// about 1 % false positives) pay a lookup in Pebble.
//
// Merkle hashing, compact ranges and proofs come from
// github.com/transparency-dev/merkle (see package gateway/merkle for why):
// every perfect subtree node the compact range completes is stored by
// (level, index), and proofs for any past tree size are assembled from those
// with the library's proof.Inclusion / proof.Consistency node lists and
// Rehash, which recompute the ephemeral right-border nodes.
package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/merkle"
	"github.com/transparency-dev/merkle/compact"
)

// MaxPendingBatches bounds what one PendingBatches call returns; call again
// after marking some anchored.
const MaxPendingBatches = 4096

// Store is one gateway's durable event log. It is safe for concurrent use.
type Store struct {
	cfg   config
	dir   string
	db    *pebble.DB // nil only while a reopen after ENOSPC has not succeeded
	log   *segLog    // the events; reopened with db
	guard *diskGuard // nil: no free-space guard
	kick  chan struct{}

	// mu guards closed against use of db after Close: public methods hold
	// the read lock while they touch db; Close takes the write lock.
	mu      sync.RWMutex
	closed  bool
	closing chan struct{}
	done    chan struct{}

	reqs     chan *request
	sealReqs chan chan sealResult

	state atomic.Pointer[durableState] // what is on stable storage
	fatal atomic.Pointer[FatalError]   // set once, by the first failed write

	anchorMu sync.Mutex // serialises MarkAnchored's read-modify-write

	stats struct {
		commits, events, batches, probes, indexSyncs, replayed atomic.Uint64
		leavesMemory, leavesFiles                              atomic.Uint64
	}

	isync indexSyncer // fsyncs Pebble's WAL off the acknowledgement path

	readRanges *compact.RangeFactory
	app        appender      // owned by the appender goroutine after Open
	recent     *recentLeaves // nil unless WithRecentLeaves
}

// durableState is the fsynced high-water mark every read is bounded by.
type durableState struct {
	size   uint64 // tree size: events [0, size) are durable
	root   []byte // RFC 6962 root at size
	sealed uint64 // batches with TreeSizeAfter <= sealed are durable
}

// OpenError reports a failure to open the Pebble database in Dir.
type OpenError struct {
	Dir string
	Err error
}

// Error implements error.
func (e *OpenError) Error() string { return fmt.Sprintf("store: open %s: %v", e.Dir, e.Err) }

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *OpenError) Unwrap() error { return e.Err }

// quietLogger drops Pebble's informational messages and keeps its errors.
// Fatalf exits the process as Pebble's default does: Pebble calls it only when
// its commit pipeline is broken, and nothing can be acknowledged safely then.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)           {}
func (quietLogger) Errorf(format string, a ...any) { log.Printf("pebble: "+format, a...) }
func (quietLogger) Fatalf(format string, a ...any) { log.Fatalf("pebble: "+format, a...) }

// Open opens (creating if needed) the store in dir, recovers the Merkle log
// and the sealing position from what is durable there, and starts the
// appender. WithGateway is required. Defaults are documented on each Option.
func Open(ctx context.Context, dir string, opts ...Option) (*Store, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.msp == "" {
		return nil, &ConfigError{Option: "WithGateway", Err: errors.New("required")}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	guard := newDiskGuard(dir, cfg)
	if guard != nil {
		// Pebble on a full file system loops on background errors and never
		// returns from Open: refuse to start instead, saying why.
		if err := cfg.fs.MkdirAll(dir, 0o755); err != nil {
			return nil, &OpenError{Dir: dir, Err: err}
		}
		if err := guard.check(); err != nil {
			return nil, &OpenError{Dir: dir, Err: err}
		}
	}
	db, err := pebble.Open(dir, pebbleOptions(cfg))
	if err != nil {
		return nil, &OpenError{Dir: dir, Err: err}
	}
	s := &Store{
		cfg:        cfg,
		dir:        dir,
		db:         db,
		guard:      guard,
		kick:       make(chan struct{}, 1),
		closing:    make(chan struct{}),
		done:       make(chan struct{}),
		reqs:       make(chan *request, 1024),
		sealReqs:   make(chan chan sealResult),
		readRanges: &compact.RangeFactory{Hash: merkle.NodeHash},
		recent:     newRecentLeaves(cfg.recentLeaves, cfg.recentLeavesBytes),
	}
	s.isync.kick = make(chan struct{}, 1)
	s.isync.done = make(chan struct{})
	s.isync.testHold = cfg.testIndexSyncHold
	if err := s.recover(); err != nil {
		if s.log != nil {
			s.log.close()
		}
		_ = db.Close()
		return nil, err
	}
	go s.syncLoop()
	go s.run()
	return s, nil
}

// pebbleOptions returns fresh options for each Open (Pebble fills them in).
func pebbleOptions(cfg config) *pebble.Options {
	po := &pebble.Options{
		FS:                          cfg.fs,
		MemTableSize:                cfg.memTableSize,
		MemTableStopWritesThreshold: 4,
		L0StopWritesThreshold:       24,
		FormatMajorVersion:          pebble.FormatNewest,
		Logger:                      quietLogger{},
	}
	// Bloom filters make the per-event duplicate check (a Get of a random
	// id that is almost always absent) skip sstables without reading them.
	po.Levels[0].FilterPolicy = bloom.FilterPolicy(10)
	return po
}

// newDiskGuard returns the free-space guard cfg asks for, or nil.
func newDiskGuard(dir string, cfg config) *diskGuard {
	if cfg.minFreeBytes == 0 {
		return nil
	}
	free := cfg.freeSpace
	if free == nil {
		if cfg.fs != vfs.Default {
			return nil // not the OS's file system: statfs says nothing about it
		}
		free = statfsFree
	}
	return &diskGuard{dir: dir, min: cfg.minFreeBytes, free: free, now: time.Now}
}

// recover rebuilds the appender's state from what is durable: the layout
// (migrating a format-1 store), the checkpoint, the segment files
// (refusing damage before the checkpoint, keeping the whole records that
// follow it, cutting a torn write after those), the compact range at the
// checkpoint's size from stored nodes (not by rehashing leaves), checked
// against the recorded root; the last sealed tree size; the running totals
// of the open batch from its (fewer than BatchMaxEvents) events; the
// records past the checkpoint replayed into Pebble (replayTail); and the
// id filter from the id index.
func (s *Store) recover() error {
	if err := s.ensureFormat(); err != nil {
		return err
	}
	a := &s.app
	a.init(s)
	var meta treeMeta
	v, c, err := s.db.Get(keyTree)
	switch {
	case errors.Is(err, pebble.ErrNotFound):
	case err != nil:
		return fmt.Errorf("store: read checkpoint: %w", err)
	default:
		meta, err = decodeTreeMeta(v)
		_ = c.Close()
		if err != nil {
			return corrupt(keyTree, err)
		}
	}
	if s.log != nil {
		s.log.close()
	}
	s.log, err = openSegLog(s.cfg.fs, s.dir, meta.size, s.cfg.segmentBytes, s.cfg.preallocates())
	if err != nil {
		return err
	}

	hashes, err := s.nodes(compact.RangeNodes(0, meta.size, nil))
	if err != nil {
		return err
	}
	a.rng, err = a.ranges.NewRange(0, meta.size, hashes)
	if err != nil {
		return corrupt(keyTree, err)
	}
	root, err := a.root()
	if err != nil {
		return corrupt(keyTree, err)
	}
	if meta.size > 0 && !bytes.Equal(root, meta.root[:]) {
		return corrupt(keyTree, fmt.Errorf("rebuilt root %x differs from recorded %x at size %d", root, meta.root, meta.size))
	}
	a.size = meta.size

	sealed, ok, err := s.lastKey(prefixBySize)
	if err != nil {
		return err
	}
	if ok {
		a.sealed = sealed
	}
	if a.sealed > a.size {
		return corrupt(seqKey(prefixBySize, sealed), fmt.Errorf("sealed tree size %d beyond log size %d", sealed, a.size))
	}
	// Rebuild the open batch's totals (its start time restarts now: the
	// batch window is measured from when this process saw it), and replay
	// the records fsynced past the checkpoint into Pebble.
	if err := a.replayTail(); err != nil {
		return err
	}
	if root, err = a.root(); err != nil {
		return corrupt(keyTree, err)
	}
	if err := a.loadIDs(a.size); err != nil {
		return err
	}
	s.state.Store(&durableState{size: a.size, root: root, sealed: a.sealed})
	return nil
}

// loadIDs builds the id filter from the id index: one sequential scan of
// its keys at open, so that appends need no index lookup for new ids.
func (a *appender) loadIDs(size uint64) error {
	a.ids = newIDFilter(size)
	it, err := a.s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixID}, UpperBound: []byte{prefixID + 1}})
	if err != nil {
		return err
	}
	n := uint64(0)
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) != 33 {
			_ = it.Close()
			return corrupt(k, errors.New("bad id key length"))
		}
		a.ids.add(k[1:])
		n++
	}
	if err := it.Close(); err != nil {
		return err
	}
	if n != size {
		return corrupt([]byte{prefixID}, fmt.Errorf("id index holds %d ids, the log %d events", n, size))
	}
	return nil
}

// lastKey returns the integer suffix of the last key with the given
// one-byte prefix and an 8-byte suffix.
func (s *Store) lastKey(prefix byte) (uint64, bool, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefix}, UpperBound: []byte{prefix + 1}})
	if err != nil {
		return 0, false, err
	}
	defer it.Close()
	if !it.Last() {
		return 0, false, it.Error()
	}
	k := it.Key()
	if len(k) != 9 {
		return 0, false, corrupt(k, errors.New("bad key length"))
	}
	return binary.BigEndian.Uint64(k[1:]), true, nil
}

// Close stops the appender (queued Appends fail with ErrClosed; an
// in-flight group commit completes first) and closes the database. It does
// not seal: a restart continues the open batch.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	close(s.closing)
	<-s.done
	<-s.isync.done
	var err error
	if s.log != nil {
		s.log.close()
	}
	if s.db != nil {
		// Pebble's Close syncs its WAL, so after a clean close its
		// checkpoint covers every record: the next open has nothing to
		// replay (TestCloseSyncsIndex).
		err = s.db.Close()
	}
	s.mu.Unlock()
	return err
}

// errReopening is returned by reads while the database is closed between a
// failed write and a successful reopen.
var errReopening error = &gateway.Error{Code: gateway.CodeUnavailable, Msg: "store: reopening after a failed write"}

// readLock takes the read lock unless the store is closed.
func (s *Store) readLock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	if s.db == nil {
		s.mu.RUnlock()
		return errReopening
	}
	return nil
}

// Stats counts what this Store has committed since Open.
type Stats struct {
	Commits uint64 // group commits that appended events: one segment fsync each
	Events  uint64 // events appended (duplicates not counted)
	Batches uint64 // batches sealed
	// Probes counts ids the id filter could not rule out, which paid an
	// exact lookup in the id index: duplicates, and new ids at the
	// filter's false-positive rate (about 1 %).
	Probes uint64
	// IndexSyncs counts fsyncs of Pebble's WAL off the acknowledgement
	// path (groups that seal no batch do not wait for one).
	IndexSyncs uint64
	// Replayed counts events Open (or a reopen) found fsynced in the
	// segment files past Pebble's durable checkpoint and replayed into
	// the indexes.
	Replayed uint64
	// LeavesFromMemory and LeavesFromFiles count the leaves Leaves and
	// HeaderLeaves returned, made from WithRecentLeaves' memory or read
	// from the segment files: a range is read from the files unless the
	// memory holds all of it.
	LeavesFromMemory, LeavesFromFiles uint64
}

// Stats returns counters since Open; Events/Commits is the group-commit
// factor (events per fsync).
func (s *Store) Stats() Stats {
	return Stats{Commits: s.stats.commits.Load(), Events: s.stats.events.Load(), Batches: s.stats.batches.Load(), Probes: s.stats.probes.Load(), IndexSyncs: s.stats.indexSyncs.Load(), Replayed: s.stats.replayed.Load(),
		LeavesFromMemory: s.stats.leavesMemory.Load(), LeavesFromFiles: s.stats.leavesFiles.Load()}
}

// Size returns the durable tree size: the number of events acknowledged so
// far, and the next sequence number.
func (s *Store) Size() uint64 { return s.state.Load().size }

// Checkpoint returns the durable tree size and its root.
func (s *Store) Checkpoint(ctx context.Context) (gateway.Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return gateway.Checkpoint{}, err
	}
	st := s.state.Load()
	return gateway.Checkpoint{Size: st.size, Root: hex.EncodeToString(st.root)}, nil
}

// get returns a copy of the value at key, or pebble.ErrNotFound.
func (s *Store) get(key []byte) ([]byte, error) {
	v, c, err := s.db.Get(key)
	if err != nil {
		return nil, err
	}
	out := bytes.Clone(v)
	_ = c.Close()
	return out, nil
}

// eventRecord reads and decodes the event at seq regardless of the durable
// watermark (callers check it), returning its stored canonical bytes too.
func (s *Store) eventRecord(seq uint64) (gateway.Event, []byte, error) {
	r, err := s.log.read(seq)
	if err != nil {
		return gateway.Event{}, nil, err
	}
	e, err := decodeLeaf(r.leaf, seq)
	if err != nil {
		s, _ := s.log.find(seq)
		return gateway.Event{}, nil, &SegmentCorruptError{Path: s.path, Reason: fmt.Sprintf("event seq %d: %v", seq, err)}
	}
	return e, r.leaf, nil
}

// EventBySeq returns the event at leaf index seq, or *EventNotFoundError if
// seq is not below the durable tree size. Numbers inside Fields come back as
// json.Number, so re-encoding the event reproduces its canonical bytes.
func (s *Store) EventBySeq(ctx context.Context, seq uint64) (gateway.Event, error) {
	if err := s.readLock(ctx); err != nil {
		return gateway.Event{}, err
	}
	defer s.mu.RUnlock()
	if seq >= s.state.Load().size {
		return gateway.Event{}, &EventNotFoundError{Seq: seq}
	}
	e, _, err := s.eventRecord(seq)
	return e, err
}

// lookupID returns the seq stored for id, if any.
func (s *Store) lookupID(id [32]byte) (uint64, bool, error) {
	k := idKey(prefixID, id)
	v, c, err := s.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	seq, n := binary.Uvarint(v)
	_ = c.Close()
	if n <= 0 {
		return 0, false, corrupt(k, errors.New("bad seq varint"))
	}
	return seq, true, nil
}

// EventByID returns the event with id, its stored canonical bytes and leaf
// hash, an inclusion proof against the tree of size treeSize with that
// tree's root, and its batch once sealed. treeSize 0 means the TreeSizeAfter
// of the event's batch if it is sealed (the root anchored on the ledger),
// else the current durable size. It returns *EventNotFoundError, or
// *TreeSizeError if treeSize is not in (seq, Size()].
func (s *Store) EventByID(ctx context.Context, id string, treeSize uint64) (gateway.EventProof, error) {
	idb, err := parseID(id)
	if err != nil {
		return gateway.EventProof{}, &EventNotFoundError{ID: id}
	}
	if err := s.readLock(ctx); err != nil {
		return gateway.EventProof{}, err
	}
	defer s.mu.RUnlock()
	st := s.state.Load()
	seq, ok, err := s.lookupID(idb)
	if err != nil {
		return gateway.EventProof{}, err
	}
	if !ok || seq >= st.size {
		return gateway.EventProof{}, &EventNotFoundError{ID: id}
	}
	e, canonical, err := s.eventRecord(seq)
	if err != nil {
		return gateway.EventProof{}, err
	}
	b, sealed, err := s.batchOf(seq, st)
	if err != nil {
		return gateway.EventProof{}, err
	}
	ep := gateway.EventProof{Event: e, Canonical: canonical, LeafHash: hex.EncodeToString(merkle.LeafHash(canonical))}
	if sealed {
		ep.Batch = &b
		if treeSize == 0 {
			treeSize = b.TreeSizeAfter
		}
	}
	if treeSize == 0 {
		treeSize = st.size
	}
	if ep.Proof, err = s.inclusion(seq, treeSize, st); err != nil {
		return gateway.EventProof{}, err
	}
	root, err := s.rootAt(treeSize, st)
	if err != nil {
		return gateway.EventProof{}, err
	}
	ep.Root = hex.EncodeToString(root)
	return ep, nil
}

// Root returns the RFC 6962 root of the tree of the given size, any size up
// to Size() (size 0: the empty-tree root), or *TreeSizeError.
func (s *Store) Root(ctx context.Context, size uint64) ([]byte, error) {
	if err := s.readLock(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	return s.rootAt(size, s.state.Load())
}

// InclusionProof proves leaf seq is in the tree of size treeSize; it
// requires seq < treeSize <= Size() and otherwise returns *TreeSizeError.
func (s *Store) InclusionProof(ctx context.Context, seq, treeSize uint64) (gateway.InclusionProof, error) {
	if err := s.readLock(ctx); err != nil {
		return gateway.InclusionProof{}, err
	}
	defer s.mu.RUnlock()
	return s.inclusion(seq, treeSize, s.state.Load())
}

// ConsistencyProof proves the tree of size1 is a prefix of the tree of
// size2; it requires size1 <= size2 <= Size() and otherwise returns
// *TreeSizeError.
func (s *Store) ConsistencyProof(ctx context.Context, size1, size2 uint64) (gateway.ConsistencyProof, error) {
	if err := s.readLock(ctx); err != nil {
		return gateway.ConsistencyProof{}, err
	}
	defer s.mu.RUnlock()
	return s.consistency(size1, size2, s.state.Load())
}

// Compile-time checks that Store implements the domain interfaces.
var (
	_ gateway.EventLog = (*Store)(nil)
	_ gateway.BatchLog = (*Store)(nil)
)

// timeMin and timeMax keep batch time bounds without allocation.
func timeMin(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

func timeMax(a, b time.Time) time.Time {
	if a.IsZero() || b.After(a) {
		return b
	}
	return a
}
