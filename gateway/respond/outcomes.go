package respond

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

// retryFunc retries f while the ledger is unavailable (Responder.ledgerRetry).
type retryFunc func(ctx context.Context, op string, f func(context.Context) error) error

// outcomes records outcomes on the ledger in batches (see batcher): every
// execution hands its outcome to record, which returns once the outcome
// is committed (or refused), and the outcomes waiting at that moment
// share one RecordOutcomes transaction, each response at most once.
//
// Why batches: an outcome is one key written, but a transaction of its
// own costs the ledger a signature check, an endorsement by each
// organisation and a validation. At a hundred actions a second one
// transaction per outcome took the channel's whole commit capacity (about
// 140 tx/s here) and the anchors and alerts queued behind them; the same
// outcomes in a few transactions a second cost a fraction of that.
//
// Failures: a transient failure retries the whole batch (re-recording the
// current status is a no-op, so records that did commit are harmless). A
// record the chaincode refuses alone comes back to its caller as an
// *OutcomeRefusedError, the others are recorded. A final refusal of the
// whole transaction (a chaincode older than RecordOutcomes, or a batch the
// chaincode finds malformed) falls back to one RecordOutcome per record,
// so one bad record never holds back the others. So does a batch an
// endorser keeps refusing with wire.CodeNotFound (it has not committed a
// response yet, which the adapter reports as transient): after
// batchLaggingAttempts the records go one by one, and only the missing
// one keeps waiting for that endorser, the others commit.
type outcomes struct {
	ledger Ledger
	retry  retryFunc
	log    *slog.Logger
	*batcher[wire.OutcomeRecord]
}

func newOutcomes(ledger Ledger, retry retryFunc, log *slog.Logger, max, slots int, linger time.Duration) *outcomes {
	o := &outcomes{ledger: ledger, retry: retry, log: log}
	o.batcher = newBatcher(max, slots, linger, func(r wire.OutcomeRecord) string { return r.ResponseID }, o.submit)
	return o
}

// record hands rec to the batcher and waits until it is on the ledger
// (nil: recorded now or already carrying that status), refused
// (*OutcomeRefusedError) or ctx ends (ctx's error; the record may still
// be committed, which a replay's re-record then finds). A batch that
// cannot go as one transaction hands each record back (errRecordAlone):
// it is then recorded alone from here, out of the batcher, so a record
// that waits long (one an endorser has not seen yet) holds neither a
// submit slot nor the other records of its batch.
func (o *outcomes) record(ctx context.Context, rec wire.OutcomeRecord) error {
	err := o.do(ctx, rec)
	if errors.Is(err, errRecordAlone) {
		return o.single(ctx, rec)
	}
	return err
}

// errRecordAlone is submit's answer for each record of a batch that
// could not go as one transaction: record it with RecordOutcome.
var errRecordAlone = errors.New("respond: record this outcome alone")

// errBatchLagging ends the retries of a batch an endorser kept refusing
// with wire.CodeNotFound. It does not wrap the ledger's error, so it is
// not gateway.ErrLedgerUnavailable and the retry loop stops.
var errBatchLagging = errors.New("an endorser still lacks a response of the batch")

// batchLaggingAttempts is how many times a batch is submitted while an
// endorser answers wire.CodeNotFound before its records go one by one.
// An endorser that is only a block behind catches up within a couple of
// attempts; a response it never sees must not hold the others, nor
// (alone in its batch) one of the few submit slots: either way its
// record leaves the batcher and waits alone in its caller.
const batchLaggingAttempts = 3

// isLagging reports the adapter's transient "an endorser has not caught
// up" (a wire.CodeNotFound refusal turned into an unavailable ledger).
func isLagging(err error) bool {
	var un *gateway.LedgerUnavailableError
	return errors.As(err, &un) && un.Code == wire.CodeNotFound
}

// submit records one batch and returns each record's fate.
func (o *outcomes) submit(ctx context.Context, recs []wire.OutcomeRecord) []error {
	errs := make([]error, len(recs))
	var results []wire.OutcomeResult
	lagged := 0
	err := o.retry(ctx, wire.TxRecordOutcomes, func(ctx context.Context) error {
		var err error
		results, err = o.ledger.RecordOutcomes(ctx, recs)
		if isLagging(err) {
			if lagged++; lagged >= batchLaggingAttempts {
				return fmt.Errorf("%w (%d attempts): %v", errBatchLagging, lagged, err)
			}
		}
		return err
	})
	switch {
	case err == nil:
		for i, rec := range recs {
			if res := results[i]; !res.OK() {
				errs[i] = &OutcomeRefusedError{ResponseID: rec.ResponseID, Status: rec.Status, Code: res.Code, Reason: res.Message}
			}
		}
	case ctx.Err() != nil:
		for i := range errs {
			errs[i] = ctx.Err()
		}
	default:
		if errors.Is(err, errBatchLagging) {
			o.log.Warn("an endorser kept missing a response of a batch of outcomes; recording them one by one", "count", len(recs), "error", err)
		} else {
			o.log.Warn("the ledger refused a batch of outcomes as a whole; recording them one by one", "count", len(recs), "error", err)
		}
		for i := range errs {
			errs[i] = errRecordAlone
		}
	}
	return errs
}

// single records one outcome with RecordOutcome.
func (o *outcomes) single(ctx context.Context, rec wire.OutcomeRecord) error {
	err := o.retry(ctx, wire.TxRecordOutcome, func(ctx context.Context) error {
		return o.ledger.RecordOutcome(ctx, rec.ResponseID, rec.Status, rec.Detail)
	})
	if err == nil || ctx.Err() != nil {
		return ctx.Err()
	}
	if cut(err) {
		return err // no answer from the ledger, not a refusal
	}
	refused := &OutcomeRefusedError{ResponseID: rec.ResponseID, Status: rec.Status, Code: wire.CodeInternal, Reason: err.Error()}
	var rej *gateway.LedgerRejectedError
	if errors.As(err, &rej) && rej.Code != "" {
		refused.Code, refused.Reason = rej.Code, rej.Reason
	}
	return refused
}
