package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
)

// alertLoad is one RaiseAlerts load level: alerts per transaction and
// transactions kept in flight (enough to saturate the peers' CPU, no more:
// more in flight starves the committer, as DESIGN.md records).
type alertLoad struct {
	perTx    int
	inFlight int
	// repeat > 1 makes a deduplication stream: each transaction's
	// detections name perTx/repeat entities new to the run, each detected
	// repeat times, so (repeat-1)/repeat of all detections repeat one
	// already seen.
	repeat int
}

// dedupLoad is the deduplication stream: 1000 detections per transaction,
// 90 % of them repeats (ten per entity).
var dedupLoad = alertLoad{perTx: 1000, inFlight: 6, repeat: 10}

// benchDedupCategory is the category of the dedup stream's detections; the
// bench dedup rule matches only it, so the other loads are not merged.
const benchDedupCategory = "bench-dedup"

var alertLoads = []alertLoad{{perTx: 1, inFlight: 96}, {perTx: 100, inFlight: 32}, {perTx: 1000, inFlight: 6}}

// alertLoadsFromEnv lets a developer probe one level: LG_BENCH_ALERT_LOADS="1000x1".
func alertLoadsFromEnv(s string) ([]alertLoad, error) {
	var out []alertLoad
	for _, f := range strings.Split(s, ",") {
		var l alertLoad
		if _, err := fmt.Sscanf(f, "%dx%d", &l.perTx, &l.inFlight); err != nil {
			return nil, fmt.Errorf("load %q: want PERTXxINFLIGHT: %w", f, err)
		}
		out = append(out, l)
	}
	return out, nil
}

// setsPerBatch is how many RaiseAlerts transactions a worker sends
// against one batch before it moves to its next batch (LG_BENCH_SETS_PER_BATCH).
// A gateway raises a batch's alerts in one transaction, so 1 is the
// realistic default; each further set makes the next RaiseAlerts of that
// batch read one more set (the per-batch replay check).
func setsPerBatch() (int, error) {
	env := os.Getenv("LG_BENCH_SETS_PER_BATCH")
	if env == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(env)
	if err != nil || n < 1 || n > wire.MaxAlertSetsPerBatch {
		return 0, fmt.Errorf("LG_BENCH_SETS_PER_BATCH=%q: want 1..%d", env, wire.MaxAlertSetsPerBatch)
	}
	return n, nil
}

// benchAlerts raises alerts at each load level for d, counting only alerts
// in transactions committed valid. Concurrent RaiseAlerts for one batch
// conflict (a phantom read of the batch's alert sets), so every in-flight
// worker has its own gateway id, its own identity bound to that id (and so
// its own connection), and its own chain of batches: it anchors
// its first batch before the clock starts, then anchors its next batch in
// the background while it raises against the current one. Anchors are
// counted (anchor_tx_per_s) but not as alerts.
func benchAlerts(ctx context.Context, runDir string, d time.Duration) error {
	sets, err := setsPerBatch()
	if err != nil {
		return err
	}
	model := wire.Model{ID: "bench-model", Version: "1", SHA256: hexHash([]byte("bench-model"))}
	loads := alertLoads
	if env := os.Getenv("LG_BENCH_ALERT_LOADS"); env != "" {
		if loads, err = alertLoadsFromEnv(env); err != nil {
			return err
		}
	}
	run := time.Now().UnixNano()
	best := 0.0
	for _, load := range loads {
		clients, err := workerClients(ctx, runDir, fmt.Sprintf("bench-%d-%d", run, load.perTx), load.inFlight)
		if err != nil {
			return err
		}
		r, err := raiseLoad(ctx, clients, model, load, sets, d)
		for _, c := range clients {
			_ = c.Close()
		}
		if err != nil {
			return err
		}
		rate := float64(r.committed) / r.elapsed.Seconds()
		best = max(best, rate)
		report(fmt.Sprintf("alerts_committed_per_s_batch%d", load.perTx), rate, "alerts/s")
		report(fmt.Sprintf("raise_tx_per_s_batch%d", load.perTx), float64(r.txOK)/r.elapsed.Seconds(), "tx/s")
		report(fmt.Sprintf("raise_tx_latency_p50_ms_batch%d", load.perTx), ms(percentile(r.latencies, 50)), "ms")
		report(fmt.Sprintf("raise_tx_latency_p99_ms_batch%d", load.perTx), ms(percentile(r.latencies, 99)), "ms")
		report(fmt.Sprintf("raise_tx_mvcc_conflicts_batch%d", load.perTx), float64(r.conflicts), "tx")
		report(fmt.Sprintf("raise_tx_failed_batch%d", load.perTx), float64(r.failed), "tx")
		report(fmt.Sprintf("anchor_tx_per_s_batch%d", load.perTx), float64(r.anchors)/r.elapsed.Seconds(), "tx/s")
		report(fmt.Sprintf("raise_endorse_retries_batch%d", load.perTx), float64(r.retries), "tx")
	}
	report("alerts_committed_per_s_nodedup", best, "alerts/s")

	// Deduplication on: a consortium dedup rule (approved by both orgs)
	// over a stream where 90 % of detections repeat. Every detection is
	// counted (created or merged into an alert whose count grows);
	// alert_records_written_ratio is detections per alert record written.
	if err := ensureBenchDedupRule(ctx, runDir); err != nil {
		return err
	}
	dedupClients, err := workerClients(ctx, runDir, fmt.Sprintf("bench-%d-dedup", run), dedupLoad.inFlight)
	if err != nil {
		return err
	}
	r, err := raiseLoad(ctx, dedupClients, model, dedupLoad, sets, d)
	for _, c := range dedupClients {
		_ = c.Close()
	}
	if err != nil {
		return err
	}
	report("alerts_committed_per_s", float64(r.committed)/r.elapsed.Seconds(), "alerts/s")
	report("raise_tx_per_s_dedup", float64(r.txOK)/r.elapsed.Seconds(), "tx/s")
	report("raise_tx_latency_p50_ms_dedup", ms(percentile(r.latencies, 50)), "ms")
	report("raise_tx_mvcc_conflicts_dedup", float64(r.conflicts), "tx")
	if r.created > 0 {
		report("alert_records_written_ratio", float64(r.created+r.merged)/float64(r.created), "detections/record")
	}
	if r.created+r.merged != r.committed {
		return fmt.Errorf("dedup stream: %d detections committed but the ledger accounted for %d created + %d merged", r.committed, r.created, r.merged)
	}
	return nil
}

// ensureBenchDedupRule proposes (as Org1's author) and approves (as both
// orgs' admins) the bench's dedup rule; on a network that already has it
// every step is an idempotent replay.
func ensureBenchDedupRule(ctx context.Context, runDir string) error {
	rule := wire.HygieneRule{ID: "bench-dedup", Version: 1, Kind: wire.RuleDedup, Description: "bench: merge repeated detections",
		Condition: fmt.Sprintf("alert.category == %q", benchDedupCategory), WindowSeconds: 3600}
	arg, err := json.Marshal(rule)
	if err != nil {
		return err
	}
	steps := []struct {
		org, identity, tx string
		args              []string
	}{
		{"org1", "author", wire.TxProposeHygieneRule, []string{string(arg)}},
		{"org1", "", wire.TxApproveHygieneRule, []string{rule.ID, "1"}},
		{"org2", "", wire.TxApproveHygieneRule, []string{rule.ID, "1"}},
	}
	for _, s := range steps {
		c, err := dial(ctx, runDir, s.org, s.identity)
		if err != nil {
			return err
		}
		_, err = c.Contract(wire.Channel, wire.Chaincode, wire.ContractHygiene).SubmitWithContext(ctx, s.tx, client.WithArguments(s.args...))
		c.Close()
		if err != nil {
			return fmt.Errorf("bench dedup rule: %s as %s/%s: %w", s.tx, s.org, s.identity, err)
		}
	}
	return nil
}

func hexHash(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// benchBatch returns the n-th batch (from 0) of bench gateway gw: one leaf
// each, spanning an hour either side of now so any alert time fits.
func benchBatch(msp, gw string, n uint64, model wire.Model) wire.Batch {
	now := time.Now().UTC()
	root := hexHash([]byte(fmt.Sprintf("%s/%d", gw, n)))
	b := wire.Batch{
		MSP: msp, GatewayID: gw, TreeSizeBefore: n, TreeSizeAfter: n + 1, RootHash: root,
		FirstSeq: n, LastSeq: n,
		FirstEventTime: wire.NewTime(now.Add(-time.Hour)), LastEventTime: wire.NewTime(now.Add(time.Hour)),
		ClassCounts: map[string]uint64{"flow": 1}, Models: []wire.Model{model},
	}
	b.ID = wire.BatchID(msp, gw, n, n+1, root)
	return b
}

// pendingAnchor is an AnchorBatch in progress in its own goroutine.
type pendingAnchor struct {
	batch wire.Batch
	done  chan struct{}
	err   error
}

// submitAnchor anchors b in the background. The endorsement is retried
// briefly: the previous batch of the same gateway may be committed on one
// peer and not yet on the other, which then refuses the next batch as not
// continuing its log.
func submitAnchor(ctx context.Context, c *fabric.Client, b wire.Batch) *pendingAnchor {
	p := &pendingAnchor{batch: b, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		arg, err := json.Marshal(b)
		if err != nil {
			p.err = err
			return
		}
		var commit *client.Commit
		for attempt := 0; ; attempt++ {
			_, commit, err = c.Contract(wire.Channel, wire.Chaincode, wire.ContractEvents).SubmitAsync(wire.TxAnchorBatch, client.WithArguments(string(arg)))
			var ee *client.EndorseError
			if err == nil || !errors.As(err, &ee) || attempt == 20 || ctx.Err() != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			p.err = fmt.Errorf("anchor bench batch %s: %w", b.ID, err)
			return
		}
		st, err := commit.StatusWithContext(ctx)
		switch {
		case err != nil:
			p.err = fmt.Errorf("anchor bench batch %s: %w", b.ID, err)
		case !st.Successful:
			p.err = fmt.Errorf("anchor bench batch %s: %w", b.ID, &client.CommitError{TransactionID: st.TransactionID, Code: st.Code})
		}
	}()
	return p
}

// wait returns the batch once its anchor committed valid.
func (p *pendingAnchor) wait() (wire.Batch, error) {
	<-p.done
	return p.batch, p.err
}

// submitRaise endorses and submits a RaiseAlerts, the alerts in the
// transient map as the gateway sends them (gateway/fabric), retrying the
// endorsement briefly while the batch's anchor is committed on one peer
// and not yet on the other; retries counts those retries.
func submitRaise(contract *client.Contract, arg string, retries *atomic.Int64) ([]byte, *client.Commit, error) {
	for attempt := 0; ; attempt++ {
		result, commit, err := contract.SubmitAsync(wire.TxRaiseAlerts, client.WithArguments(""),
			client.WithTransient(map[string][]byte{wire.TransientAlerts: []byte(arg)}))
		var ee *client.EndorseError
		if err == nil || !errors.As(err, &ee) || attempt == 10 {
			return result, commit, err
		}
		retries.Add(1)
		time.Sleep(50 * time.Millisecond)
	}
}

// workerClients enrols (scripts/network.sh add-gateway, one call for all)
// an Org1 identity bound to each worker's gateway id gwPrefix-wN and dials
// one client per worker as that identity: the chaincode lets only the
// identity bound to a gateway id anchor and raise alerts for it. A
// client's gateway id is clients[w].gatewayID.
func workerClients(ctx context.Context, runDir, gwPrefix string, n int) ([]*workerClient, error) {
	abs, err := filepath.Abs(runDir)
	if err != nil {
		return nil, err
	}
	ids := make([]string, n)
	for w := range ids {
		ids[w] = fmt.Sprintf("%s-w%d", gwPrefix, w)
	}
	cmd := exec.CommandContext(ctx, filepath.Join("scripts", "network.sh"), append([]string{"add-gateway", "Org1"}, ids...)...)
	cmd.Env = append(os.Environ(), "LEDGERGUARD_RUN_DIR="+abs)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if _, err := cmd.Output(); err != nil {
		return nil, fmt.Errorf("enrol bench gateway identities (run from the repository root): %w\n%s", err, stderr.String())
	}
	clients := make([]*workerClient, 0, n)
	for _, id := range ids {
		c, err := dial(ctx, runDir, "org1", "gateway-"+id)
		if err != nil {
			for _, c := range clients {
				_ = c.Close()
			}
			return nil, err
		}
		clients = append(clients, &workerClient{Client: c, gatewayID: id})
	}
	return clients, nil
}

// workerClient is one worker's client, bound to its gateway id.
type workerClient struct {
	*fabric.Client
	gatewayID string
}

type loadResult struct {
	committed, txOK, conflicts, failed, anchors, retries int64
	// created and merged sum the committed RaiseResults: alert records
	// written and detections merged into an existing alert.
	created, merged int64
	latencies       []time.Duration
	elapsed         time.Duration
}

func raiseLoad(ctx context.Context, clients []*workerClient, model wire.Model, load alertLoad, sets int, d time.Duration) (loadResult, error) {
	var (
		res       loadResult
		mu        sync.Mutex
		committed atomic.Int64
		retries   atomic.Int64
		firstErr  error
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	// Each worker's first batch is anchored before the clock starts.
	first := make([]wire.Batch, load.inFlight)
	var setup sync.WaitGroup
	for w := range load.inFlight {
		setup.Add(1)
		go func() {
			defer setup.Done()
			c := clients[w]
			b, err := submitAnchor(ctx, c.Client, benchBatch(c.MSPID(), c.gatewayID, 0, model)).wait()
			if err != nil {
				fail(err)
			}
			first[w] = b
		}()
	}
	setup.Wait()
	if firstErr != nil {
		return res, firstErr
	}
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range load.inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := clients[w].Client
			contract := c.Contract(wire.Channel, wire.Chaincode, wire.ContractAlerts)
			b, n, used := first[w], uint64(0), 0
			stream := 0 // the dedup stream's next new entity of this worker
			var next *pendingAnchor
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if used == sets {
					nb, err := next.wait()
					if err != nil {
						fail(err)
						return
					}
					mu.Lock()
					res.anchors++
					mu.Unlock()
					b, next, used = nb, nil, 0
				}
				if next == nil && used+1 == sets {
					// Anchor the next batch while raising the last set
					// of this one: it is ready when needed.
					n++
					next = submitAnchor(ctx, c, benchBatch(b.MSP, b.GatewayID, n, model))
				}
				var arg string
				var err error
				if load.repeat > 1 {
					arg, err = benchDedupJSON(b, model, load.perTx, load.repeat, w, &stream)
				} else {
					arg, err = benchAlertsJSON(b, model, load.perTx)
				}
				if err != nil {
					fail(err)
					return
				}
				t0 := time.Now()
				result, commit, err := submitRaise(contract, arg, &retries)
				if err == nil {
					var st *client.Status
					if st, err = commit.StatusWithContext(ctx); err == nil && !st.Successful {
						err = &client.CommitError{TransactionID: st.TransactionID, Code: st.Code}
					}
				}
				lat := time.Since(t0)
				mu.Lock()
				var ce *client.CommitError
				switch {
				case err == nil:
					var rr wire.RaiseResult
					if json.Unmarshal(result, &rr) == nil {
						res.created += int64(rr.Created)
						res.merged += int64(len(rr.Merged))
					}
					res.txOK++
					res.latencies = append(res.latencies, lat)
					committed.Add(int64(load.perTx))
					used++
				case errors.As(err, &ce) && (ce.Code == peer.TxValidationCode_MVCC_READ_CONFLICT || ce.Code == peer.TxValidationCode_PHANTOM_READ_CONFLICT):
					res.conflicts++
				default:
					res.failed++
					if firstErr == nil && res.failed > 10 {
						firstErr = fmt.Errorf("RaiseAlerts x%d: %w", load.perTx, err)
					}
				}
				mu.Unlock()
			}
			mu.Lock()
			res.elapsed = max(res.elapsed, time.Since(start))
			mu.Unlock()
			if next != nil {
				_, _ = next.wait() // let the last anchor settle before the next level
			}
		}()
	}
	wg.Wait()
	res.committed = committed.Load()
	res.retries = retries.Load()
	return res, firstErr
}

func benchAlertsJSON(b wire.Batch, model wire.Model, n int) (string, error) {
	alerts := make([]wire.Alert, n)
	raw := make([]byte, 32*n)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	t := wire.NewTime(time.Now().UTC())
	for i := range alerts {
		eh := hex.EncodeToString(raw[32*i : 32*i+32])
		alerts[i] = wire.Alert{
			ID: wire.AlertID(b.MSP, b.GatewayID, eh, model.ID, model.Version), MSP: b.MSP, GatewayID: b.GatewayID,
			EventHash: eh, BatchID: b.ID, EventTime: t, Detector: model, Score: 0.97, Severity: wire.SeverityHigh,
			Category: "T1110", Asset: fmt.Sprintf("host-%d", i%50), Principal: "p" + eh[:16],
			Fields: map[string]string{"source_ip": "10.0.0." + fmt.Sprint(i%250), "protocol": "tcp"},
		}
	}
	out, err := json.Marshal(alerts)
	return string(out), err
}

// benchDedupJSON returns n detections on perTx/repeat entities new to
// worker w (numbered from *next), each detected repeat times with its own
// event, in the bench dedup rule's category.
func benchDedupJSON(b wire.Batch, model wire.Model, n, repeat, w int, next *int) (string, error) {
	alerts := make([]wire.Alert, n)
	raw := make([]byte, 32*n)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	t := wire.NewTime(time.Now().UTC())
	base := *next
	*next += (n + repeat - 1) / repeat
	for i := range alerts {
		eh := hex.EncodeToString(raw[32*i : 32*i+32])
		alerts[i] = wire.Alert{
			ID: wire.AlertID(b.MSP, b.GatewayID, eh, model.ID, model.Version), MSP: b.MSP, GatewayID: b.GatewayID,
			EventHash: eh, BatchID: b.ID, EventTime: t, Detector: model, Score: 0.97, Severity: wire.SeverityHigh,
			Category: benchDedupCategory, Asset: fmt.Sprintf("%s-host-%d", b.GatewayID, base+i/repeat), Principal: fmt.Sprintf("w%d", w),
			Fields: map[string]string{"source_ip": "10.0.0." + fmt.Sprint(i%250), "protocol": "tcp"},
		}
	}
	out, err := json.Marshal(alerts)
	return string(out), err
}
