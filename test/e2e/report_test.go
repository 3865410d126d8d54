package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
	"github.com/ledgerguard/ledgerguard/gateway/report"
	"github.com/ledgerguard/ledgerguard/gateway/store"
)

// TestReport anchors three batches of a real store as Org1's gateway,
// raises an alert in one of them under a dry-run policy approved by both
// orgs, acknowledges it as the analyst, and then asks the CLI for the
// period's compliance report as Org1's auditor: the report must list the
// batches (with their transactions and blocks), the alert with its status,
// the policy with its approvals, the response it decided and the model,
// and verify the period's evidence; 'report verify' must accept the
// signature against Org1's CA from the profile and refuse a modified
// report, another org's CA, and bad usage.
func TestReport(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	run := fmt.Sprint(time.Now().UnixNano())
	gwID := "report-" + run
	model := gateway.ModelRef{ID: "e2e-report-model", Version: "1", SHA256: sha("e2e-report-model")}
	dir := t.TempDir()
	st, err := store.Open(ctx, dir, store.WithGateway("Org1MSP", gwID), store.WithBatchMaxEvents(4), store.WithBatchMaxWait(time.Hour),
		store.WithModels(func() []gateway.ModelRef { return []gateway.ModelRef{model} }))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().UTC().Truncate(time.Second)
	events := make([]gateway.Event, 10)
	for i := range events {
		events[i] = gateway.Event{
			Received: start, Time: start.Add(time.Duration(i) * time.Second), Source: "syslog", Sourcetype: "linux:auth",
			Host: fmt.Sprintf("host%d", i), Class: gateway.ClassAuth, Raw: []byte(fmt.Sprintf("%s failed login %d", gwID, i)),
		}
	}
	if _, err := st.Append(ctx, events); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	pending, err := st.PendingBatches(ctx)
	if err != nil || len(pending) != 3 {
		t.Fatalf("pending batches: %d, %v; want 3", len(pending), err)
	}
	gw1 := dial(t, "org1", gatewayIdentity(t, "org1", gwID))
	ledger := fabric.NewLedger(gw1, channelName, chaincodeName)
	anchors := map[string]gateway.Anchor{}
	for _, b := range pending {
		// As the anchorer does, a refusal is retried: an endorser one
		// block behind sees the previous batch as not yet anchored.
		var anc gateway.Anchor
		var err error
		for attempt := 1; attempt <= 5; attempt++ {
			if anc, err = ledger.AnchorBatch(ctx, b); err == nil {
				break
			}
			time.Sleep(time.Duration(attempt) * 300 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("anchor batch %s: %v", b.ID, err)
		}
		anchors[b.ID] = anc
		if err := st.MarkAnchored(ctx, b.ID, anc.TxID, anc.BlockNumber); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// A dry-run policy for this run's gateway, approved by both orgs, so
	// the alert decides a response that is recorded and never run.
	author1, admin1, admin2 := dial(t, "org1", "author"), dial(t, "org1", ""), dial(t, "org2", "")
	pol := wire.Policy{
		ID: "report-" + run, Version: 1, Description: "e2e report: notify on this run's alerts",
		Condition: `alert.gateway == "` + gwID + `"`,
		Actions:   []wire.Action{{Type: wire.ActionNotify, Params: map[string]string{"channel": "soc", "message": "alert {{alert.id}}"}}},
		Mode:      wire.ModeDryRun,
	}
	submitJSON(ctx, t, author1, wire.ContractPolicies, wire.TxProposePolicy, nil, mustJSON(t, pol))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := author1.Contract(channelName, chaincodeName, wire.ContractPolicies).SubmitWithContext(ctx, wire.TxRevokePolicy,
			client.WithArguments(pol.ID, "1", "end of e2e run")); err != nil {
			t.Errorf("revoke policy %s: %v", pol.ID, err)
		}
	})
	submitJSON(ctx, t, admin1, wire.ContractPolicies, wire.TxApprovePolicy, nil, pol.ID, "1")
	submitJSON(ctx, t, admin2, wire.ContractPolicies, wire.TxApprovePolicy, nil, pol.ID, "1")

	b := pending[1]
	wm := wire.Model{ID: model.ID, Version: model.Version, SHA256: model.SHA256}
	eh := sha(run + "event")
	alert := wire.Alert{
		ID: wire.AlertID("Org1MSP", gwID, eh, wm.ID, wm.Version), MSP: "Org1MSP", GatewayID: gwID, EventHash: eh, BatchID: b.ID,
		EventTime: wire.NewTime(b.TimeFrom), Detector: wm, Score: 0.95, Severity: "high", Category: "T1110",
		Asset: "host5", Principal: "root",
	}
	res, err := ledger.RaiseAlerts(ctx, []wire.Alert{alert})
	if err != nil || res.Created != 1 {
		t.Fatalf("raise alert: %+v, %v", res, err)
	}
	submitJSON(ctx, t, dial(t, "org1", "analyst"), wire.ContractAlerts, wire.TxUpdateAlertStatus, nil, b.ID, alert.ID, wire.AlertAcknowledged, "looked at it in the e2e report test")

	// The report, as Org1's auditor.
	bin := gatewayBinary(t)
	profile1 := filepath.Join(env.runDir, "connection-org1.json")
	profile2 := filepath.Join(env.runDir, "connection-org2.json")
	outDir := t.TempDir()
	out := filepath.Join(outDir, "period.json")
	from, to := start.Add(-time.Minute), time.Now().UTC().Add(10*time.Minute)
	code, text := runCode(ctx, bin, "report", "--store", dir, "--gateway-id", gwID, "--profile", profile1, "--identity", "auditor",
		"--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "-o", out, "--timeout", "3m")
	if code != 0 || !strings.Contains(string(text), "evidence: verified") {
		t.Fatalf("ledgerguard report: exit %d, want 0 with the evidence verified\n%s", code, text)
	}
	t.Logf("ledgerguard report:\n%s", text)
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep report.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Org != "Org1MSP" || rep.Scope.GatewayID != gwID {
		t.Errorf("org %q scope %+v, want Org1MSP and gateway %s", rep.Org, rep.Scope, gwID)
	}
	if rep.Anchoring.Batches != 3 || rep.Anchoring.Events != 10 {
		t.Errorf("anchored: got %d batches, %d events; want 3, 10", rep.Anchoring.Batches, rep.Anchoring.Events)
	}
	for _, it := range rep.Anchoring.Items {
		anc, ok := anchors[it.ID]
		switch {
		case !ok:
			t.Errorf("batch %s is not one this test anchored", it.ID)
		case it.TxID != anc.TxID || it.Block == nil || *it.Block != anc.BlockNumber || it.RootHash == "":
			t.Errorf("batch %s: tx %s block %v root %q; want tx %s block %d", it.ID, it.TxID, it.Block, it.RootHash, anc.TxID, anc.BlockNumber)
		}
	}
	if rep.Alerts.Total != 1 || rep.Alerts.Items[0].ID != alert.ID || rep.Alerts.Items[0].Status != wire.AlertAcknowledged ||
		rep.Alerts.Items[0].RaisedTx != res.TxID || rep.Alerts.Items[0].ChangedTx == "" {
		t.Errorf("alerts: got %+v, want alert %s acknowledged, raised in %s", rep.Alerts, alert.ID, res.TxID)
	}
	if len(rep.Alerts.ByCategory) != 1 || rep.Alerts.ByCategory[0].Category != "T1110" || rep.Alerts.ByCategory[0].Total != 1 {
		t.Errorf("alerts by category: got %+v", rep.Alerts.ByCategory)
	}
	var foundPolicy bool
	for _, p := range rep.Policies {
		if p.ID == pol.ID {
			foundPolicy = true
			if len(p.Approvals) != 2 || p.ActivatedTx == "" {
				t.Errorf("policy %s: approvals %+v activated in %q; want both orgs' approvals", p.ID, p.Approvals, p.ActivatedTx)
			}
		}
	}
	if !foundPolicy {
		t.Errorf("policy %s is not among the policies in force: %+v", pol.ID, rep.Policies)
	}
	if rep.Responses.Total != 1 || rep.Responses.Items[0].PolicyID != pol.ID || rep.Responses.Items[0].State != wire.ResponseDryRun {
		t.Errorf("responses: got %+v, want one dry-run response of policy %s", rep.Responses, pol.ID)
	}
	if len(rep.Models) != 1 || rep.Models[0].Name != model.ID || rep.Models[0].SHA256 != model.SHA256 || rep.Models[0].Alerts != 1 || rep.Models[0].Batches != 3 {
		t.Errorf("models: got %+v, want %s used by 1 alert and 3 batches", rep.Models, model.ID)
	}
	ev := rep.Evidence
	if ev.Verdict != report.VerdictVerified || ev.Batches != 3 || ev.Events != 10 || ev.Endorsements != 6 || len(ev.TrustedCAs) != 2 {
		t.Errorf("evidence: got %+v, want verified: 3 batches, 10 events, 6 endorsements, 2 CAs", ev)
	}
	if _, err := os.Stat(filepath.Join(outDir, ev.Bundle)); err != nil {
		t.Errorf("the exported bundle %q is not beside the report: %v", ev.Bundle, err)
	}
	html, err := os.ReadFile(filepath.Join(outDir, "period.html"))
	if err != nil || !strings.Contains(string(html), alert.ID) || !strings.Contains(string(html), "@media print") {
		t.Errorf("HTML report: %v; want it to list alert %s and print well", err, alert.ID)
	}

	// The signature, offline.
	sig := filepath.Join(outDir, "period.sig")
	for _, f := range []string{out, filepath.Join(outDir, "period.html")} {
		if code, text := runCode(ctx, bin, "report", "verify", f, sig, "--profile", profile1); code != 0 || !strings.Contains(string(text), "OK: ") {
			t.Errorf("report verify %s: exit %d, want 0\n%s", filepath.Base(f), code, text)
		}
	}
	tampered := filepath.Join(t.TempDir(), "period.json")
	if err := os.WriteFile(tampered, []byte(strings.Replace(string(raw), `"status": "acknowledged"`, `"status": "resolved"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, text := runCode(ctx, bin, "report", "verify", tampered, sig, "--profile", profile1); code != 1 || !strings.Contains(string(text), "signature does not match") {
		t.Errorf("report verify of a modified report: exit %d, want 1 naming the mismatch\n%s", code, text)
	}
	if code, text := runCode(ctx, bin, "report", "verify", out, sig, "--profile", profile2); code != 1 || !strings.Contains(string(text), "REFUSED") {
		t.Errorf("report verify against Org2's CA: exit %d, want 1\n%s", code, text)
	}
	if code, text := runCode(ctx, bin, "report", "verify", out); code != 2 {
		t.Errorf("report verify without a signature file: exit %d, want 2\n%s", code, text)
	}
	if code, text := runCode(ctx, bin, "report", "--from", to.Format(time.RFC3339), "--to", from.Format(time.RFC3339), "--store", dir,
		"--gateway-id", gwID, "--profile", profile1, "-o", filepath.Join(outDir, "bad.json")); code != 2 || !strings.Contains(string(text), "must be before --to") {
		t.Errorf("report with --from after --to: exit %d, want 2\n%s", code, text)
	}
}
