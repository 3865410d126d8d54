// Command bench measures ledgerguard against the real network that
// scripts/bench.sh starts, and prints each figure as one line
// "BENCH <name> <value> <unit>" so runs can be compared by a script.
//
// Scenarios: submit (latency of sequential submits and evaluates),
// commit (sequential submit latency and heartbeat commit throughput of the
// network as it is, labelled: scripts/bench.sh runs it with two and with
// three organisations), and
// alerts (RaiseAlerts throughput and latency at 1, 100 and 1000 alerts per
// transaction, then with a dedup rule over a stream where 90 % of
// detections repeat: alerts_committed_per_s counts every detection
// committed, alert_records_written_ratio detections per alert record),
// ingest (a running gateway's end-to-end event rate over NDJSON or HEC,
// acknowledgement latency at half that rate, and the raw limit),
// action (telemetry-to-action latency through detection and the responder),
// intel (ShareIndicators throughput, see intel.go), taxii (TAXII pages
// over a large intel catalog; no network needed), anchorcap (anchoring
// capacity with several gateways) and immudb (the reference store).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
)

func main() {
	runDir := flag.String("run-dir", "network/run", "network state folder holding the connection profiles")
	scenario := flag.String("scenario", "submit", "scenario to run: submit, alerts, ingest, action, anchorcap, immudb, intel, intel-share, taxii, commit")
	duration := flag.Duration("duration", 15*time.Second, "how long each load level (alerts) or the load (ingest) runs")
	url := flag.String("url", "http://127.0.0.1:8088", "gateway URL (ingest)")
	token := flag.String("token", "", "gateway token with ndjson and read scopes (ingest)")
	clients := flag.Int("clients", 32, "concurrent HTTP clients (ingest)")
	perReq := flag.Int("per-request", 1000, "events per request (ingest)")
	protocol := flag.String("protocol", "ndjson", "ingest protocol: ndjson or hec (ingest)")
	latencyFor := flag.Duration("latency-for", 0, "length of the latency phase at half the measured rate, 0 for none (ingest, ndjson)")
	latencyRate := flag.Float64("latency-rate", 0, "with -latency-for: skip saturation and run one latency phase at this many events/s (ingest, ndjson)")
	pprofURL := flag.String("pprof-url", "", "the gateway's debug.pprof_listen as a URL: with -profile-dir, trace and profile each latency phase (ingest)")
	profileDir := flag.String("profile-dir", "", "folder for the latency phases' traces and CPU profiles (ingest)")
	latencyPerReq := flag.Int("latency-per-request", 100, "events per request in the latency phase (ingest)")
	limitDir := flag.String("limit-dir", "", "folder for the raw limit's files, on the store's disk; empty skips the limit (ingest, ndjson)")
	receiver := flag.String("receiver", "http://127.0.0.1:18190", "demo receiver URL (action)")
	gatewayID := flag.String("gateway-id", "", "the action gateway's id: with -run-dir, its responses are read from the ledger afterwards for the outcome transaction figures (action)")
	dataDir := flag.String("data", "../shared/data", "public datasets folder (action; ingest replays NSL-KDD from it when present)")
	rate := flag.Int("rate", 40, "events per second (action)")
	background := flag.Int("background", 0, "background events per second of normal traffic (action; 0 = none)")
	n := flag.Int("n", 200, "number of transactions")
	gateways := flag.String("gateways", "", "comma-separated gateway ids anchoring at once (anchorcap)")
	eventsPerBatch := flag.Uint64("events-per-batch", 50000, "events each anchored batch covers (anchorcap)")
	keyID := flag.String("key-id", "", "consortium indicator key id (intel-share)")
	keyFile := flag.String("key-file", "", "file holding the key's secret in hex (intel-share)")
	preload := flag.Int("preload", 0, "indicators shared before timing (intel-share)")
	label := flag.String("label", "", "suffix of the figures' names (commit)")
	inflight := flag.Int("inflight", 32, "transactions in flight (commit)")
	intelInFlight := flag.Int("intel-in-flight", intelLoad.inFlight, "ShareIndicators transactions in flight (intel)")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	var err error
	switch *scenario {
	case "submit":
		err = benchSubmit(ctx, *runDir, *n)
	case "alerts":
		err = benchAlerts(ctx, *runDir, *duration)
	case "commit":
		err = benchCommit(ctx, *runDir, *label, *n, *inflight, *duration)
	case "ingest":
		err = benchIngest(ctx, ingestConfig{
			URL: *url, Token: *token, Protocol: *protocol, Duration: *duration, Clients: *clients, PerRequest: *perReq,
			LatencyFor: *latencyFor, LatencyPerRequest: *latencyPerReq, LatencyRate: *latencyRate, PprofURL: *pprofURL, ProfileDir: *profileDir, LimitDir: *limitDir, DataDir: *dataDir,
		})
	case "intel":
		intelLoad.inFlight = *intelInFlight
		err = benchIntel(ctx, *runDir, *duration)
	case "action":
		err = benchAction(ctx, *url, *token, *receiver, *dataDir, *rate, *background, *duration)
		if err == nil && *gatewayID != "" {
			err = benchOutcomeTransactions(ctx, *runDir, *gatewayID)
		}
	case "anchorcap":
		err = benchAnchorCapacity(ctx, *runDir, strings.Split(*gateways, ","), *eventsPerBatch, *duration)
	case "immudb":
		err = benchImmudb(ctx, *dataDir, *duration)
	case "taxii":
		err = benchTAXII(ctx, *n, 1000, 100)
	case "intel-share":
		err = benchIntelShare(ctx, *runDir, *url, *keyID, *keyFile, *n, *preload)
	default:
		err = fmt.Errorf("unknown scenario %q", *scenario)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// dial connects as an enrolled identity of org; "" is the org admin.
func dial(ctx context.Context, runDir, org, identity string) (*fabric.Client, error) {
	p, err := fabric.LoadProfile(filepath.Join(runDir, "connection-"+org+".json"))
	if err != nil {
		return nil, err
	}
	if identity == "" {
		return fabric.Dial(ctx, p) // the org admin
	}
	return fabric.Dial(ctx, p, fabric.WithIdentity(identity))
}

// benchSubmit submits n heartbeats one after another (each waits for its
// commit) and evaluates n reads, reporting latency percentiles.
func benchSubmit(ctx context.Context, runDir string, n int) error {
	c, err := dial(ctx, runDir, "org1", "gateway")
	if err != nil {
		return err
	}
	defer c.Close()
	contract := c.Contract(wire.Channel, wire.Chaincode, wire.ContractSystem)
	// Warm up connections and the chaincode.
	if _, err := contract.SubmitWithContext(ctx, wire.TxHeartbeat, client.WithArguments("warm-up")); err != nil {
		return fmt.Errorf("warm-up submit: %w", err)
	}
	submits := make([]time.Duration, 0, n)
	for i := range n {
		start := time.Now()
		if _, err := contract.SubmitWithContext(ctx, wire.TxHeartbeat, client.WithArguments(fmt.Sprintf("bench %d", i))); err != nil {
			return fmt.Errorf("submit %d: %w", i, err)
		}
		submits = append(submits, time.Since(start))
	}
	evals := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if _, err := contract.EvaluateWithContext(ctx, wire.TxPing); err != nil {
			return fmt.Errorf("evaluate: %w", err)
		}
		evals = append(evals, time.Since(start))
	}
	report("submit_latency_p50_ms", ms(percentile(submits, 50)), "ms")
	report("submit_latency_p99_ms", ms(percentile(submits, 99)), "ms")
	report("evaluate_latency_p50_ms", ms(percentile(evals, 50)), "ms")
	report("evaluate_latency_p99_ms", ms(percentile(evals, 99)), "ms")
	return nil
}

func report(name string, value float64, unit string) {
	fmt.Printf("BENCH %s %.3f %s\n", name, value, unit)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// percentile returns the nearest-rank percentile p (0-100] of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(p/100*float64(len(s))+0.999999) - 1
	rank = max(0, min(rank, len(s)-1))
	return s[rank]
}
