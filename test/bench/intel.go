package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
	"github.com/ledgerguard/ledgerguard/gateway/intel"
)

// intelLoad is the ShareIndicators load: indicators per transaction and
// shares kept in flight (as for alerts, enough to keep the peers' CPU
// busy without starving the committer).
var intelLoad = struct{ perTx, inFlight int }{perTx: 1000, inFlight: 6}

// benchIntel shares CLEAR and GREEN indicators of mixed types (domains,
// URLs, SHA-256 file hashes, IPv4 addresses) as Org1's author for
// duration, each share prepared (canonicalised, keyed-hashed, salted) by
// intel.Prepare and submitted through the ledger client with its values
// in the transient map, and prints the committed indicators per second
// and the per-share latency, against a same-run baseline of public
// records only. Every value is new to its phase, so every indicator is a
// real write (public record + its value in a private value pack). A third
// phase times the two stages of a share (intel_share_endorse_p50_ms,
// intel_share_commit_p50_ms) to show where its time goes. Run in a
// network namespace of its own (as the project's scripts run it), it also
// prints the CPU time the whole network spent per indicator in the first
// two phases (intel_share_cpu_us_per_indicator,
// intel_public_only_cpu_us_per_indicator): the figure to compare builds
// by on a machine other work shares.
func benchIntel(ctx context.Context, runDir string, duration time.Duration) error {
	c, err := dial(ctx, runDir, "org1", "author")
	if err != nil {
		return err
	}
	defer c.Close()
	l := fabric.NewLedger(c, wire.Channel, wire.Chaincode)
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	key := intel.Key{ID: "bench", Secret: secret}
	// Baseline in the same run: the same records shared as AMBER+STRICT
	// without storing their values, i.e. ShareIndicators writing public
	// records only, so the ratio isolates what private data costs
	// whatever else loads the machine.
	cpu0, cpuOK := nsCPU()
	base, _, baseN, err := shareLoad(ctx, duration/3, func(in []intel.Input) error {
		for i := range in {
			in[i].TLP, in[i].Recipients = wire.TLPAmberStrict, []string{"Org1MSP"}
		}
		share, _, err := intel.Prepare("Org1MSP", key, in, nil)
		if err != nil {
			return err
		}
		_, err = c.Contract(wire.Channel, wire.Chaincode, wire.ContractIntel).SubmitWithContext(ctx, wire.TxShareIndicators,
			client.WithArguments(""), client.WithTransient(map[string][]byte{wire.TransientIntelShare: mustMarshal(share)}))
		return err
	})
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	baseCPU := cpuSince(cpu0)
	cpu0, _ = nsCPU()
	kinds0 := cpuKinds(cpu0)
	rate, p50, n, err := shareLoad(ctx, duration, func(in []intel.Input) error {
		share, values, err := intel.Prepare("Org1MSP", key, in, nil)
		if err != nil {
			return err
		}
		_, err = l.Share(ctx, share, values, key)
		return err
	})
	if err != nil {
		return err
	}
	sharedCPU := cpuSince(cpu0)
	kinds := cpuKindsSince(kinds0)
	endorse, commit, err := shareStages(ctx, c, key, duration/3)
	if err != nil {
		return fmt.Errorf("stages: %w", err)
	}
	fmt.Printf("BENCH intel_indicators_shared_per_s %.0f indicators/s\n", rate)
	fmt.Printf("BENCH intel_share_tx_p50_ms %.0f ms\n", float64(p50.Microseconds())/1000)
	fmt.Printf("BENCH intel_public_only_per_s %.0f indicators/s\n", base)
	fmt.Printf("BENCH intel_shared_vs_public_only_ratio %.2f ratio\n", rate/base)
	fmt.Printf("BENCH intel_indicators_per_share %d indicators\n", intelLoad.perTx)
	fmt.Printf("BENCH intel_shares_in_flight %d transactions\n", intelLoad.inFlight)
	fmt.Printf("BENCH intel_share_endorse_p50_ms %.0f ms\n", float64(endorse.Microseconds())/1000)
	fmt.Printf("BENCH intel_share_commit_p50_ms %.0f ms\n", float64(commit.Microseconds())/1000)
	if cpuOK && n > 0 && baseN > 0 {
		// CPU of the whole network per indicator: unlike the rates, it
		// does not fall when other work on the machine takes CPU away.
		fmt.Printf("BENCH intel_share_cpu_us_per_indicator %.0f us\n", float64(sharedCPU.Microseconds())/float64(n))
		fmt.Printf("BENCH intel_public_only_cpu_us_per_indicator %.0f us\n", float64(baseCPU.Microseconds())/float64(baseN))
		for _, k := range []string{"peer", "chaincode", "orderer", "other"} {
			fmt.Printf("BENCH intel_share_cpu_us_per_indicator_%s %.0f us\n", k, float64(kinds[k].Microseconds())/float64(n))
		}
	}
	return nil
}

// shareStages runs the same CLEAR/GREEN load for duration through the
// client's proposal API (the transaction ledger.Share submits, built
// here so its stages can be timed) and returns the median time to
// endorse a share (both organisations' peers simulate it: one
// chaincode-to-peer round trip per shim call) and to commit it once
// endorsed (ordering, then validation and commit, which waits for the
// peer's running simulations).
func shareStages(ctx context.Context, c *fabric.Client, key intel.Key, duration time.Duration) (time.Duration, time.Duration, error) {
	var (
		mu              sync.Mutex
		endorse, commit []time.Duration
	)
	contract := c.Contract(wire.Channel, wire.Chaincode, wire.ContractIntel)
	wk := mustMarshal(key.Wire())
	_, _, _, err := shareLoad(ctx, duration, func(in []intel.Input) error {
		share, values, err := intel.Prepare("Org1MSP", key, in, nil)
		if err != nil {
			return err
		}
		t0 := time.Now()
		prop, err := contract.NewProposal(wire.TxShareIndicators, client.WithArguments(""),
			client.WithTransient(map[string][]byte{wire.TransientIntelShare: mustMarshal(share), wire.TransientIntelValues: mustMarshal(values), wire.TransientIntelKey: wk}))
		if err != nil {
			return err
		}
		tx, err := prop.EndorseWithContext(ctx)
		if err != nil {
			return err
		}
		t1 := time.Now()
		sub, err := tx.SubmitWithContext(ctx)
		if err != nil {
			return err
		}
		st, err := sub.StatusWithContext(ctx)
		if err != nil {
			return err
		}
		if !st.Successful {
			return fmt.Errorf("share %s committed invalid (%v)", st.TransactionID, st.Code)
		}
		mu.Lock()
		endorse, commit = append(endorse, t1.Sub(t0)), append(commit, time.Since(t1))
		mu.Unlock()
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return percentile(endorse, 50), percentile(commit, 50), nil
}

// shareLoad runs share on batches of intelLoad.perTx fresh indicators
// from intelLoad.inFlight goroutines for duration and returns the
// indicators committed per second, the median batch latency and the
// number of indicators committed.
func shareLoad(ctx context.Context, duration time.Duration, share func([]intel.Input) error) (float64, time.Duration, int64, error) {
	run := time.Now().UnixNano()
	var (
		next      atomic.Int64
		committed atomic.Int64
		mu        sync.Mutex
		latencies []time.Duration
		firstErr  error
		wg        sync.WaitGroup
	)
	start := time.Now()
	stop := start.Add(duration)
	for w := 0; w < intelLoad.inFlight; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) && ctx.Err() == nil {
				base := next.Add(int64(intelLoad.perTx)) - int64(intelLoad.perTx)
				in := benchIndicators(run, base, intelLoad.perTx)
				t0 := time.Now()
				err := share(in)
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				latencies = append(latencies, time.Since(t0))
				mu.Unlock()
				committed.Add(int64(len(in)))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return 0, 0, 0, firstErr
	}
	if len(latencies) == 0 {
		return 0, 0, 0, fmt.Errorf("no share committed in %s", duration)
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	return float64(committed.Load()) / elapsed.Seconds(), latencies[len(latencies)/2], committed.Load(), nil
}

// cpuKinds splits a sample of nsCPU by the kind of process: "peer",
// "orderer", "chaincode" (the processes the peers launch through the
// external builder) and "other", keyed by pid so cpuKindsSince can take
// differences.
func cpuKinds(sample map[int]time.Duration) map[int]procCPU {
	out := make(map[int]procCPU, len(sample))
	for pid, t := range sample {
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil {
			continue
		}
		kind := strings.TrimSpace(string(comm))
		switch kind {
		case "peer", "orderer", "chaincode":
		default:
			kind = "other"
		}
		out[pid] = procCPU{kind: kind, cpu: t}
	}
	return out
}

type procCPU struct {
	kind string
	cpu  time.Duration
}

// cpuKindsSince returns the CPU time each kind of process (cpuKinds)
// used since before: where a share's CPU goes, the figure that says which
// side of the chaincode boundary a change helped.
func cpuKindsSince(before map[int]procCPU) map[string]time.Duration {
	now, ok := nsCPU()
	out := map[string]time.Duration{}
	if !ok {
		return out
	}
	for pid, p := range cpuKinds(now) {
		out[p.kind] += p.cpu - before[pid].cpu
	}
	return out
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // the wire shapes always encode
	}
	return b
}

// benchIndicators returns n indicator inputs numbered from base, cycling
// through four types, every value unique to the run.
func benchIndicators(run, base int64, n int) []intel.Input {
	now := time.Now().UTC()
	out := make([]intel.Input, n)
	for i := range out {
		k := base + int64(i)
		sum := sha256.Sum256(fmt.Appendf(nil, "%d/%d", run, k))
		in := intel.Input{Confidence: 80, TLP: wire.TLPGreen, ValidFrom: now, ValidUntil: now.Add(30 * 24 * time.Hour),
			Techniques: []string{"T1071"}, StixID: fmt.Sprintf("indicator--%x", sum[:16])}
		switch k % 4 {
		case 0:
			in.Type, in.Value, in.TLP = wire.IndicatorDomain, fmt.Sprintf("b%d-%d.bench.example", run, k), wire.TLPClear
		case 1:
			in.Type, in.Value = wire.IndicatorURL, fmt.Sprintf("http://b%d.bench.example/%d", run, k)
		case 2:
			in.Type, in.Value = wire.IndicatorSHA256, hex.EncodeToString(sum[:])
		default:
			// 198.18.0.0/15 (RFC 2544), distinct for the run's first
			// 524,288 indicators.
			a := (k / 4) % (1 << 17)
			in.Type, in.Value = wire.IndicatorIPv4, fmt.Sprintf("198.%d.%d.%d", 18+a>>16, a>>8&0xff, a&0xff)
		}
		out[i] = in
	}
	return out
}
