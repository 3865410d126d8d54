package respond

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

// OutcomeRefusedError is the ledger's final refusal of one outcome: the
// chaincode refused this record (Code and Reason are its refusal), not
// the ledger being unavailable.
type OutcomeRefusedError struct {
	ResponseID string
	Status     string
	Code       wire.Code
	Reason     string
}

// Error implements error.
func (e *OutcomeRefusedError) Error() string {
	return fmt.Sprintf("outcome %s of response %s refused (%s): %s", e.Status, e.ResponseID, e.Code, e.Reason)
}

// outcomes records outcomes on the ledger in batches: every execution
// hands its outcome to record, which returns once the outcome is committed
// (or refused), and the outcomes waiting at that moment share one
// RecordOutcomes transaction.
//
// Why batches: an outcome is one key written, but a transaction of its
// own costs the ledger a signature check, an endorsement by each
// organisation and a validation. At a hundred actions a second one
// transaction per outcome took the channel's whole commit capacity (about
// 140 tx/s here) and the anchors and alerts queued behind them; the same
// outcomes in a few transactions a second cost a fraction of that.
//
// How: at most slots transactions are in flight. As soon as one is free,
// the next batch takes the first waiting outcome and whatever else
// arrives within linger, up to max, so batches follow the ledger's
// latency: while transactions are committing, outcomes queue and go
// together. A response appears at most once per batch (the chaincode
// refuses a batch naming one twice); a second record for it waits for
// the next batch.
//
// Failures: a transient failure retries the whole batch (re-recording the
// current status is a no-op, so records that did commit are harmless). A
// record the chaincode refuses alone comes back to its caller as an
// *OutcomeRefusedError, the others are recorded. A final refusal of the
// whole transaction (a chaincode older than RecordOutcomes, or a batch the
// chaincode finds malformed) falls back to one RecordOutcome per record,
// so one bad record never holds back the others.
type outcomes struct {
	ledger Ledger
	retry  func(ctx context.Context, op string, f func(context.Context) error) error
	log    *slog.Logger
	max    int
	linger time.Duration
	queue  chan *outcome
	slots  chan struct{}
}

// outcome is one record waiting to be committed; done receives its fate
// once.
type outcome struct {
	rec  wire.OutcomeRecord
	done chan error
}

func newOutcomes(ledger Ledger, retry func(context.Context, string, func(context.Context) error) error, log *slog.Logger, max, slots int, linger time.Duration) *outcomes {
	return &outcomes{ledger: ledger, retry: retry, log: log, max: max, linger: linger,
		queue: make(chan *outcome, max), slots: make(chan struct{}, slots)}
}

// record hands rec to the batcher and waits until it is on the ledger
// (nil: recorded now or already carrying that status), refused
// (*OutcomeRefusedError) or ctx ends (ctx's error; the record may still
// be committed, which a replay's re-record then finds).
func (o *outcomes) record(ctx context.Context, rec wire.OutcomeRecord) error {
	it := &outcome{rec: rec, done: make(chan error, 1)}
	select {
	case o.queue <- it:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-it.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run forms and submits batches until ctx ends, then waits for the
// submissions in flight. Records still queued are abandoned: their
// callers' contexts end with ctx.
func (o *outcomes) run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	var carry []*outcome
	for {
		select {
		case o.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		var batch []*outcome
		batch, carry = o.gather(ctx, carry)
		if len(batch) == 0 {
			return // ctx ended while waiting for the first record
		}
		wg.Add(1)
		go func() {
			defer func() { <-o.slots; wg.Done() }()
			o.submit(ctx, batch)
		}()
	}
}

// gather returns the next batch: the records carried over from the last
// one first, then the first queued record, then whatever arrives within
// linger, up to max; a record whose response is already in the batch is
// carried to the next one. It returns an empty batch only when ctx ended
// before any record came.
func (o *outcomes) gather(ctx context.Context, carry []*outcome) (batch, rest []*outcome) {
	in := make(map[string]bool, o.max)
	add := func(it *outcome) {
		if in[it.rec.ResponseID] || len(batch) == o.max {
			rest = append(rest, it)
			return
		}
		in[it.rec.ResponseID] = true
		batch = append(batch, it)
	}
	for _, it := range carry {
		add(it)
	}
	if len(batch) == 0 {
		select {
		case it := <-o.queue:
			add(it)
		case <-ctx.Done():
			return nil, rest
		}
	}
	timer := time.NewTimer(o.linger)
	defer timer.Stop()
	for len(batch) < o.max {
		select {
		case it := <-o.queue:
			add(it)
		case <-timer.C:
			return batch, rest
		case <-ctx.Done():
			return batch, rest
		}
	}
	return batch, rest
}

// submit records one batch and tells each record's caller its fate.
func (o *outcomes) submit(ctx context.Context, batch []*outcome) {
	recs := make([]wire.OutcomeRecord, len(batch))
	for i, it := range batch {
		recs[i] = it.rec
	}
	var results []wire.OutcomeResult
	err := o.retry(ctx, wire.TxRecordOutcomes, func(ctx context.Context) error {
		var err error
		results, err = o.ledger.RecordOutcomes(ctx, recs)
		return err
	})
	switch {
	case err == nil:
		for i, it := range batch {
			if res := results[i]; !res.OK() {
				it.done <- &OutcomeRefusedError{ResponseID: it.rec.ResponseID, Status: it.rec.Status, Code: res.Code, Reason: res.Message}
				continue
			}
			it.done <- nil
		}
	case ctx.Err() != nil:
		for _, it := range batch {
			it.done <- ctx.Err()
		}
	default:
		o.log.Warn("the ledger refused a batch of outcomes as a whole; recording them one by one", "count", len(batch), "error", err)
		var wg sync.WaitGroup
		for _, it := range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				it.done <- o.single(ctx, it.rec)
			}()
		}
		wg.Wait()
	}
}

// single records one outcome with RecordOutcome.
func (o *outcomes) single(ctx context.Context, rec wire.OutcomeRecord) error {
	err := o.retry(ctx, wire.TxRecordOutcome, func(ctx context.Context) error {
		return o.ledger.RecordOutcome(ctx, rec.ResponseID, rec.Status, rec.Detail)
	})
	if err == nil || ctx.Err() != nil {
		return ctx.Err()
	}
	refused := &OutcomeRefusedError{ResponseID: rec.ResponseID, Status: rec.Status, Code: wire.CodeInternal, Reason: err.Error()}
	var rej *gateway.LedgerRejectedError
	if errors.As(err, &rej) && rej.Code != "" {
		refused.Code, refused.Reason = rej.Code, rej.Reason
	}
	return refused
}
