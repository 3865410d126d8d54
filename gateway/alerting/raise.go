package alerting

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
)

// MaxInFlight bounds the RaiseAlerts transactions one step has in flight
// at once. The ledger commits 1,000-alert transactions at about 1.5 a
// second one after another and about 8.5 a second with six in flight
// (make bench: alerts_committed_per_s_batch1000), because most of a
// transaction's time is endorsement and the wait for its block, not work.
const MaxInFlight = 6

// raiseAttemptTimeout bounds one RaiseAlerts call (a var so tests can
// shorten it). The Fabric adapter bounds each stage itself and ends first
// (at most endorse + submit + commit-status timeouts, under two minutes by
// default); this is the alerter's own guarantee that a call which never
// returns (a transaction the orderers lost in a leader change, waited for
// without a deadline) cannot hold a step, and the alerts behind it, for
// ever. An abandoned call is transient: the transaction is committed
// again, and alert ids are deterministic, so one that did commit comes
// back as existing.
var raiseAttemptTimeout = 5 * time.Minute

// lane is a run of transactions that must be committed one after another:
// they hold alerts of the same batch, and RaiseAlerts reads the batch's
// alert sets (a range read), so two of them in one block would conflict.
// idx is its place in the step's plan (lanes are in batch order).
type lane struct {
	idx int
	txs [][]wire.Alert
}

// MaxPerBatchTx bounds the alerts of one RaiseAlerts transaction that
// carries part of a batch with more than MaxPerTx alerts: the chaincode's
// own limit, so such a batch takes one transaction where it fits in one.
//
// Why: a batch's transactions are one lane, committed one after another,
// so cutting it at MaxPerTx bought no concurrency; it only doubled the
// ledger's fixed cost per transaction (the endorsers' and committers'
// signature checks and policy evaluations, a block's round trip, the
// chaincode's read of the batch's earlier sets for its replay check).
// Batches that large are sealed when the ledger is busy (the store seals
// by size while a batch waits for it), i.e. at saturation, where that
// cost is throughput: scripts/bench.sh ingest's batches of about 12,000
// events flag about 1,350 alerts each, one transaction now instead of two.
// Small batches still share transactions of at most MaxPerTx.
const MaxPerBatchTx = wire.MaxAlertsPerTx

// planTxs cuts alerts (in batch order, each batch's alerts contiguous)
// into transactions grouped in lanes that can be committed concurrently.
// A transaction holds whole batches while they fit in perTx alerts, so
// small batches share one (a backlog of small batches costs a few
// transactions, not one each) and no two lanes share a batch; a batch with
// more than perTx alerts is a lane of its own, cut in order into
// transactions of at most perBatchTx (≥ perTx) alerts.
func planTxs(alerts []wire.Alert, perTx, perBatchTx int) []lane {
	var lanes []lane
	cur, curEnd := 0, 0 // the open transaction is alerts[cur:curEnd]
	flush := func() {
		if curEnd > cur {
			lanes = append(lanes, lane{idx: len(lanes), txs: [][]wire.Alert{alerts[cur:curEnd]}})
		}
		cur = curEnd
	}
	for i := 0; i < len(alerts); {
		j := i + 1
		for j < len(alerts) && alerts[j].BatchID == alerts[i].BatchID {
			j++
		}
		switch n := j - i; {
		case n > perTx:
			flush()
			l := lane{idx: len(lanes)}
			for s := i; s < j; s += perBatchTx {
				l.txs = append(l.txs, alerts[s:min(s+perBatchTx, j)])
			}
			lanes = append(lanes, l)
			cur, curEnd = j, j
		case curEnd-cur+n > perTx:
			flush()
			curEnd = j
		default:
			curEnd = j
		}
		i = j
	}
	flush()
	return lanes
}

// raiseOutcome sums the ledger's answers to a step's transactions.
type raiseOutcome struct {
	txs, created, merged, suppressed int
	// failed are the transactions not committed, in lane order; err is the
	// first failure, conflicts counts those that were read conflicts.
	failed    []lane
	err       error
	conflicts int
	// lanes is how many lanes the call was given or joined.
	lanes int
}

// raise commits every alert of a step: its lanes concurrently, at most
// inFlight transactions at once, each lane's transactions in order. When
// some fail transiently (read conflicts between lanes, which a consortium
// dedup rule causes when two lanes hold alerts about one entity; or
// endorsement timeouts under load) the failed ones are committed again one
// at a time at once, which is safe because RaiseAlerts is idempotent
// (alert ids are deterministic): a transaction that did commit answers
// with its alerts as existing. Lanes are handed out in batch order, and
// as soon as every lane before a batch has committed, the position moves
// to that batch's start (startOf), so the position follows the ledger
// transaction by transaction rather than step by step. It reports the
// transactions it committed (counted into Status as they commit) and the
// first error that remains.
//
// join, when not nil, is asked for the alerts of batches anchored since
// (see joinLanes) while the step's transactions are in flight, and only
// while more than one transaction may be: their lanes join the step.
func (a *Alerter) raise(ctx context.Context, alerts []wire.Alert, startOf func(batchID string) uint64, join func() []wire.Alert) (raiseOutcome, error) {
	lanes := planTxs(alerts, MaxPerTx, max(MaxPerTx, MaxPerBatchTx))
	// Clipped: joined lanes are appended to both pr.lanes (under pr's lock)
	// and raiseLanes' own list (under its lock); with spare capacity the
	// two appends would write one shared array under different locks.
	pr := &progress{a: a, done: make([]bool, len(lanes)), startOf: startOf, lanes: slices.Clip(lanes)}
	a.mu.Lock()
	n := a.inFlight
	a.mu.Unlock()
	var out raiseOutcome
	retry := false
	if n > 1 && (len(lanes) > 1 || join != nil && len(lanes) == 1) {
		out = a.raiseLanes(ctx, lanes, n, pr, join)
		if out.err == nil {
			if out.lanes > 1 {
				a.adjustInFlight(false)
			}
			return out, nil
		}
		if out.lanes == 1 {
			// One lane and nothing joined it: what the sequential path
			// below would have answered (no halving, no retry at once).
			a.mu.Lock()
			a.conflicts += uint64(out.conflicts)
			a.mu.Unlock()
			return out, out.err
		}
		var rejected *gateway.LedgerRejectedError
		if !errors.Is(out.err, gateway.ErrLedgerUnavailable) || errors.As(out.err, &rejected) || ctx.Err() != nil {
			return out, out.err
		}
		// Overlapping or overloaded: fewer in flight from now on, and what
		// failed goes again one transaction at a time. A step of one lane
		// that others joined ran concurrently, so a transient failure of
		// its own lane halves too.
		a.adjustInFlight(true)
		a.mu.Lock()
		a.conflicts += uint64(out.conflicts)
		a.mu.Unlock()
		a.cfg.Logger.Info("concurrent alert transactions failed; committing them again one at a time",
			"failed_lanes", len(out.failed), "conflicts", out.conflicts, "in_flight_now", a.Status().InFlight, "err", out.err)
		lanes, retry = out.failed, true
	}
	seq := a.raiseLanes(ctx, lanes, 1, pr, nil)
	if seq.err == nil && !retry && len(lanes) > 1 {
		a.adjustInFlight(false)
	}
	out.txs += seq.txs
	out.created += seq.created
	out.merged += seq.merged
	out.suppressed += seq.suppressed
	out.failed, out.err = seq.failed, seq.err
	a.mu.Lock()
	a.conflicts += uint64(seq.conflicts)
	a.mu.Unlock()
	return out, out.err
}

// progress moves the alerter's position as a step's lanes commit: past
// every lane that has committed with all lanes before it.
type progress struct {
	a       *Alerter
	startOf func(batchID string) uint64
	lanes   []lane // the step's plan, by idx

	mu     sync.Mutex
	done   []bool
	prefix int // lanes [0, prefix) have committed
}

// add appends joined lanes to the plan, numbering them after its last,
// and returns them numbered.
func (p *progress) add(ls []lane) []lane {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range ls {
		ls[i].idx = len(p.lanes)
		p.lanes = append(p.lanes, ls[i])
		p.done = append(p.done, false)
	}
	return ls
}

// committed records lane idx as committed and moves the position to the
// start of the first lane not committed yet (all batches before it have
// their alerts on the ledger; those between lanes have none). The step
// moves it past its last batch itself.
func (p *progress) committed(idx int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done[idx] = true
	moved := false
	for p.prefix < len(p.done) && p.done[p.prefix] {
		p.prefix++
		moved = true
	}
	if !moved || p.prefix == len(p.done) {
		return
	}
	at := p.startOf(p.lanes[p.prefix].txs[0][0].BatchID)
	p.a.mu.Lock()
	p.a.pos = max(p.a.pos, at)
	p.a.mu.Unlock()
}

// raiseLanes commits lanes on up to n goroutines, handing them out in
// order. A lane stops at its first failure; its remaining transactions
// are reported failed. Other lanes go on: they hold other batches.
//
// With join (see joinLanes), the lanes of batches anchored meanwhile join
// while any lane is in flight and none has failed: they are handed out
// after those before them, on the same goroutines.
func (a *Alerter) raiseLanes(ctx context.Context, lanes []lane, n int, pr *progress, join func() []wire.Alert) raiseOutcome {
	var (
		// mu guards everything below but wg and changed. Lock order: mu,
		// then (inside join) the step's starts lock, the store's and
		// the alerter's read locks, then pr's lock, then a.mu. join runs
		// under mu so every batch it returns is handed out.
		mu      sync.Mutex
		cond    = sync.NewCond(&mu)
		out     raiseOutcome
		fail    = make([]*lane, len(lanes)) // by position in lanes, so failed keeps their order
		taken   int                         // lanes[:taken] were handed out
		active  int                         // of which this many are in flight
		closed  bool                        // no lane joins any more
		changed = make(chan struct{}, 1)    // a lane finished
		wg      sync.WaitGroup
	)
	workers := min(n, len(lanes))
	if join != nil {
		workers = n
	}
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				for taken == len(lanes) && !closed {
					cond.Wait()
				}
				if taken == len(lanes) {
					mu.Unlock()
					return
				}
				li, l := taken, lanes[taken]
				taken++
				active++
				mu.Unlock()
				ok := true
				for k, tx := range l.txs {
					actx, cancel := context.WithTimeout(ctx, raiseAttemptTimeout)
					res, err := a.raiser.RaiseAlerts(actx, tx)
					cancel()
					mu.Lock()
					if err != nil {
						fail[li] = &lane{idx: l.idx, txs: l.txs[k:]}
						if out.err == nil {
							out.err = err
						}
						if errors.Is(err, gateway.ErrLedgerConflict) {
							out.conflicts++
						}
						mu.Unlock()
						ok = false
						break
					}
					out.txs++
					out.created += res.Created
					out.merged += len(res.Merged)
					out.suppressed += len(res.Suppressed)
					mu.Unlock()
					a.mu.Lock()
					a.raised += uint64(res.Created)
					a.merged += uint64(len(res.Merged))
					a.suppr += uint64(len(res.Suppressed))
					a.mu.Unlock()
				}
				if ok {
					pr.committed(l.idx)
				}
				mu.Lock()
				active--
				mu.Unlock()
				select {
				case changed <- struct{}{}:
				default:
				}
			}
		})
	}
	if join != nil {
		joinLanes(ctx, a.wake, changed, func(joinNow bool) bool {
			mu.Lock()
			defer mu.Unlock()
			if (taken == len(lanes) && active == 0) || out.err != nil {
				return false
			}
			// Under the lock, so a batch join takes is handed out for sure:
			// the step moves its position past every batch join returned.
			if joinNow {
				if al := join(); len(al) > 0 {
					ls := pr.add(planTxs(al, MaxPerTx, max(MaxPerTx, MaxPerBatchTx)))
					lanes = append(lanes, ls...)
					fail = append(fail, make([]*lane, len(ls))...)
					cond.Broadcast()
				}
			}
			return true
		})
	}
	mu.Lock()
	closed = true
	cond.Broadcast()
	mu.Unlock()
	wg.Wait()
	out.lanes = len(lanes)
	for _, l := range fail {
		if l != nil {
			out.failed = append(out.failed, *l)
		}
	}
	if out.err != nil {
		out.err = fmt.Errorf("%d of %d alert transactions not committed: %w", txCount(out.failed), txCount(lanes), out.err)
	}
	return out
}

// joinWindow bounds how long a step takes in batches anchored while its
// transactions are in flight (joinLanes): the durable watermark moves
// once per step, so this, plus the commit time of lanes joined near its
// end, bounds how far it lags the committed position (and what a crash
// makes the alerter raise again) while batches keep coming. joinPoll is
// how often it looks for them between wake-ups (a batch anchored before
// scoreAhead scored it).
const (
	joinWindow = time.Second
	joinPoll   = 20 * time.Millisecond
)

// joinLanes lets a step's raise take in, while its lanes are in flight,
// the batches anchored meanwhile, so a batch anchored while a
// transaction of the step commits goes out at once rather than after the
// whole step (a transaction's time, ~0.25 s under load: make bench's
// action timeline measured that wait at p90 190 ms). Such batches never
// share a lane with the step's earlier ones, so lanes in flight together
// still hold different batches. It calls offer after every wake-up (a
// batch anchored, a lane finished, joinPoll) until offer reports false
// (nothing left in flight, or a lane failed: a failed step is committed
// again one transaction at a time, without joining); offer joins what is
// ready when joinNow, which holds for joinWindow.
func joinLanes(ctx context.Context, wake, changed <-chan struct{}, offer func(joinNow bool) bool) {
	deadline := time.Now().Add(joinWindow)
	poll := time.NewTicker(joinPoll)
	defer poll.Stop()
	for joinNow := false; offer(joinNow); joinNow = time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-wake:
		case <-poll.C:
		}
	}
}

func txCount(lanes []lane) int {
	n := 0
	for _, l := range lanes {
		n += len(l.txs)
	}
	return n
}

// adjustInFlight halves the transactions a step keeps in flight after
// concurrent ones failed (down to one: sequential, which a dedup rule
// merging most alerts into a few records needs) and adds one back after
// each step of several lanes that committed without a failure, so a burst
// of conflicts or an overloaded ledger slows alerting only for a while.
// Back at one, it tries two again only after calmSteps such steps: a
// sequential alerter under a merging dedup rule then pays one round of
// conflicts per calmSteps steps, not every other step.
func (a *Alerter) adjustInFlight(failed bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if failed {
		a.inFlight, a.calm = max(1, a.inFlight/2), 0
		return
	}
	a.calm++
	if a.inFlight > 1 || a.calm >= calmSteps {
		a.inFlight, a.calm = min(MaxInFlight, a.inFlight+1), 0
	}
}

// calmSteps is how many clean steps a sequential alerter waits before it
// tries concurrent transactions again.
const calmSteps = 8
