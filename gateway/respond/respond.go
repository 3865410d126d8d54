// Package respond is the gateway's responder: it carries out the response
// actions the ledgerguard chaincode decided and records each outcome on
// the ledger.
//
// It reads the chaincode's ResponsesRequested and RollbackRequested events
// from an [EventSource] (on Fabric: fabric-gateway's chaincode event
// stream resumed from a file checkpointer), executes each runnable request
// of its own organisation through the [connector.Connector] configured for
// the action's type, with a per-attempt timeout and bounded retries with
// backoff, and records succeeded, failed, rolled-back or refused with
// RecordOutcomes: the outcomes finished while earlier ones are committing
// share one transaction (see outcomes.go), so the ledger work per action
// is a fraction of a transaction.
//
// Workers bounds the executions calling their connectors. The ledger reads
// before an action (batched, see reads.go) hold no worker: up to
// readAhead×Workers executions are admitted at once, read their response
// and alert, and then wait for a worker, so a worker goes from one
// connector call to the next without waiting for a ledger read (under
// load the reads were about a third of a worker's time, and the workers,
// not the ledger, set how many actions a second ran). An execution
// waiting for its outcome to commit has released both, so the ledger's
// commit latency does not throttle how many actions run either.
//
// What it executes: defence in depth behind the chaincode's quorum floors,
// it executes a response only if its own organisation approved the policy
// version that requested it (the response carries the policy's approving
// organisations, copied at planning time), or if that policy is its own
// organisation's org-scoped one. Otherwise it calls no connector and
// records the outcome refused with the reason (see [Refusal]); a response
// planned before responses carried this (no approvals listed) is refused
// too, failing closed. Rollbacks are never refused: undoing is always
// allowed.
//
// What it acts on: only requests whose MSP is the responder's own (each
// organisation's gateway executes its own responses) and, when configured,
// whose gateway id is listed; in a ResponsesRequested event only state
// requested (awaiting-approval waits for the event ApproveResponse emits
// when it releases the response; dry-run and rate-limited are logged,
// never executed); in a RollbackRequested event only state
// rollback-requested, for which it calls each action's rollback.
//
// # Delivery guarantee
//
// Exactly one outcome on the ledger per response, and at-least-once calls
// to the connector, each carrying the same idempotency key, with at most
// one call per action in the absence of crashes:
//
//   - The event checkpoint advances past an event only after every request
//     in it (and in every earlier event) has its outcome on the ledger, so
//     a crash or restart never loses a request: the event is read again.
//   - Before acting, the responder reads the response on the ledger
//     (after taking the response's lock; the reads of executions waiting
//     at the same moment share one GetResponses evaluation, see reads.go)
//     and skips it unless it is still runnable, so a replayed or
//     duplicated event never executes a response that has an outcome;
//     within one process a per-response lock serialises duplicates.
//   - Before each connector call it appends "started" to an fsynced
//     journal, and after it "finished" with the result. A crash after
//     "finished" but before RecordOutcome re-records that result on
//     restart without calling the connector again. Only a crash between
//     "started" and "finished" (the call itself was in flight) leads to a
//     second call, with the same Idempotency-Key, which the receiver can
//     use to drop the duplicate.
//   - Recording an outcome is idempotent in the chaincode (re-recording
//     the current status is a no-op, in RecordOutcome as in each record of
//     RecordOutcomes), so re-recording after a lost reply is safe. An
//     execution releases its per-response lock only once its outcome is
//     committed, so a duplicate event waits for it and then finds the
//     outcome on the ledger.
//
// The guarantee assumes one running responder per (organisation, gateway
// ids) with its own checkpoint and journal; two responders covering the
// same responses could both call a connector before either records the
// outcome (the ledger still keeps one outcome).
//
// Ledger calls that fail transiently are retried until they succeed or the
// responder stops; connector failures are retried only while retryable
// (network, timeout, 408/425/429/5xx) and at most Retry.Attempts times,
// then recorded as failed with the error.
package respond

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/connector"
	"github.com/ledgerguard/ledgerguard/gateway/durable"
)

// Ledger is what the responder needs from the ledger. Errors that wrap
// gateway.ErrLedgerUnavailable are retried; any other error is permanent.
type Ledger interface {
	// GetResponse reads a response (responses:GetResponse).
	GetResponse(ctx context.Context, responseID string) (*wire.Response, error)
	// RecordOutcome submits responses:RecordOutcome and waits for commit.
	// The responder uses it only when the ledger refuses a RecordOutcomes
	// transaction as a whole (a chaincode older than RecordOutcomes).
	RecordOutcome(ctx context.Context, responseID, status, detail string) error
	// RecordOutcomes submits responses:RecordOutcomes (at most
	// wire.MaxOutcomesPerTx records, each response once) and waits for
	// commit. It returns one result per record, in order; a record the
	// chaincode refused alone carries its code there.
	RecordOutcomes(ctx context.Context, recs []wire.OutcomeRecord) ([]wire.OutcomeResult, error)
	// GetResponses reads many responses in one evaluation
	// (responses:GetResponses, at most wire.MaxResponsesPerRead ids): one
	// lookup per id, in order. The responder falls back to GetResponse
	// when the ledger refuses it as a whole (an older chaincode).
	GetResponses(ctx context.Context, ids []string) ([]wire.ResponseLookup, error)
	// GetAlert reads the alert a response is for (alerts:GetAlert).
	GetAlert(ctx context.Context, batchID, alertID string) (*wire.Alert, error)
	// BatchAlerts lists the alerts of anchored batch batchID of gateway
	// gatewayID of msp (alerts:ListAlerts filtered to that batch), at most
	// pages pages of wire.MaxPageSize.
	BatchAlerts(ctx context.Context, msp, gatewayID, batchID string, pages int) ([]wire.Alert, error)
}

// Event is one chaincode event; the type lives at the gateway root so the
// ledger adapter can emit it without importing this pipeline.
type Event = gateway.ChaincodeEvent

// EventSource delivers chaincode events in ledger order, resuming after
// the last checkpointed event.
type EventSource interface {
	// Events starts a stream. The channel closes when the stream ends
	// (ctx done or the connection broke); the responder then drains it
	// and calls Events again.
	Events(ctx context.Context) (<-chan Event, error)
	// Checkpoint durably records that ev and every event before it are
	// fully handled. An error stops the responder.
	Checkpoint(ctx context.Context, ev Event) error
}

// Responder executes response requests. Create it with New; Run it once
// at a time.
type Responder struct {
	cfg      Config
	msp      string
	ledger   Ledger
	source   EventSource
	conns    map[string]connector.Connector
	log      *slog.Logger
	fs       durable.FS
	locks    keyLocks
	journal  *Journal
	outcomes *outcomes
	reads    *reads
}

type options struct {
	logger *slog.Logger
	fs     durable.FS
}

// Option configures New.
type Option func(*options) error

// WithLogger sets the structured logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("respond: nil logger")
		}
		o.logger = l
		return nil
	}
}

// WithFS sets the journal's file system (default the OS's).
func WithFS(fsys durable.FS) Option {
	return func(o *options) error {
		if fsys == nil {
			return errors.New("respond: nil FS")
		}
		o.fs = fsys
		return nil
	}
}

// New returns a responder for organisation msp. cfg is completed with
// ApplyDefaults and validated; conns maps action types to connectors (an
// action type without one is recorded as failed when requested).
func New(cfg Config, msp string, ledger Ledger, source EventSource, conns map[string]connector.Connector, opts ...Option) (*Responder, error) {
	o := options{logger: slog.Default(), fs: durable.OS{}}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch {
	case msp == "":
		return nil, errors.New("respond: MSP id is required")
	case ledger == nil:
		return nil, errors.New("respond: ledger is required")
	case source == nil:
		return nil, errors.New("respond: event source is required")
	}
	return &Responder{cfg: cfg, msp: msp, ledger: ledger, source: source, conns: conns,
		log: o.logger.With("component", "respond"), fs: o.fs, locks: keyLocks{m: map[string]*keyLock{}}}, nil
}

// Run reads events and executes requests until ctx is done (it then
// returns nil) or a fatal error (journal or checkpoint failure) occurs.
// A broken event stream is reopened with backoff.
func (r *Responder) Run(ctx context.Context) error {
	j, err := OpenJournal(r.cfg.JournalFile, r.fs)
	if err != nil {
		return err
	}
	defer j.Close()
	r.journal = j
	if n := j.Len(); n > 0 {
		r.log.Info("journal holds executions not yet recorded on the ledger; their events will be replayed", "count", n)
	}
	// The batchers (outcomes and reads) outlive each event stream: a
	// reconnect does not drop the outcomes being committed. They stop when
	// Run returns, after every stream (and so every execution waiting on
	// them) has ended, and never before: their context is not a child of
	// ctx, because Go cancels ctx's children in no fixed order, and a
	// batcher cancelled before its stream handed context.Canceled to an
	// execution whose own context was still live, which took it for a
	// refusal and let its event be checkpointed.
	bctx, stopBatchers := context.WithCancel(context.WithoutCancel(ctx))
	r.outcomes = newOutcomes(r.ledger, r.ledgerRetry, r.log, r.cfg.OutcomeBatch, r.cfg.OutcomeSubmitters, r.cfg.OutcomeLinger)
	r.reads = newReads(r.ledger, r.ledgerRetry, r.log, r.cfg.Timeout)
	var batchers sync.WaitGroup
	batchers.Add(2)
	go func() { defer batchers.Done(); r.outcomes.run(bctx) }()
	go func() { defer batchers.Done(); r.reads.run(bctx) }()
	defer func() { stopBatchers(); batchers.Wait() }()
	backoff := r.cfg.Retry.InitialBackoff
	for {
		start := time.Now()
		err := r.stream(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil && !isTransient(err) {
			return err
		}
		if time.Since(start) > time.Minute {
			backoff = r.cfg.Retry.InitialBackoff
		}
		r.log.Warn("chaincode event stream ended; reconnecting", "error", err, "backoff", backoff)
		if sleep(ctx, jitter(backoff)) != nil {
			return nil
		}
		backoff = min(backoff*2, r.cfg.LedgerBackoff)
	}
}

// errStream marks a stream that could not be opened: transient.
var errStream = errors.New("event stream")

// errCut marks an execution whose ledger call was cut short (cut): the
// stream ends without checkpointing its event and reconnects, so the
// event is handled again (transient).
var errCut = errors.New("ledger call cut short")

func isTransient(err error) bool { return errors.Is(err, errStream) || errors.Is(err, errCut) }

// pending is one event being handled; done when wg is.
type pending struct {
	ev  Event
	wg  sync.WaitGroup
	mu  sync.Mutex
	err error
}

func (p *pending) fail(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
}

// stream handles one event stream: events are dispatched to at most
// 8×Workers concurrent executions, of which at most Workers call
// connectors at once, and checkpointed strictly in order, each only once
// it and all before it are done. Connector calls are not ordered across
// responses (an execution takes a worker when its reads are done).
func (r *Responder) stream(ctx context.Context) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := r.source.Events(sctx)
	if err != nil {
		return fmt.Errorf("%w: %w", errStream, err)
	}
	defer func() {
		// Drain so the source's goroutine can finish once its stream ends.
		go func() {
			for range events {
			}
		}()
	}()
	ordered := make(chan *pending, 4*r.cfg.Workers)
	ckDone := make(chan error, 1)
	go func() { ckDone <- r.checkpoints(sctx, cancel, ordered) }()
	sl := &slots{admit: make(chan struct{}, readAhead*r.cfg.Workers), work: make(chan struct{}, r.cfg.Workers)}
read:
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				break read
			}
			p := r.dispatch(sctx, ev, sl)
			select {
			case ordered <- p:
			case <-sctx.Done():
				break read
			}
		case <-sctx.Done():
			break read
		}
	}
	close(ordered)
	return <-ckDone
}

// checkpointCoalesce bounds the handled events one checkpoint write
// covers.
const checkpointCoalesce = 64

// checkpoints waits for each event in order and checkpoints it. It stops
// checkpointing at the first event that did not complete (shutdown or a
// fatal error) but keeps draining so the dispatcher never blocks.
//
// A checkpoint covers its event and every one before it, so when later
// events are already queued behind a finished one, it waits for those
// (at most checkpointCoalesce) and writes one checkpoint for them all:
// each write is a durable file replacement (two fsyncs), and one per
// event made the checkpointer, not the executions, set the pace at which
// events were read.
func (r *Responder) checkpoints(ctx context.Context, cancel context.CancelFunc, ordered <-chan *pending) error {
	var fatal error
	stopped := false
	var next *pending
	for {
		p := next
		next = nil
		if p == nil {
			var ok bool
			if p, ok = <-ordered; !ok {
				break
			}
		}
		p.wg.Wait()
		if stopped {
			continue
		}
		if p.err == nil {
			// Cover the events already queued behind p, up to the first
			// that failed (kept for the next round, which stops there).
		coalesce:
			for range checkpointCoalesce {
				select {
				case q, ok := <-ordered:
					if !ok {
						break coalesce
					}
					q.wg.Wait()
					if q.err != nil {
						next = q
						break coalesce
					}
					p = q
				default:
					break coalesce
				}
			}
		}
		if p.err != nil {
			stopped = true
			if ctx.Err() == nil || !errors.Is(p.err, context.Canceled) {
				fatal = p.err
			}
			cancel()
			continue
		}
		if err := r.source.Checkpoint(ctx, p.ev); err != nil {
			stopped = true
			if ctx.Err() == nil {
				fatal = fmt.Errorf("respond: checkpoint event %s: %w", p.ev.TxID, err)
			}
			cancel()
		}
	}
	if fatal != nil && (errors.Is(fatal, context.Canceled) || errors.Is(fatal, context.DeadlineExceeded)) && ctx.Err() != nil {
		return nil
	}
	return fatal
}

// readAhead is how many executions per worker may be admitted at once
// (reading the ledger or waiting for a worker): enough that the reads of
// the next executions are done while the workers call connectors, few
// enough that an execution's read is still recent when it acts.
const readAhead = 8

// slots bounds one stream's executions: admit those started (reading,
// waiting for a worker or calling connectors), work those calling
// connectors (Workers).
type slots struct {
	admit, work chan struct{}
}

// execSlots is one execution's hold on slots. Only the execution's own
// goroutine uses it.
type execSlots struct {
	s                 *slots
	admitted, working bool
}

// work waits for a worker; false when ctx ended first.
func (e *execSlots) work(ctx context.Context) bool {
	if e.working {
		return true
	}
	select {
	case e.s.work <- struct{}{}:
		e.working = true
		return true
	case <-ctx.Done():
		return false
	}
}

// release frees what the execution holds; it is idempotent.
func (e *execSlots) release() {
	if e.working {
		<-e.s.work
		e.working = false
	}
	if e.admitted {
		<-e.s.admit
		e.admitted = false
	}
}

// dispatch decodes an event and starts one execution per runnable request.
func (r *Responder) dispatch(ctx context.Context, ev Event, sl *slots) *pending {
	p := &pending{ev: ev}
	if ev.Name != wire.EventResponsesRequested && ev.Name != wire.EventRollbackRequested {
		return p // another event of the chaincode: nothing to do
	}
	var payload wire.ResponseEvent
	if err := json.Unmarshal(ev.Payload, &payload); err != nil {
		r.log.Error("undecodable chaincode event skipped", "event", ev.Name, "tx_id", ev.TxID, "error", err)
		return p
	}
	rollback := ev.Name == wire.EventRollbackRequested
	for _, req := range payload.Requests {
		log := r.log.With("response_id", req.ID, "policy_id", req.PolicyID, "alert_id", req.AlertID, "tx_id", ev.TxID)
		if req.MSP != r.msp || !r.cfg.gatewayAllowed(req.GatewayID) {
			continue // another organisation's (or gateway's) response
		}
		switch {
		case rollback && req.State == wire.ResponseRollbackRequested, !rollback && req.State == wire.ResponseRequested:
		case req.State == wire.ResponseDryRun:
			log.Info("dry-run response: recorded by the chaincode, not executed", "actions", actionTypes(req.Actions))
			continue
		case req.State == wire.ResponseAwaitingApproval:
			log.Info("response awaits approval; it runs when the ledger releases it")
			continue
		default:
			log.Info("response not runnable; skipped", "state", req.State)
			continue
		}
		select {
		case sl.admit <- struct{}{}:
		case <-ctx.Done():
			p.fail(ctx.Err())
			return p
		}
		p.wg.Add(1)
		go func(req wire.ResponseRequest) {
			ex := &execSlots{s: sl, admitted: true}
			defer func() { ex.release(); p.wg.Done() }()
			if err := r.handle(ctx, ev.TxID, req, rollback, ex); err != nil {
				p.fail(err)
			}
		}(req)
	}
	return p
}

func actionTypes(actions []wire.Action) string {
	t := make([]string, len(actions))
	for i, a := range actions {
		t[i] = a.Type
	}
	return strings.Join(t, ",")
}

// handle executes (or rolls back) one response and records its outcome.
// It returns an error only when the event must not be checkpointed: the
// context ended, a ledger call was cut short (errCut: the stream
// reconnects and the event is handled again), or the journal failed. It
// takes a worker from ex only to call connectors, after its ledger reads,
// and releases ex once nothing is left to do but wait for the outcome's
// commit.
func (r *Responder) handle(ctx context.Context, txID string, req wire.ResponseRequest, rollback bool, ex *execSlots) error {
	key, want, okStatus := req.ID+"|run", wire.ResponseRequested, wire.ResponseSucceeded
	if rollback {
		key, want, okStatus = req.ID+"|rollback", wire.ResponseRollbackRequested, wire.ResponseRolledBack
	}
	log := r.log.With("response_id", req.ID, "policy_id", req.PolicyID, "alert_id", req.AlertID, "rollback", rollback)
	unlock := r.locks.lock(key)
	defer unlock()

	jent, known := r.journal.Get(key)
	resp, err := r.getResponse(ctx, req.ID)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if cut(err) {
			// Not an answer from the ledger: the event must be read again.
			return fmt.Errorf("%w: reading response %s: %w", errCut, req.ID, err)
		}
		log.Error("cannot read the response on the ledger; skipped", "error", err)
		return nil
	}
	if resp.State != want {
		if known {
			if err := r.journal.Recorded(key, resp.State); err != nil {
				return err
			}
		}
		log.Info("response already handled; skipped", "state", resp.State)
		return nil
	}

	if !rollback {
		if reason := Refusal(resp, r.msp); reason != "" {
			log.Warn("response refused: not executed", "reason", reason)
			ex.release()
			if err := r.recordOutcome(ctx, resp.ID, wire.ResponseRefused, limitDetail(reason), log); err != nil {
				return err
			}
			if known {
				if err := r.journal.Recorded(key, wire.ResponseRefused); err != nil {
					return err
				}
			}
			return nil
		}
	}

	batchID := resp.BatchID
	if batchID == "" {
		batchID = req.BatchID
	}
	base := connector.Request{
		ResponseID: resp.ID, AlertID: resp.AlertID, BatchID: batchID, PolicyID: resp.PolicyID,
		PolicyVersion: resp.PolicyVersion, MSP: resp.MSP, GatewayID: resp.GatewayID, Target: resp.Target,
		TxID: txID, CreatedTx: resp.CreatedTx,
	}
	// The alert is read only for a response that runs (a replayed event
	// names many that are done), and while the journal durably records
	// the first action's start. The read uses this run's batcher (rd,
	// not r.reads when it runs: a later Run replaces r.reads), and
	// handle waits for it on every path, so no read outlives its Run.
	rd := r.reads
	alertc := make(chan *wire.Alert, 1)
	go func() { alertc <- r.alert(ctx, rd, resp.MSP, resp.GatewayID, batchID, resp.AlertID, log) }()
	alertRead := false
	defer func() {
		if !alertRead {
			<-alertc
		}
	}()
	// A worker only for the connector calls: the reads above were done
	// without one. Nothing but this execution (it holds the response's
	// lock) records an outcome for the response in this process, so what
	// it read stays true while it waits.
	if !ex.work(ctx) {
		return ctx.Err()
	}
	status := okStatus
	details := make([]string, 0, len(resp.Actions))
	for i, a := range resp.Actions {
		res, done := jent.Finished[i]
		if !done {
			if jent.Started[i] {
				log.Warn("an earlier run started this action and stopped before it finished; calling again with the same idempotency key", "action", a.Type)
			}
			if err := r.journal.Started(key, i); err != nil {
				return err
			}
			if !alertRead {
				base.Alert, alertRead = <-alertc, true
			}
			creq := base
			creq.ActionIndex = i
			creq.IdempotencyKey = connector.IdempotencyKey(resp.ID, i, rollback)
			detail, err := r.execute(ctx, a, creq, rollback, log)
			if ctx.Err() != nil {
				// Stopping: the call's fate is unknown; the journal says
				// started, so the next run calls again with the same key.
				return ctx.Err()
			}
			res = actionResult{OK: err == nil, Detail: detail}
			if err != nil {
				res.Detail = err.Error()
			}
			if err := r.journal.Finished(key, i, res); err != nil {
				return err
			}
		} else {
			log.Info("action finished before a restart; recording its result without calling again", "action", a.Type)
		}
		details = append(details, a.Type+": "+res.Detail)
		if !res.OK {
			status = wire.ResponseFailed
			if i+1 < len(resp.Actions) {
				details = append(details, fmt.Sprintf("%d later action(s) not run", len(resp.Actions)-i-1))
			}
			break
		}
	}
	detail := limitDetail(strings.Join(details, "; "))
	ex.release()
	if err := r.recordOutcome(ctx, resp.ID, status, detail, log); err != nil {
		return err
	}
	if err := r.journal.Recorded(key, status); err != nil {
		return err
	}
	log.Info("outcome recorded", "status", status, "detail", detail)
	return nil
}

// Refusal returns why the responder of organisation msp must not execute
// resp, or "" when it may: its organisation approved the policy version
// (resp.PolicyApprovedBy lists msp), or the policy is msp's own org-scoped
// one. An org-scoped policy of another organisation is always refused: the
// chaincode plans such a policy only for its owner's alerts.
func Refusal(resp *wire.Response, msp string) string {
	ref := fmt.Sprintf("%s@%d", resp.PolicyID, resp.PolicyVersion)
	if wire.ScopeOf(resp.PolicyScope) == wire.ScopeOrg {
		if resp.PolicyOwner == msp {
			return ""
		}
		return fmt.Sprintf("refused by %s: policy %s is scoped to organisation %s, not %s", msp, ref, resp.PolicyOwner, msp)
	}
	if resp.ApprovedBy(msp) {
		return ""
	}
	by := strings.Join(resp.PolicyApprovedBy, ", ")
	if by == "" {
		by = "no organisation listed"
	}
	return fmt.Sprintf("refused by %s: %s did not approve consortium policy %s (approved by %s)", msp, msp, ref, by)
}

// alert reads the response's alert for the connectors through rd, best
// effort: a connector works without it.
func (r *Responder) alert(ctx context.Context, rd *reads, msp, gatewayID, batchID, alertID string, log *slog.Logger) *wire.Alert {
	if batchID == "" || alertID == "" {
		return nil
	}
	a, err := rd.alert(ctx, msp, gatewayID, batchID, alertID)
	if err != nil {
		log.Debug("alert not read; connectors get the ledger references only", "error", err)
		return nil
	}
	return a
}

// execute calls the connector with retries. The returned error says why
// the action failed (for the ledger's detail).
func (r *Responder) execute(ctx context.Context, a wire.Action, req connector.Request, rollback bool, log *slog.Logger) (string, error) {
	conn, ok := r.conns[a.Type]
	if !ok || conn == nil {
		return "", fmt.Errorf("no connector configured for action %s", a.Type)
	}
	call := conn.Execute
	if rollback {
		if hr, ok := conn.(interface{ HasRollback() bool }); ok && !hr.HasRollback() {
			return "nothing to roll back", nil
		}
		rc, ok := conn.(connector.RollbackConnector)
		if !ok {
			return "nothing to roll back", nil
		}
		call = rc.Rollback
	}
	backoff := r.cfg.Retry.InitialBackoff
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
		detail, err := call(actx, a, req)
		cancel()
		if err == nil {
			return detail, nil
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if !connector.IsRetryable(err) || attempt >= r.cfg.Retry.Attempts {
			return "", fmt.Errorf("failed after %d attempt(s): %w", attempt, err)
		}
		log.Warn("connector attempt failed; retrying", "action", a.Type, "attempt", attempt, "error", err, "backoff", backoff)
		if err := sleep(ctx, jitter(backoff)); err != nil {
			return "", err
		}
		backoff = min(backoff*2, r.cfg.Retry.MaxBackoff)
	}
}

// getResponse reads a response (batched with the reads of other
// executions), retrying while the ledger is unavailable.
func (r *Responder) getResponse(ctx context.Context, id string) (*wire.Response, error) {
	return r.reads.response(ctx, id)
}

// recordOutcome records the outcome through the batcher, which retries
// while the ledger is unavailable. A permanent refusal is checked against
// the ledger: if the response already carries this status (an earlier
// submission committed), it is success; otherwise it is logged and the
// response left alone, so one bad record cannot stall every later event.
// It returns an error only when ctx ended or the submission was cut
// short (a cancelled or timed-out call is no answer from the ledger), so
// that the event is not checkpointed and the journal's result is
// recorded on replay.
func (r *Responder) recordOutcome(ctx context.Context, id, status, detail string, log *slog.Logger) error {
	err := r.outcomes.record(ctx, wire.OutcomeRecord{ResponseID: id, Status: status, Detail: detail})
	if err == nil || ctx.Err() != nil {
		return ctx.Err()
	}
	if cut(err) {
		return fmt.Errorf("%w: recording the outcome of %s: %w", errCut, id, err)
	}
	if resp, gerr := r.getResponse(ctx, id); gerr == nil && resp.State == status {
		return nil
	}
	log.Error("the ledger refused the outcome; the response keeps its state", "status", status, "error", err)
	return nil
}

// cut reports whether err is a call cancelled or timed out rather than
// an answer from the ledger: such an error must never be taken for a
// refusal, or an event would be checkpointed with its response unread or
// its outcome unrecorded.
func cut(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func (r *Responder) ledgerRetry(ctx context.Context, op string, f func(context.Context) error) error {
	backoff := r.cfg.Retry.InitialBackoff
	for {
		err := f(ctx)
		if err == nil || !errors.Is(err, gateway.ErrLedgerUnavailable) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.log.Warn("ledger unavailable; retrying", "op", op, "error", err, "backoff", backoff)
		if err := sleep(ctx, jitter(backoff)); err != nil {
			return err
		}
		backoff = min(backoff*2, r.cfg.LedgerBackoff)
	}
}

// limitDetail keeps a detail within the chaincode's 4096-byte limit.
func limitDetail(s string) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "?")
	const max = 4000
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// jitter returns a duration in [d/2, d): equal jitter, so retries of many
// responders spread out but still back off.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// keyLocks serialises work on one key (a response's execution or
// rollback) within the process, so duplicate events never run it twice
// concurrently.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	mu   sync.Mutex
	refs int
}

func (l *keyLocks) lock(key string) func() {
	l.mu.Lock()
	k := l.m[key]
	if k == nil {
		k = &keyLock{}
		l.m[key] = k
	}
	k.refs++
	l.mu.Unlock()
	k.mu.Lock()
	return func() {
		k.mu.Unlock()
		l.mu.Lock()
		if k.refs--; k.refs == 0 {
			delete(l.m, key)
		}
		l.mu.Unlock()
	}
}
