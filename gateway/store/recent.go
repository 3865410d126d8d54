package store

import (
	"slices"
	"sync"

	"github.com/ledgerguard/ledgerguard/gateway/durable"
)

// recentLeaves keeps the records of the last appended events in memory,
// so that readers of the latest leaves (the alerter, while it keeps up
// with ingest) do not read them back from the segment files. It holds
// the appender's own frames: each group commit's arena (the records
// framed, with their seqs spliced and leaf hashes written, exactly the
// bytes the group wrote to its segment file) is handed over whole once
// durable, and the appender frames the next group in a fresh one. A held
// record is therefore the file's record byte for byte, and a reader
// makes its leaves from it with the very function it makes them with
// from records read from the files (Leaves decodes, HeaderLeaves reads
// the header), so the two paths cannot answer differently; and neither
// publishing nor reading copies a byte (an earlier version held each
// event's canonical bytes with Seq 0 and spliced the seq into a copy on
// every read, which cost what reading the files from the page cache did).
//
// It holds whole groups, oldest first, within maxEvents records and
// maxBytes (their frames and offsets): publishing a group drops the
// oldest ones until it fits, so it always holds the latest events (a
// group larger than the budget alone is not held, and its range is read
// from the files). The bytes a group holds are never written again (the appender moved to a
// fresh arena), so readers read them without the lock, and leaves made
// from them may share them for as long as they like: the garbage
// collector frees a group's frames once neither the ring nor a leaf
// refers to them.
type recentLeaves struct {
	mu     sync.RWMutex
	groups []recentGroup // in seq order, oldest first
	events int           // records held
	held   int           // bytes held (groups' size)

	maxEvents, maxBytes int
}

// recentGroup is one group commit's frames: the records first,
// first+1, ... framed at starts in frames.
type recentGroup struct {
	first  uint64
	frames []byte
	starts []int
}

// size is the memory the group keeps alive: its arena (spare room too)
// and its offsets.
func (g *recentGroup) size() int { return cap(g.frames) + 8*cap(g.starts) }

// end is the seq after the group's last.
func (g *recentGroup) end() uint64 { return g.first + uint64(len(g.starts)) }

// record returns the group's record at seq, which it holds: the frame's
// leaf bytes (without spare capacity, as readRange gives them) and leaf
// hash, unchecked (these are the bytes this process framed and wrote).
func (g *recentGroup) record(seq uint64) record {
	k := int(seq - g.first)
	end := len(g.frames)
	if k+1 < len(g.starts) {
		end = g.starts[k+1]
	}
	f := g.frames[g.starts[k]:end]
	r := record{seq: seq, leaf: f[frameOverhead:len(f):len(f)]}
	copy(r.hash[:], f[durable.FrameHeaderSize+8:frameOverhead])
	return r
}

func newRecentLeaves(n, maxBytes int) *recentLeaves {
	if n <= 0 || maxBytes <= 0 {
		return nil
	}
	return &recentLeaves{maxEvents: n, maxBytes: maxBytes}
}

// put holds the group whose records first, first+1, ... the appender
// framed at starts in frames (both handed over: the appender must not
// write them again), dropping the oldest groups until it fits, or drops
// them all without holding it when it alone is over the budget (or does
// not follow the last held group). The caller holds c.mu.
func (c *recentLeaves) put(first uint64, frames []byte, starts []int) {
	n := len(starts)
	if n == 0 {
		return
	}
	g := recentGroup{first: first, frames: frames, starts: starts}
	size := g.size()
	if n > c.maxEvents || size > c.maxBytes ||
		(len(c.groups) > 0 && c.groups[len(c.groups)-1].end() != first) {
		c.drop(len(c.groups))
		return
	}
	k, events, held := 0, c.events, c.held
	for k < len(c.groups) && (events+n > c.maxEvents || held+size > c.maxBytes) {
		events -= len(c.groups[k].starts)
		held -= c.groups[k].size()
		k++
	}
	c.drop(k)
	c.groups = append(c.groups, g)
	c.events += n
	c.held += size
}

// drop forgets the oldest k groups, clearing their places so the
// slice's spare room does not keep their frames alive.
func (c *recentLeaves) drop(k int) {
	for _, g := range c.groups[:k] {
		c.events -= len(g.starts)
		c.held -= g.size()
	}
	// Shift down rather than reslice from k: the slice would otherwise
	// creep along its backing array and reallocate each time it reached
	// the end.
	rest := copy(c.groups, c.groups[k:])
	clear(c.groups[rest:])
	c.groups = c.groups[:rest]
}

// each calls fn with the records [from, from+n) in order and reports
// whether every one was held and accepted: false when one was not held
// (the range must be read from the files, and fn was not called) or fn
// returned false, after which it calls fn no more. The groups are looked
// up under the read lock, their bytes read outside it (put never changes
// a held group's bytes, and a dropped group's stay valid for whoever
// still refers to them), so a reader does not stall the appender's
// publication for a whole range.
func (c *recentLeaves) each(from uint64, n int, fn func(r record) bool) bool {
	if c == nil || n <= 0 {
		return false
	}
	groups, ok := c.covering(from, from+uint64(n))
	if !ok {
		return false
	}
	seq, to := from, from+uint64(n)
	for i := range groups {
		g := &groups[i]
		for ; seq < to && seq < g.end(); seq++ {
			if !fn(g.record(seq)) {
				return false
			}
		}
	}
	return true
}

// covering returns the held groups that hold [from, to), in order, or
// false when one of its records is not held.
func (c *recentLeaves) covering(from, to uint64) ([]recentGroup, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	gs := c.groups
	if len(gs) == 0 || from < gs[0].first || to > gs[len(gs)-1].end() {
		return nil, false
	}
	// The held groups are contiguous (put drops them all rather than
	// leave a gap), so the first is found by its first seq.
	i, found := slices.BinarySearchFunc(gs, from, func(g recentGroup, seq uint64) int {
		switch {
		case g.end() <= seq:
			return -1
		case g.first > seq:
			return 1
		}
		return 0
	})
	if !found {
		return nil, false
	}
	j := i
	for gs[j].end() < to {
		j++
	}
	return slices.Clone(gs[i : j+1]), true
}
