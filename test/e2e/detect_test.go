package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
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

func readManifest(t testing.TB, name string) manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(env.root, "models", name, "1.0.0", "manifest.json"))
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
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		evaluateJSON(ctx, t, auditor, wire.ContractAlerts, wire.TxListAlerts, &page, filter, "100", "")
		if len(page.Records) > 0 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if len(page.Records) == 0 {
		t.Fatalf("no alert on the ledger for gateway %s within 60s\n%s", g.id, g.log())
	}
	for _, a := range page.Records {
		if a.Detector.ID != m.Name || a.Detector.SHA256 != m.Model.SHA256 || a.Detector.Version != m.Version {
			t.Errorf("alert %s detector = %+v, want %s %s sha256 %s", a.ID, a.Detector, m.Name, m.Version, m.Model.SHA256)
		}
	}
	t.Logf("%d of 20 neptune rows became alerts (category %s, severity %s)", len(page.Records), page.Records[0].Category, page.Records[0].Severity)
}
