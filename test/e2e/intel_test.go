package e2e

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
	"github.com/ledgerguard/ledgerguard/gateway/intel"
	"github.com/ledgerguard/ledgerguard/gateway/stix"
)

// blockReceiver stands in for Org2's firewall: it records every block_ip
// call (path /block/<response id>, body with the address).
type blockReceiver struct {
	mu    sync.Mutex
	calls map[string]string // response id → body
}

func newBlockReceiver(t *testing.T) (*blockReceiver, *httptest.Server) {
	r := &blockReceiver{calls: map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b := make([]byte, 4096)
		n, _ := req.Body.Read(b)
		r.mu.Lock()
		r.calls[strings.TrimPrefix(req.URL.Path, "/block/")] = string(b[:n])
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"rule-%d"}`, time.Now().UnixNano())
	}))
	t.Cleanup(srv.Close)
	return r, srv
}

func (r *blockReceiver) responses() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]string, len(r.calls))
	for k, v := range r.calls {
		out[k] = v
	}
	return out
}

// gauge reads one gauge of the gateway's /metrics (metrics.auth none).
func (g *gatewayProc) gauge(t *testing.T, name string) float64 {
	t.Helper()
	resp, err := http.Get(g.url + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, name+" ") {
			v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(line, name)), 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			return v
		}
	}
	t.Fatalf("/metrics has no %s (status %d)", name, resp.StatusCode)
	return 0
}

// waitGauge waits until cond accepts the gauge's value and returns how
// long that took.
func (g *gatewayProc) waitGauge(t *testing.T, name string, cond func(float64) bool, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		v := g.gauge(t, name)
		if cond(v) {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%s = %v after %s\n%s", name, v, within, g.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sendNDJSON posts events (flat ECS field maps) as NDJSON.
func (g *gatewayProc) sendNDJSON(t *testing.T, events ...map[string]any) {
	t.Helper()
	var body []byte
	for _, ev := range events {
		body = append(body, mustJSONString(t, map[string]any{"sourcetype": "ecs", "event": ev})...)
		body = append(body, '\n')
	}
	if st, resp := g.post("/v1/events", "Bearer "+ndjsonToken, "application/x-ndjson", body); st != http.StatusOK {
		t.Fatalf("NDJSON status %d: %s", st, resp)
	}
}

// TestIntelShareMatchRespondSighting is the threat-intelligence story on
// the real network: Org1 imports a Unit 42 STIX bundle; a second gateway
// running as Org2 (intel on) receives the indicators through the ledger's
// IntelChanged events and private data; an event carrying one of their
// domains raises an intel-match alert citing Org1's indicator; Org2's
// org-scoped policy answers it with block_ip, which Org2's responder
// carries out; the sighting reaches the ledger and Org1 reads it; an AMBER
// indicator Org1 shares with itself alone never reaches Org2's matcher;
// revocation removes the indicator from the matcher and stops matching.
func TestIntelShareMatchRespondSighting(t *testing.T) {
	bundle, err := os.ReadFile(filepath.Join(dataDir(t), "threat-intel-stix", "unit42_IcedID_Unit42_Intel.json"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	run := fmt.Sprint(time.Now().UnixNano())
	key := intelKey(t)
	keyFile := filepath.Join(t.TempDir(), "intel.key")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(key.Secret)), 0o600); err != nil {
		t.Fatal(err)
	}

	// Org2's policy: block the source address of any intel match of its
	// gateway. Org-scoped, so Org2 enacts it alone.
	gwID := "e2e-intel-" + run
	author2, admin2 := dial(t, "org2", "author"), dial(t, "org2", "")
	pol := wire.Policy{ID: "intel-block-" + run, Version: 1, Mode: wire.ModeEnforce, Scope: wire.ScopeOrg, Quorum: 1,
		Condition: fmt.Sprintf(`alert.model.name == %q && alert.gateway == %q && "source_ip" in alert.fields`, wire.DetectorIntelMatch, gwID),
		Actions: []wire.Action{{Type: wire.ActionBlockIP, Params: map[string]string{
			"ip": "{{alert.fields.source_ip}}", "reason": "intel match (alert {{alert.id}})"}}}}
	rspSubmit(ctx, t, author2, wire.ContractPolicies, wire.TxProposePolicy, nil, mustJSONString(t, pol))
	var got wire.Policy
	rspSubmit(ctx, t, admin2, wire.ContractPolicies, wire.TxApprovePolicy, &got, pol.ID, "1")
	if got.State != wire.PolicyActive {
		t.Fatalf("policy %s is %q after Org2's approval, want active", pol.ID, got.State)
	}
	recv, srv := newBlockReceiver(t)

	g2 := newGateway(t, gatewayOpts{org: "org2", id: gwID, batchMaxEvents: 100, batchMaxWait: 100 * time.Millisecond, extraConfig: fmt.Sprintf(`metrics: {auth: none}
intel:
  enabled: true
  keys: [{id: %s, secret_file: %q}]
  active_key: %s
  sightings_interval: 500ms
respond:
  enabled: true
  gateway_ids: [%s]
  checkpoint_file: state/respond.checkpoint
  journal_file: state/respond.journal
  workers: 2
  timeout: 5s
  retry: {attempts: 3, initial_backoff: 100ms, max_backoff: 1s}
  ledger_backoff: 2s
  actions:
    block_ip:
      rest:
        url: %s/block/{{pathescape .Request.ResponseID}}
        body: '{"ip": {{json .Params.ip}}}'
`, key.ID, keyFile, key.ID, gwID, srv.URL)})
	// The sync starts from block 0: wait until it has caught up with the
	// indicators earlier tests shared (its count stops moving).
	base := -1.0
	for stable := 0; stable < 10; {
		v := g2.gauge(t, "ledgerguard_intel_indicators")
		if v == base {
			stable++
		} else {
			base, stable = v, 0
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("Org2's matcher holds %v indicators from earlier shares", base)

	// Org1 imports the Unit 42 bundle.
	org1 := intelLedger(t, "org1", "author")
	imp, err := stix.Parse(bundle, stix.ImportOptions{TLP: wire.TLPGreen, Sharer: "Org1MSP", SkipUnshareable: true})
	if err != nil {
		t.Fatalf("parse the Unit 42 bundle: %v", err)
	}
	share, values, err := intel.Prepare("Org1MSP", key, imp.Inputs, nil)
	if err != nil {
		t.Fatal(err)
	}
	var domainID, domain string
	for i, v := range values {
		if v.Type == wire.IndicatorDomain && domain == "" {
			domainID, domain = share.Indicators[i].ID, v.Value
		}
	}
	if domain == "" {
		t.Fatal("the Unit 42 bundle has no domain indicator")
	}
	if _, err := org1.Share(ctx, share, values, key); err != nil {
		t.Fatalf("Org1 shares %d indicators: %v", len(share.Indicators), err)
	}
	ids := map[string]bool{}
	for _, ind := range share.Indicators {
		ids[ind.ID] = true
	}
	took := g2.waitGauge(t, "ledgerguard_intel_indicators", func(v float64) bool { return v >= base+float64(len(ids)) }, time.Minute)
	fmt.Printf("INTEL share_to_matcher_ms=%d (%d indicators committed by Org1 until Org2's matcher holds them)\n", took.Milliseconds(), len(ids))

	// An event resolving a subdomain of the shared domain, from an address
	// of the benchmarking range.
	src := "198.18.0.77"
	g2.sendNDJSON(t, map[string]any{"dns.question.name": "cdn." + domain, "source.ip": src, "destination.ip": "198.18.0.53"})

	// The policy's block_ip runs for the alert that cites Org1's indicator.
	reader2 := fabric.NewLedger(admin2, channelName, chaincodeName)
	alertOf := func(responseID string) wire.Alert {
		r := rspResponse(ctx, t, admin2, responseID)
		a, err := reader2.GetAlert(ctx, r.BatchID, r.AlertID)
		if err != nil {
			t.Fatalf("GetAlert %s of response %s: %v", r.AlertID, responseID, err)
		}
		return *a
	}
	var alert wire.Alert
	deadline := time.Now().Add(2 * time.Minute)
	for alert.ID == "" {
		for id, body := range recv.responses() {
			a := alertOf(id)
			if a.Detector.Version == domainID {
				alert = a
				if !strings.Contains(body, src) {
					t.Errorf("block_ip body %s does not name the event's source %s", body, src)
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no block_ip for an alert citing %s within 2 minutes\n%s", domainID, g2.log())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if alert.Detector.ID != wire.DetectorIntelMatch || alert.MSP != "Org2MSP" || alert.Fields[wire.AlertFieldIntelSharedBy] != "Org1MSP" ||
		alert.Detector.SHA256 != share.Indicators[indexOf(share, domainID)].Hash || alert.EventHash == "" || alert.BatchID == "" {
		t.Errorf("alert = %+v; want an Org2 intel-match citing Org1's indicator hash, with event hash and batch", alert)
	}

	// The sighting reaches the ledger, and Org1 reads it.
	deadline = time.Now().Add(time.Minute)
	for {
		p, err := org1.Sightings(ctx, domainID, 10, "")
		if err == nil && len(p.Records) > 0 && p.Records[0].ReportedBy == "Org2MSP" && p.Records[0].Count >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Org1 sees no sighting of %s by Org2 within a minute: %+v, %v", domainID, p, err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// AMBER for Org1 alone, then a GREEN marker share: once the marker is
	// in Org2's matcher the AMBER share was handled before it, and the
	// count grew by the marker only.
	before := g2.gauge(t, "ledgerguard_intel_indicators")
	amber, _, _ := shareOne(ctx, t, org1, "Org1MSP", key, intel.Input{Type: wire.IndicatorDomain, Value: "amber-" + run + ".example",
		Confidence: 90, TLP: wire.TLPAmber, Recipients: []string{"Org1MSP"}, ValidFrom: time.Now()})
	shareOne(ctx, t, org1, "Org1MSP", key, intel.Input{Type: wire.IndicatorDomain, Value: "marker-" + run + ".example",
		Confidence: 90, TLP: wire.TLPGreen, ValidFrom: time.Now()})
	g2.waitGauge(t, "ledgerguard_intel_indicators", func(v float64) bool { return v >= before+1 }, time.Minute)
	time.Sleep(time.Second)
	if v := g2.gauge(t, "ledgerguard_intel_indicators"); v != before+1 {
		t.Errorf("Org2's matcher grew by %v after an AMBER (Org1 only) and a GREEN share, want 1 (AMBER id %s)", v-before, amber.ID)
	}

	// Revocation: the indicator leaves Org2's matcher.
	before = g2.gauge(t, "ledgerguard_intel_indicators")
	if _, err := org1.Revoke(ctx, domainID, "e2e: revoked"); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	took = g2.waitGauge(t, "ledgerguard_intel_indicators", func(v float64) bool { return v <= before-1 }, time.Minute)
	fmt.Printf("INTEL revoke_to_unmatched_ms=%d\n", took.Milliseconds())
	// A new event with the revoked domain, then one with an IP indicator
	// of the bundle still active: once the second is answered, the first
	// raised nothing citing the revoked indicator.
	var ip, ipID string
	for i, v := range values {
		if v.Type == wire.IndicatorIPv4 {
			ip, ipID = v.Value, share.Indicators[i].ID
			break
		}
	}
	if ip == "" {
		t.Fatal("the Unit 42 bundle has no IPv4 indicator")
	}
	answered := map[string]bool{}
	for id := range recv.responses() {
		answered[id] = true
	}
	g2.sendNDJSON(t, map[string]any{"dns.question.name": domain, "source.ip": "198.18.0.78"})
	time.Sleep(500 * time.Millisecond) // a later batch
	g2.sendNDJSON(t, map[string]any{"destination.ip": ip, "source.ip": "198.18.0.79"})
	deadline = time.Now().Add(2 * time.Minute)
	for done := false; !done; {
		for id := range recv.responses() {
			if answered[id] {
				continue
			}
			answered[id] = true
			a := alertOf(id)
			switch a.Detector.Version {
			case domainID:
				t.Errorf("alert %s cites the revoked indicator %s", a.ID, domainID)
			case ipID:
				done = true
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no block_ip for the IPv4 indicator %s within 2 minutes\n%s", ipID, g2.log())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func indexOf(s wire.IndicatorShare, id string) int {
	for i, ind := range s.Indicators {
		if ind.ID == id {
			return i
		}
	}
	return 0
}
