package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/evidence"
	"github.com/ledgerguard/ledgerguard/gateway/evidence/evidencetest"
)

// sprayLines is a password spray from ip (n failures on distinct users)
// interleaved with n successful logins of one user from an office address,
// as sshd syslog lines starting at t0.
func sprayLines(ip string, n int, t0 time.Time, tag string) []byte {
	var b bytes.Buffer
	for i := range n {
		at := t0.Add(time.Duration(2*i) * time.Second)
		fmt.Fprintf(&b, "%s ssh-fb sshd[%d]: Failed password for invalid user %s%d from %s port %d ssh2\n", at.Format(time.Stamp), 100+i, tag, i, ip, 40000+i)
		at = at.Add(time.Second)
		fmt.Fprintf(&b, "%s ssh-fb sshd[%d]: Accepted password for alice from 10.20.30.40 port %d ssh2\n", at.Format(time.Stamp), 300+i, 41000+i)
	}
	return b.Bytes()
}

// authAlerts lists the gateway's alerts of model (any version), polling
// until at least min exist (bounded).
func authAlerts(ctx context.Context, t *testing.T, g *gatewayProc, model, version string, min int) []wire.Alert {
	t.Helper()
	auditor := dial(t, "org1", "auditor")
	filter := mustJSON(t, wire.AlertFilter{MSP: "Org1MSP", GatewayID: g.id})
	var mine []wire.Alert
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var page wire.Page[wire.Alert]
		evaluateJSON(ctx, t, auditor, wire.ContractAlerts, wire.TxListAlerts, &page, filter, "1000", "")
		mine = slices.DeleteFunc(page.Records, func(a wire.Alert) bool {
			return a.Detector.ID != model || (version != "" && a.Detector.Version != version)
		})
		if len(mine) >= min {
			slices.SortFunc(mine, func(a, b wire.Alert) int { return a.EventTime.Compare(b.EventTime.Time) })
			return mine
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("%d alerts of %s %s for gateway %s within 60s, want >= %d\n%s", len(mine), model, version, g.id, min, g.log())
	return nil
}

func (g *gatewayProc) shadowReport() []gateway.ShadowStats {
	var r struct {
		Shadow []gateway.ShadowStats `json:"shadow"`
	}
	if code := g.getJSON("/v1/models/shadow", &r); code != http.StatusOK {
		g.t.Fatalf("GET /v1/models/shadow: %d", code)
	}
	return r.Shadow
}

// TestLearningFromVerdicts: a strict gateway serving auth-bruteforce
// raises alerts on a password spray; an analyst marks the earliest ones
// false-positive and resolves the latest; the gateway's store is exported
// as an evidence bundle; `models retrain --propose` builds a new version
// from the verified bundle, those verdicts and a labels file, and
// registers it; the gateway runs it in shadow (never alerting) and reports
// it; both orgs approve and the gateway serves it without a restart (new
// alerts cite it, it left shadow); a tampered copy of the bundle is
// refused naming the event.
func TestLearningFromVerdicts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	const name = "auth-bruteforce"
	base := servedVersion(t, name)
	if out, err := exec.CommandContext(ctx, "make", "-C", filepath.Join(env.root, "models"), "venv").CombinedOutput(); err != nil {
		t.Fatalf("the pinned training venv (make -C models venv): %v\n%s", err, out)
	}
	root := t.TempDir()
	linkModel(t, root, name, base)
	// An anomaly model too: its manifest carries the training statistics
	// input drift is measured against.
	anomalyVersion := servedVersion(t, "auth-anomaly")
	linkModel(t, root, "auth-anomaly", anomalyVersion)
	g := newGateway(t, gatewayOpts{detection: true, modelsDir: root, ledgerCheck: time.Second, batchMaxWait: 100 * time.Millisecond})
	hec := func(body []byte) {
		t.Helper()
		st, resp := g.post("/services/collector/raw?sourcetype=linux:auth", "Splunk "+hecToken, "text/plain", body,
			"X-Splunk-Request-Channel", "5a1d1b2c-0000-4000-8000-00000000fb01")
		if st != http.StatusOK {
			t.Fatalf("HEC raw: %d %s", st, resp)
		}
	}
	run := time.Now().Unix() % 200
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	const n = 40
	hec(sprayLines(fmt.Sprintf("198.51.100.%d", run+1), n, t0, "u"))
	g.waitAnchored(ctx, 2*n)
	alerts := authAlerts(ctx, t, g, name, base, 4)
	t.Logf("%d alerts of %s %s on the spray", len(alerts), name, base)

	// Verdicts: the two earliest are false positives, the two latest
	// confirmed attacks.
	for _, a := range alerts[:2] {
		cli(t, "org1", "analyst", "alert", "resolve", a.BatchID, a.ID, "--false-positive", "--reason", "e2e: early in the spray, below what we call an attack")
	}
	for _, a := range alerts[len(alerts)-2:] {
		cli(t, "org1", "analyst", "alert", "resolve", a.BatchID, a.ID, "--reason", "e2e: confirmed password spray")
	}
	labelsOut := cli(t, "org1", "auditor", "models", "labels", name, "-o", "-", "--models-dir", root)
	for _, a := range alerts[:2] {
		if !strings.Contains(labelsOut, a.EventHash+",benign") {
			t.Errorf("models labels lacks %s,benign:\n%s", a.EventHash, labelsOut)
		}
	}
	for _, a := range alerts[len(alerts)-2:] {
		if !strings.Contains(labelsOut, a.EventHash+",brute_force") {
			t.Errorf("models labels lacks %s,brute_force:\n%s", a.EventHash, labelsOut)
		}
	}

	// Export the gateway's store (the gateway must be stopped for it).
	g.stop()
	bin := gatewayBinary(t)
	profile := filepath.Join(env.runDir, "connection-org1.json")
	bundle := filepath.Join(t.TempDir(), "bundle.jsonl.gz")
	if out, err := exec.CommandContext(ctx, bin, "export", "--store", filepath.Join(g.dir, "store"), "--gateway-msp", "Org1MSP", "--gateway-id", g.id,
		"--profile", profile, "--identity", "auditor", "--from", t0.Add(-24*time.Hour).Format(time.RFC3339),
		"--to", time.Now().Add(time.Hour).Format(time.RFC3339), "-o", bundle).CombinedOutput(); err != nil {
		t.Fatalf("ledgerguard export: %v\n%s", err, out)
	}
	g.start()

	// More labels from the verified bundle: the office logins are benign,
	// the spray's second half an attack (the verdicts cover its extremes).
	f, err := os.Open(bundle)
	if err != nil {
		t.Fatal(err)
	}
	verdictHashes := map[string]bool{}
	for _, a := range alerts {
		verdictHashes[a.EventHash] = true
	}
	var labels bytes.Buffer
	labels.WriteString("event_id,label\n")
	var lastFailure int
	_, err = evidence.VerifiedLeaves(ctx, f, func(ev gateway.Event, leafHash string) error {
		raw := string(ev.Raw)
		switch {
		case strings.Contains(raw, "Accepted password for alice"):
			fmt.Fprintf(&labels, "%s,benign\n", leafHash)
		case strings.Contains(raw, "Failed password"):
			lastFailure++
			if lastFailure > n/2 && !verdictHashes[leafHash] {
				fmt.Fprintf(&labels, "%s,brute_force\n", leafHash)
			}
		}
		return nil
	})
	f.Close()
	if err != nil {
		t.Fatalf("read the exported bundle: %v", err)
	}
	labelsFile := filepath.Join(t.TempDir(), "more-labels.csv")
	if err := os.WriteFile(labelsFile, labels.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	// A tampered copy is refused, naming the event; nothing is written.
	next := fmt.Sprintf("%s.%d", base, time.Now().UnixMilli())
	tampered := tamperBundle(t, bundle)
	code, out := runCode(ctx, bin, "models", "retrain", name, "--bundle", tampered, "--version", next, "--models-dir", root,
		"--labels", labelsFile, "--profile", profile, "--identity", "auditor")
	if code != 1 || !strings.Contains(string(out), "modified: event") || !strings.Contains(string(out), "does not verify") {
		t.Fatalf("retrain on a tampered bundle: exit %d, want 1 naming the event\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(root, name, next)); !os.IsNotExist(err) {
		t.Fatalf("a refused retrain left %s (stat: %v)", next, err)
	}

	// Retrain and propose.
	code, out = runCode(ctx, bin, "models", "retrain", name, "--bundle", bundle, "--version", next, "--models-dir", root,
		"--labels", labelsFile, "--data", dataDir(t), "--propose", "--profile", profile, "--identity", "author")
	if code != 0 {
		t.Fatalf("models retrain: exit %d\n%s", code, out)
	}
	t.Logf("retrain:\n%s", out)
	card, err := os.ReadFile(filepath.Join(root, name, next, "RETRAIN.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"metrics_before"`, `"metrics_after"`, `"batch_roots"`, `"benign_from_false_positive": 2`, `"attack_from_resolved": 2`, `"proposed"`} {
		if !bytes.Contains(card, []byte(w)) {
			t.Errorf("RETRAIN.json lacks %s:\n%s", w, card)
		}
	}

	// Shadow: scored beside the served version, never alerting.
	deadline := time.Now().Add(30 * time.Second)
	var sh []gateway.ShadowStats
	for time.Now().Before(deadline) {
		if sh = g.shadowReport(); len(sh) == 1 && sh[0].Active {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if len(sh) != 1 || sh[0].Version != next || !sh[0].Active || sh[0].ServedVersion != base {
		t.Fatalf("shadow report %+v, want %s %s active beside %s\n%s", sh, name, next, base, g.log())
	}
	before := g.size(t)
	hec(sprayLines(fmt.Sprintf("198.51.100.%d", run+2), n, t0.Add(10*time.Minute), "v"))
	g.waitAnchored(ctx, before+2*n)
	deadline = time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if sh = g.shadowReport(); len(sh) == 1 && sh[0].Events >= uint64(2*n) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if len(sh) != 1 || sh[0].Events < uint64(2*n) {
		t.Fatalf("shadow scored %+v, want >= %d events", sh, 2*n)
	}
	t.Logf("shadow: %+v", sh[0])
	if got := authAlerts(ctx, t, g, name, next, 0); len(got) != 0 {
		t.Fatalf("the shadow version raised %d alerts", len(got))
	}
	rep := cliPlain(t, ctx, "models", "shadow-report", "--url", g.url, "--token", readToken)
	if !strings.Contains(rep, next) || !strings.Contains(rep, "yes") || !strings.Contains(rep, "INPUT_DRIFT") {
		t.Errorf("shadow-report:\n%s", rep)
	}
	t.Logf("shadow-report:\n%s", rep)
	var full struct {
		Drift []gateway.DriftStats `json:"drift"`
	}
	g.getJSON("/v1/models/shadow", &full)
	var sawStats, sawShadowDrift bool
	for _, d := range full.Drift {
		if d.Model == "auth-anomaly" && d.HasStats && d.Events >= uint64(2*n) && d.MaxFeature != "" {
			sawStats = true
		}
		if d.Model == name && d.Version == next && d.Events >= uint64(2*n) {
			sawShadowDrift = true
		}
	}
	if !sawStats || !sawShadowDrift {
		t.Errorf("drift %+v: want auth-anomaly with training statistics and the shadow %s, each over >= %d events", full.Drift, next, 2*n)
	}

	// Promotion: both orgs approve; served without a restart.
	cli(t, "org1", "", "models", "approve", name, next)
	cli(t, "org2", "", "models", "approve", name, next)
	m := readManifestAt(t, filepath.Join(root, name, next))
	g.waitServed([]string{name + "@" + next + " " + m, "auth-anomaly@" + anomalyVersion + " " + readManifestAt(t, filepath.Join(root, "auth-anomaly", anomalyVersion))})
	deadline = time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if sh = g.shadowReport(); len(sh) == 1 && !sh[0].Active {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if len(sh) != 1 || sh[0].Active {
		t.Fatalf("after approval the shadow report is %+v, want %s inactive", sh, next)
	}
	before = g.size(t)
	hec(sprayLines(fmt.Sprintf("198.51.100.%d", run+3), n, t0.Add(20*time.Minute), "w"))
	g.waitAnchored(ctx, before+2*n)
	promoted := authAlerts(ctx, t, g, name, next, 1)
	t.Logf("%d alerts of the promoted %s %s", len(promoted), name, next)
}

// size is the gateway's durable tree size.
func (g *gatewayProc) size(t *testing.T) uint64 {
	var cp checkpoint
	if g.getJSON("/v1/checkpoint", &cp) != http.StatusOK {
		t.Fatal("GET /v1/checkpoint failed")
	}
	return cp.Size
}

// cliPlain runs the ledgerguard binary without ledger flags.
func cliPlain(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	code, out := runCode(ctx, gatewayBinary(t), args...)
	if code != 0 {
		t.Fatalf("ledgerguard %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return string(out)
}

// readManifestAt returns the model sha256 of the manifest in dir.
func readManifestAt(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m.Model.SHA256
}

// tamperBundle writes a copy of the bundle with one event's bytes changed.
func tamperBundle(t *testing.T, path string) string {
	t.Helper()
	out, err := evidencetest.ModifiedCopy(path, t.TempDir(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
