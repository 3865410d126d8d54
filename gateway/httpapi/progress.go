package httpapi

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// progress tracks how far the log is anchored: the anchored tree size
// (every leaf below it is in an anchored batch), the last anchored batch
// with its transaction, and when each not-yet-anchored append happened, so
// the anchoring lag in seconds is the age of the oldest unanchored event.
type progress struct {
	mu       sync.Mutex
	anchored uint64
	last     *gateway.Batch
	// marks are (end of an append, when) for appends not fully anchored,
	// oldest first, at most maxMarks (the oldest time is kept on overflow,
	// so the lag is never under-reported).
	marks []mark
}

type mark struct {
	end uint64 // tree size after the append
	at  time.Time
}

const maxMarks = 65_536

// setAnchored records an anchored batch (with its transaction) if it moves
// the anchored size forward.
func (p *progress) setAnchored(b gateway.Batch) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if b.TreeSizeAfter < p.anchored {
		return
	}
	p.anchored = b.TreeSizeAfter
	bc := b
	p.last = &bc
	i := sort.Search(len(p.marks), func(i int) bool { return p.marks[i].end > p.anchored })
	p.marks = p.marks[i:]
}

// appended records that the log reached size end at time at.
func (p *progress) appended(end uint64, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if end <= p.anchored {
		return
	}
	if n := len(p.marks); n > 0 && p.marks[n-1].end >= end {
		return // an older append already covers it (duplicates)
	}
	if len(p.marks) >= maxMarks {
		p.marks[len(p.marks)-1].end = end
		return
	}
	p.marks = append(p.marks, mark{end: end, at: at})
}

// snapshot returns the anchored size, the last anchored batch and the age
// of the oldest unanchored append at now (0 when none).
func (p *progress) snapshot(now time.Time) (uint64, *gateway.Batch, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var lag time.Duration
	if len(p.marks) > 0 {
		lag = max(now.Sub(p.marks[0].at), 0)
	}
	return p.anchored, p.last, lag
}

// BatchLocator finds the sealed batch holding a leaf: false while the leaf
// is not in a durably sealed batch. The store implements it (BatchOf).
type BatchLocator interface {
	BatchOf(ctx context.Context, seq uint64) (gateway.Batch, bool, error)
}

// LastAnchored finds the most recently anchored batch of a log of the given
// size, for start-up (later ones arrive through OnAnchored). Batches tile
// the log in order and are anchored in order, so it is the batch just
// before the oldest pending one, or, with nothing pending, the last sealed
// batch, found by binary search over "leaf is sealed" (true below the
// sealed size, false above) in O(log size) lookups. ok is false when no
// batch is anchored yet.
func LastAnchored(ctx context.Context, size uint64, pending []gateway.Batch, loc BatchLocator) (gateway.Batch, bool, error) {
	var end uint64 // anchored tree size
	if len(pending) > 0 {
		end = pending[0].TreeSizeBefore
	} else {
		lo, hi := uint64(0), size // invariant: leaves < lo sealed, leaves >= hi not
		for lo < hi {
			mid := lo + (hi-lo)/2
			_, sealed, err := loc.BatchOf(ctx, mid)
			if err != nil {
				return gateway.Batch{}, false, err
			}
			if sealed {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		end = lo
	}
	if end == 0 {
		return gateway.Batch{}, false, nil
	}
	b, ok, err := loc.BatchOf(ctx, end-1)
	if err != nil || !ok {
		return gateway.Batch{}, false, err
	}
	return b, b.State == gateway.BatchAnchored, nil
}
