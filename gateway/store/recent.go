package store

import (
	"encoding/json"
	"sync"
	"unicode/utf8"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// recentLeaves keeps the last appended events as their callers handed
// them over, so the alerter, which scores every event shortly after it is
// sealed, reads them without decoding their canonical bytes again (the
// decode was a third of the gateway's CPU while detection drained a
// backlog). It holds only events whose decoded form is exactly the value
// given (sameAsDecoded), so a reader gets the same Event from it as from
// the segment files: detection cannot tell the two paths apart. It is a
// ring indexed by seq: a slot holds seq only until seq+size overwrites it.
// Leaves serves a range from it only when every leaf of the range is
// there, and reads the segment files otherwise.
type recentLeaves struct {
	mu    sync.RWMutex
	slots []recentSlot
}

type recentSlot struct {
	ok    bool
	seq   uint64
	ev    gateway.Event // Seq set, times in UTC
	canon []byte        // the caller's canonical encoding with Seq 0 (appendLeaf splices the seq)
	hash  [32]byte
}

func newRecentLeaves(n int) *recentLeaves {
	if n <= 0 {
		return nil
	}
	return &recentLeaves{slots: make([]recentSlot, n)}
}

// put records the leaf at seq, or forgets the slot's previous leaf when
// the event is not kept (ok false).
func (c *recentLeaves) put(seq uint64, ev gateway.Event, canon []byte, hash [32]byte, ok bool) {
	s := &c.slots[seq%uint64(len(c.slots))]
	if !ok {
		*s = recentSlot{}
		return
	}
	*s = recentSlot{ok: true, seq: seq, ev: ev, canon: canon, hash: hash}
}

// leaves fills out with the leaves [from, from+len(out)) if every one is
// held, and reports whether it did.
func (c *recentLeaves) leaves(from uint64, out []gateway.Leaf) bool {
	if c == nil || uint64(len(out)) > uint64(len(c.slots)) {
		return false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	for i := range out {
		seq := from + uint64(i)
		if s := &c.slots[seq%uint64(len(c.slots))]; !s.ok || s.seq != seq {
			return false
		}
	}
	for i := range out {
		seq := from + uint64(i)
		s := &c.slots[seq%uint64(len(c.slots))]
		out[i] = gateway.Leaf{Event: s.ev, Canonical: appendLeaf(nil, &s.ev, s.canon, seq), LeafHash: s.hash}
	}
	return true
}

// cacheForm returns e as decodeLeaf would return it from its canonical
// bytes, and whether that is possible without decoding: true when every
// value is of a type the decoder produces (string, json.Number, bool, nil,
// map[string]any, []any) and every string and key is valid UTF-8 (which
// the encoder would rewrite). Empty maps and times are normalised as the
// encoding does (omitted; UTC).
func cacheForm(e gateway.Event) (gateway.Event, bool) {
	if !utf8.ValidString(e.ID) || !utf8.ValidString(e.Source) || !utf8.ValidString(e.Sourcetype) ||
		!utf8.ValidString(e.Host) || !utf8.ValidString(e.Index) || !utf8.ValidString(string(e.Class)) {
		return e, false
	}
	e.Time, e.Received = e.Time.UTC(), e.Received.UTC()
	if len(e.Fields) == 0 {
		e.Fields = nil
	} else if !decodesAsIs(e.Fields, 0) {
		return e, false
	}
	if len(e.Labels) == 0 {
		e.Labels = nil
	} else {
		for k, v := range e.Labels {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return e, false
			}
		}
	}
	if e.Raw == nil {
		// encoded as null, decoded as nil: as is
	} else if len(e.Raw) == 0 {
		e.Raw = []byte{}
	}
	return e, true
}

// decodesAsIs reports whether v decodes from its JSON encoding (numbers
// as json.Number) to a value deeply equal to v.
func decodesAsIs(v any, depth int) bool {
	if depth > 32 {
		return false
	}
	switch x := v.(type) {
	case nil, bool:
		return true
	case string:
		return utf8.ValidString(x)
	case json.Number:
		return x != "" && gateway.ValidNumber(string(x))
	case map[string]any:
		if x == nil {
			return false // encoded null decodes to a nil interface, not a nil map
		}
		for k, e := range x {
			if !utf8.ValidString(k) || !decodesAsIs(e, depth+1) {
				return false
			}
		}
		return true
	case []any:
		if x == nil {
			return false
		}
		for _, e := range x {
			if !decodesAsIs(e, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}
