package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway/evidence/evidencetest"
)

// tamperedCopy writes a copy of bundle with one event's bytes changed and
// returns its path.
func tamperedCopy(t *testing.T, bundle string) string {
	t.Helper()
	p, err := evidencetest.ModifiedCopy(bundle, t.TempDir(), 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestModelsRetrainRefusesTamperedBundle(t *testing.T) {
	good, _ := authBundle(t, 10)
	bad := tamperedCopy(t, good)
	models := filepath.Join(repoRoot(), "models")
	fake := &fakeLedger{}
	saved := dialLedger
	dialLedger = func(_ context.Context, _ *ledgerFlags) (ledgerCalls, error) { return fake, nil }
	t.Cleanup(func() { dialLedger = saved })
	_, stderr, err := runFeatures(t, "models", "retrain", "auth-bruteforce", "--bundle", good, "--bundle", bad, "--version", "9.9.9", "--models-dir", models)
	if !errors.Is(err, errBundleRefused) || exitCode(err) != 1 {
		t.Fatalf("got error %v (exit %d), want the refusal with exit 1", err, exitCode(err))
	}
	if !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "events ") {
		t.Errorf("error does not name the bundle and its failing events: %v", err)
	}
	if !strings.Contains(stderr, "modified: event") || !strings.Contains(stderr, "FAILED") {
		t.Errorf("stderr does not report the finding:\n%s", stderr)
	}
	if len(fake.calls) != 0 {
		t.Errorf("the ledger was called before the bundles verified: %v", fake.calls)
	}
	if _, err := os.Stat(filepath.Join(models, "auth-bruteforce", "9.9.9")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a version directory was written (stat: %v)", err)
	}
}

func TestModelsRetrainUsage(t *testing.T) {
	good, _ := authBundle(t, 5)
	models := filepath.Join(repoRoot(), "models")
	tests := []struct {
		name string
		args []string
	}{
		{"no bundle", []string{"--version", "9.9.9"}},
		{"no version", []string{"--bundle", good}},
		{"version not newer", []string{"--bundle", good, "--version", "0.9.0"}},
		{"existing version", []string{"--bundle", good, "--version", "1.0.0"}},
		{"quorum without propose", []string{"--bundle", good, "--version", "9.9.9", "--quorum", "2"}},
		{"missing bundle", []string{"--bundle", filepath.Join(t.TempDir(), "none"), "--version", "9.9.9"}},
		{"anomaly model", []string{"--bundle", good, "--version", "9.9.9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			model := "auth-bruteforce"
			if tt.name == "anomaly model" {
				model = "auth-anomaly"
			}
			args := append([]string{"models", "retrain", model, "--models-dir", models}, tt.args...)
			_, _, err := runFeatures(t, args...)
			if !isUsage(err) {
				t.Fatalf("err = %v, want a usage error", err)
			}
		})
	}
}
