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

// records returns the records [from, from+n), their leaf bytes in one
// buffer as a segment read gives them, if every one is held; false
// otherwise.
func (c *recentLeaves) records(from uint64, n int) ([]record, bool) {
	if c == nil || uint64(n) > uint64(len(c.slots)) {
		return nil, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	size := 0
	for i := range n {
		seq := from + uint64(i)
		s := &c.slots[seq%uint64(len(c.slots))]
		if !s.ok || s.seq != seq {
			return nil, false
		}
		size += len(s.canon) + 20 // 20: room for the seq's digits
	}
	buf := make([]byte, 0, size)
	out := make([]record, n)
	for i := range out {
		seq := from + uint64(i)
		s := &c.slots[seq%uint64(len(c.slots))]
		start := len(buf)
		var ok bool
		if buf, ok = spliceSeq(buf, s.id, s.canon, seq); !ok {
			return nil, false // not put so (see put): unreachable
		}
		out[i] = record{seq: seq, leaf: buf[start:len(buf):len(buf)], hash: s.hash}
	}
	return out, true
}
