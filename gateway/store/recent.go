package store

import (
	"sync"
)

// recentLeaves keeps the records of the last appended events in memory
// (each one's canonical bytes as its caller encoded them, with Seq 0,
// and its leaf hash), so that readers of the latest leaves (the alerter,
// while it keeps up with ingest) do not read them back from the segment
// files. It holds bytes, not decoded events: a reader makes its leaves
// from held records with the very function it makes them with from
// records read from the files (Leaves decodes, HeaderLeaves reads the
// header), and a held record's leaf bytes are the ones the appender
// wrote (the same splice of the seq into the same bytes), so the two
// paths cannot answer differently. Holding the appended events
// themselves, as an earlier version did, kept their decoded field maps
// alive for the garbage collector to trace, and had to prove that each
// event equals its decoded form (only those could be handed out). It is a
// ring indexed by seq: a slot holds seq only until seq+size overwrites
// it. Leaves serves a range from it only when every record of the range
// is there, and reads the segment files otherwise. It holds at most
// maxBytes of canonical bytes: a record that would go over is not held
// (its slot is forgotten), so a run of large events (a line may be up to
// limits.max_line_bytes) costs file reads, never memory beyond the
// budget.
type recentLeaves struct {
	mu       sync.RWMutex
	slots    []recentSlot
	held     int // bytes of canon in slots
	maxBytes int
}

type recentSlot struct {
	ok    bool
	seq   uint64
	id    string // the event's ID, where spliceSeq finds the seq in canon
	canon []byte // the caller's canonical encoding with Seq 0
	hash  [32]byte
}

func newRecentLeaves(n, maxBytes int) *recentLeaves {
	if n <= 0 || maxBytes <= 0 {
		return nil
	}
	return &recentLeaves{slots: make([]recentSlot, n), maxBytes: maxBytes}
}

// put records the leaf at seq (the event id, its canonical bytes with Seq
// 0 and its leaf hash), or forgets the slot's previous leaf when the
// appender did not splice the seq into canon (ok false) or holding it
// would exceed the byte budget: such a leaf's bytes are only in the
// files. The caller holds c.mu.
func (c *recentLeaves) put(seq uint64, id string, canon []byte, hash [32]byte, ok bool) {
	s := &c.slots[seq%uint64(len(c.slots))]
	c.held -= len(s.canon)
	if !ok || c.held+len(canon) > c.maxBytes {
		*s = recentSlot{}
		return
	}
	c.held += len(canon)
	*s = recentSlot{ok: true, seq: seq, id: id, canon: canon, hash: hash}
}

// recentChunk is how many slots each takes under one hold of the read
// lock: the records it makes leaves of are spliced and handed to the
// caller's fn without the lock held, so a reader does not stall the
// appender's publication (put, under the write lock) for a whole range.
const recentChunk = 64

// each calls fn with the records [from, from+n) in order and reports
// whether every one was held and accepted: false when one was not held
// (the range must be read from the files) or fn returned false, after
// which it calls fn no more. Each record's leaf bytes are the held
// canonical bytes with the seq spliced in, as the appender wrote them to
// the segment file, in a buffer per recentChunk records that nothing
// else refers to, spliced just before fn reads them (an earlier version
// spliced the whole range, 11 MB for 4,096 of the ingest bench's
// records, before the first leaf was made from it). The slots are read
// under the lock (put overwrites them), the held bytes outside it: put
// never changes the bytes it holds, it replaces the slot.
func (c *recentLeaves) each(from uint64, n int, fn func(r record) bool) bool {
	if c == nil || n <= 0 || uint64(n) > uint64(len(c.slots)) {
		return false
	}
	var chunk [recentChunk]recentSlot
	for done := 0; done < n; {
		k := min(recentChunk, n-done)
		size, ok := c.copySlots(from+uint64(done), chunk[:k])
		if !ok {
			return false
		}
		buf := make([]byte, 0, size)
		for i := range chunk[:k] {
			s := &chunk[i]
			start := len(buf)
			if buf, ok = spliceSeq(buf, s.id, s.canon, s.seq); !ok {
				return false // not put so (see put): unreachable
			}
			if !fn(record{seq: s.seq, leaf: buf[start:len(buf):len(buf)], hash: s.hash}) {
				return false
			}
		}
		done += k
	}
	return true
}

// copySlots copies the slots of the seqs from, from+1, ... into dst,
// reporting false if one of them is not held, and the room their leaf
// bytes take.
func (c *recentLeaves) copySlots(from uint64, dst []recentSlot) (int, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	size := 0
	for i := range dst {
		seq := from + uint64(i)
		s := &c.slots[seq%uint64(len(c.slots))]
		if !s.ok || s.seq != seq {
			return 0, false
		}
		dst[i] = *s
		size += len(s.canon) + 20 // 20: room for the seq's digits
	}
	return size, true
}
