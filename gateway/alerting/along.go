package alerting

import (
	"context"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
)

// Raising with the anchor. When a batch is scored by the time it is
// anchored, its alerts can commit in the anchor transaction itself
// (events:AnchorAndRaise): the chaincode checks them against the batch
// record it writes in that transaction, so an alert still never points at
// a batch that is not anchored in the same or an earlier transaction, and
// the alert (with the responses its policies request) reaches the ledger
// one commit earlier. The anchorer asks AlertsFor before anchoring and
// reports a committed fused transaction with RaisedWith.
//
// The position and watermark keep their meaning (every batch's alerts
// committed up to here): RaisedWith records the batch as scored with no
// alert left to raise, and step still moves past it only after the
// batches before it, whose alerts may go by RaiseAlerts, have committed.
// Nothing of a fused transaction is durable in the alerter: after a crash
// the batches from the watermark are scored and raised again with
// RaiseAlerts, which reports the fused transaction's alerts as existing.

// MaxAlongEvents bounds the batches AlertsFor scores on the anchorer's
// path when they were not scored ahead: a larger batch (a backlog, the
// ingest benchmark's bulk load) is anchored alone and scored beside its
// anchoring, as before, so detection never holds anchoring back for long.
const MaxAlongEvents = 10_000

// MaxAlongWait bounds how long AlertsFor holds a batch's anchor back for
// the batch to be scored. Waiting pays off while scoring is quicker than
// the ledger round trip it saves; when scoring takes longer (detection
// slowed by a busy machine), holding every anchor back for it would
// lengthen each anchoring cycle and so every event's wait, so the batch
// is anchored alone and scored beside its anchoring, as before.
const MaxAlongWait = 50 * time.Millisecond

// MaxAlongAlerts bounds the alerts one anchor transaction carries; a batch
// with more has them raised by RaiseAlerts after it is anchored.
const MaxAlongAlerts = MaxPerTx

// AlertsFor returns the alerts of sealed batch b to raise in its anchor
// transaction, scoring b now (waiting at most MaxAlongWait) if it was not
// scored ahead, holds at most MaxAlongEvents events and every batch before
// it is scored. ok is false when b should be anchored alone: detection is
// idle, behind or slower than MaxAlongWait, b is too large to score on the
// anchorer's path, it has more than MaxAlongAlerts alerts, or scoring
// failed (step scores it again and reports the
// error). ok with no alerts means there is nothing
// to raise.
func (a *Alerter) AlertsFor(ctx context.Context, b gateway.Batch) ([]wire.Alert, bool) {
	if a.idle(b) {
		return nil, false
	}
	al, ready := a.ready(b)
	if !ready {
		if b.TreeSizeAfter-b.TreeSizeBefore > MaxAlongEvents || !a.scoredUpTo(b.TreeSizeBefore) {
			return nil, false
		}
		// Scoring goes on in the background when the wait ends: step (or
		// scoreAhead) then finds the batch scored, as if scored ahead.
		type scoredNow struct {
			al  []wire.Alert
			err error
		}
		done := make(chan scoredNow, 1)
		go func() {
			al, err := a.alertsOf(ctx, b)
			done <- scoredNow{al, err}
		}()
		timer := time.NewTimer(MaxAlongWait)
		defer timer.Stop()
		select {
		case r := <-done:
			if r.err != nil {
				a.cfg.Logger.Debug("scoring a batch for its anchor transaction failed; it is anchored alone", "batch", b.ID, "err", r.err)
				return nil, false
			}
			al = r.al
		case <-timer.C:
			return nil, false
		case <-ctx.Done():
			return nil, false
		}
	}
	if len(al) > MaxAlongAlerts {
		return nil, false
	}
	return al, true
}

// scoredUpTo reports whether scoring has reached tree size at: every
// batch before it is scored (or its alerts committed). When it has not,
// detection is behind (a backlog, the ingest benchmark's saturation) and
// scoring a later batch on the anchorer's path would hold anchoring back
// behind detection: the batch is anchored alone, as before.
func (a *Alerter) scoredUpTo(at uint64) bool {
	a.mu.Lock()
	pos := a.pos
	a.mu.Unlock()
	a.aheadMu.Lock()
	defer a.aheadMu.Unlock()
	return max(a.scoredTo, pos) >= at
}

// RaisedWith records that b's anchor transaction committed with the alerts
// AlertsFor returned, with the chaincode's answer res: b has no alert left
// to raise, and its alerts count in Status as RaiseAlerts' would.
func (a *Alerter) RaisedWith(b gateway.Batch, res wire.RaiseResult) {
	a.aheadMu.Lock()
	n := b.TreeSizeAfter - b.TreeSizeBefore
	if _, had := a.ahead[b.ID]; !had {
		a.aheadN += n
	}
	a.ahead[b.ID] = scored{end: b.TreeSizeAfter, events: n}
	a.scoredTo = max(a.scoredTo, b.TreeSizeAfter)
	a.aheadMu.Unlock()
	a.mu.Lock()
	a.raised += uint64(res.Created)
	a.merged += uint64(len(res.Merged))
	a.suppr += uint64(len(res.Suppressed))
	a.mu.Unlock()
	a.Wake()
}
