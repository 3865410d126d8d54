package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/test/replay"
)

// benchAction measures telemetry → committed alert → action executed
// latency: NSL-KDD test rows go to a running gateway over HEC at rate
// events/s for d, each stamped with its send time; the demo receiver the
// gateway's responder calls reports, per action, the time since that
// event was sent. Without background load the rows are mixed (about one
// in eight an attack). With background > 0 the timed rows are attacks only
// and a second stream sends synthetic flow records (no model scores them) at
// background events/s in 200-event requests, so the gateway stores,
// scores, anchors and answers under real load (rate = background/100
// gives about 1 % attacks).
func benchAction(ctx context.Context, url, hecToken, receiver, dataDir string, rate, background int, d time.Duration) error {
	rows, err := kddEnvelopes(dataDir)
	if err != nil {
		return err
	}
	var bgSent atomic.Int64
	var bgFailed atomic.Int64
	bgDone := make(chan struct{})
	if background > 0 {
		_, attacks := splitRows(rows)
		rows = attacks
		bgCtx, stop := context.WithTimeout(ctx, d)
		defer stop()
		go func() {
			defer close(bgDone)
			backgroundLoad(bgCtx, url, hecToken, background, &bgSent, &bgFailed)
		}()
	} else {
		close(bgDone)
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
	var fgWG sync.WaitGroup
	var fgErr atomic.Value
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
		// Sent without waiting for the previous answer, so a slow
		// acknowledgement under load does not lower the offered rate.
		fgWG.Add(1)
		go func() {
			defer fgWG.Done()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/services/collector/event", bytes.NewReader(body))
			req.Header.Set("Authorization", "Splunk "+hecToken)
			req.Header.Set("X-Splunk-Request-Channel", "7c4f1b0e-8d2a-4f4e-9b1c-2a6d5e3f0a11")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				fgErr.CompareAndSwap(nil, err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				fgErr.CompareAndSwap(nil, fmt.Errorf("HEC status %d", resp.StatusCode))
			}
		}()
		sent += perReq
	}
	fgWG.Wait()
	if err, _ := fgErr.Load().(error); err != nil {
		return err
	}
	<-bgDone
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
	if background > 0 {
		report("action_background_events_per_s", float64(bgSent.Load())/d.Seconds(), "events/s")
		report("action_background_failed_requests", float64(bgFailed.Load()), "requests")
	}
	report("action_samples", float64(st.Samples), "actions")
	report("action_latency_p50_ms", st.P50, "ms")
	report("action_latency_p99_ms", st.P99, "ms")
	return nil
}

// splitRows separates kddEnvelopes' rows into normal ones and attacks.
func splitRows(rows []map[string]any) (normal, attacks []map[string]any) {
	for i, r := range rows {
		if i%8 == 7 {
			attacks = append(attacks, r)
		} else {
			normal = append(normal, r)
		}
	}
	return normal, attacks
}

// backgroundLoad sends flow records over HEC at rate events/s in
// 200-event requests (at most 64 in flight, so a slow answer does not
// lower the offered rate) until ctx ends.
func backgroundLoad(ctx context.Context, url, hecToken string, rate int, sent, failed *atomic.Int64) {
	const perReq = 200
	flows := syntheticFlows(perReq)
	tick := time.NewTicker(time.Duration(float64(time.Second) * perReq / float64(rate)))
	defer tick.Stop()
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		body := stamp(bytes.Join(flows, []byte("\n")), i, 0) // a fresh nonce per request
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			req, _ := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodPost, url+"/services/collector/event", bytes.NewReader(body))
			req.Header.Set("Authorization", "Splunk "+hecToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				failed.Add(1)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				failed.Add(1)
				return
			}
			sent.Add(perReq)
		}()
	}
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

// benchOutcomeTransactions reads every response of gateway gatewayID from
// the ledger (ListResponses as the Org1 admin) and reports how their
// outcomes were recorded: outcomes, the distinct transactions that
// recorded them, outcomes per transaction and those transactions per
// second over the span between the first and the last outcome — the
// ledger load the responder added. It also splits the action latency in
// two from the ledger's timestamps: event sent (the alert's event time,
// for a sample of 200 responses) to the proposal that created the
// response (RaiseAlerts), and that proposal to the proposal recording its
// first outcome (the connector was called in between).
func benchOutcomeTransactions(ctx context.Context, runDir, gatewayID string) error {
	c, err := dial(ctx, runDir, "org1", "")
	if err != nil {
		return err
	}
	defer c.Close()
	contract := c.Contract(wire.Channel, wire.Chaincode, wire.ContractResponses)
	filter, err := json.Marshal(wire.ResponseFilter{GatewayID: gatewayID})
	if err != nil {
		return err
	}
	var responses, outcomes int
	txs := map[string]bool{}
	var first, last time.Time
	var decided []time.Duration
	var sample []wire.Response
	for bookmark := ""; ; {
		raw, err := contract.EvaluateWithContext(ctx, wire.TxListResponses, client.WithArguments(string(filter), "1000", bookmark))
		if err != nil {
			return fmt.Errorf("list responses: %w", err)
		}
		var page wire.Page[wire.Response]
		if err := json.Unmarshal(raw, &page); err != nil {
			return fmt.Errorf("decode responses: %w", err)
		}
		for _, r := range page.Records {
			responses++
			if len(r.Outcomes) > 0 {
				decided = append(decided, r.Outcomes[0].At.Sub(r.CreatedAt.Time))
				if responses%25 == 0 && len(sample) < 200 {
					sample = append(sample, r)
				}
			}
			for _, o := range r.Outcomes {
				outcomes++
				txs[o.TxID] = true
				at := o.At.Time
				if first.IsZero() || at.Before(first) {
					first = at
				}
				if at.After(last) {
					last = at
				}
			}
		}
		if page.Bookmark == "" {
			break
		}
		bookmark = page.Bookmark
	}
	report("action_responses", float64(responses), "responses")
	report("action_outcomes", float64(outcomes), "outcomes")
	report("action_outcome_transactions", float64(len(txs)), "transactions")
	if len(txs) > 0 {
		report("action_outcomes_per_transaction", float64(outcomes)/float64(len(txs)), "outcomes")
	}
	if span := last.Sub(first).Seconds(); span > 0 {
		report("action_outcome_tx_per_s", float64(len(txs))/span, "tx/s")
	}
	if len(decided) > 0 {
		report("action_decided_to_outcome_p50_ms", ms(percentile(decided, 50)), "ms")
		report("action_decided_to_outcome_p99_ms", ms(percentile(decided, 99)), "ms")
	}
	alerts := c.Contract(wire.Channel, wire.Chaincode, wire.ContractAlerts)
	var toDecide []time.Duration
	for _, r := range sample {
		raw, err := alerts.EvaluateWithContext(ctx, wire.TxGetAlert, client.WithArguments(r.BatchID, r.AlertID))
		if err != nil {
			return fmt.Errorf("get alert: %w", err)
		}
		var a wire.Alert
		if err := json.Unmarshal(raw, &a); err != nil {
			return fmt.Errorf("decode alert: %w", err)
		}
		toDecide = append(toDecide, r.CreatedAt.Sub(a.EventTime.Time))
	}
	if len(toDecide) > 0 {
		report("action_sent_to_decided_p50_ms", ms(percentile(toDecide, 50)), "ms")
		report("action_sent_to_decided_p99_ms", ms(percentile(toDecide, 99)), "ms")
	}
	return nil
}
