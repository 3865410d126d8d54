package anchor

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// Backpressure says when ingest is told to back off instead of storing
// more: too many stored events are not anchored yet, or too many sealed
// batches wait for the ledger.
type Backpressure struct {
	// MaxUnanchoredEvents bounds stored events not yet anchored.
	MaxUnanchoredEvents uint64
	// MaxPendingBatches bounds sealed batches waiting for the ledger.
	MaxPendingBatches int
	// RetryAfter is how long a client told to back off should wait (the
	// Retry-After of a 503).
	RetryAfter time.Duration
}

// DefaultBackpressure is the backpressure an anchorer applies unless
// WithBackpressure says otherwise; the configuration's defaults read it.
var DefaultBackpressure = Backpressure{MaxUnanchoredEvents: 5_000_000, MaxPendingBatches: 200, RetryAfter: 5 * time.Second}

// Check is the backpressure decision for a status and a stored tree size:
// true with the reason when ingest must back off.
func (b Backpressure) Check(st gateway.AnchorStatus, size uint64) (bool, string) {
	if size > st.TreeSize && size-st.TreeSize > b.MaxUnanchoredEvents {
		return true, strconv.FormatUint(size-st.TreeSize, 10) + " events are not anchored yet (limit " + strconv.FormatUint(b.MaxUnanchoredEvents, 10) + ")"
	}
	if st.Pending > b.MaxPendingBatches {
		return true, strconv.Itoa(st.Pending) + " batches wait for the ledger (limit " + strconv.Itoa(b.MaxPendingBatches) + ")"
	}
	return false, ""
}

// Sizer reports the stored tree size (the store's Checkpoint).
type Sizer interface {
	Checkpoint(ctx context.Context) (gateway.Checkpoint, error)
}

// WithBackpressure sets the backpressure limits (default
// DefaultBackpressure) and where the stored size is read; without a Sizer
// only the pending-batches limit applies.
func WithBackpressure(b Backpressure, size Sizer) Option {
	return func(c *config) error {
		if b.MaxUnanchoredEvents < 1 || b.MaxPendingBatches < 1 || b.RetryAfter < time.Second {
			return fmt.Errorf("backpressure limits must be positive and retry-after at least 1s, got %+v", b)
		}
		c.bp, c.sizer = b, size
		return nil
	}
}

// WithClock sets the clock that stamps anchored batches (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return errors.New("clock is nil")
		}
		c.now = now
		return nil
	}
}

// Busy reports whether ingest must push back, and why (gateway.Progress).
// It fails closed: when the stored size cannot be read, the unanchored
// backlog is unknown, so ingest is told to back off with the store's error
// as the reason rather than admitted as if the log were empty.
func (a *Anchorer) Busy(ctx context.Context) (bool, string) {
	var size uint64
	if a.cfg.sizer != nil {
		cp, err := a.cfg.sizer.Checkpoint(ctx)
		if err != nil {
			return true, "cannot read the stored log size: " + err.Error()
		}
		size = cp.Size
	}
	return a.cfg.bp.Check(a.Status(), size)
}

// RetryAfter is the configured back-off (gateway.Progress).
func (a *Anchorer) RetryAfter() time.Duration { return a.cfg.bp.RetryAfter }

// mark is the end of an append not fully anchored and when it happened.
type mark struct {
	end uint64 // tree size after the append
	at  time.Time
}

// maxMarks bounds the remembered appends; on overflow the oldest time is
// kept, so the lag is never under-reported.
const maxMarks = 65_536

// Appended records that the log reached size end at time at
// (gateway.Progress).
func (a *Anchorer) Appended(end uint64, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if end <= a.status.TreeSize {
		return
	}
	if n := len(a.marks); n > 0 && a.marks[n-1].end >= end {
		return // an older append already covers it (duplicates)
	}
	if len(a.marks) >= maxMarks {
		a.marks[len(a.marks)-1].end = end
		return
	}
	a.marks = append(a.marks, mark{end: end, at: at})
}

// setAnchoredLocked records an anchored batch (with its transaction) if it
// moves the anchored size forward. a.mu must be held.
func (a *Anchorer) setAnchoredLocked(b gateway.Batch) {
	if b.TreeSizeAfter < a.status.TreeSize {
		return
	}
	a.status.TreeSize = b.TreeSizeAfter
	bc := b
	a.status.Last = &bc
	i := sort.Search(len(a.marks), func(i int) bool { return a.marks[i].end > a.status.TreeSize })
	a.marks = a.marks[i:]
}

// BatchLocator finds the sealed batch holding a leaf: false while the leaf
// is not in a durably sealed batch. The store implements it (BatchOf).
type BatchLocator interface {
	BatchOf(ctx context.Context, seq uint64) (gateway.Batch, bool, error)
}

// Recover sets the progress from what the store holds, for start-up (later
// batches arrive through Run): the last anchored batch of a log of the
// given size. It returns that batch and false when none is anchored yet.
func (a *Anchorer) Recover(ctx context.Context, size uint64, loc BatchLocator) (gateway.Batch, bool, error) {
	pending, err := a.log.PendingBatches(ctx)
	if err != nil {
		return gateway.Batch{}, false, fmt.Errorf("anchor: read pending batches: %w", err)
	}
	b, ok, err := LastAnchored(ctx, size, pending, loc)
	if err != nil {
		return gateway.Batch{}, false, fmt.Errorf("anchor: find the last anchored batch: %w", err)
	}
	a.mu.Lock()
	a.status.Pending = len(pending)
	if ok {
		a.setAnchoredLocked(b)
	}
	a.mu.Unlock()
	return b, ok, nil
}

// LastAnchored finds the most recently anchored batch of a log of the given
// size. Batches tile the log in order and are anchored in order, so it is
// the batch just before the oldest pending one, or, with nothing pending,
// the last sealed batch, found by binary search over "leaf is sealed" (true
// below the sealed size, false above) in O(log size) lookups. ok is false
// when no batch is anchored yet.
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

var _ gateway.Progress = (*Anchorer)(nil)
