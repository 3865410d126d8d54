package alerting

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
)

func TestPlanTxs(t *testing.T) {
	// alertsOf builds alerts from "batch:count" runs.
	alertsOf := func(runs ...string) []wire.Alert {
		var out []wire.Alert
		for _, r := range runs {
			b, n, _ := strings.Cut(r, ":")
			var k int
			fmt.Sscan(n, &k)
			for i := range k {
				out = append(out, wire.Alert{ID: fmt.Sprintf("%s-%d", b, i), BatchID: b})
			}
		}
		return out
	}
	// shape renders lanes as "lane|lane", each lane "tx,tx", each tx its
	// batches with their alert counts ("a3+b2").
	shape := func(lanes []lane) string {
		var ls []string
		for _, l := range lanes {
			var txs []string
			for _, tx := range l.txs {
				var parts []string
				for i := 0; i < len(tx); {
					j := i
					for j < len(tx) && tx[j].BatchID == tx[i].BatchID {
						j++
					}
					parts = append(parts, fmt.Sprintf("%s%d", tx[i].BatchID, j-i))
					i = j
				}
				txs = append(txs, strings.Join(parts, "+"))
			}
			ls = append(ls, strings.Join(txs, ","))
		}
		return strings.Join(ls, "|")
	}
	tests := []struct {
		name string
		runs []string
		want string
	}{
		{"none", nil, ""},
		{"one small batch", []string{"a:3"}, "a3"},
		{"small batches share a transaction", []string{"a:3", "b:4", "c:3"}, "a3+b4+c3"},
		{"a batch that does not fit opens the next transaction", []string{"a:6", "b:5", "c:4"}, "a6|b5+c4"},
		{"a full batch is one transaction", []string{"a:10", "b:10"}, "a10|b10"},
		{"a large batch is one lane, cut in order", []string{"a:2", "b:53", "c:1"}, "a2|b25,b25,b3|c1"},
		{"a large batch in one transaction where it fits", []string{"a:2", "b:23", "c:1"}, "a2|b23|c1"},
		{"a batch at the per-batch limit", []string{"a:25", "b:26"}, "a25|b25,b1"},
		{"small batches after a large one share again", []string{"a:11", "b:4", "c:6", "d:1"}, "a11|b4+c6|d1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alerts := alertsOf(tt.runs...)
			lanes := planTxs(alerts, 10, 25)
			if got := shape(lanes); got != tt.want {
				t.Fatalf("planTxs = %q, want %q", got, tt.want)
			}
			var ids []string
			for i, l := range lanes {
				if l.idx != i {
					t.Fatalf("lane %d has idx %d", i, l.idx)
				}
				for _, tx := range l.txs {
					if len(tx) > 25 || (len(tx) > 10 && tx[0].BatchID != tx[len(tx)-1].BatchID) {
						t.Fatalf("a transaction of %d alerts from %s to %s: over the limits", len(tx), tx[0].BatchID, tx[len(tx)-1].BatchID)
					}
					for _, a := range tx {
						ids = append(ids, a.ID)
					}
				}
			}
			if got, want := len(ids), len(alerts); got != want {
				t.Fatalf("planned %d alerts, want %d", got, want)
			}
		})
	}
}

// ledgerRaiser is a fake ledger for concurrency tests: a transaction takes
// a while, alerts are stored once by id (RaiseAlerts is idempotent), and
// with dedup set two transactions in flight together that hold alerts
// about the same principal conflict as a dedup record would: the later
// one fails with a read conflict and stores nothing. It refuses two
// transactions in flight together that share a batch (the chaincode's
// range read of a batch's sets would conflict; the alerter must never
// cause that) by failing the test.
type ledgerRaiser struct {
	t     *testing.T
	dedup bool
	delay time.Duration

	mu        sync.Mutex
	inFlight  map[int][]wire.Alert
	next      int
	maxFlight int
	stored    map[string]int
	calls     int
	conflicts int
	posAt     []uint64 // the alerter's position when each call began
	status    func() Status
}

func newLedgerRaiser(t *testing.T, dedup bool) *ledgerRaiser {
	return &ledgerRaiser{t: t, dedup: dedup, delay: 5 * time.Millisecond, inFlight: map[int][]wire.Alert{}, stored: map[string]int{}}
}

// checkStoredOnce fails the test unless exactly want alerts are stored,
// each once. The caller holds l.mu.
func (l *ledgerRaiser) checkStoredOnce(want int) {
	l.t.Helper()
	if got := len(l.stored); got != want {
		l.t.Fatalf("stored %d alerts, want %d", got, want)
	}
	for id, n := range l.stored {
		if n != 1 {
			l.t.Fatalf("alert %s stored %d times, want once", id, n)
		}
	}
}

func (l *ledgerRaiser) RaiseAlerts(_ context.Context, alerts []wire.Alert) (wire.RaiseResult, error) {
	l.mu.Lock()
	id := l.next
	l.next++
	l.calls++
	if l.status != nil {
		l.posAt = append(l.posAt, l.status().Position)
	}
	for _, other := range l.inFlight {
		for _, a := range alerts {
			if slices.ContainsFunc(other, func(o wire.Alert) bool { return o.BatchID == a.BatchID }) {
				l.t.Errorf("two transactions in flight hold alerts of batch %s", a.BatchID)
			}
		}
	}
	l.inFlight[id] = alerts
	l.maxFlight = max(l.maxFlight, len(l.inFlight))
	l.mu.Unlock()

	time.Sleep(l.delay)

	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.inFlight, id)
	if l.dedup {
		for _, other := range l.inFlight {
			for _, a := range alerts {
				if slices.ContainsFunc(other, func(o wire.Alert) bool { return o.Principal == a.Principal }) {
					l.conflicts++
					return wire.RaiseResult{}, &gateway.LedgerUnavailableError{Op: "RaiseAlerts", Stage: gateway.StageCommit,
						Err: fmt.Errorf("committed invalid (MVCC_READ_CONFLICT): %w", gateway.ErrLedgerConflict)}
				}
			}
		}
	}
	var res wire.RaiseResult
	for _, a := range alerts {
		if l.stored[a.ID] == 0 {
			res.Created++
		}
		l.stored[a.ID]++
	}
	return res, nil
}

// manyBatches returns a log of batches anchored batches of perBatch
// events, every event flagged, principals cycling over principals.
func manyBatches(batches, perBatch, principals int) *memLog {
	users := make([]string, batches*perBatch)
	for i := range users {
		users[i] = fmt.Sprintf("bad%d", i%principals)
	}
	sizes := make([]int, batches)
	for i := range sizes {
		sizes[i] = perBatch
	}
	return newLog(users, sizes, batches)
}

func TestRaisesConcurrentlyWithoutSharingBatches(t *testing.T) {
	log := manyBatches(12, MaxPerTx, 1<<30)
	r := newLedgerRaiser(t, false)
	a, err := New(quietCfg(t), log, flagUsers{}, r)
	if err != nil {
		t.Fatal(err)
	}
	end := uint64(len(log.events))
	runFor(t, a, func() bool { return a.Status().Watermark == end })
	r.mu.Lock()
	defer r.mu.Unlock()
	if got, want := len(r.stored), len(log.events); got != want {
		t.Fatalf("stored %d alerts, want %d", got, want)
	}
	if r.maxFlight < 2 || r.maxFlight > MaxInFlight {
		t.Fatalf("at most %d transactions in flight, want 2..%d", r.maxFlight, MaxInFlight)
	}
	st := a.Status()
	if got, want := st.Raised, uint64(len(log.events)); got != want {
		t.Fatalf("Status.Raised = %d, want %d", got, want)
	}
	if st.Conflicts != 0 || st.InFlight != MaxInFlight {
		t.Fatalf("Status = %+v, want no conflicts and %d in flight", st, MaxInFlight)
	}
}

// scoreAll scores every sealed batch as scoreAhead would, so that a test
// calling step directly gets steps of several batches.
func scoreAll(t *testing.T, a *Alerter) {
	t.Helper()
	for {
		progressed, err := a.scoreNext(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !progressed {
			return
		}
	}
}

// TestConflictsFallBackToSequential: with a dedup rule merging alerts
// about one principal, concurrent transactions conflict; the alerter
// commits the failed ones again one at a time, without giving up the
// step, and keeps fewer in flight afterwards.
func TestConflictsFallBackToSequential(t *testing.T) {
	log := manyBatches(8, MaxPerTx/2, 3) // every transaction holds all 3 principals
	r := newLedgerRaiser(t, true)
	cfg := quietCfg(t)
	a, err := New(cfg, log, flagUsers{}, r)
	if err != nil {
		t.Fatal(err)
	}
	end := uint64(len(log.events))
	scoreAll(t, a)
	for a.Status().Watermark < end {
		// Every step succeeds: the conflicts are handled inside it, not
		// by Run's backoff.
		if progressed, err := a.step(context.Background()); err != nil || !progressed {
			t.Fatalf("step = %v, %v; want progress without an error", progressed, err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checkStoredOnce(len(log.events)) // conflicting transactions store nothing
	st := a.Status()
	if r.conflicts == 0 {
		t.Fatal("no conflict happened: the test does not test the fallback")
	}
	if got, want := st.Conflicts, uint64(r.conflicts); got != want {
		t.Fatalf("Status.Conflicts = %d, want %d", got, want)
	}
	if st.InFlight >= MaxInFlight {
		t.Fatalf("Status.InFlight = %d after conflicts, want fewer than %d", st.InFlight, MaxInFlight)
	}
	if st.LastError != "" {
		t.Fatalf("Status.LastError = %q: the fallback should commit the step without an error", st.LastError)
	}
}

// firstOf picks, once, the first transaction holding alerts of batch.
type firstOf struct {
	batch string
	once  sync.Once
}

// picks reports whether alerts are that transaction.
func (f *firstOf) picks(alerts []wire.Alert) bool {
	picked := false
	if len(alerts) > 0 && alerts[0].BatchID == f.batch {
		f.once.Do(func() { picked = true })
	}
	return picked
}

// rejectOnce refuses, once, the transaction holding alerts of batch (the
// first batch of the step, so the position cannot move past it whatever
// order the concurrent lanes reach the ledger in).
type rejectOnce struct {
	*ledgerRaiser
	firstOf
}

func (r *rejectOnce) RaiseAlerts(ctx context.Context, alerts []wire.Alert) (wire.RaiseResult, error) {
	if r.picks(alerts) {
		return wire.RaiseResult{}, &gateway.LedgerRejectedError{Op: "RaiseAlerts", Stage: gateway.StageEndorse, Code: wire.CodeInvalid, Reason: "bad alert"}
	}
	return r.ledgerRaiser.RaiseAlerts(ctx, alerts)
}

// TestRejectionIsNotRetriedAtOnce: a permanent refusal is not committed
// again one at a time; the step fails (Run retries it with backoff) and
// the position stays.
func TestRejectionIsNotRetriedAtOnce(t *testing.T) {
	log := manyBatches(4, MaxPerTx, 1<<30)
	r := &rejectOnce{ledgerRaiser: newLedgerRaiser(t, false), firstOf: firstOf{batch: log.batches[0].ID}}
	a, err := New(quietCfg(t), log, flagUsers{}, r)
	if err != nil {
		t.Fatal(err)
	}
	scoreAll(t, a)
	_, err = a.step(context.Background())
	var rejected *gateway.LedgerRejectedError
	if !errors.As(err, &rejected) {
		t.Fatalf("step = %v, want *gateway.LedgerRejectedError", err)
	}
	if got := a.Status().Position; got != 0 {
		t.Fatalf("position = %d after a failed step, want 0", got)
	}
	if got, want := r.calls, 3; got != want {
		t.Fatalf("%d transactions committed, want %d (the other lanes, none again)", got, want)
	}
	// The step is redone whole; what committed answers as existing.
	if _, err := a.step(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := a.Status().Raised, uint64(len(log.events)); got != want {
		t.Fatalf("Status.Raised = %d, want %d", got, want)
	}
}

// TestPositionFollowsTheLedger: a step moves the position lane by lane
// as its transactions commit, not once at its end, so what waits for the position (action latency, make bench's
// drain) does not wait for a whole step's transactions.
func TestPositionFollowsTheLedger(t *testing.T) {
	// 24 batches of 500 alerts: one step, 12 lanes of two batches.
	batches := 24
	log := manyBatches(batches, MaxPerTx/2, 1<<30)
	r := newLedgerRaiser(t, false)
	r.delay = time.Millisecond
	a, err := New(quietCfg(t), log, flagUsers{}, r)
	if err != nil {
		t.Fatal(err)
	}
	r.status = a.Status
	end := uint64(len(log.events))
	runFor(t, a, func() bool { return a.Status().Watermark == end })
	r.mu.Lock()
	defer r.mu.Unlock()
	var moves []uint64
	for _, p := range r.posAt {
		if len(moves) == 0 || moves[len(moves)-1] != p {
			moves = append(moves, p)
		}
	}
	// Moving once per step would show one position (0) while raising.
	if want := 4; len(moves) < want {
		t.Fatalf("%d positions while raising (%v), want at least %d", len(moves), moves, want)
	}
	for i := 1; i < len(moves); i++ {
		if moves[i] < moves[i-1] {
			t.Fatalf("positions while raising %v: went back", moves)
		}
		if d := moves[i] - moves[i-1]; d > maxAlertsPerStep {
			t.Fatalf("positions while raising %v: a move of %d events, want at most %d (one alert each)", moves, d, maxAlertsPerStep)
		}
	}
}

// TestStepRaisesWhatIsScored: a step scores its first batch if it must,
// but takes later batches only once they are scored (by scoreAhead), so
// alerts ready to go never wait for detection of the batches after them.
func TestStepRaisesWhatIsScored(t *testing.T) {
	tests := []struct {
		name     string
		prescore bool
		wantPos  uint64
	}{
		{"nothing scored ahead: the first batch only", false, 2},
		{"all scored ahead: every anchored batch", true, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := newLog([]string{"bad0", "ok", "bad1", "ok", "bad2", "ok"}, []int{2, 2, 2}, 3)
			r := &fakeRaiser{}
			a, err := New(quietCfg(t), log, flagUsers{}, r)
			if err != nil {
				t.Fatal(err)
			}
			if tt.prescore {
				scoreAll(t, a)
			}
			if _, err := a.step(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := a.Status().Position; got != tt.wantPos {
				t.Fatalf("position after one step = %d, want %d", got, tt.wantPos)
			}
			if got, want := len(r.ids()), int(tt.wantPos/2); got != want {
				t.Fatalf("raised %d alerts, want %d", got, want)
			}
		})
	}
}

// failBatch fails, transiently, every transaction that holds an alert of
// batch while down is set; the others go to the ledgerRaiser. sent counts
// the alerts of each batch passed on (re-sent ones again).
type failBatch struct {
	*ledgerRaiser
	batch string
	down  bool // guarded by ledgerRaiser.mu, as are fails and sent
	fails int
	sent  map[string]int
}

func (f *failBatch) RaiseAlerts(ctx context.Context, alerts []wire.Alert) (wire.RaiseResult, error) {
	f.mu.Lock()
	if f.down && slices.ContainsFunc(alerts, func(a wire.Alert) bool { return a.BatchID == f.batch }) {
		f.fails++
		f.mu.Unlock()
		return wire.RaiseResult{}, &gateway.LedgerUnavailableError{Op: "RaiseAlerts", Stage: gateway.StageEndorse, Err: errors.New("endorsement timeout")}
	}
	for _, a := range alerts {
		f.sent[a.BatchID]++
	}
	f.mu.Unlock()
	return f.ledgerRaiser.RaiseAlerts(ctx, alerts)
}

// TestFailedLaneHoldsPositionAndWatermark: when lane k fails (even when
// tried again alone) while lane k+1 commits, the position and the
// durable watermark stop at lane k's first batch, never past it; a
// restart resumes there and raises lane k again, and lane k+1's alerts
// again too, which the ledger answers as existing (nothing created
// twice), and nothing before lane k.
func TestFailedLaneHoldsPositionAndWatermark(t *testing.T) {
	const k = 1
	log := manyBatches(4, MaxPerTx, 1<<30) // one lane per batch
	lr := newLedgerRaiser(t, false)
	lr.delay = time.Millisecond
	r := &failBatch{ledgerRaiser: lr, batch: log.batches[k].ID, down: true, sent: map[string]int{}}
	cfg := quietCfg(t)
	a, err := New(cfg, log, flagUsers{}, r)
	if err != nil {
		t.Fatal(err)
	}
	scoreAll(t, a)
	if _, err := a.step(context.Background()); !errors.Is(err, gateway.ErrLedgerUnavailable) {
		t.Fatalf("step = %v, want the lane's transient failure", err)
	}
	laneK := log.batches[k].TreeSizeBefore
	if st := a.Status(); st.Position != laneK || st.Watermark != laneK {
		t.Fatalf("after lane %d failed: position %d, watermark %d; want both %d (its first batch)", k, st.Position, st.Watermark, laneK)
	}
	r.mu.Lock()
	fails, stored := r.fails, len(r.stored)
	r.mu.Unlock()
	if fails < 2 {
		t.Fatalf("lane %d failed %d times, want at least 2 (concurrently, then alone)", k, fails)
	}
	if want := (len(log.batches) - 1) * MaxPerTx; stored != want {
		t.Fatalf("%d alerts committed, want %d (every lane but lane %d)", stored, want, k)
	}

	// Restart on the same state directory, the ledger up again.
	r.mu.Lock()
	r.down = false
	r.mu.Unlock()
	b, err := New(cfg, log, flagUsers{}, r)
	if err != nil {
		t.Fatal(err)
	}
	if st := b.Status(); st.Position != laneK || st.Watermark != laneK {
		t.Fatalf("after restart: position %d, watermark %d; want both %d", st.Position, st.Watermark, laneK)
	}
	scoreAll(t, b)
	end := uint64(len(log.events))
	for b.Status().Watermark < end {
		if progressed, err := b.step(context.Background()); err != nil || !progressed {
			t.Fatalf("step after restart = %v, %v; want progress", progressed, err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if got, want := len(r.stored), len(log.events); got != want {
		t.Fatalf("stored %d alerts, want %d", got, want)
	}
	if got, want := b.Status().Raised, uint64(MaxPerTx); got != want {
		t.Fatalf("the restart created %d alerts, want %d (lane %d's only; the rest existed)", got, want, k)
	}
	for i, bt := range log.batches {
		want := 2 * MaxPerTx // sent before the failure and again after the restart
		switch {
		case i < k:
			want = MaxPerTx // committed before lane k: not raised again
		case i == k:
			want = MaxPerTx // refused before, sent once after the restart
		}
		if got := r.sent[bt.ID]; got != want {
			t.Errorf("alerts of batch %d sent %d times in all, want %d", i, got, want)
		}
	}
}

// hangOnce never answers, once, the transaction holding alerts of batch
// until its context ends (a transaction the orderers lost), then commits
// as ledgerRaiser does.
type hangOnce struct {
	*ledgerRaiser
	firstOf
}

func (h *hangOnce) RaiseAlerts(ctx context.Context, alerts []wire.Alert) (wire.RaiseResult, error) {
	if h.picks(alerts) {
		<-ctx.Done()
		return wire.RaiseResult{}, &gateway.LedgerUnavailableError{Op: "RaiseAlerts", Stage: gateway.StageCommit, Err: ctx.Err()}
	}
	return h.ledgerRaiser.RaiseAlerts(ctx, alerts)
}

// TestLostTransactionDoesNotHoldTheStep: a RaiseAlerts call that never
// returns is abandoned at raiseAttemptTimeout and its transaction
// committed again within the same step, so the step ends with every alert
// stored once (before the bound, one lost transaction held the step and
// its other lanes for ever).
func TestLostTransactionDoesNotHoldTheStep(t *testing.T) {
	saved := raiseAttemptTimeout
	raiseAttemptTimeout = 50 * time.Millisecond
	t.Cleanup(func() { raiseAttemptTimeout = saved })
	log := manyBatches(4, MaxPerTx, 1<<30)
	r := &hangOnce{ledgerRaiser: newLedgerRaiser(t, false), firstOf: firstOf{batch: log.batches[1].ID}}
	a, err := New(quietCfg(t), log, flagUsers{}, r)
	if err != nil {
		t.Fatal(err)
	}
	scoreAll(t, a)
	type result struct {
		progressed bool
		err        error
	}
	done := make(chan result, 1)
	go func() {
		p, err := a.step(context.Background())
		done <- result{p, err}
	}()
	select {
	case got := <-done:
		if got.err != nil || !got.progressed {
			t.Fatalf("step = %v, %v; want progress without an error", got.progressed, got.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the step is still waiting after 10s for a transaction that never returns")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checkStoredOnce(len(log.events))
}

// anchorOnFirst anchors the log's remaining batches when the first
// transaction arrives, as the anchorer does while a step's transaction
// is in flight, and wakes the alerter as the anchorer would.
type anchorOnFirst struct {
	*ledgerRaiser
	log  *memLog
	a    *Alerter
	once sync.Once
}

func (r *anchorOnFirst) RaiseAlerts(ctx context.Context, alerts []wire.Alert) (wire.RaiseResult, error) {
	r.once.Do(func() {
		for i := 1; i < len(r.log.batches); i++ {
			r.log.anchor(i)
		}
		r.a.Wake()
	})
	return r.ledgerRaiser.RaiseAlerts(ctx, alerts)
}

// TestAnchoredWhileRaisingJoinsTheStep: batches anchored while a step's
// transaction is in flight go out in a transaction of their own at once
// (two in flight), not after the step's transaction committed; the
// position and the watermark end past all of them, each alert stored
// once. A sequential alerter (one transaction in flight after conflicts)
// does not join: it waits for the step, as before.
func TestAnchoredWhileRaisingJoinsTheStep(t *testing.T) {
	tests := []struct {
		name     string
		inFlight int
		wantJoin bool // more than one transaction in flight at once
	}{
		{"concurrent alerter joins", MaxInFlight, true},
		{"sequential alerter waits", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := manyBatches(4, 3, 1<<30) // batch 0 anchored, 1..3 sealed
			sealFrom(log, 1)
			lr := newLedgerRaiser(t, false)
			lr.delay = 300 * time.Millisecond // longer than scoring the sealed batches ahead
			r := &anchorOnFirst{ledgerRaiser: lr, log: log}
			a, err := New(quietCfg(t), log, flagUsers{}, r)
			if err != nil {
				t.Fatal(err)
			}
			r.a = a
			a.inFlight = tt.inFlight
			end := uint64(len(log.events))
			runFor(t, a, func() bool { return a.Status().Watermark == end })
			lr.mu.Lock()
			defer lr.mu.Unlock()
			if got := lr.maxFlight > 1; got != tt.wantJoin {
				t.Errorf("joined = %v (at most %d transactions in flight), want %v", got, lr.maxFlight, tt.wantJoin)
			}
			lr.checkStoredOnce(len(log.events))
			if got := a.Status().Position; got != end {
				t.Errorf("position %d, want %d", got, end)
			}
		})
	}
}

// joinFails is anchorOnFirst failing, transiently, every transaction
// holding an alert of batch while down is set.
type joinFails struct {
	*anchorOnFirst
	batch string
	down  atomic.Bool
	// joined records a failed transaction sent while another was in
	// flight: the failing batch had joined a step.
	joined atomic.Bool
}

func (r *joinFails) RaiseAlerts(ctx context.Context, alerts []wire.Alert) (wire.RaiseResult, error) {
	if r.down.Load() && slices.ContainsFunc(alerts, func(a wire.Alert) bool { return a.BatchID == r.batch }) {
		r.once.Do(func() {}) // a failing first call anchors nothing
		r.mu.Lock()
		if len(r.inFlight) > 0 {
			r.joined.Store(true)
		}
		r.mu.Unlock()
		return wire.RaiseResult{}, &gateway.LedgerUnavailableError{Op: "RaiseAlerts", Stage: gateway.StageEndorse, Err: errors.New("endorsement timeout")}
	}
	return r.anchorOnFirst.RaiseAlerts(ctx, alerts)
}

// TestFailedJoinedLaneHoldsPositionAndWatermark: when a batch that
// joined a step fails (even tried again alone), the position and the
// durable watermark stop at its start, never past it, though the step's
// own batch committed; once the ledger takes it, every alert is stored
// once and the watermark reaches the end.
func TestFailedJoinedLaneHoldsPositionAndWatermark(t *testing.T) {
	log := manyBatches(4, 3, 1<<30)
	sealFrom(log, 1)
	lr := newLedgerRaiser(t, false)
	lr.delay = 300 * time.Millisecond
	r := &joinFails{anchorOnFirst: &anchorOnFirst{ledgerRaiser: lr, log: log}, batch: log.batches[2].ID}
	r.down.Store(true)
	a, err := New(quietCfg(t), log, flagUsers{}, r)
	if err != nil {
		t.Fatal(err)
	}
	r.a = a
	hold := log.batches[2].TreeSizeBefore
	runFor(t, a, func() bool { return a.Status().LastError != "" })
	if !r.joined.Load() {
		t.Fatal("batch 2 was not sent while the step's transaction was in flight: it did not join the step")
	}
	st := a.Status()
	if st.Position > hold || st.Watermark > hold {
		t.Fatalf("position %d, watermark %d with batch 2 (from %d) not committed, want at most %d", st.Position, st.Watermark, hold, hold)
	}
	r.down.Store(false)
	end := uint64(len(log.events))
	runFor(t, a, func() bool { return a.Status().Watermark == end })
	lr.mu.Lock()
	defer lr.mu.Unlock()
	lr.checkStoredOnce(len(log.events))
}

// commitClock is a ledger whose every transaction takes delay and which
// records when each batch's alerts committed.
type commitClock struct {
	delay time.Duration

	mu        sync.Mutex
	committed map[string]time.Time // by batch id
}

func (c *commitClock) RaiseAlerts(_ context.Context, alerts []wire.Alert) (wire.RaiseResult, error) {
	time.Sleep(c.delay)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range alerts {
		c.committed[a.BatchID] = time.Now()
	}
	return wire.RaiseResult{Created: len(alerts)}, nil
}

// BenchmarkAnchoredToCommitted replays the action bench's shape without
// a network: a batch of a few alerts anchored every 150 ms, each
// RaiseAlerts transaction taking 200 ms (the timeline of scripts/bench.sh
// action measured 230-260 ms per raise and 1.5 anchor cycles per batch),
// and reports how long a batch's alerts took from its anchoring to their
// commit: ms_mean and ms_p90, with the step joining batches anchored
// while its transaction is in flight ("join") and with one transaction
// in flight, which joins nothing and is what a step of one lane did
// before ("wait"). Run with -benchtime 1x.
func BenchmarkAnchoredToCommitted(b *testing.B) {
	const (
		batches = 40
		period  = 150 * time.Millisecond
	)
	for _, bc := range []struct {
		name     string
		inFlight int
	}{{"join", MaxInFlight}, {"wait", 1}} {
		b.Run(bc.name, func(b *testing.B) {
			var waits []time.Duration
			for range b.N {
				log := manyBatches(batches, 3, 1<<30)
				sealFrom(log, 0)
				c := &commitClock{delay: 200 * time.Millisecond, committed: map[string]time.Time{}}
				a, err := New(quietCfg(b), log, flagUsers{}, c)
				if err != nil {
					b.Fatal(err)
				}
				a.inFlight = bc.inFlight
				anchored := make([]time.Time, batches)
				cancel, done := startRun(a)
				for i := range batches {
					time.Sleep(period)
					anchored[i] = time.Now()
					log.anchor(i)
					a.Wake()
				}
				for end := uint64(len(log.events)); a.Status().Watermark != end; {
					time.Sleep(5 * time.Millisecond)
				}
				cancel()
				<-done
				for i, bt := range log.batches {
					waits = append(waits, c.committed[bt.ID].Sub(anchored[i]))
				}
			}
			slices.Sort(waits)
			var sum time.Duration
			for _, w := range waits {
				sum += w
			}
			b.ReportMetric(float64(sum.Milliseconds())/float64(len(waits)), "ms_mean")
			b.ReportMetric(float64(waits[len(waits)*9/10].Milliseconds()), "ms_p90")
		})
	}
}
