package gateway

import (
	"context"
	"time"
)

// AnchorStatus is a snapshot of how far the log is anchored.
type AnchorStatus struct {
	// Pending is the number of sealed batches waiting for the ledger.
	Pending int `json:"pending"`
	// Anchored counts the batches anchored since start.
	Anchored uint64 `json:"anchored"`
	// LastAnchored is when a batch was last anchored (zero: not since start).
	LastAnchored time.Time `json:"last_anchored,omitzero"`
	// LastError is the last anchoring failure, "" after a success.
	LastError string `json:"last_error,omitempty"`
	// Rejected is true while the ledger has kept refusing the oldest
	// pending batch for longer than the reject-after period: anchoring
	// cannot progress without an operator.
	Rejected bool `json:"rejected"`
	// TreeSize is the anchored tree size: every leaf below it is in an
	// anchored batch.
	TreeSize uint64 `json:"tree_size"`
	// Last is the most recently anchored batch with its transaction (nil:
	// none anchored yet).
	Last *Batch `json:"last,omitempty"`
	// OldestUnanchored is when the oldest append not yet anchored happened
	// (zero when everything appended is anchored), so the anchoring lag in
	// seconds is its age.
	OldestUnanchored time.Time `json:"oldest_unanchored,omitzero"`
}

// Progress is the one owner of anchoring progress (gateway/anchor
// implements it): ingest adapters read it, report their appends to it, ask
// it whether to push back, and subscribe to anchored batches.
type Progress interface {
	// Status returns a snapshot.
	Status() AnchorStatus
	// Subscribe registers f to run after each batch is anchored, in
	// anchoring order, on the anchoring goroutine (keep it short).
	Subscribe(f func(Batch, Anchor))
	// Appended records that the log reached tree size end at time at.
	Appended(end uint64, at time.Time)
	// Busy reports whether ingest must push back, and why.
	Busy(ctx context.Context) (bool, string)
	// RetryAfter is how long a client told to back off should wait.
	RetryAfter() time.Duration
}
