package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/test/replay"
)

// dataDir is the public datasets folder (LEDGERGUARD_DATA_DIR, default
// ../shared/data beside the repository); tests that need it skip when it
// is absent, saying so.
func dataDir(t testing.TB) string {
	t.Helper()
	d := os.Getenv("LEDGERGUARD_DATA_DIR")
	if d == "" {
		d = filepath.Join(env.root, "..", "shared", "data")
	}
	if _, err := os.Stat(d); err != nil {
		t.Skipf("dataset folder %s is absent (set LEDGERGUARD_DATA_DIR): %v", d, err)
	}
	return d
}

type manifest struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Model   struct {
		SHA256 string `json:"sha256"`
	} `json:"model"`
}

// servedVersion is the highest committed version of model name (the one a
// gateway serves): versions compare part by part, numerically.
func servedVersion(t testing.TB, name string) string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(env.root, "models", name, "*", "manifest.json"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no committed version of model %s (%v)", name, err)
	}
	var best []int
	version := ""
	for _, d := range dirs {
		v := filepath.Base(filepath.Dir(d))
		var parts []int
		for _, p := range strings.Split(v, ".") {
			n, err := strconv.Atoi(p)
			if err != nil {
				t.Fatalf("model %s version %q is not numeric", name, v)
			}
			parts = append(parts, n)
		}
		if slices.Compare(parts, best) > 0 {
			best, version = parts, v
		}
	}
	return version
}

// readManifest reads the manifest of the version of name a gateway serves.
func readManifest(t testing.TB, name string) manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(env.root, "models", name, servedVersion(t, name), "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// kddEvents returns n NSL-KDD test rows of one attack label as
// concatenated HEC envelopes, through the model's own dataset mapping.
func kddEvents(t testing.TB, label string, n int) []byte {
	t.Helper()
	var out []byte
	err := replay.NSLKDD(context.Background(), env.root, dataDir(t), func(raw string, e map[string]any) bool {
		if raw == label {
			e["host"] = "web-01"
			b, _ := json.Marshal(e)
			out = append(out, b...)
			n--
		}
		return n > 0
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAttackRowBecomesAlertWithModelSHA: NSL-KDD attack rows sent through
// Splunk HEC are stored, anchored, scored by the ONNX model and become
// alerts on the ledger that name the model's exact sha256.
func TestAttackRowBecomesAlertWithModelSHA(t *testing.T) {
	m := readManifest(t, "nsl-kdd-flow")
	body := kddEvents(t, "neptune", 20)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	g := newGateway(t, gatewayOpts{detection: true})
	status, resp := g.post("/services/collector/event", "Splunk "+hecToken, "application/json", body,
		"X-Splunk-Request-Channel", "5a1d1b2c-0000-4000-8000-000000000001")
	if status != http.StatusOK {
		t.Fatalf("HEC status %d: %s", status, resp)
	}
	g.waitAnchored(ctx, 20)

	auditor := dial(t, "org1", "auditor")
	filter := mustJSON(t, wire.AlertFilter{MSP: "Org1MSP", GatewayID: g.id})
	var page wire.Page[wire.Alert]
	// Alerts of the supervised model; the NSL-KDD anomaly model may flag
	// the same rows (category "anomaly"), which is checked separately.
	var mine, anomalies []wire.Alert
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		evaluateJSON(ctx, t, auditor, wire.ContractAlerts, wire.TxListAlerts, &page, filter, "100", "")
		mine = slices.DeleteFunc(slices.Clone(page.Records), func(a wire.Alert) bool { return a.Detector.ID != m.Name })
		if len(mine) > 0 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if len(mine) == 0 {
		t.Fatalf("no alert of %s on the ledger for gateway %s within 60s (%d alerts of other models)\n%s", m.Name, g.id, len(page.Records), g.log())
	}
	for _, a := range page.Records {
		switch a.Detector.ID {
		case m.Name:
			if a.Detector.SHA256 != m.Model.SHA256 || a.Detector.Version != m.Version {
				t.Errorf("alert %s detector = %+v, want %s %s sha256 %s", a.ID, a.Detector, m.Name, m.Version, m.Model.SHA256)
			}
		case m.Name + "-anomaly":
			anomalies = append(anomalies, a)
			am := readManifest(t, a.Detector.ID)
			if a.Detector.SHA256 != am.Model.SHA256 || a.Category != "anomaly" || a.Fields["top_features"] == "" {
				t.Errorf("anomaly alert %s = detector %+v category %q fields %v, want sha256 %s, category anomaly and top_features", a.ID, a.Detector, a.Category, a.Fields, am.Model.SHA256)
			}
		default:
			t.Errorf("alert %s from unexpected detector %+v", a.ID, a.Detector)
		}
	}
	t.Logf("%d of 20 neptune rows became alerts of %s (category %s, severity %s); %d anomaly alerts", len(mine), m.Name, mine[0].Category, mine[0].Severity, len(anomalies))
	if len(anomalies) > 0 {
		t.Logf("anomaly alert fields: %v", anomalies[0].Fields)
	}
}
