package store

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/durable"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
)

// request is one Append call waiting for the appender.
type request struct {
	ctx    context.Context
	events []gateway.Event // ID set, Seq 0
	ids    [][32]byte
	canon  [][]byte        // canonical bytes with Seq 0, computed by the caller
	out    []gateway.Event // events itself, each replaced by its result as the group goes
	err    error
	done   chan struct{}
	queued time.Time // when handed to the appender (with WithCommitObserver)
}

// Append stores events durably and returns them with ID and Seq set, in the
// order given, once they are fsynced. An event without an ID gets
// gateway.ComputeID; a given ID must be 64 lowercase hex characters.
//
// Duplicates: an event whose ID is already stored is not stored again and
// the stored copy (with its Seq) is returned in its place; the same holds
// for a second occurrence of an ID within one request or among requests
// committed together, so retries are idempotent. An invalid event rejects
// the whole request (*InvalidEventError) and stores nothing of it.
//
// Append takes ownership of the events' Fields, Labels and Raw: the
// returned events share them, so a caller must not modify them after the
// call.
//
// The caller's goroutine does the per-event encoding, so concurrent callers
// encode in parallel; one appender goroutine then assigns sequence numbers,
// hashes, and commits all queued requests in one write and one fsync.
// If ctx ends while waiting, Append returns ctx's error and the events may
// or may not have been stored: retry them, which is safe.
func (s *Store) Append(ctx context.Context, events []gateway.Event) ([]gateway.Event, error) {
	if f := s.fatal.Load(); f != nil {
		return nil, f
	}
	if len(events) == 0 {
		return []gateway.Event{}, ctx.Err()
	}
	if s.cfg.readOnly {
		return nil, ErrReadOnly
	}
	if err := s.guard.check(); err != nil {
		return nil, err
	}
	r := &request{
		ctx:    ctx,
		events: make([]gateway.Event, len(events)),
		ids:    make([][32]byte, len(events)),
		canon:  make([][]byte, len(events)),
		done:   make(chan struct{}),
	}
	for i, e := range events {
		if e.ID == "" {
			e.ID = gateway.ComputeID(e.Source, e.Sourcetype, e.Raw)
		}
		id, err := parseID(e.ID)
		if err != nil {
			return nil, &InvalidEventError{Index: i, ID: e.ID, Err: err}
		}
		e.Seq = 0
		if err := e.Validate(); err != nil {
			return nil, &InvalidEventError{Index: i, ID: e.ID, Err: err}
		}
		c, err := e.Canonical()
		if err != nil {
			return nil, &InvalidEventError{Index: i, ID: e.ID, Err: err}
		}
		if len(c)+recordPrefix+20 > durable.MaxRecord { // 20: room for the seq's digits
			return nil, &InvalidEventError{Index: i, ID: e.ID, Err: &gateway.InvalidValueError{Field: "event", Err: fmt.Errorf("canonical encoding of %d bytes exceeds the store's record limit of %d", len(c), durable.MaxRecord-recordPrefix-20)}}
		}
		// The fields' encoding (see gateway.Event.FieldsCanonical) is in
		// c now: an event that also has them decoded drops it, so stored
		// and returned events are the same whatever decoder built them;
		// one whose fields exist only as these bytes (ingest's map-free
		// path, Fields nil) keeps it, so its Canonical is still the leaf.
		if e.Fields != nil {
			e.FieldsCanonical = nil
		}
		r.events[i], r.ids[i], r.canon[i] = e, id, c
	}
	if err := s.readLock(ctx); err != nil {
		return nil, err
	}
	if s.cfg.commitObserver != nil {
		r.queued = time.Now()
	}
	select {
	case s.reqs <- r:
		s.mu.RUnlock()
	case <-ctx.Done():
		s.mu.RUnlock()
		return nil, ctx.Err()
	}
	select {
	case <-r.done:
		return r.out, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// sealResult answers a Seal call.
type sealResult struct {
	batch gateway.Batch
	ok    bool
	err   error
}

// Seal seals the open batch now if it holds any event, returning it and
// true; it returns false if there was nothing to seal. It returns once the
// batch is durable. Sealing by count and time happens without calling it.
func (s *Store) Seal(ctx context.Context) (gateway.Batch, bool, error) {
	if err := s.readLock(ctx); err != nil {
		return gateway.Batch{}, false, err
	}
	reply := make(chan sealResult, 1)
	select {
	case s.sealReqs <- reply:
		s.mu.RUnlock()
	case <-ctx.Done():
		s.mu.RUnlock()
		return gateway.Batch{}, false, ctx.Err()
	}
	select {
	case r := <-reply:
		return r.batch, r.ok, r.err
	case <-ctx.Done():
		return gateway.Batch{}, false, ctx.Err()
	}
}

// openBatch holds the running totals of the batch being filled.
type openBatch struct {
	count    uint64
	timeFrom time.Time
	timeTo   time.Time
	classes  map[string]int
	since    time.Time // when its first event was appended (zero: empty)
	retryAt  time.Time // with ageSealWhenAnchored: when to look again after deferring
}

// ageSealRetry is how often a deferred age seal looks again whether the
// ledger has caught up (the anchorer usually seals first).
const ageSealRetry = 50 * time.Millisecond

// sealDue is when the open batch is due to be sealed by age.
func (a *appender) sealDue() time.Time {
	due := a.open.since.Add(a.s.cfg.batchMaxWait)
	if a.open.retryAt.After(due) {
		return a.open.retryAt
	}
	return due
}

// anchorPending reports whether a sealed batch waits to be anchored (or
// the check failed, which defers the age seal to the next look).
func (s *Store) anchorPending() bool {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixPending}, UpperBound: []byte{prefixPending + 1}})
	if err != nil {
		return true
	}
	pending := it.First()
	if it.Close() != nil {
		return true
	}
	return pending
}

func (o *openBatch) add(e gateway.Event, now func() time.Time) {
	if o.count == 0 {
		o.since = now()
		o.classes = make(map[string]int)
	}
	o.count++
	o.timeFrom = timeMin(o.timeFrom, e.Time.UTC())
	o.timeTo = timeMax(o.timeTo, e.Time.UTC())
	c := string(e.Class)
	if c == "" {
		c = string(gateway.ClassOther)
	}
	o.classes[c]++
}

// slot is one distinct id of a group: the event that first carries it,
// whether the id is already stored, and its seq (stored or assigned).
type slot struct {
	req    *request
	i      int
	stored bool
	seq    uint64
	start  int // its frame in appender.arena is [start, end)
	end    int
}

// dup is a repeat, within the group, of the id of slot.
type dup struct {
	req  *request
	i    int
	slot int
}

// appender is the state owned by the single appender goroutine.
type appender struct {
	s      *Store
	ranges *compact.RangeFactory
	nodes  nodeArena
	rng    *compact.Range // compact range [0, size)
	size   uint64         // next seq; equals the durable size between groups
	sealed uint64         // tree size at the end of the last sealed batch
	open   openBatch
	ids    *idFilter // every stored id, for the duplicate check

	// Reused across groups to keep the append path free of per-event
	// allocations.
	slots    []slot
	dups     []dup
	fresh    []int            // slots to append, in seq order
	probe    []int            // slots the id filter could not rule out, sorted by id
	byID     []idOrder        // the fresh slots in id order, for the id index's keys
	starts   []int            // frame offsets in arena, in seq order
	groupIDs map[[32]byte]int // id -> index into slots
	arena    []byte           // event frames of the group (handed to the recent-leaves ring once durable, if any)
	hashes   [][32]byte       // leaf hashes of the group
	sealedIn []gateway.Batch  // batches sealed by the current write
	queued   []time.Duration  // CommitTiming.Queued of the current group
	key      [33]byte
	nodeKey  [10]byte
	varint   [binary.MaxVarintLen64]byte
}

func (a *appender) init(s *Store) {
	a.s = s
	a.ranges = &compact.RangeFactory{Hash: a.nodes.hashChildren}
	a.groupIDs = make(map[[32]byte]int)
}

func (a *appender) root() ([]byte, error) {
	if a.rng.End() == 0 {
		return rfc6962.DefaultHasher.EmptyRoot(), nil
	}
	r, err := a.rng.GetRootHash(nil)
	return bytes.Clone(r), err
}

// settle detaches the compact range from the reusable leaf-hash and node
// arenas, so the next group may overwrite them.
func (a *appender) settle() error {
	hs := a.rng.Hashes()
	cl := make([][]byte, len(hs))
	for i, h := range hs {
		cl[i] = bytes.Clone(h)
	}
	r, err := a.ranges.NewRange(0, a.rng.End(), cl)
	if err != nil {
		return err
	}
	a.rng = r
	a.nodes.reset()
	return nil
}

// run is the appender goroutine: it takes queued requests (as many as fit
// in one group), commits them with one fsync, acknowledges them, and seals
// batches by time. Requests queue up while a commit waits for its fsync,
// which is what makes groups large under load.
func (s *Store) run() {
	defer close(s.done)
	a := &s.app
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	armed := false
	var carry *request
	var reopen <-chan time.Time // armed while a failed write awaits a reopen
	for {
		var first *request
		if carry != nil {
			first, carry = carry, nil
		} else {
			select {
			case <-s.closing:
				s.drain()
				return
			case first = <-s.reqs:
			case reply := <-s.sealReqs:
				reply <- a.sealNow()
			case <-s.kick:
			case <-reopen:
				reopen = nil
				s.tryReopen()
			case <-timer.C:
				armed = false
				if now := s.cfg.now(); a.open.count > 0 && !now.Before(a.sealDue()) {
					if s.cfg.ageSealWhenAnchored && s.anchorPending() {
						// A sealed batch still waits for the ledger: this one
						// grows until the anchorer, idle again, seals it (Seal)
						// or it reaches the batch size; look again later.
						a.open.retryAt = now.Add(ageSealRetry)
					} else {
						_ = a.sealNow() // a failure is recorded as fatal
					}
				}
			}
		}
		if first != nil {
			group := []*request{first}
			n := len(first.events)
		collect:
			for n < s.cfg.maxGroupEvents {
				select {
				case r := <-s.reqs:
					if n+len(r.events) > s.cfg.maxGroupEvents {
						carry = r
						break collect
					}
					group = append(group, r)
					n += len(r.events)
				default:
					break collect
				}
			}
			a.appendGroup(group)
		}
		switch {
		case a.open.count > 0 && !armed:
			timer.Reset(a.sealDue().Sub(s.cfg.now()))
			armed = true
		case a.open.count == 0 && armed:
			timer.Stop()
			armed = false
		}
		if f := s.fatal.Load(); reopen == nil && f != nil && f.reopens() {
			reopen = time.After(reopenInterval)
		}
	}
}

// reopenInterval is how often the appender tries to reopen the database
// after a write failed for lack of space.
const reopenInterval = 500 * time.Millisecond

// tryReopen closes the database after a failed write and opens it again,
// once the file system has room: Pebble's WAL writer keeps its first error
// for good, so only a reopen (which replays exactly what was fsynced, as
// after a crash) makes the store writable again. It runs on the appender
// goroutine, which owns the appender state it rebuilds. A failure leaves
// the store refusing writes until the next try.
func (s *Store) tryReopen() {
	f := s.fatal.Load()
	if err := s.guard.recheck(); err != nil {
		return
	}
	// Close holds the write lock while it waits for this goroutine to end.
	for !s.mu.TryLock() {
		select {
		case <-s.closing:
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	// The index syncer must not fsync a database being closed.
	s.isync.mu.Lock()
	defer s.isync.mu.Unlock()
	if s.log != nil {
		s.log.close()
		s.log = nil
	}
	if s.db != nil {
		if err := s.db.Close(); err != nil {
			log.Printf("store: closing %s after %v: %v", s.dir, f, err)
		}
		s.db = nil
	}
	db, err := pebble.Open(s.dir, pebbleOptions(s.cfg))
	if err != nil {
		log.Printf("store: reopening %s after %v: %v (will retry)", s.dir, f, err)
		return
	}
	s.db = db
	s.app = appender{}
	if err := s.recover(); err != nil {
		if s.log != nil {
			s.log.close()
			s.log = nil
		}
		_ = db.Close()
		s.db = nil
		log.Printf("store: recovering %s after %v: %v (will retry)", s.dir, f, err)
		return
	}
	s.fatal.Store(nil)
	log.Printf("store: reopened %s after %v; writes accepted again at tree size %d", s.dir, f.Err, s.app.size)
}

// drain fails every queued request once the store is closing.
func (s *Store) drain() {
	for {
		select {
		case r := <-s.reqs:
			r.err = ErrClosed
			close(r.done)
		default:
			return
		}
	}
}

func reply(group []*request, err error) {
	for _, r := range group {
		if r.err == nil && err != nil {
			r.out, r.err = nil, err
		}
		close(r.done)
	}
}

// appendGroup commits one group: resolve duplicates (the id filter rules
// out almost every id; only the rest are looked up), assign sequence
// numbers, frame and hash the leaves (in parallel), append the frames to
// the segment file and fsync it while building one Pebble batch with the
// id index, every Merkle node from nodeMinLevel up that the leaves
// complete, any batch sealed by count and the checkpoint; once the
// segment's fsync returned, commit that batch with Pebble's fsync (or,
// with WithAckAfterSegment, apply it without waiting and leave the fsync
// to the index syncer, indexsync.go), publish and acknowledge. The segment is
// durable before the checkpoint that covers it reaches Pebble's WAL, so a
// crash between the two leaves records the next open replays, never a
// checkpoint without its records.
func (a *appender) appendGroup(group []*request) {
	s := a.s
	if f := s.fatal.Load(); f != nil {
		reply(group, f)
		return
	}
	// Requests whose caller gave up before we started are not stored.
	live := group[:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			close(r.done)
			continue
		}
		live = append(live, r)
	}
	group = live
	if len(group) == 0 {
		return
	}
	var t0 time.Time
	if s.cfg.commitObserver != nil {
		t0 = time.Now()
	}

	// Phase 1: duplicates and sequence numbers. Nothing is mutated yet, so
	// a read error fails this group alone. The group's distinct ids become
	// slots; repeats point at their first slot; ids the filter cannot rule
	// out get one sorted probe of the id index, which marks the slots
	// already stored; the rest get seqs in order.
	a.slots, a.dups, a.fresh = a.slots[:0], a.dups[:0], a.fresh[:0]
	clear(a.groupIDs)
	for _, r := range group {
		// Each event is read before its result (the stored copy, or
		// the event with its seq) replaces it, so the results share the
		// request's copy of the events rather than a second one (216
		// bytes an event, scanned by the garbage collector).
		r.out = r.events
		for i := range r.events {
			if k, ok := a.groupIDs[r.ids[i]]; ok {
				a.dups = append(a.dups, dup{req: r, i: i, slot: k})
				continue
			}
			a.groupIDs[r.ids[i]] = len(a.slots)
			a.slots = append(a.slots, slot{req: r, i: i})
		}
	}
	if err := a.lookupIDs(); err != nil {
		reply(group, fmt.Errorf("store: duplicate check: %w", err))
		return
	}
	next := a.size
	for k := range a.slots {
		sl := &a.slots[k]
		if sl.stored {
			// Stored duplicates come back as stored.
			e, _, err := s.eventRecord(sl.seq)
			if err != nil {
				reply(group, err)
				return
			}
			sl.req.out[sl.i] = e
			continue
		}
		sl.seq = next
		next++
		a.fresh = append(a.fresh, k)
	}

	// Phase 2: segment records (seq, leaf hash to come, and the leaf: the
	// caller's canonical encoding with the seq spliced in) framed in one
	// arena, then leaf hashes and frame checksums.
	// Sized once for the group (20: room for each seq's digits), so the
	// frames are not copied again each time the arena would have grown.
	need := 0
	for _, k := range a.fresh {
		need += frameOverhead + len(a.slots[k].req.canon[a.slots[k].i]) + 20
	}
	if s.recent != nil && len(a.fresh) > 0 {
		// The recent-leaves ring takes this group's frames and starts
		// once they are durable (see recentLeaves): the next group
		// frames into fresh ones.
		a.arena, a.starts = make([]byte, 0, need), make([]int, 0, len(a.fresh))
	} else {
		a.arena, a.starts = slices.Grow(a.arena[:0], need), a.starts[:0]
	}
	for _, k := range a.fresh {
		sl := &a.slots[k]
		sl.start = len(a.arena)
		a.starts = append(a.starts, sl.start)
		a.arena = append(a.arena, make([]byte, frameOverhead)...)
		binary.BigEndian.PutUint64(a.arena[sl.start+durable.FrameHeaderSize:], sl.seq)
		a.arena = appendLeaf(a.arena, &sl.req.events[sl.i], sl.req.canon[sl.i], sl.seq)
		sl.end = len(a.arena)
		a.ids.add(sl.req.ids[sl.i][:])
	}
	if cap(a.hashes) < len(a.fresh) {
		a.hashes = make([][32]byte, len(a.fresh), 2*len(a.fresh))
	}
	a.hashes = a.hashes[:len(a.fresh)]
	a.hashLeaves()

	// Phase 3: the write. From here on in-memory state moves ahead of the
	// disk; if the commit fails the store is failed, so it never has to be
	// rolled back.
	first := a.size
	a.sealedIn = a.sealedIn[:0]
	if len(a.fresh) > 0 {
		var tPrep, tSeg time.Time
		if s.cfg.commitObserver != nil {
			tPrep = time.Now()
		}
		// The segment write and its fsync run while the batch is built.
		segDone := make(chan error, 1)
		var segTook time.Duration
		go func() {
			err := s.log.write(first, a.arena, a.starts)
			if s.cfg.commitObserver != nil {
				segTook = time.Since(tPrep)
			}
			segDone <- err
		}()
		b := s.db.NewBatchWithSize(len(a.fresh)*(33+4+16) + 4096)
		var setErr error
		set := func(k, v []byte) {
			if err := b.Set(k, v, nil); err != nil && setErr == nil {
				setErr = err
			}
		}
		visit := func(id compact.NodeID, h []byte) {
			if id.Level >= nodeMinLevel { // lower ones are recomputed from leaf hashes
				set(nodeKey(&a.nodeKey, id.Level, id.Index), h)
			}
		}
		a.setIDKeys(set)
		for j, k := range a.fresh {
			sl := &a.slots[k]
			if err := a.rng.Append(a.hashes[j][:], visit); err != nil {
				a.failAfter(segDone, group, first, next-1, err)
				return
			}

			e := sl.req.events[sl.i]
			e.Seq = sl.seq
			sl.req.out[sl.i] = e
			a.size = sl.seq + 1
			a.open.add(e, s.cfg.now)
			if a.size-a.sealed >= s.cfg.batchMaxEvents {
				if err := a.sealInto(b); err != nil {
					a.failAfter(segDone, group, first, next-1, err)
					return
				}
			}
		}
		root, err := a.root()
		if err != nil {
			a.failAfter(segDone, group, first, next-1, err)
			return
		}
		var meta treeMeta
		meta.size = a.size
		copy(meta.root[:], root)
		set(keyTree, encodeTreeMeta(meta))
		if setErr != nil {
			a.failAfter(segDone, group, first, next-1, setErr)
			return
		}
		if err := <-segDone; err != nil {
			a.fail(group, "append", first, next-1, err)
			return
		}
		if h := s.cfg.testAfterSegment; h != nil {
			h()
		}
		if s.cfg.commitObserver != nil {
			tSeg = time.Now()
		}
		// The records are durable: what Pebble derives from them may now
		// reach its WAL. By default the group waits for Pebble's fsync
		// too, so every acknowledged record is covered by a durable
		// checkpoint; with WithAckAfterSegment it need not
		// (indexsync.go), unless it sealed a batch, which must be visible
		// exactly when durable.
		synced := len(a.sealedIn) > 0 || !s.cfg.ackAfterSegment
		if synced {
			err = s.commitSync(b)
		} else if err = s.db.Apply(b, pebble.NoSync); err == nil {
			err = b.Close()
		}
		if err != nil {
			a.fail(group, "append", first, next-1, err)
			return
		}
		if err := a.settle(); err != nil {
			a.fail(group, "append", first, next-1, err)
			return
		}
		// Durable: publish, then acknowledge.
		if s.recent != nil {
			s.recent.mu.Lock()
			s.recent.put(first, a.arena, a.starts)
			s.recent.mu.Unlock()
		}
		s.state.Store(&durableState{size: a.size, root: root, sealed: a.sealed})
		if !synced {
			s.applied()
		}
		s.stats.commits.Add(1)
		s.stats.events.Add(uint64(len(a.fresh)))
		s.stats.batches.Add(uint64(len(a.sealedIn)))
		if f := s.cfg.commitObserver; f != nil {
			a.observe(f, group, t0, tPrep, tSeg, segTook)
		}
	}
	// Repeats within the group get what their first occurrence got.
	for _, d := range a.dups {
		sl := a.slots[d.slot]
		d.req.out[d.i] = sl.req.out[sl.i]
	}
	reply(group, nil)
}

// idOrder is a fresh slot and its id's first 8 bytes, for sorting the
// group's id index keys.
type idOrder struct {
	hi   uint64
	slot int
}

// setIDKeys adds the id index entries of the group's fresh slots to the
// batch (through set) in key order. Pebble inserts a batch's keys into its
// memtable skiplist one by one, remembering where the previous one went:
// ids are SHA-256 digests, so in seq order every insert searched the
// skiplist from its top level, while in key order each starts near the
// previous one (the memtable insert was about 5 % of the gateway's CPU in
// the ingest bench's profile). The keys are distinct (repeats within a
// group were folded into their first slot), so their order in the batch
// changes nothing else.
func (a *appender) setIDKeys(set func(k, v []byte)) {
	a.byID = a.byID[:0]
	for _, k := range a.fresh {
		sl := &a.slots[k]
		a.byID = append(a.byID, idOrder{hi: binary.BigEndian.Uint64(sl.req.ids[sl.i][:8]), slot: k})
	}
	if !a.s.cfg.testIDKeysInSeqOrder {
		slices.SortFunc(a.byID, func(x, y idOrder) int {
			if x.hi != y.hi {
				return cmp.Compare(x.hi, y.hi)
			}
			return bytes.Compare(a.slots[x.slot].req.ids[a.slots[x.slot].i][:], a.slots[y.slot].req.ids[a.slots[y.slot].i][:])
		})
	}
	a.key[0] = prefixID
	for _, o := range a.byID {
		sl := &a.slots[o.slot]
		copy(a.key[1:], sl.req.ids[sl.i][:])
		set(a.key[:33], a.varint[:binary.PutUvarint(a.varint[:], sl.seq)])
	}
}

// observe reports the timing of the group just committed (before its
// requests are answered, so Total excludes only the replies).
func (a *appender) observe(f func(CommitTiming), group []*request, t0, tPrep, tSeg time.Time, segTook time.Duration) {
	now := time.Now()
	a.queued = a.queued[:0]
	for _, r := range group {
		a.queued = append(a.queued, t0.Sub(r.queued))
	}
	f(CommitTiming{
		Requests: len(group), Events: len(a.fresh), Queued: a.queued,
		Prepare: tPrep.Sub(t0), Segment: segTook, Index: now.Sub(tSeg), Total: now.Sub(t0),
	})
}

// lookupIDs marks the slots whose id is already in the id index, with its
// seq. Only ids the filter cannot rule out are looked up (profiling showed
// the all-time lookup of every id was about 28 % of ingest). Rather than
// one Get per id (a full memtable and level descent each,
// which profiling showed was 40% of the append path), it sorts the ids and
// probes them with one iterator in ascending order: SeekPrefixGE consults
// sstable bloom filters, and monotonic seeks let Pebble reuse positions.
func (a *appender) lookupIDs() error {
	if len(a.slots) == 0 {
		return nil
	}
	a.probe = a.probe[:0]
	for k := range a.slots {
		if a.ids.mayContain(a.slots[k].req.ids[a.slots[k].i][:]) {
			a.probe = append(a.probe, k)
		}
	}
	if len(a.probe) == 0 {
		return nil
	}
	a.s.stats.probes.Add(uint64(len(a.probe)))
	slices.SortFunc(a.probe, func(x, y int) int {
		return bytes.Compare(a.slots[x].req.ids[a.slots[x].i][:], a.slots[y].req.ids[a.slots[y].i][:])
	})
	it, err := a.s.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixID}, UpperBound: []byte{prefixID + 1}})
	if err != nil {
		return err
	}
	a.key[0] = prefixID
	for _, k := range a.probe {
		sl := &a.slots[k]
		copy(a.key[1:], sl.req.ids[sl.i][:])
		if !it.SeekPrefixGE(a.key[:33]) || !bytes.Equal(it.Key(), a.key[:33]) {
			continue
		}
		v, err := it.ValueAndErr()
		if err != nil {
			_ = it.Close()
			return err
		}
		seq, n := binary.Uvarint(v)
		if n <= 0 {
			_ = it.Close()
			return corrupt(a.key[:33], errors.New("bad seq varint"))
		}
		sl.stored, sl.seq = true, seq
	}
	if err := it.Error(); err != nil {
		_ = it.Close()
		return err
	}
	return it.Close()
}

// commitSync writes b and waits for its fsync. It uses ApplyNoSyncWait and
// SyncWait rather than Apply because Pebble's Apply exits the process on a
// sync error, while we want to report it (and refuse further writes).
func (s *Store) commitSync(b *pebble.Batch) error {
	if err := s.db.ApplyNoSyncWait(b, pebble.Sync); err != nil {
		return err
	}
	if err := b.SyncWait(); err != nil {
		return err
	}
	return b.Close()
}

// failAfter fails the group once its segment write has ended (the arena
// it writes from is reused by the next group).
func (a *appender) failAfter(segDone <-chan error, group []*request, firstSeq, lastSeq uint64, err error) {
	<-segDone
	a.fail(group, "append", firstSeq, lastSeq, err)
}

func (a *appender) fail(group []*request, op string, firstSeq, lastSeq uint64, err error) {
	f := a.s.failWith(&FatalError{Op: op, FirstSeq: firstSeq, LastSeq: lastSeq, Err: err})
	reply(group, f)
}

// failWith records the first fatal error and returns the one recorded.
func (s *Store) failWith(f *FatalError) *FatalError {
	s.fatal.CompareAndSwap(nil, f)
	select {
	case s.kick <- struct{}{}: // let the appender arm a reopen
	default:
	}
	return s.fatal.Load()
}

// appendLeaf appends the leaf bytes of e at seq: its canonical encoding.
// The caller encoded it with Seq 0 (in parallel, off the appender); since
// encoding/json writes struct fields in order and ID is 64 hex characters,
// that encoding starts with exactly `{"id":"<id>","seq":0,` and the only
// change Seq makes is that one number, which we splice. If the prefix is
// not there (Event changed shape), fall back to encoding again: a test
// checks both agree with Event.Canonical.
func appendLeaf(dst []byte, e *gateway.Event, canon []byte, seq uint64) []byte {
	if out, ok := spliceSeq(dst, e.ID, canon, seq); ok {
		return out
	}
	c := *e
	c.Seq = seq
	b, err := c.Canonical()
	if err != nil {
		// Unreachable: the caller encoded the same event successfully.
		panic(fmt.Sprintf("store: re-encoding event %s: %v", e.ID, err))
	}
	return append(dst, b...)
}

// spliceSeq is appendLeaf's splice: it appends canon, the canonical bytes
// of the event with id id and Seq 0, with seq in place of the 0, and
// reports false (appending nothing) when canon does not start as
// expected (splices).
func spliceSeq(dst []byte, id string, canon []byte, seq uint64) ([]byte, bool) {
	if !splices(id, canon) {
		return dst, false
	}
	n := len(`{"id":"`) + len(id) + len(`","seq":0,`)
	dst = append(dst, canon[:n-2]...)
	dst = strconv.AppendUint(dst, seq, 10)
	return append(dst, canon[n-1:]...), true
}

// splices reports whether canon starts `{"id":"<id>","seq":0,`, so that
// spliceSeq can write the seq in place of the 0.
func splices(id string, canon []byte) bool {
	const pre, post = `{"id":"`, `","seq":0,`
	n := len(pre) + len(id) + len(post)
	return len(canon) > n && string(canon[:len(pre)]) == pre && string(canon[len(pre):len(pre)+len(id)]) == id && string(canon[n-len(post):n]) == post
}

// parallelLeafMin is the group size from which leaf hashing is split
// across workers; below it goroutine hand-off costs more than it saves.
const parallelLeafMin = 512

// hashLeaves fills each slot's RFC 6962 leaf hash SHA-256(0x00 || leaf)
// into its record and then the frame's length and checksum, splitting the
// group across hash workers.
func (a *appender) hashLeaves() {
	n := len(a.fresh)
	w := a.s.cfg.hashWorkers
	if w > n/parallelLeafMin {
		w = max(1, n/parallelLeafMin)
	}
	if w == 1 {
		a.hashRange(0, n)
		return
	}
	var wg sync.WaitGroup
	per := (n + w - 1) / w
	for lo := 0; lo < n; lo += per {
		hi := min(lo+per, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.hashRange(lo, hi)
		}()
	}
	wg.Wait()
}

func (a *appender) hashRange(lo, hi int) {
	h := sha256.New()
	prefix := []byte{rfc6962.RFC6962LeafHashPrefix}
	for j := lo; j < hi; j++ {
		sl := &a.slots[a.fresh[j]]
		frame := a.arena[sl.start:sl.end]
		h.Reset()
		h.Write(prefix)
		h.Write(frame[frameOverhead:])
		h.Sum(a.hashes[j][:0])
		copy(frame[durable.FrameHeaderSize+8:frameOverhead], a.hashes[j][:])
		durable.PutFrameHeader(frame[:durable.FrameHeaderSize], frame[durable.FrameHeaderSize:])
	}
}

// sealInto adds to b the batch [a.sealed, a.size) under the current root,
// and resets the open batch. The caller commits b.
func (a *appender) sealInto(b *pebble.Batch) error {
	s := a.s
	root, err := a.root()
	if err != nil {
		return err
	}
	rootHex := hex.EncodeToString(root)
	bt := gateway.Batch{
		ID:             gateway.BatchID(s.cfg.msp, s.cfg.gatewayID, a.sealed, a.size, rootHex),
		GatewayMSP:     s.cfg.msp,
		GatewayID:      s.cfg.gatewayID,
		TreeSizeBefore: a.sealed,
		TreeSizeAfter:  a.size,
		RootHash:       rootHex,
		FirstSeq:       a.sealed,
		LastSeq:        a.size - 1,
		TimeFrom:       a.open.timeFrom,
		TimeTo:         a.open.timeTo,
		ClassCounts:    a.open.classes,
		Models:         []gateway.ModelRef{},
		State:          gateway.BatchSealed,
	}
	if s.cfg.models != nil {
		bt.Models = append(bt.Models, s.cfg.models()...)
	}
	v, err := encodeBatch(bt)
	if err != nil {
		return err
	}
	id, err := parseID(bt.ID)
	if err != nil {
		return err
	}
	for _, kv := range [][2][]byte{
		{idKey(prefixBatch, id), v},
		{seqKey(prefixBySize, bt.TreeSizeAfter), id[:]},
		{seqKey(prefixPending, bt.TreeSizeAfter), id[:]},
	} {
		if err := b.Set(kv[0], kv[1], nil); err != nil {
			return err
		}
	}
	a.sealedIn = append(a.sealedIn, bt)
	a.sealed = a.size
	a.open = openBatch{}
	return nil
}

// sealNow seals the open batch in a write of its own (time-based sealing
// and Seal).
func (a *appender) sealNow() sealResult {
	s := a.s
	if f := s.fatal.Load(); f != nil {
		return sealResult{err: f}
	}
	if a.size == a.sealed {
		return sealResult{}
	}
	a.sealedIn = a.sealedIn[:0]
	b := s.db.NewBatch()
	err := a.sealInto(b)
	if err == nil {
		err = s.commitSync(b)
	}
	if err != nil {
		return sealResult{err: s.failWith(&FatalError{Op: "seal", FirstSeq: 1, LastSeq: 0, Err: err})}
	}
	st := s.state.Load()
	s.state.Store(&durableState{size: st.size, root: st.root, sealed: a.sealed})
	s.stats.batches.Add(1)
	return sealResult{batch: a.sealedIn[0], ok: true}
}
