package e2e

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/stix"
	pyenv "github.com/ledgerguard/ledgerguard/test/python"
)

// TestIntelCLI drives `ledgerguard intel` on the real network: Org1
// imports a Unit 42 bundle (GREEN) and Org2 reads every value; a bundle
// holding patterns ledgerguard cannot share is refused naming the object
// and shares nothing, and with --skip-unshareable shares the rest as
// AMBER+STRICT, which Org2 can neither show nor export; Org2's export is
// valid STIX 2.1 (stix2-validator --strict) holding Org1's GREEN
// indicators; only the sharer revokes; a purge removes the value.
func TestIntelCLI(t *testing.T) {
	dataDir := os.Getenv("LEDGERGUARD_DATA_DIR")
	if dataDir == "" {
		dataDir = filepath.Join(env.root, "..", "shared", "data")
	}
	pikabot := filepath.Join(dataDir, "threat-intel-stix", "unit42_2024-02-08-Pikabot.json")
	hive := filepath.Join(dataDir, "threat-intel-stix", "unit42_hive-ransomware.json")
	if _, err := os.Stat(hive); err != nil {
		t.Skipf("STIX data set not found (set LEDGERGUARD_DATA_DIR): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := gatewayBinary(t)
	key := intelKey(t)
	keyFile := filepath.Join(t.TempDir(), "intel.key")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(key.Secret)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	org1 := []string{"--profile", filepath.Join(env.runDir, "connection-org1.json")}
	org2 := []string{"--profile", filepath.Join(env.runDir, "connection-org2.json")}
	keyArgs := []string{"--key-id", key.ID, "--key-file", keyFile}
	run := func(want int, args ...string) string {
		t.Helper()
		code, out := runCode(ctx, bin, args...)
		if code != want {
			t.Fatalf("ledgerguard %s: exit %d, want %d\n%s", strings.Join(args, " "), code, want, out)
		}
		return string(out)
	}
	importJSON := func(args ...string) struct {
		SharedTx   string `json:"sharedTx"`
		Indicators []struct{ ID, StixID, Type, Value, TLP string }
	} {
		t.Helper()
		var res struct {
			SharedTx   string `json:"sharedTx"`
			Indicators []struct{ ID, StixID, Type, Value, TLP string }
		}
		code, out := runCode(ctx, bin, append(append(append([]string{"intel", "import"}, args...), org1...), append(keyArgs, "--json")...)...)
		if code != 0 {
			t.Fatalf("intel import %v: exit %d\n%s", args, code, out)
		}
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("intel import --json: %v\n%s", err, out)
		}
		return res
	}

	// Org1 shares the Pikabot bundle as GREEN: Org2 reads every value.
	green := importJSON(pikabot, "--tlp", "GREEN")
	if len(green.Indicators) != 10 || green.SharedTx == "" {
		t.Fatalf("Pikabot import shared %d indicators in %q, want 10", len(green.Indicators), green.SharedTx)
	}
	for _, in := range green.Indicators {
		deadline := time.Now().Add(10 * time.Second)
		for {
			code, out := runCode(ctx, bin, append([]string{"intel", "show", in.ID, "--json"}, org2...)...)
			var ind wire.Indicator
			if code == 0 && json.Unmarshal(out, &ind) == nil && ind.Value == in.Value && ind.SharedBy == "Org1MSP" && ind.TLP == wire.TLPGreen {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Org2 cannot read %s (%s): exit %d\n%s", in.ID, in.Value, code, out)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	// The Hive bundle holds process:command_line patterns: refused, naming
	// the first, and none of its hashes reaches the ledger.
	out := run(1, append(append([]string{"intel", "import", hive, "--tlp", "GREEN"}, org1...), keyArgs...)...)
	if !strings.Contains(out, "indicator--57f722bc-d7ab-4537-a846-e79bf33a039c") || !strings.Contains(out, "nothing was shared") {
		t.Fatalf("refusal does not name the object:\n%s", out)
	}
	hiveHash := "1e21c8e27a97de1796ca47a9613477cf7aec335a783469c5ca3a09d4f07db0ff"
	hiveID := wire.IndicatorID("Org1MSP", wire.IndicatorHash(key.Secret, wire.IndicatorSHA256, hiveHash))
	run(1, append([]string{"intel", "show", hiveID}, org1...)...)

	// With --skip-unshareable the four hashes go out as AMBER+STRICT:
	// Org1 reads them, Org2 sees neither record nor value.
	strict := importJSON(hive, "--tlp", "AMBER+STRICT", "--skip-unshareable")
	if len(strict.Indicators) != 4 || !slices.ContainsFunc(strict.Indicators, func(i struct{ ID, StixID, Type, Value, TLP string }) bool { return i.ID == hiveID }) {
		t.Fatalf("Hive import with --skip-unshareable: %+v", strict.Indicators)
	}
	out = run(0, append([]string{"intel", "show", hiveID, "--json"}, org1...)...)
	if !strings.Contains(out, hiveHash) {
		t.Fatalf("Org1 cannot read its AMBER+STRICT value:\n%s", out)
	}
	run(1, append([]string{"intel", "show", hiveID}, org2...)...)

	// Org2's export: valid STIX 2.1 without warnings, holding Org1's GREEN
	// indicators and none of its AMBER+STRICT ones.
	exported := filepath.Join(t.TempDir(), "org2.json")
	run(0, append([]string{"intel", "export", "--shared-by", "Org1MSP", "--out", exported}, org2...)...)
	if v := pyenv.Run(t, "stix2_validator", "--strict", exported); !strings.Contains(string(v), "STIX JSON: Valid") {
		t.Fatalf("stix2-validator on Org2's export:\n%s", v)
	}
	b, err := os.ReadFile(exported)
	if err != nil {
		t.Fatal(err)
	}
	// Other tests of the run may have shared the same objects or values
	// (under other keys): compare values, not ids or counts.
	imp, err := stix.Parse(b, stix.ImportOptions{Sharer: "Org2MSP"})
	if err != nil {
		t.Fatalf("Org2's export does not re-import: %v", err)
	}
	got := map[string]bool{}
	for _, in := range imp.Inputs {
		got[in.Type+" "+in.Value] = true
	}
	for _, in := range green.Indicators {
		if !got[in.Type+" "+in.Value] {
			t.Fatalf("Org2's export lacks %s %s (%s)", in.Type, in.Value, in.StixID)
		}
	}
	for _, in := range strict.Indicators {
		if strings.Contains(string(b), in.Value) {
			t.Fatalf("Org2's export holds Org1's AMBER+STRICT %s (%s)", in.StixID, in.Value)
		}
	}

	// Only the sharer revokes; a purge removes the value, the hash stays.
	target := green.Indicators[0]
	run(1, append([]string{"intel", "revoke", target.ID, "--reason", "not ours to revoke"}, org2...)...)
	run(0, append([]string{"intel", "revoke", target.ID, "--reason", "false positive"}, org1...)...)
	run(0, append([]string{"intel", "purge", target.ID}, org1...)...)
	out = run(0, append([]string{"intel", "show", target.ID, "--json"}, org1...)...)
	var ind wire.Indicator
	if err := json.Unmarshal([]byte(out), &ind); err != nil {
		t.Fatal(err)
	}
	if ind.Value != "" || ind.Status != wire.IndicatorPurged || ind.Hash == "" || ind.RevokedTx == "" {
		t.Fatalf("after revoke and purge: %+v", ind)
	}
	run(0, append([]string{"intel", "sightings", target.ID}, org1...)...)
}
