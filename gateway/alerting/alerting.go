// Package alerting turns detections into alert transactions. It follows the
// sealed part of the gateway's log in order, batch after batch: for each
// sealed batch it reads the batch's leaves back from the store (each
// event with its canonical bytes and leaf hash, nothing re-encoded) and
// scores them with the detector while the batch is being anchored; once
// the batch is anchored it raises one alert per flagged verdict with
// RaiseAlerts, in transactions of at most MaxPerTx alerts (MaxPerBatchTx
// for the parts of a batch with more alerts than that), up to
// MaxInFlight of them at once: transactions that hold alerts of the same
// batch go one after another (the chaincode range-reads a batch's alert
// sets, so they would conflict), others concurrently, and those that
// still conflict (a consortium dedup rule merging alerts about one entity
// across them) are committed again one at a time. Batches anchored while
// a step's transactions are in flight join the step at once, in
// transactions of their own (joinLanes), rather than wait for the step to
// end: that wait was about 8 % of the action latency (mean 65-69 ms of
// 826-879 ms) at 10,000 events/s, and 190 ms at its p90.
//
// Why raise only after anchoring: the chaincode accepts an alert only when
// the batch that holds its event is already on the ledger, so an alert
// always points at evidence anyone can verify (raising a batch's alerts
// in its anchor transaction instead was measured slower: it puts their
// policy evaluation on the strictly sequential anchoring path). Why score
// before it: the anchor transaction takes a ledger round trip, and
// scoring meanwhile takes detection off the path from an event to its
// alert (the alerts wait in memory, bounded by MaxScoredAhead). Why
// re-read and re-score instead of keeping
// verdicts: scoring is deterministic for a given model file, alert ids are
// deterministic, and RaiseAlerts is idempotent, so after a crash the
// alerter simply resumes at its durable watermark (the tree size up to
// which every batch's alerts are committed) and repeats at most the
// batches of one step (bounded by maxEventsPerStep events and
// maxAlertsPerStep alerts), which the ledger recognises and does not
// write twice. The same idempotence makes concurrent transactions safe:
// the position moves past a batch only once the transactions holding its
// alerts and those of every batch before it have committed, and a step
// that failed part-way is redone from the position (what had committed
// comes back as existing).
package alerting

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/detect"
	"github.com/ledgerguard/ledgerguard/gateway/durable"
	"github.com/ledgerguard/ledgerguard/gateway/pseudonym"
)

// MaxPerTx bounds the alerts of a RaiseAlerts transaction that holds
// whole batches: large enough that the ledger's per-transaction cost is
// shared, well under the chaincode's limit. A batch with more alerts is
// cut at MaxPerBatchTx instead (see there).
const MaxPerTx = 1000

// Log is what the alerter reads from the gateway's store.
type Log interface {
	// HeaderLeaves returns the leaves [from, to) in order, each event with
	// its stored canonical bytes and leaf hash, for ranges of up to
	// LeavesPerRead leaves within the durable log. Leaves may be partial
	// (gateway.HeaderLeaf: the event's header only): the detector reads
	// the rest from the canonical bytes, and the alerter decodes the
	// whole event (Leaf.Full) only of the leaves it raises an alert for,
	// so an unflagged event's fields are never decoded into maps.
	HeaderLeaves(ctx context.Context, from, to uint64) ([]gateway.Leaf, error)
	BatchOf(ctx context.Context, seq uint64) (gateway.Batch, bool, error)
}

// LeavesPerRead is the longest range the alerter asks Log.HeaderLeaves
// for: a batch longer than that is read in several calls. It bounds the
// events held at once: when leaves came decoded, a 41-field flow event
// was about 4 KB of maps the garbage collector must trace, and the heap
// profiles of the ingest bench under its 768 MiB memory limit showed a
// window of 8,192 (with its read buffer, decode and feature scratch)
// holding 100–137 MB, the second largest part of the live heap after
// requests in flight, which is what made the runtime collect nearly
// without pause (16,384 had put the peak RSS over 1 GiB). Partial leaves
// hold only the header and the read buffer, from the files or the
// store's recent-leaves ring alike. Scoring does not need more: the
// models are called in micro-batches of 1,024 rows
// (onnx.BatcherConfig.MaxBatch) whatever the window. The store's
// recent-leaves ring holds the latest events within a byte budget
// (store.recent_leaves_bytes), enough for the alerter's lag behind ingest
// at saturation, so its windows seldom come from the segment files.
const LeavesPerRead = 4_096

// Raiser submits alerts to the ledger. Errors follow gateway.Ledger's
// classification (gateway.ErrLedgerUnavailable is transient).
type Raiser interface {
	RaiseAlerts(ctx context.Context, alerts []wire.Alert) (wire.RaiseResult, error)
}

// Config says who the alerts are from and how verdicts become alerts.
type Config struct {
	MSP       string
	GatewayID string
	// Vault, when set, replaces user names and private IP addresses with
	// their keyed pseudonym before they reach the ledger.
	Vault *pseudonym.Vault
	// StateDir holds the durable watermark file.
	StateDir string
	// FS is the file system of the watermark file (nil: the OS's).
	FS     durable.FS
	Logger *slog.Logger
	// Served, when set, lists the models the detector serves right now.
	// While it lists none (detection idle: strict mode has not read the
	// ledger yet) the alerter does not move past a batch that lists
	// models, so the batch is scored once they are served rather than
	// skipped with no verdict.
	Served func() []gateway.ModelRef
}

// Alerter raises alerts for anchored batches. Run drives it.
type Alerter struct {
	cfg    Config
	log    Log
	det    detect.Detector
	raiser Raiser
	wake   chan struct{}
	fs     durable.FS

	mu         sync.Mutex
	watermark  uint64 // durable: what the watermark file holds
	pos        uint64 // in memory: alerts committed up to here (>= watermark)
	raised     uint64
	merged     uint64
	suppr      uint64
	lastErr    string
	wmErr      string // the last watermark write failure, until one succeeds
	waitingFor string // the batch alerting waits at while detection is idle
	inFlight   int    // transactions a step keeps in flight (adjustInFlight)
	calm       int    // clean steps since inFlight last changed at 1
	conflicts  uint64 // transactions that hit a read conflict and were committed again

	// Scoring ahead (see scoreAhead): one batch is scored at a time
	// (scoreMu), in log order as far as possible, and its alerts are kept
	// in ahead until step has raised them. aheadMu guards ahead, scoredTo
	// and aheadN on their own, so step can ask what is ready without
	// waiting for a batch being scored.
	scoreMu  sync.Mutex
	aheadMu  sync.Mutex
	ahead    map[string]scored // by batch id
	scoredTo uint64            // tree size up to which batches were scored in order
	aheadN   uint64            // events of the batches in ahead
}

// scored is the outcome of scoring one batch ahead of its anchoring.
type scored struct {
	end    uint64 // the batch's TreeSizeAfter
	events uint64
	alerts []wire.Alert
}

// Status is a snapshot of the alerter's progress. Raised counts the alert
// records the ledger created; Merged the detections the ledger's dedup
// rules merged into an existing alert (counted there, not created);
// Suppressed the created alerts a suppress rule matched. Raised+Merged is
// every detection sent for the first time.
type Status struct {
	Watermark  uint64 `json:"watermark"` // durable watermark
	Position   uint64 `json:"position"`  // alerts committed up to here; ahead of Watermark within a step (raise) and while its write fails
	Raised     uint64 `json:"raised"`
	Merged     uint64 `json:"merged"`
	Suppressed uint64 `json:"suppressed"`
	LastError  string `json:"last_error,omitempty"`
	// WatermarkError is the last failure to write the watermark file, set
	// until a write succeeds (the alerter keeps working meanwhile).
	WatermarkError string `json:"watermark_error,omitempty"`
	// InFlight is how many RaiseAlerts transactions a step keeps in flight
	// now (MaxInFlight, fewer for a while after concurrent ones failed);
	// Conflicts counts the transactions that hit a read conflict with
	// another of the alerter's own and were committed again.
	InFlight  int    `json:"in_flight"`
	Conflicts uint64 `json:"conflicts"`
}

// WatermarkError reports a failed write of the watermark file. The alerter
// keeps its position in memory and retries the write; a crash meanwhile
// costs re-raising the batches since the durable watermark, which the
// ledger deduplicates (alert ids are deterministic).
type WatermarkError struct {
	Watermark uint64
	Err       error
}

func (e *WatermarkError) Error() string {
	return fmt.Sprintf("alerting: write watermark %d: %v", e.Watermark, e.Err)
}

func (e *WatermarkError) Unwrap() error { return e.Err }

// New returns an alerter resuming from the watermark in cfg.StateDir.
func New(cfg Config, log Log, det detect.Detector, raiser Raiser) (*Alerter, error) {
	if cfg.MSP == "" || cfg.GatewayID == "" || cfg.StateDir == "" {
		return nil, errors.New("alerting: MSP, GatewayID and StateDir are required")
	}
	if log == nil || det == nil || raiser == nil {
		return nil, errors.New("alerting: log, detector and raiser are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	a := &Alerter{cfg: cfg, log: log, det: det, raiser: raiser, wake: make(chan struct{}, 1), fs: cfg.FS}
	if a.fs == nil {
		a.fs = durable.OS{}
	}
	if err := a.fs.MkdirAll(cfg.StateDir, 0o750); err != nil {
		return nil, fmt.Errorf("alerting: state dir: %w", err)
	}
	wm, err := a.readWatermark()
	if err != nil {
		return nil, err
	}
	a.watermark, a.pos, a.inFlight = wm, wm, MaxInFlight
	a.ahead, a.scoredTo = map[string]scored{}, wm
	return a, nil
}

// Vault returns the pseudonym vault, or nil when values stay in clear.
func (a *Alerter) Vault() *pseudonym.Vault { return a.cfg.Vault }

// Wake tells the alerter a batch was anchored; it never blocks.
func (a *Alerter) Wake() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// Status returns a snapshot.
func (a *Alerter) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	return Status{Watermark: a.watermark, Position: a.pos, Raised: a.raised, Merged: a.merged, Suppressed: a.suppr, LastError: a.lastErr, WatermarkError: a.wmErr,
		InFlight: a.inFlight, Conflicts: a.conflicts}
}

// Run processes anchored batches until ctx ends. Ledger failures, failed
// watermark writes (a full or failing disk: ENOSPC, EIO) and a store that
// is unavailable for now are retried with backoff; other store failures
// end Run.
func (a *Alerter) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	var ahead sync.WaitGroup
	ahead.Go(func() { a.scoreAhead(ctx) })
	defer ahead.Wait()
	defer cancel()
	backoff := 100 * time.Millisecond
	behindTries := 0 // quick retries while an endorser is behind (endorserBehind)
	for {
		progressed, err := a.step(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var wait time.Duration // 0: the backoff
			var rejected *gateway.LedgerRejectedError
			var wmErr *WatermarkError
			switch {
			case errors.As(err, &wmErr):
				a.cfg.Logger.Warn("writing the alerting watermark failed; alerting goes on from its position in memory and retries the write",
					"watermark", wmErr.Watermark, "err", wmErr.Err)
			case endorserBehind(err) && behindTries < gateway.BehindTries:
				// Another organisation's endorser has not committed the
				// batch's anchor yet: it will within a block or two.
				a.setErr(err)
				a.cfg.Logger.Debug("an endorser has not seen the batch yet; retrying soon", "err", err)
				wait = gateway.BehindPause
				behindTries++
			case errors.Is(err, gateway.ErrLedgerUnavailable) || errors.As(err, &rejected):
				a.setErr(err)
				a.cfg.Logger.Warn("raising alerts failed; will retry", "err", err, "permanent", rejected != nil)
			case gateway.ErrorCode(err) == gateway.CodeUnavailable:
				a.setErr(err)
				a.cfg.Logger.Warn("reading the store failed; will retry", "err", err)
			case errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EIO):
				// A local file (the pseudonym vault) could not be written:
				// nothing was raised for the step, so it is repeated.
				a.setErr(err)
				a.cfg.Logger.Warn("writing local state failed; will retry", "err", err)
			default:
				return err
			}
			if wait == 0 {
				wait = backoff
				backoff = min(2*backoff, 10*time.Second)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
			continue
		}
		backoff, behindTries = 100*time.Millisecond, 0
		if progressed {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-a.wake:
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// endorserBehind reports whether err is the refusal of an endorser that
// has not committed the batch an alert cites: the chaincode's not-found
// at endorsement. The alerter raises alerts only for batches its own
// peer committed, so another organisation's peer is a block behind; a
// missing indicator (an intel-match alert) is refused the same way and
// keeps being refused, and after gateway.BehindTries takes the usual
// backoff.
func endorserBehind(err error) bool { return gateway.RefusedAtEndorse(err, wire.CodeNotFound) }

// maxEventsPerStep bounds how many events one step reads and scores.
const maxEventsPerStep = 200_000

// maxAlertsPerStep bounds how many alerts one step raises: four rounds of
// MaxInFlight transactions of MaxPerTx alerts (a large batch's
// transactions hold up to MaxPerBatchTx, so fewer of them), enough lanes
// (batches) to keep MaxInFlight transactions in flight when batches hold
// a few thousand alerts each. The durable watermark moves once per step (at its end, or
// to the position a failed step reached), so this also
// bounds what a crash makes the alerter raise again; the position in
// memory moves within a step as its lanes commit (see raise).
const maxAlertsPerStep = 4 * MaxInFlight * MaxPerTx

// step processes the anchored batches from the position on: the first
// (scored now if scoreAhead has not scored it yet) and those after it that
// are anchored and already scored, within maxEventsPerStep events and
// maxAlertsPerStep alerts. Their alerts go out together, in transactions
// of at most MaxPerTx (MaxPerBatchTx for a large batch's), up to
// MaxInFlight of them at once (raise), so a backlog of small batches
// costs a few transactions rather than one each. While they are in
// flight, batches anchored and scored meanwhile join the step (within
// the same bounds, for up to joinWindow), so their alerts do not wait
// for the step's transactions to commit.
// A step never waits to score a batch past its first: while ingest keeps
// detection busy, the alerts of what is scored go out while scoreAhead
// scores the rest, instead of after a 200,000-event step is all scored.
func (a *Alerter) step(ctx context.Context) (bool, error) {
	a.mu.Lock()
	wm, durableWM := a.pos, a.watermark
	a.mu.Unlock()

	var batches []gateway.Batch
	var alerts []wire.Alert
	var events uint64
	for at := wm; events < maxEventsPerStep && len(alerts) < maxAlertsPerStep; {
		b, ok, err := a.log.BatchOf(ctx, at)
		if err != nil {
			return false, fmt.Errorf("alerting: batch of seq %d: %w", at, err)
		}
		if !ok || b.State != gateway.BatchAnchored {
			break
		}
		if a.idleFor(b) {
			break
		}
		var al []wire.Alert
		if len(batches) == 0 {
			if al, err = a.alertsOf(ctx, b); err != nil {
				return false, err
			}
		} else if al, ok = a.ready(b); !ok {
			// Raise what is scored now rather than wait for this batch:
			// scoreAhead scores it meanwhile, and the next step takes it.
			break
		}
		batches = append(batches, b)
		alerts = append(alerts, al...)
		events += b.TreeSizeAfter - b.TreeSizeBefore
		at = b.TreeSizeAfter
	}
	if len(batches) == 0 {
		if wm > durableWM {
			// A watermark write failed earlier and no batch has come since
			// to carry a newer one: retry it alone.
			if err := a.writeWatermark(wm); err != nil {
				return false, err
			}
		}
		return false, nil
	}
	var smu sync.Mutex // guards starts: startOf runs on raise's goroutines while join adds to it
	starts := make(map[string]uint64, len(batches))
	for _, b := range batches {
		starts[b.ID] = b.TreeSizeBefore
	}
	startOf := func(id string) uint64 {
		smu.Lock()
		defer smu.Unlock()
		return starts[id]
	}
	// join takes in the batches anchored (and scored) while the step's
	// transactions are in flight, within the step's bounds; raise calls
	// it one call at a time and hands out every alert it returns.
	nAlerts, at := len(alerts), batches[len(batches)-1].TreeSizeAfter
	join := func() []wire.Alert {
		var joined []wire.Alert
		for events < maxEventsPerStep && nAlerts < maxAlertsPerStep {
			b, ok, err := a.log.BatchOf(ctx, at)
			if err != nil || !ok || b.State != gateway.BatchAnchored || a.idle(b) {
				break // the next step looks again, and reports an error
			}
			al, ok := a.ready(b)
			if !ok {
				break
			}
			smu.Lock()
			starts[b.ID] = b.TreeSizeBefore
			smu.Unlock()
			batches = append(batches, b)
			joined = append(joined, al...)
			nAlerts += len(al)
			events += b.TreeSizeAfter - b.TreeSizeBefore
			at = b.TreeSizeAfter
		}
		return joined
	}
	res, err := a.raise(ctx, alerts, startOf, join)
	last := batches[len(batches)-1]
	if err != nil {
		// The lanes before the failed one did commit, and the position
		// moved past them (never past the failed lane's first batch, even
		// when later lanes committed): make that durable too, so a crash
		// before the step is redone re-raises only from the failed lane
		// on. A failed write is recorded in Status and retried with the
		// next one; the raise's error is what Run must see.
		a.mu.Lock()
		at := a.pos
		a.mu.Unlock()
		if at > durableWM {
			_ = a.writeWatermark(at)
		}
		return false, fmt.Errorf("alerting: batches up to %s: %w", last.ID, err)
	}
	a.mu.Lock()
	a.pos, a.lastErr = last.TreeSizeAfter, ""
	a.mu.Unlock()
	a.forget(batches)
	if err := a.writeWatermark(last.TreeSizeAfter); err != nil {
		return false, err
	}
	if nAlerts > 0 {
		a.cfg.Logger.Info("alerts raised", "batches", len(batches), "last_batch", last.ID, "alerts", nAlerts,
			"transactions", res.txs, "merged", res.merged)
	}
	return true, nil
}

// MaxScoredAhead bounds how many events the alerter scores ahead of the
// alerts it has committed: their alerts (about one per hundred events)
// wait in memory for their batches to be anchored.
const MaxScoredAhead = 2 * maxEventsPerStep

// aheadPoll is how often scoreAhead looks for a newly sealed batch.
const aheadPoll = 20 * time.Millisecond

// scoreAhead scores sealed batches before they are anchored, in log
// order, so that detection runs while the ledger commits the anchor (and
// while step raises the previous alerts) instead of after it: once a
// batch is anchored, step finds its alerts ready and only raises them.
// Alerts are still raised only for anchored batches; what is scored ahead
// and not yet raised is lost in a crash and scored again after it, as
// before (scoring is deterministic). Errors here are only logged: step
// scores any batch not scored ahead itself and reports its errors.
func (a *Alerter) scoreAhead(ctx context.Context) {
	for ctx.Err() == nil {
		progressed, err := a.scoreNext(ctx)
		if err != nil && ctx.Err() == nil {
			a.cfg.Logger.Debug("scoring ahead of anchoring failed; step scores the batch itself", "err", err)
		}
		if progressed && err == nil {
			continue
		}
		wait := aheadPoll
		if err != nil {
			wait = time.Second
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// scoreNext scores the batch at scoredTo if it is sealed, within
// MaxScoredAhead of the committed position, and detection is not idle.
func (a *Alerter) scoreNext(ctx context.Context) (bool, error) {
	a.mu.Lock()
	pos := a.pos
	a.mu.Unlock()
	a.aheadMu.Lock()
	at, n := max(a.scoredTo, pos), a.aheadN
	a.aheadMu.Unlock()
	if n >= MaxScoredAhead {
		return false, nil
	}
	b, ok, err := a.log.BatchOf(ctx, at)
	if err != nil || !ok || b.TreeSizeBefore != at || a.idle(b) {
		return false, err
	}
	a.scoreMu.Lock()
	defer a.scoreMu.Unlock()
	a.mu.Lock()
	pos = a.pos
	a.mu.Unlock()
	a.aheadMu.Lock()
	_, done := a.ahead[b.ID]
	from := max(a.scoredTo, pos)
	a.aheadMu.Unlock()
	if done || b.TreeSizeBefore != from {
		// step scored it meanwhile (and may have raised it already): look
		// again from where scoring is now.
		return true, nil
	}
	al, err := a.alertsFor(ctx, b)
	if err != nil {
		return false, err
	}
	a.keep(b, al)
	return true, nil
}

// keep records b's alerts for step; the caller holds scoreMu.
func (a *Alerter) keep(b gateway.Batch, al []wire.Alert) {
	a.aheadMu.Lock()
	defer a.aheadMu.Unlock()
	n := b.TreeSizeAfter - b.TreeSizeBefore
	a.ahead[b.ID] = scored{end: b.TreeSizeAfter, events: n, alerts: al}
	a.aheadN += n
	a.scoredTo = max(a.scoredTo, b.TreeSizeAfter)
}

// ready returns b's alerts if b has been scored.
func (a *Alerter) ready(b gateway.Batch) ([]wire.Alert, bool) {
	a.aheadMu.Lock()
	defer a.aheadMu.Unlock()
	sc, ok := a.ahead[b.ID]
	return sc.alerts, ok
}

// alertsOf returns b's alerts, scored ahead or scored now.
func (a *Alerter) alertsOf(ctx context.Context, b gateway.Batch) ([]wire.Alert, error) {
	if al, ok := a.ready(b); ok {
		return al, nil
	}
	a.scoreMu.Lock()
	defer a.scoreMu.Unlock()
	if al, ok := a.ready(b); ok { // scored ahead while we waited
		return al, nil
	}
	al, err := a.alertsFor(ctx, b)
	if err != nil {
		return nil, err
	}
	a.keep(b, al) // until raised: a failed raise is retried without scoring again
	return al, nil
}

// forget drops the scored alerts of batches step has raised, and of any
// batch below the position they reached.
func (a *Alerter) forget(batches []gateway.Batch) {
	a.aheadMu.Lock()
	defer a.aheadMu.Unlock()
	end := batches[len(batches)-1].TreeSizeAfter
	for id, sc := range a.ahead {
		if sc.end <= end {
			delete(a.ahead, id)
			a.aheadN -= sc.events
		}
	}
}

// idleFor reports whether detection is idle while batch b lists models:
// the alerter waits rather than pass b unscored. It logs the first wait
// for each batch.
func (a *Alerter) idleFor(b gateway.Batch) bool {
	if !a.idle(b) {
		return false
	}
	a.mu.Lock()
	first := a.waitingFor != b.ID
	a.waitingFor = b.ID
	a.mu.Unlock()
	if first {
		a.cfg.Logger.Warn("detection is idle: alerting waits at this batch until its models are served", "batch", b.ID, "batch_models", len(b.Models))
	}
	return true
}

// idle is idleFor without its record and log: scoring ahead asks it of
// later batches, which must not move the status off the batch the
// alerter waits at.
func (a *Alerter) idle(b gateway.Batch) bool {
	return a.cfg.Served != nil && len(b.Models) > 0 && len(a.cfg.Served()) == 0
}

func (a *Alerter) setErr(err error) {
	a.mu.Lock()
	a.lastErr = err.Error()
	a.mu.Unlock()
}

// alertsFor scores the batch's events and builds one alert per flagged
// verdict, sorted as the detector returned them (input order). The events
// come with their stored leaf hashes, which the alerts cite as they are:
// the alerter never re-encodes or re-hashes an event.
func (a *Alerter) alertsFor(ctx context.Context, b gateway.Batch) ([]wire.Alert, error) {
	// Only the models the batch lists (those in force when it was sealed)
	// may flag its events: the ledger refuses an alert whose detector its
	// batch does not list, and would refuse it on every retry. A model
	// loaded after the batch was sealed (e.g. once strict mode could read
	// the ledger again) does not score it.
	listed := make(map[gateway.ModelRef]bool, len(b.Models))
	for _, m := range b.Models {
		listed[m] = true
	}
	var out []wire.Alert
	seen := map[string]bool{}
	skipped := 0
	// The batch is read and scored LeavesPerRead events at a time: only
	// one window of leaves (and the events decoded for window features or
	// alerts) is held at once, however large the batch, which bounds the
	// alerter's memory (a 50,000-event batch of 1 KB flow records is
	// tens of MB of bytes, hundreds decoded). Window features see the
	// events in the same order either way.
	for from := b.TreeSizeBefore; from < b.TreeSizeAfter; {
		to := min(from+LeavesPerRead, b.TreeSizeAfter)
		leaves, err := a.log.HeaderLeaves(ctx, from, to)
		if err != nil {
			return nil, fmt.Errorf("alerting: read events %d..%d of batch %s: %w", from, to-1, b.ID, err)
		}
		if uint64(len(leaves)) != to-from {
			return nil, fmt.Errorf("alerting: read events %d..%d of batch %s: got %d leaves", from, to-1, b.ID, len(leaves))
		}
		// Leaves, not only their events: a detector that can reads its
		// features from the canonical bytes (see detect.LeafDetector).
		results, err := detect.DetectLeaves(ctx, a.det, leaves)
		if err != nil {
			return nil, fmt.Errorf("alerting: detect batch %s: %w", b.ID, err)
		}
		// What alert reads of the flagged leaves' events (alertEvent),
		// read once each (a leaf may be flagged by several models).
		var whole map[int]gateway.Event
		for _, r := range results {
			if !r.Flagged {
				continue
			}
			// An intel match cites its indicator (version = indicator id,
			// sha256 = its keyed hash) instead of a model the batch lists;
			// the ledger checks it against the indicator.
			if r.Model != wire.DetectorIntelMatch && !listed[gateway.ModelRef{ID: r.Model, Version: r.Version, SHA256: r.SHA256}] {
				skipped++
				continue
			}
			if r.Index < 0 || r.Index >= len(leaves) {
				return nil, fmt.Errorf("alerting: detect batch %s: result index %d of %d events", b.ID, r.Index, len(leaves))
			}
			ev, ok := whole[r.Index]
			if !ok {
				if ev, err = alertEvent(&leaves[r.Index]); err != nil {
					return nil, fmt.Errorf("alerting: event of batch %s: %w", b.ID, err)
				}
				if whole == nil {
					whole = map[int]gateway.Event{}
				}
				whole[r.Index] = ev
			}
			al, err := a.alert(b, ev, leaves[r.Index].LeafHash, r)
			if err != nil {
				return nil, err
			}
			if seen[al.ID] {
				continue
			}
			seen[al.ID] = true
			out = append(out, al)
		}
		from = to
	}
	if skipped > 0 {
		a.cfg.Logger.Warn("flagged events not alerted: their model was not in force when the batch was sealed",
			"batch", b.ID, "verdicts", skipped, "batch_models", len(b.Models))
	}
	return out, nil
}

// alert builds the ledger alert of one flagged verdict on ev, the event
// of a leaf as alertEvent reads it (the alerter reads partial leaves,
// and the alert carries fields of the event); its event hash is
// leafHash, the leaf hash the log stored (and anchored) for the event.
func (a *Alerter) alert(b gateway.Batch, ev gateway.Event, leafHash [32]byte, r detect.Result) (wire.Alert, error) {
	eventHash := hex.EncodeToString(leafHash[:])
	model := wire.Model{ID: r.Model, Version: r.Version, SHA256: r.SHA256}
	category := r.Category
	if category == "" {
		category = "uncategorized"
	}
	if len(r.Redact) > 0 {
		// The verdict asks that these fields not reach the ledger (an
		// AMBER indicator's matched value): drop them from the copy the
		// alert is built from.
		f := make(map[string]any, len(ev.Fields))
		for k, v := range ev.Fields {
			if !slices.Contains(r.Redact, k) {
				f[k] = v
			}
		}
		ev.Fields = f
	}
	asset, err := a.protectField(ev, "host.name", "destination.ip", "host.ip")
	if err != nil {
		return wire.Alert{}, err
	}
	principal, err := a.protectField(ev, "user.name", "source.ip")
	if err != nil {
		return wire.Alert{}, err
	}
	fields, err := a.policyFields(ev, r)
	if err != nil {
		return wire.Alert{}, err
	}
	al := wire.Alert{
		ID:        wire.AlertID(a.cfg.MSP, a.cfg.GatewayID, eventHash, model.ID, model.Version),
		MSP:       a.cfg.MSP,
		GatewayID: a.cfg.GatewayID,
		EventHash: eventHash,
		BatchID:   b.ID,
		EventTime: wire.NewTime(ev.Time),
		Detector:  model,
		Score:     r.Score,
		Severity:  Severity(r.Score),
		Category:  category,
		Asset:     asset,
		Principal: principal,
		Fields:    fields,
	}
	return al, nil
}

// Severity maps a model score to the ledger's severity scale. The cut
// points are deliberately coarse: policies should select on score and
// category, severity is for people scanning lists.
func Severity(score float64) string {
	switch {
	case score >= 0.95:
		return wire.SeverityCritical
	case score >= 0.85:
		return wire.SeverityHigh
	case score >= 0.6:
		return wire.SeverityMedium
	case score >= 0.3:
		return wire.SeverityLow
	}
	return wire.SeverityInfo
}

// protectField returns the first present field of names, pseudonymised
// when a vault is configured and the field is sensitive.
func (a *Alerter) protectField(ev gateway.Event, names ...string) (string, error) {
	for _, n := range names {
		v, ok := ev.Fields[n]
		if !ok {
			continue
		}
		if s := fmt.Sprint(v); s != "" && s != "<nil>" {
			return a.protect(n, s)
		}
	}
	if names[0] == "host.name" {
		return ev.Host, nil
	}
	return "", nil
}

// protect pseudonymises user names and private addresses when a vault is
// configured. Host names stay readable: responders act on them and they
// name machines, not people.
func (a *Alerter) protect(field, v string) (string, error) {
	if v == "" || a.cfg.Vault == nil || !sensitive(field, v) {
		return v, nil
	}
	return a.cfg.Vault.Pseudonym(v)
}

// sensitive reports whether a field's value must not reach the shared
// ledger in clear: user names always, IPv4 addresses when private,
// loopback or link-local.
func sensitive(field, v string) bool {
	switch {
	case strings.HasPrefix(field, "user."):
		return true
	case strings.HasSuffix(field, ".ip"):
		return privateIPv4(v)
	}
	return false
}

func privateIPv4(v string) bool {
	parts := strings.Split(v, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 255 {
			return false
		}
	}
	switch {
	case parts[0] == "10", parts[0] == "127", parts[0] == "192" && parts[1] == "168", parts[0] == "169" && parts[1] == "254":
		return true
	case parts[0] == "172":
		n, _ := strconv.Atoi(parts[1])
		return n >= 16 && n <= 31
	}
	return false
}

func (a *Alerter) policyFields(ev gateway.Event, r detect.Result) (map[string]string, error) {
	f := map[string]string{
		"class":      string(ev.Class),
		"sourcetype": ev.Sourcetype,
		"label":      r.Label,
		// Why an anomaly model flagged it (empty, hence dropped, otherwise).
		"top_features": r.TopFeatures,
	}
	for name, key := range map[string]string{"source.ip": "source_ip", "destination.ip": "destination_ip", "destination.port": "destination_port", "user.name": "user"} {
		if v, ok := ev.Fields[name]; ok {
			p, err := a.protect(name, fmt.Sprint(v))
			if err != nil {
				return nil, err
			}
			f[key] = p
		}
	}
	for k, v := range r.Fields {
		if _, taken := f[k]; !taken && len(f) < wire.MaxAlertFields {
			f[k] = v
		}
	}
	for k, v := range f {
		if v == "" || len(v) > wire.MaxFieldValueLen {
			delete(f, k)
		}
	}
	return f, nil
}

func (a *Alerter) watermarkPath() string { return filepath.Join(a.cfg.StateDir, "alerting.watermark") }

// readWatermark reads the watermark file; an absent one means 0.
func (a *Alerter) readWatermark() (uint64, error) {
	path := a.watermarkPath()
	b, err := a.fs.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("alerting: read watermark: %w", err)
	}
	wm, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("alerting: %w", &durable.CorruptError{Path: path, Reason: "watermark: " + err.Error()})
	}
	return wm, nil
}

// writeWatermark replaces the watermark durably (durable.AtomicReplace),
// so a crash leaves either the old or the new value.
// On success it records wm as the durable watermark; on failure it returns
// *WatermarkError and records the failure for Status.
func (a *Alerter) writeWatermark(wm uint64) error {
	if err := durable.AtomicReplace(a.fs, a.watermarkPath(), []byte(strconv.FormatUint(wm, 10)+"\n")); err != nil {
		we := &WatermarkError{Watermark: wm, Err: err}
		a.mu.Lock()
		a.wmErr = we.Error()
		a.mu.Unlock()
		return we
	}
	a.mu.Lock()
	a.watermark = max(a.watermark, wm)
	a.wmErr = ""
	a.mu.Unlock()
	return nil
}
