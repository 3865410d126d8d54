package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
)

// benchAnchorCapacity measures how many batch anchors the channel commits
// when several gateways of one organisation anchor at once: each gateway
// id (enrolled by scripts/bench.sh and bound to its own identity) anchors
// its own log's batches in order, one at a time, as the real anchorer
// does, for duration d. The figure that matters for sizing is
// anchors/s × events per batch: the event rate the ledger can anchor for
// all gateways together. A transaction committed invalid (an MVCC or
// phantom conflict) counts in anchor_commit_conflicts: the keys of
// different gateways are disjoint, so the expected number is 0. Other
// refusals are retried after 20 ms, as the anchorer retries, and counted
// in anchor_retries: an endorser one block behind the peer that reported
// the previous commit refuses the next batch as not continuing the log.
func benchAnchorCapacity(ctx context.Context, runDir string, gatewayIDs []string, eventsPerBatch uint64, d time.Duration) error {
	if len(gatewayIDs) == 0 {
		return errors.New("anchorcap needs -gateways")
	}
	type result struct {
		lat       []time.Duration
		retries   int
		conflicts int
		firstErr  error
	}
	results := make([]result, len(gatewayIDs))
	ledgers := make([]*fabric.Ledger, len(gatewayIDs))
	starts := make([]uint64, len(gatewayIDs))
	for i, id := range gatewayIDs {
		c, err := dial(ctx, runDir, "org1", "gateway-"+id)
		if err != nil {
			return fmt.Errorf("gateway %s: %w", id, err)
		}
		defer c.Close()
		ledgers[i] = fabric.NewLedger(c, wire.Channel, wire.Chaincode)
		if starts[i], err = ledgers[i].AnchoredSize(ctx, "Org1MSP", id); err != nil {
			return fmt.Errorf("gateway %s: anchored size: %w", id, err)
		}
	}
	deadline := time.Now().Add(d)
	began := time.Now()
	var wg sync.WaitGroup
	for i, id := range gatewayIDs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			size := starts[i]
			for time.Now().Before(deadline) && ctx.Err() == nil {
				b := syntheticBatch("Org1MSP", id, size, eventsPerBatch)
				t0 := time.Now()
				if _, err := ledgers[i].AnchorBatch(ctx, b); err != nil {
					var unavailable *gateway.LedgerUnavailableError
					if errors.As(err, &unavailable) && unavailable.Stage == gateway.StageCommit {
						results[i].conflicts++
					} else {
						results[i].retries++
					}
					if results[i].firstErr == nil {
						results[i].firstErr = err
					}
					time.Sleep(20 * time.Millisecond)
					continue
				}
				results[i].lat = append(results[i].lat, time.Since(t0))
				size += eventsPerBatch
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(began)
	var lat []time.Duration
	retries, conflicts := 0, 0
	for i, r := range results {
		lat = append(lat, r.lat...)
		retries += r.retries
		conflicts += r.conflicts
		if r.firstErr != nil {
			fmt.Printf("# gateway %s: first failure: %v\n", gatewayIDs[i], r.firstErr)
		}
	}
	n := len(gatewayIDs)
	txPerS := float64(len(lat)) / elapsed.Seconds()
	report(fmt.Sprintf("anchor_tx_per_s_%dgw", n), txPerS, "tx/s")
	report(fmt.Sprintf("anchor_capacity_events_per_s_%dgw", n), txPerS*float64(eventsPerBatch), "events/s")
	if len(lat) > 0 {
		report(fmt.Sprintf("anchor_latency_p50_ms_%dgw", n), ms(percentile(lat, 50)), "ms")
		report(fmt.Sprintf("anchor_latency_p99_ms_%dgw", n), ms(percentile(lat, 99)), "ms")
	}
	report(fmt.Sprintf("anchor_commit_conflicts_%dgw", n), float64(conflicts), "tx")
	report(fmt.Sprintf("anchor_retries_%dgw", n), float64(retries), "tx")
	return nil
}

// syntheticBatch is a batch of gateway id extending its log from tree size
// before by n events: a real batch's shape with a made-up root, which the
// chaincode cannot tell apart (it never sees events).
func syntheticBatch(msp, id string, before, n uint64) gateway.Batch {
	var seed [16]byte
	binary.BigEndian.PutUint64(seed[:8], before)
	binary.BigEndian.PutUint64(seed[8:], n)
	sum := sha256.Sum256(append([]byte(id), seed[:]...))
	root := hex.EncodeToString(sum[:])
	now := time.Now().UTC()
	return gateway.Batch{
		ID: gateway.BatchID(msp, id, before, before+n, root), GatewayMSP: msp, GatewayID: id,
		TreeSizeBefore: before, TreeSizeAfter: before + n, RootHash: root,
		FirstSeq: before, LastSeq: before + n - 1, TimeFrom: now.Add(-time.Second), TimeTo: now,
		ClassCounts: map[string]int{"network": int(n)},
	}
}
