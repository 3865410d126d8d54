package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// benchCommit measures, for the network as it is now (scripts/bench.sh
// runs it with two organisations and again after a third joined, so both
// figures come from one run), the latency of n sequential heartbeat
// submits and the commit throughput of heartbeats with inflight
// transactions in flight for d. Each heartbeat writes one key of its own,
// so no two conflict; every one needs a majority of the channel's
// organisations to endorse it. Figures are named with the label
// (e.g. commit_tx_per_s_orgs3).
func benchCommit(ctx context.Context, runDir, label string, n, inflight int, d time.Duration) error {
	c, err := dial(ctx, runDir, "org1", "gateway")
	if err != nil {
		return err
	}
	defer c.Close()
	contract := c.Contract(wire.Channel, wire.Chaincode, wire.ContractSystem)
	// Warm up, and wait (bounded) until discovery plans endorsements on
	// every organisation a moment after a join.
	var werr error
	for range 60 {
		if _, werr = contract.SubmitWithContext(ctx, wire.TxHeartbeat, client.WithArguments("warm-up")); werr == nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if werr != nil {
		return fmt.Errorf("warm-up submit: %w", werr)
	}
	lat := make([]time.Duration, 0, n)
	for i := range n {
		start := time.Now()
		if _, err := contract.SubmitWithContext(ctx, wire.TxHeartbeat, client.WithArguments(fmt.Sprintf("bench %s %d", label, i))); err != nil {
			return fmt.Errorf("submit %d: %w", i, err)
		}
		lat = append(lat, time.Since(start))
	}
	report("commit_submit_latency_p50_ms_"+label, ms(percentile(lat, 50)), "ms")
	report("commit_submit_latency_p99_ms_"+label, ms(percentile(lat, 99)), "ms")

	var committed, failed atomic.Int64
	lctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for w := range inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; lctx.Err() == nil; i++ {
				_, err := contract.SubmitWithContext(ctx, wire.TxHeartbeat, client.WithArguments(fmt.Sprintf("load %s %d-%d", label, w, i)))
				if err != nil {
					failed.Add(1)
					continue
				}
				committed.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	report("commit_tx_per_s_"+label, float64(committed.Load())/elapsed.Seconds(), "tx/s")
	report("commit_failed_"+label, float64(failed.Load()), "tx")
	return nil
}
