package intel

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func decodeYAML(src string) func(any) error {
	return func(v any) error {
		dec := yaml.NewDecoder(strings.NewReader(src))
		dec.KnownFields(true)
		return dec.Decode(v)
	}
}

func TestDecodeConfig(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "k1.key"), []byte("00112233445566778899aabbccddeeff\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "short.key"), []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		yaml    string
		wantErr string
	}{
		{"disabled needs nothing", "enabled: false", ""},
		{"match only, no keys", "enabled: true", ""},
		{"keys", "enabled: true\nkeys: [{id: k1, secret_file: k1.key}]\nactive_key: k1", ""},
		{"unknown field", "enabled: true\nkey: x", "field key not found"},
		{"active key not listed", "enabled: true\nkeys: [{id: k1, secret_file: k1.key}]\nactive_key: k2", "active_key"},
		{"keys without active", "enabled: true\nkeys: [{id: k1, secret_file: k1.key}]", "active_key is required"},
		{"duplicate key", "enabled: true\nkeys: [{id: k1, secret_file: a}, {id: k1, secret_file: b}]\nactive_key: k1", "twice"},
		{"too fast", "enabled: true\nsightings_interval: 1ms", "sightings_interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeConfig(decodeYAML(tt.yaml), dir)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("DecodeConfig = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
	c, err := DecodeConfig(decodeYAML("enabled: true\nkeys: [{id: k1, secret_file: k1.key}, {id: k0, secret_file: short.key}]\nactive_key: k1"), dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.SightingsInterval != 10*time.Second || c.Readers != 16 || c.Keys[0].SecretFile != filepath.Join(dir, "k1.key") {
		t.Errorf("defaults and paths: %+v", c)
	}
	if _, _, err := c.LoadKeys(); err == nil || !strings.Contains(err.Error(), "shorter than 16 bytes") {
		t.Errorf("LoadKeys with a short secret = %v", err)
	}
	c.Keys = c.Keys[:1]
	active, all, err := c.LoadKeys()
	if err != nil || active.ID != "k1" || len(active.Secret) != 16 || len(all) != 1 {
		t.Errorf("LoadKeys = %+v, %d keys, %v", active, len(all), err)
	}
}
