package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway/config"
)

// TestGatewayRefusesBadIntelSections: a bad intel: or taxii: section is a
// configuration error (exit 2 with the field named) found before the
// gateway dials the ledger or opens its store.
func TestGatewayRefusesBadIntelSections(t *testing.T) {
	dir := t.TempDir()
	base := `
ledger:
  profile: profile.json
syslog:
  allowed_networks: [127.0.0.1/32]
store: {dir: ` + filepath.Join(dir, "store") + `}
credentials:
  - name: hec
    token: 0123456789abcdef0123456789abcdef
    scopes: [hec]
`
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown intel key", "intel: {enabled: true, bogus: 1}", "intel"},
		{"active key not among keys", "intel: {enabled: true, keys: [{id: a, secret_file: a.key}], active_key: b}", "active_key"},
		{"taxii without intel", "taxii: {enabled: true}", "taxii.enabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "gateway.yaml")
			if err := os.WriteFile(p, []byte(base+tt.yaml+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(p)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			err = runGateway(context.Background(), cfg, io.Discard)
			var u usageError
			if !errors.As(err, &u) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("runGateway = %v, want a usage error naming %s", err, tt.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "store")); err == nil {
				t.Fatal("the store was created before the configuration was checked")
			}
		})
	}
}
