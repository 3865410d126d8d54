package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// benchIngest drives a running gateway's NDJSON endpoint with concurrent
// clients for d, then waits until everything acknowledged is anchored. It
// reports acknowledged events/s, acknowledgement latency, the end-to-end
// rate (HTTP in, fsync, Merkle, anchored on the ledger), and, measured in
// the same run on the same bytes, the machine's raw limit for the work no
// gateway can avoid (SHA-256 of each event and JSON parsing of the body).
func benchIngest(ctx context.Context, url, token string, d time.Duration, clients, perReq int) error {
	bodies := make([][]byte, 64)
	for i := range bodies {
		bodies[i] = ndjsonBody(i, perReq)
	}
	var (
		acked     atomic.Int64
		failed    atomic.Int64
		mu        sync.Mutex
		latencies []time.Duration
	)
	httpc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; time.Now().Before(deadline) && ctx.Err() == nil; n++ {
				// Distinct content per request, as real traffic has (a
				// repeat would be stored too: each request without an
				// Idempotency-Key is a new occurrence).
				body := bytes.Replace(bodies[(c+n)%len(bodies)], []byte(`"r":"000000000000"`), fmt.Appendf(nil, `"r":"%06d%06d"`, c, n%1000000), -1)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/events", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+token)
				t0 := time.Now()
				resp, err := httpc.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
					time.Sleep(50 * time.Millisecond)
					continue
				}
				lat := time.Since(t0)
				acked.Add(int64(perReq))
				mu.Lock()
				latencies = append(latencies, lat)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	ingestElapsed := time.Since(start)
	size, err := waitAllAnchored(ctx, httpc, url, token)
	if err != nil {
		return err
	}
	e2eElapsed := time.Since(start)

	limit := rawLimit(bodies)
	ingest := float64(acked.Load()) / ingestElapsed.Seconds()
	report("ingest_acked_events_per_s", ingest, "events/s")
	report("ingest_events_per_s", float64(size)/e2eElapsed.Seconds(), "events/s")
	report("ingest_limit_events_per_s", limit, "events/s")
	report("ingest_vs_limit_ratio", (float64(size)/e2eElapsed.Seconds())/limit, "ratio")
	report("ack_latency_p50_ms", ms(percentile(latencies, 50)), "ms")
	report("ack_latency_p99_ms", ms(percentile(latencies, 99)), "ms")
	report("ingest_failed_requests", float64(failed.Load()), "requests")
	return nil
}

// ndjsonBody builds n events of about 300 bytes, shaped like a flow record.
func ndjsonBody(seed, n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"sourcetype":"zeek:conn","host":"sensor-%02d","event":{"r":"000000000000","i":%d,"event.category":"network","source.ip":"10.1.%d.%d","source.port":%d,"destination.ip":"203.0.113.%d","destination.port":443,"network.transport":"tcp","bytes":%d,"duration":%d.%03d}}`+"\n",
			seed%16, i, i%250, seed%250, 1024+i, i%250, 500+i*7, i%30, i%1000)
	}
	return b.Bytes()
}

func waitAllAnchored(ctx context.Context, c *http.Client, url, token string) (uint64, error) {
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/v1/checkpoint", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		if err == nil {
			var cp struct {
				Size         uint64 `json:"size"`
				AnchoredSize uint64 `json:"anchored_size"`
			}
			err = json.NewDecoder(resp.Body).Decode(&cp)
			resp.Body.Close()
			if err == nil && cp.Size > 0 && cp.AnchoredSize >= cp.Size {
				return cp.Size, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return 0, fmt.Errorf("the gateway did not anchor everything within 10 minutes")
}

// rawLimit measures, on all cores, parsing each body's lines as JSON and
// hashing each line with SHA-256: the floor of work per event.
func rawLimit(bodies [][]byte) float64 {
	workers := runtime.GOMAXPROCS(0)
	const rounds = 20
	var events atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				body := bodies[(w+r)%len(bodies)]
				for line := range bytes.SplitSeq(bytes.TrimSpace(body), []byte("\n")) {
					var v map[string]any
					if json.Unmarshal(line, &v) == nil {
						sum := sha256.Sum256(line)
						_ = sum
						events.Add(1)
					}
				}
			}
		}()
	}
	wg.Wait()
	return float64(events.Load()) / time.Since(start).Seconds()
}
