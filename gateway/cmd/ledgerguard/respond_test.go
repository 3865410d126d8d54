package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

func TestExampleRespondConfigLoadsAndBuilds(t *testing.T) {
	for _, k := range []string{"EDR_API_TOKEN", "IDP_API_TOKEN", "THEHIVE_API_KEY", "FIREWALL_API_KEY"} {
		t.Setenv(k, "token-"+k)
	}
	t.Setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.example/T0/B0/x")
	t.Setenv("LEDGERGUARD_WEBHOOK_SECRET", "0123456789abcdef0123")
	path := filepath.Join("..", "..", "respond", "example.yaml")
	cfg, err := loadRespondConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(cfg.JournalFile) && !strings.HasPrefix(cfg.JournalFile, filepath.Dir(path)) {
		t.Errorf("journal_file %q not resolved against the file's folder", cfg.JournalFile)
	}
	conns, err := buildConnectors(cfg, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range wire.ActionTypes() {
		if conns[a] == nil {
			t.Errorf("no connector for %s", a)
		}
	}
}

func TestRespondConfigErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"no section", "mode: development\n", "no respond: key"},
		{"unknown key", "respond:\n  checkpoint_file: a\n  journal_file: b\n  workerz: 3\n", "workerz"},
		{"missing journal", "respond:\n  checkpoint_file: a\n", "respond.journal_file"},
		{"unset secret", "respond:\n  checkpoint_file: a\n  journal_file: b\n  actions:\n    webhook:\n      webhook: {secret: \"${LG_TEST_UNSET_SECRET}\"}\n", "LG_TEST_UNSET_SECRET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := loadRespondConfig(path)
			if err == nil {
				_, err = buildConnectors(cfg, slog.Default())
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one naming %q", err, tt.want)
			}
		})
	}
}
