// Package anchor drives the gateway's sealed batches onto the ledger, one at
// a time and in order: a batch must extend the tree size its predecessor
// anchored, so anchoring is strictly sequential per gateway. Transient
// ledger failures are retried with bounded exponential backoff; a permanent
// rejection is surfaced in Status (and so in /readyz and the metrics) and
// retried slowly, since only an operator can fix it. Each attempt is
// bounded (WithAttemptTimeout), so a ledger call that never returns cannot
// hold anchoring for ever. Because batch ids are
// deterministic and the chaincode returns the existing record for a replayed
// id, a crash between commit and MarkAnchored never anchors anything twice.
//
// A refusal from an endorser that has not yet committed the previous
// anchor (the chaincode's conflict at endorsement, routine when another
// organisation's peer is a block behind) is retried after a short pause a
// few times before the backoff applies.
//
// The Anchorer is the one owner of "how far is the log anchored": it
// recovers the last anchored batch at start (Recover), tracks the anchored
// tree size, the last anchored batch and the age of the oldest unanchored
// append, notifies subscribers of each anchored batch, and decides
// backpressure (Busy, RetryAfter). It implements gateway.Progress, which
// the ingest adapters consume.
package anchor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
)

// Anchorer anchors pending batches. Create it with New and run it with Run.
type Anchorer struct {
	log     gateway.BatchLog
	ledger  gateway.Ledger
	cfg     config
	wake    chan struct{}
	mu      sync.Mutex
	status  gateway.AnchorStatus
	marks   []mark
	onAnchr []func(gateway.Batch, gateway.Anchor)

	failingBatch string
	failingSince time.Time
}

type config struct {
	seal        func(context.Context) (bool, error)
	attempt     time.Duration
	rejectAfter time.Duration
	idle        time.Duration
	minBackoff  time.Duration
	maxBackoff  time.Duration
	logger      *slog.Logger
	now         func() time.Time
	bp          Backpressure
	sizer       Sizer
}

// Option configures New.
type Option func(*config) error

// WithIdlePoll sets how often an idle anchorer looks for sealed batches when
// nobody calls Wake (default 200 ms).
func WithIdlePoll(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("idle poll must be positive, got %v", d)
		}
		c.idle = d
		return nil
	}
}

// WithBackoff sets the retry backoff bounds (defaults 100 ms and 10 s).
func WithBackoff(minBackoff, maxBackoff time.Duration) Option {
	return func(c *config) error {
		if minBackoff <= 0 || maxBackoff < minBackoff {
			return fmt.Errorf("backoff bounds must satisfy 0 < min <= max, got %v, %v", minBackoff, maxBackoff)
		}
		c.minBackoff, c.maxBackoff = minBackoff, maxBackoff
		return nil
	}
}

// WithSealWhenIdle lets the anchorer seal the open batch itself whenever
// nothing is waiting to be anchored, checking every poll. Anchoring is
// sequential (each batch must extend the one before), so sealing on a
// fixed clock either makes tiny batches that queue up behind each other or
// waits needlessly; sealing when the ledger is free keeps exactly one batch
// in flight, lets batches grow with the load, and bounds an event's wait
// for anchoring to about two transactions. The store's own count and time
// limits still apply.
func WithSealWhenIdle(seal func(context.Context) (bool, error), poll time.Duration) Option {
	return func(c *config) error {
		if seal == nil || poll <= 0 {
			return errors.New("seal-when-idle needs a seal function and a positive poll interval")
		}
		c.seal, c.idle = seal, poll
		return nil
	}
}

// WithAttemptTimeout bounds one attempt to anchor a batch (default 5 min,
// above the Fabric adapter's own per-stage bounds, which end an attempt
// first). It is the anchorer's own guarantee that a ledger call which
// never returns (a transaction the orderers lost, waited for without a
// deadline) cannot hold anchoring, and ingest behind its backpressure, for
// ever: the attempt ends as a transient failure and the batch is anchored
// again, which the ledger recognises as a replay if the lost one committed
// after all.
func WithAttemptTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("attempt timeout must be positive, got %v", d)
		}
		c.attempt = d
		return nil
	}
}

// WithRejectAfter sets how long the ledger must keep refusing the same
// batch before Status reports Rejected (default 30 s).
func WithRejectAfter(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("reject-after must not be negative, got %v", d)
		}
		c.rejectAfter = d
		return nil
	}
}

// WithLogger sets the structured logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("logger is nil")
		}
		c.logger = l
		return nil
	}
}

// DefaultAttemptTimeout is WithAttemptTimeout's default.
const DefaultAttemptTimeout = 5 * time.Minute

// New returns an anchorer over a batch log and a ledger.
func New(log gateway.BatchLog, ledger gateway.Ledger, opts ...Option) (*Anchorer, error) {
	if log == nil || ledger == nil {
		return nil, errors.New("anchor: batch log and ledger are required")
	}
	cfg := config{attempt: DefaultAttemptTimeout, rejectAfter: 30 * time.Second, idle: 200 * time.Millisecond, minBackoff: 100 * time.Millisecond, maxBackoff: 10 * time.Second, logger: slog.Default(),
		now: time.Now, bp: DefaultBackpressure}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("anchor: %w", err)
		}
	}
	return &Anchorer{log: log, ledger: ledger, cfg: cfg, wake: make(chan struct{}, 1)}, nil
}

// Subscribe registers a callback run after each batch is marked anchored
// (gateway.Progress): in anchoring order, on the anchorer's goroutine, so
// keep it short.
func (a *Anchorer) Subscribe(f func(gateway.Batch, gateway.Anchor)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.onAnchr = append(a.onAnchr, f)
}

// Wake tells the anchorer a batch was sealed; it never blocks.
func (a *Anchorer) Wake() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// Status returns a snapshot of progress.
func (a *Anchorer) Status() gateway.AnchorStatus {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.status
	if st.Last != nil {
		b := *st.Last
		st.Last = &b
	}
	if len(a.marks) > 0 {
		st.OldestUnanchored = a.marks[0].at
	}
	return st
}

// Run anchors batches until ctx ends; it returns ctx's error, or an error
// from the batch log (storage failures are not retried: they are fatal to
// the gateway, as an fsync error is), except an unavailable store
// (gateway.CodeUnavailable, e.g. reopening after a full disk), which it
// waits out.
func (a *Anchorer) Run(ctx context.Context) error {
	backoff := a.cfg.minBackoff
	behindTries := 0 // quick retries of the batch failing now (behind)
	// storeWait pauses after a store failure that passes by itself (the
	// store reopening after a full disk: gateway.CodeUnavailable); it
	// returns the error to end Run with, nil to go on.
	storeWait := func(what string, err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if gateway.ErrorCode(err) != gateway.CodeUnavailable {
			return fmt.Errorf("anchor: %s: %w", what, err)
		}
		a.cfg.logger.Warn("store unavailable; anchoring resumes when it is back", "op", what, "err", err)
		timer := time.NewTimer(backoff)
		defer timer.Stop()
		backoff = min(2*backoff, a.cfg.maxBackoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			return nil
		}
	}
	for {
		pending, err := a.log.PendingBatches(ctx)
		if err != nil {
			if err := storeWait("read pending batches", err); err != nil {
				return err
			}
			continue
		}
		if len(pending) == 0 && a.cfg.seal != nil {
			sealed, err := a.cfg.seal(ctx)
			if err != nil {
				if err := storeWait("seal the open batch", err); err != nil {
					return err
				}
				continue
			}
			if sealed {
				continue
			}
		}
		a.setPending(len(pending))
		progressed := false
		var failed error
		for _, b := range pending {
			actx, cancel := context.WithTimeout(ctx, a.cfg.attempt)
			anc, err := a.ledger.AnchorBatch(actx, b)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				a.recordFailure(b, err)
				failed = err
				break
			}
			if err := a.log.MarkAnchored(ctx, b.ID, anc.TxID, anc.BlockNumber); err != nil {
				// Anchoring the batch again later is a replay the ledger
				// answers with the existing record.
				if err := storeWait("mark batch "+b.ID+" anchored", err); err != nil {
					return err
				}
				break
			}
			a.recordSuccess(b, anc)
			progressed = true
			backoff, behindTries = a.cfg.minBackoff, 0
		}
		wait := a.cfg.idle
		switch {
		case progressed || len(pending) == 0:
		case behind(failed) && behindTries < gateway.BehindTries:
			// Most likely another organisation's endorser has not
			// committed the previous anchor yet: it catches up within a
			// block or two, so retry soon rather than after a backoff
			// that would hold every event of the batch back.
			wait = gateway.BehindPause
			behindTries++
		default:
			// The oldest batch failed: retry it after a growing pause. A
			// refusal may be transient too (a peer that restarted endorses
			// from a ledger still catching up), so it is retried the same
			// way; only a refusal that persists is reported as Rejected.
			wait = backoff
			backoff = min(2*backoff, a.cfg.maxBackoff)
		}
		if progressed {
			continue // more may have been sealed meanwhile
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-a.wake:
			timer.Stop()
		case <-timer.C:
		}
	}
}

// behind reports whether err is the refusal an endorser gives when it has
// not yet committed this gateway's previous anchor: the chaincode's
// conflict ("does not continue the anchored sequence") at endorsement. A
// real fork of the log is refused the same way, and keeps being refused:
// after gateway.BehindTries it is retried with the usual backoff and
// reported Rejected once it persists.
func behind(err error) bool { return gateway.RefusedAtEndorse(err, wire.CodeConflict) }

func (a *Anchorer) setPending(n int) {
	a.mu.Lock()
	a.status.Pending = n
	a.mu.Unlock()
}

func (a *Anchorer) recordFailure(b gateway.Batch, err error) {
	var rejected *gateway.LedgerRejectedError
	isRejected := errors.As(err, &rejected)
	a.mu.Lock()
	a.status.LastError = err.Error()
	if !isRejected || a.failingBatch != b.ID {
		a.failingBatch, a.failingSince = b.ID, time.Now()
	}
	a.status.Rejected = isRejected && time.Since(a.failingSince) >= a.cfg.rejectAfter
	persistent := a.status.Rejected
	a.mu.Unlock()
	// A refusal is retried like any failure (a restarted peer endorses from
	// a ledger still catching up and refuses with a conflict until it has
	// caught up), so it is an error only once it has persisted for
	// rejectAfter and Status reports it as Rejected.
	level := slog.LevelWarn
	switch {
	case persistent:
		level = slog.LevelError
	case behind(err):
		level = slog.LevelDebug // routine under load: an endorser a block behind
	}
	a.cfg.logger.Log(context.Background(), level, "anchoring batch failed; will retry",
		"batch", b.ID, "tree_size_before", b.TreeSizeBefore, "tree_size_after", b.TreeSizeAfter,
		"refused", isRejected, "permanent", persistent, "err", err)
}

func (a *Anchorer) recordSuccess(b gateway.Batch, anc gateway.Anchor) {
	b.State = gateway.BatchAnchored
	b.TxID, b.BlockNumber = anc.TxID, anc.BlockNumber
	now := a.cfg.now()
	if b.AnchoredAt.IsZero() {
		b.AnchoredAt = now.UTC()
	}
	a.mu.Lock()
	a.status.Anchored++
	a.status.LastAnchored = now
	a.status.LastError = ""
	a.status.Rejected = false
	a.failingBatch = ""
	if a.status.Pending > 0 {
		a.status.Pending--
	}
	a.setAnchoredLocked(b)
	subs := a.onAnchr
	a.mu.Unlock()
	a.cfg.logger.Debug("batch anchored", "batch", b.ID, "tx", anc.TxID, "block", anc.BlockNumber, "replayed", anc.Replayed)
	for _, f := range subs {
		f(b, anc)
	}
}
