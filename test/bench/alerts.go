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
}

var alertLoads = []alertLoad{{perTx: 1, inFlight: 96}, {perTx: 100, inFlight: 48}, {perTx: 1000, inFlight: 6}}

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

// benchAlerts anchors one batch for a bench gateway, then raises alerts
// that reference it at each load level for d, counting only alerts in
// transactions committed valid.
func benchAlerts(ctx context.Context, runDir string, d time.Duration) error {
	c, err := dial(ctx, runDir, "org1", "gateway")
	if err != nil {
		return err
	}
	defer c.Close()
	gw := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	model := wire.Model{ID: "bench-model", Version: "1", SHA256: hexHash([]byte("bench-model"))}
	batch, err := anchorBenchBatch(ctx, c, gw, model)
	if err != nil {
		return err
	}
	loads := alertLoads
	if env := os.Getenv("LG_BENCH_ALERT_LOADS"); env != "" {
		if loads, err = alertLoadsFromEnv(env); err != nil {
			return err
		}
	}
	best := 0.0
	for _, load := range loads {
		r, err := raiseLoad(ctx, c, batch, model, load, d)
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
	}
	report("alerts_committed_per_s", best, "alerts/s")
	return nil
}

func hexHash(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func anchorBenchBatch(ctx context.Context, c *fabric.Client, gw string, model wire.Model) (wire.Batch, error) {
	now := time.Now().UTC()
	root := hexHash([]byte(gw))
	b := wire.Batch{
		MSP: c.MSPID(), GatewayID: gw, TreeSizeBefore: 0, TreeSizeAfter: 1, RootHash: root,
		FirstSeq: 0, LastSeq: 0,
		FirstEventTime: wire.NewTime(now.Add(-time.Hour)), LastEventTime: wire.NewTime(now.Add(time.Hour)),
		ClassCounts: map[string]uint64{"flow": 1}, Models: []wire.Model{model},
	}
	b.ID = wire.BatchID(b.MSP, gw, 0, 1, root)
	arg, err := json.Marshal(b)
	if err != nil {
		return b, err
	}
	if _, err := c.Contract("lgchannel", "ledgerguard", "events").SubmitWithContext(ctx, "AnchorBatch", client.WithArguments(string(arg))); err != nil {
		return b, fmt.Errorf("anchor bench batch: %w", err)
	}
	return b, nil
}

type loadResult struct {
	committed, txOK, conflicts, failed int64
	latencies                          []time.Duration
	elapsed                            time.Duration
}

func raiseLoad(ctx context.Context, c *fabric.Client, b wire.Batch, model wire.Model, load alertLoad, d time.Duration) (loadResult, error) {
	contract := c.Contract("lgchannel", "ledgerguard", "alerts")
	var (
		res       loadResult
		mu        sync.Mutex
		committed atomic.Int64
		firstErr  error
	)
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range load.inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				arg, err := benchAlertsJSON(b, model, load.perTx)
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				t0 := time.Now()
				_, commit, err := contract.SubmitAsync("RaiseAlerts", client.WithArguments(arg))
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
					res.txOK++
					res.latencies = append(res.latencies, lat)
					committed.Add(int64(load.perTx))
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
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.committed = committed.Load()
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
