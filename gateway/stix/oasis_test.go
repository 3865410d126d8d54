package stix

// Tests against OASIS's own tools (the stix2-patterns reference parser and
// stix2-validator, pinned in test/python/requirements.txt and installed by
// scripts/setup.sh into .cache/pyenv; a missing tool fails the test): the
// grammar accepts what the reference parser accepts, and what export
// writes is valid STIX 2.1 with no warnings.

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/intel"
	pyenv "github.com/ledgerguard/ledgerguard/test/python"
)

func repoRoot(t testing.TB) string {
	t.Helper()
	d, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/ledgerguard/ledgerguard\n") {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			t.Fatal("repository root (go.mod of github.com/ledgerguard/ledgerguard) not found")
		}
		d = parent
	}
}

// oasisSyntax asks the reference parser which patterns are syntactically
// valid STIX 2.1 (its semantic checks, such as hash lengths, are not
// syntax and are ignored).
const oasisSyntax = `
import json, sys
from stix2patterns.validator import run_validator
out = []
for p in json.load(sys.stdin):
    try:
        errs = run_validator(p, stix_version="2.1")
    except Exception as e:
        errs = ["Error found at: " + str(e)]
    out.append(not any("Error found at" in e for e in errs))
json.dump(out, sys.stdout)
`

func TestPatternGrammarAgreesWithOASIS(t *testing.T) {
	python := pyenv.Tool(t, "python")
	patterns := make([]string, 0, len(patternSyntaxCases))
	for _, c := range patternSyntaxCases {
		if c.pattern != "" { // the reference parser crashes on ""
			patterns = append(patterns, c.pattern)
		}
	}
	in, _ := json.Marshal(patterns)
	cmd := exec.Command(python, "-c", oasisSyntax)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("reference parser: %v\n%s", err, stderr.String())
	}
	var ref []bool
	if err := json.Unmarshal(out, &ref); err != nil || len(ref) != len(patterns) {
		t.Fatalf("reference parser answered %s (%v)", out, err)
	}
	for i, p := range patterns {
		_, err := ParsePattern(p)
		if got := err == nil; got != ref[i] {
			t.Errorf("%q: ours valid=%v (%v), OASIS reference valid=%v", p, got, err, ref[i])
		}
	}
}

// ledgerIndicators shares the Unit 42 bundles' indicators as Prepare and
// the ledger would record them, with a spread of TLPs, validity and
// revocations, plus one indicator of every type without a STIX origin.
func ledgerIndicators(t *testing.T) []wire.Indicator {
	t.Helper()
	key := intel.Key{ID: "k1", Secret: []byte("0123456789abcdef0123456789abcdef")}
	var inputs []intel.Input
	for _, f := range unit42Bundles {
		imp, err := Parse(readBundle(t, f), ImportOptions{TLP: wire.TLPGreen, Sharer: "Org1MSP", SkipUnshareable: true})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		inputs = append(inputs, imp.Inputs...)
	}
	now := time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC)
	for typ, v := range map[string]string{
		wire.IndicatorIPv6: "2001:db8::1", wire.IndicatorCIDR: "10.0.0.0/8", wire.IndicatorEmail: "a@evil.example",
		wire.IndicatorJA3: strings.Repeat("e", 32), wire.IndicatorJA4: "t13d1516h2_8daaf6152771_b186095e22b6",
		wire.IndicatorUserAgent: "Mozilla/5.0 (it's odd)", wire.IndicatorSHA1: strings.Repeat("1", 40), wire.IndicatorMD5: strings.Repeat("2", 32),
	} {
		inputs = append(inputs, intel.Input{Type: typ, Value: v, Confidence: 90, TLP: wire.TLPAmber, Recipients: []string{"Org1MSP", "Org2MSP"},
			ValidFrom: now, ValidUntil: now.Add(24 * time.Hour), Techniques: []string{"T1071.001"}, KillChainPhase: "command-and-control"})
	}
	share, values, err := intel.Prepare("Org1MSP", key, inputs, nil)
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	inds := share.Indicators
	for i := range inds {
		inds[i].Value, inds[i].Stix = values[i].Value, values[i].Stix
		inds[i].SharedAt = wire.NewTime(now)
		inds[i].SharedTx = "tx1"
		switch i % 7 {
		case 3:
			inds[i].Status, inds[i].RevokedAt = wire.IndicatorRevoked, wire.NewTime(now.Add(time.Hour))
		case 5:
			inds[i].TLP, inds[i].Recipients = wire.TLPAmberStrict, []string{"Org1MSP"}
		}
	}
	return inds
}

func TestExportPassesStixValidator(t *testing.T) {
	validator := pyenv.Tool(t, "stix2_validator")
	inds := ledgerIndicators(t)
	exp, err := ExportBundle(inds, true)
	if err != nil {
		t.Fatalf("ExportBundle: %v", err)
	}
	if exp.Indicators != len(inds) || len(exp.Skipped) != 0 {
		t.Fatalf("exported %d of %d, skipped %v", exp.Indicators, len(inds), exp.Skipped)
	}
	path := filepath.Join(t.TempDir(), "export.json")
	if err := os.WriteFile(path, exp.Bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	// --strict: warnings (best practices) fail too.
	out, err := exec.Command(validator, "--strict", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "STIX JSON: Valid") {
		t.Fatalf("stix2-validator --strict on the export: %v\n%s", err, out)
	}
}
