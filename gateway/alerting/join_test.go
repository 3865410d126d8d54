package alerting

import (
	"context"
	"errors"
	"math/rand"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
)

// flaky fails transactions at random, transiently or for good, before
// they reach the ledger, and sleeps a random while.
type flaky struct {
	*ledgerRaiser
	mu        sync.Mutex
	rng       *rand.Rand
	down      atomic.Bool
	transient float64
	rejected  float64
	storedBy  map[string]map[string]bool // batch -> alert ids stored
}

func (f *flaky) RaiseAlerts(ctx context.Context, alerts []wire.Alert) (wire.RaiseResult, error) {
	f.mu.Lock()
	p := f.rng.Float64()
	d := time.Duration(f.rng.Intn(15)+1) * time.Millisecond
	f.mu.Unlock()
	if f.down.Load() {
		switch {
		case p < f.transient:
			time.Sleep(d)
			return wire.RaiseResult{}, &gateway.LedgerUnavailableError{Op: "RaiseAlerts", Stage: gateway.StageEndorse, Err: errors.New("endorsement timeout")}
		case p < f.transient+f.rejected:
			return wire.RaiseResult{}, &gateway.LedgerRejectedError{Op: "RaiseAlerts", Stage: gateway.StageEndorse, Code: wire.CodeNotFound, Reason: "behind"}
		}
	}
	time.Sleep(d)
	res, err := f.ledgerRaiser.RaiseAlerts(ctx, alerts)
	if err == nil {
		f.mu.Lock()
		if f.storedBy == nil {
			f.storedBy = map[string]map[string]bool{}
		}
		for _, al := range alerts {
			if f.storedBy[al.BatchID] == nil {
				f.storedBy[al.BatchID] = map[string]bool{}
			}
			f.storedBy[al.BatchID][al.ID] = true
		}
		f.mu.Unlock()
	}
	return res, err
}

// sealFrom marks log's batches from first on sealed, not yet anchored
// (the tests anchor them one by one while the alerter runs).
func sealFrom(log *memLog, first int) {
	for i := first; i < len(log.batches); i++ {
		log.batches[i].State = gateway.BatchSealed
	}
}

// startRun runs a until cancel is called; done receives what Run returned.
func startRun(a *Alerter) (cancel context.CancelFunc, done <-chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	go func() { ch <- a.Run(ctx) }()
	return cancel, ch
}

// TestJoinInvariants: batches anchored continuously while random
// transactions fail; at every moment, every batch wholly below the
// position (and below the durable watermark) has all its alerts stored;
// at the end every alert is stored and counted raised once.
func TestJoinInvariants(t *testing.T) {
	for round := range 12 {
		const nb, per = 150, 2
		log := manyBatches(nb, per, 1<<30)
		sealFrom(log, 0)
		lr := newLedgerRaiser(t, false)
		f := &flaky{ledgerRaiser: lr, rng: rand.New(rand.NewSource(int64(round))), transient: 0.1, rejected: 0.03}
		f.down.Store(true)
		a, err := New(quietCfg(t), log, flagUsers{}, f)
		if err != nil {
			t.Fatal(err)
		}
		cancel, done := startRun(a)
		stopCheck := make(chan struct{})
		var checks, bad atomic.Int64
		var cw sync.WaitGroup
		cw.Go(func() {
			for {
				select {
				case <-stopCheck:
					return
				default:
				}
				st := a.Status()
				lim := max(st.Position, st.Watermark)
				log.mu.Lock()
				bs := append([]gateway.Batch(nil), log.batches...)
				log.mu.Unlock()
				f.mu.Lock()
				for _, b := range bs {
					if b.TreeSizeAfter > lim {
						break
					}
					if n := len(f.storedBy[b.ID]); n != per {
						bad.Add(1)
						t.Errorf("round %d: position %d watermark %d past batch %s (%d..%d) with %d of %d alerts stored", round, st.Position, st.Watermark, b.ID, b.TreeSizeBefore, b.TreeSizeAfter, n, per)
					}
				}
				f.mu.Unlock()
				checks.Add(1)
				if bad.Load() > 3 {
					return
				}
				time.Sleep(200 * time.Microsecond)
			}
		})
		for i := range log.batches {
			time.Sleep(time.Duration(rand.Intn(4)) * time.Millisecond)
			log.anchor(i)
			a.Wake()
		}
		time.Sleep(300 * time.Millisecond)
		f.down.Store(false)
		end := uint64(len(log.events))
		deadline := time.Now().Add(20 * time.Second)
		for a.Status().Watermark != end && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		close(stopCheck)
		cw.Wait()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v", err)
		}
		st := a.Status()
		if st.Watermark != end || st.Position != end {
			t.Fatalf("round %d: status %+v, want watermark and position %d", round, st, end)
		}
		lr.mu.Lock()
		if len(lr.stored) != len(log.events) {
			t.Errorf("round %d: stored %d, want %d", round, len(lr.stored), len(log.events))
		}
		lr.mu.Unlock()
		if st.Raised != uint64(len(log.events)) {
			t.Errorf("round %d: raised %d, want %d", round, st.Raised, len(log.events))
		}
		t.Logf("round %d: %d checks, max in flight %d, calls %d, conflicts %d", round, checks.Load(), lr.maxFlight, lr.calls, st.Conflicts)
	}
}

// TestCancelWhileJoining: cancelling Run while batches keep joining
// returns promptly and leaves no goroutine behind.
func TestCancelWhileJoining(t *testing.T) {
	before := runtime.NumGoroutine()
	for round := range 20 {
		log := manyBatches(60, 2, 1<<30)
		sealFrom(log, 0)
		lr := newLedgerRaiser(t, false)
		f := &flaky{ledgerRaiser: lr, rng: rand.New(rand.NewSource(int64(round)))}
		a, err := New(quietCfg(t), log, flagUsers{}, f)
		if err != nil {
			t.Fatal(err)
		}
		cancel, done := startRun(a)
		for i := range log.batches {
			if i == 20+round {
				cancel()
			}
			log.anchor(i)
			a.Wake()
			time.Sleep(time.Millisecond)
		}
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Run = %v", err)
			}
		case <-time.After(5 * time.Second):
			buf := make([]byte, 1<<20)
			t.Fatalf("Run did not return after cancel:\n%s", buf[:runtime.Stack(buf, true)])
		}
	}
	time.Sleep(100 * time.Millisecond)
	if after := runtime.NumGoroutine(); after > before+2 {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines before, %d after:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}

// TestJoinLanesWindow: offer is asked to join only within
// joinWindow, and is still asked (without joining) after it until it
// reports false.
func TestJoinLanesWindow(t *testing.T) {
	start := time.Now()
	changed := make(chan struct{}, 1)
	var lastJoin time.Time
	calls, after := 0, 0
	joinLanes(context.Background(), nil, changed, func(joinNow bool) bool {
		calls++
		now := time.Now()
		if joinNow {
			lastJoin = now
		} else if calls > 1 {
			after++
		}
		return now.Sub(start) < joinWindow+200*time.Millisecond
	})
	if d := lastJoin.Sub(start); d > joinWindow+5*time.Millisecond || d < joinWindow-2*joinPoll {
		t.Errorf("last join %v after start, want about %v", d, joinWindow)
	}
	if after == 0 {
		t.Error("not asked after the window")
	}
}

// gateRaiser holds the step's first transactions until release is
// closed and the joined batch's until late is closed.
type gateRaiser struct {
	entered       chan struct{}
	release, late chan struct{}
	lateBatch     string
}

func (g *gateRaiser) RaiseAlerts(ctx context.Context, alerts []wire.Alert) (wire.RaiseResult, error) {
	if alerts[0].BatchID == g.lateBatch {
		<-g.late
	} else {
		g.entered <- struct{}{}
		<-g.release
	}
	return wire.RaiseResult{Created: len(alerts)}, nil
}

// TestJoinSharesPlanArray: a join appends its lanes both to progress
// (pr.add under pr.mu) and to raiseLanes' list (under its own mu), while
// progress.committed reads progress's list under pr.mu alone; the two
// lists must not share spare capacity (raise clips progress's), or the
// join writes one element twice under different locks. Under -race it
// fails without the clip: the three lanes' workers recorded their results under mu before
// the join, then (held at the alerter's lock) call committed after it.
func TestJoinSharesPlanArray(t *testing.T) {
	log := manyBatches(4, 600, 1<<30) // 600 alerts a batch: one lane each
	log.batches[3].State = gateway.BatchSealed
	g := &gateRaiser{entered: make(chan struct{}, 8), release: make(chan struct{}), late: make(chan struct{}), lateBatch: log.batches[3].ID}
	a, err := New(quietCfg(t), log, flagUsers{}, g)
	if err != nil {
		t.Fatal(err)
	}
	scoreAll(t, a) // batch 3 scored ahead, not anchored
	if got := len(planTxs(make([]wire.Alert, 0), MaxPerTx, MaxPerBatchTx)); got != 0 {
		t.Fatal(got)
	}
	done := make(chan error, 1)
	go func() { _, err := a.step(context.Background()); done <- err }()
	for range 3 {
		<-g.entered
	}
	a.mu.Lock()
	close(g.release)
	time.Sleep(100 * time.Millisecond) // the three record their results, then wait for a.mu
	log.anchor(3)
	a.Wake()
	time.Sleep(200 * time.Millisecond) // the step joins batch 3
	a.mu.Unlock()
	time.Sleep(100 * time.Millisecond)
	close(g.late)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := a.Status(); st.Position != uint64(len(log.events)) {
		t.Fatalf("position %d, want %d", st.Position, len(log.events))
	}
}
