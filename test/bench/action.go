package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/ledgerguard/ledgerguard/test/replay"
)

// benchAction measures telemetry → committed alert → action executed
// latency under a steady load: NSL-KDD test rows (about one in eight an
// attack) go to a running gateway over HEC at rate events/s for d, each
// stamped with its send time; the demo receiver the gateway's responder
// calls reports, per action, the time since that event was sent.
func benchAction(ctx context.Context, url, hecToken, receiver, dataDir string, rate int, d time.Duration) error {
	rows, err := kddEnvelopes(dataDir)
	if err != nil {
		return err
	}
	if resp, err := http.Post(receiver+"/control/reset", "text/plain", nil); err != nil {
		return fmt.Errorf("demo receiver at %s: %w", receiver, err)
	} else {
		resp.Body.Close()
	}
	const perReq = 5
	interval := time.Duration(float64(time.Second) * perReq / float64(rate))
	tick := time.NewTicker(interval)
	defer tick.Stop()
	deadline := time.Now().Add(d)
	sent := 0
	for i := 0; time.Now().Before(deadline) && ctx.Err() == nil; i++ {
		<-tick.C
		var body []byte
		now := float64(time.Now().UnixNano()) / 1e9
		for j := range perReq {
			env := rows[(i*perReq+j)%len(rows)]
			env["time"] = now
			env["host"] = fmt.Sprintf("host-%d", (i*perReq+j)%500)
			b, _ := json.Marshal(env)
			body = append(body, b...)
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/services/collector/event", bytes.NewReader(body))
		req.Header.Set("Authorization", "Splunk "+hecToken)
		req.Header.Set("X-Splunk-Request-Channel", "7c4f1b0e-8d2a-4f4e-9b1c-2a6d5e3f0a11")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("HEC status %d", resp.StatusCode)
		}
		sent += perReq
	}
	time.Sleep(10 * time.Second) // let the last actions land
	var st struct {
		Actions map[string]int `json:"actions"`
		Samples int            `json:"latency_samples"`
		P50     float64        `json:"latency_p50_ms"`
		P99     float64        `json:"latency_p99_ms"`
	}
	resp, err := http.Get(receiver + "/stats")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return err
	}
	report("action_events_sent", float64(sent), "events")
	report("action_samples", float64(st.Samples), "actions")
	report("action_latency_p50_ms", st.P50, "ms")
	report("action_latency_p99_ms", st.P99, "ms")
	return nil
}

// kddEnvelopes reads NSL-KDD test rows (run from the repository root) as
// HEC envelopes, one neptune attack row per seven normal ones.
func kddEnvelopes(dataDir string) ([]map[string]any, error) {
	var normal, attack []map[string]any
	err := replay.NSLKDD(context.Background(), ".", dataDir, func(label string, env map[string]any) bool {
		switch {
		case label == "normal" && len(normal) < 700:
			normal = append(normal, env)
		case label == "neptune" && len(attack) < 100:
			attack = append(attack, env)
		}
		return len(normal) < 700 || len(attack) < 100
	})
	if err != nil {
		return nil, fmt.Errorf("the action benchmark replays NSL-KDD from %s: %w", dataDir, err)
	}
	if len(attack) == 0 {
		return nil, fmt.Errorf("no neptune rows in %s", dataDir)
	}
	var out []map[string]any
	for i := range normal {
		out = append(out, normal[i])
		if i%7 == 6 {
			out = append(out, attack[(i/7)%len(attack)])
		}
	}
	return out, nil
}
