package respond_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway/config"
	"github.com/ledgerguard/ledgerguard/gateway/respond"
)

// The development configuration's respond: section (kept raw by
// gateway/config) decodes, gets its defaults, its paths resolved against
// the file's folder, and validates, as it did when config embedded it.
func TestDecodeConfigFromGatewayFile(t *testing.T) {
	path, err := filepath.Abs(filepath.Join("..", "..", "network", "gateway-dev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadWith(path, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	rc, err := respond.DecodeConfig(cfg.Respond.Decode, cfg.Respond.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Respond.Present() {
		t.Fatal("network/gateway-dev.yaml has no respond: section")
	}
	if want := filepath.Join(filepath.Dir(path), "run", "gateway-state", "respond.journal"); rc.JournalFile != want {
		t.Errorf("journal_file = %q, want %q", rc.JournalFile, want)
	}
}

func TestDecodeConfig(t *testing.T) {
	decodeErr := errors.New("bad yaml")
	tests := []struct {
		name    string
		in      respond.Config
		derr    error
		wantErr bool
		check   func(respond.Config) bool
	}{
		{"absent is disabled", respond.Config{}, nil, false, func(c respond.Config) bool { return !c.Enabled && c.Workers == 0 }},
		{"decode error", respond.Config{}, decodeErr, true, nil},
		{"enabled without files is invalid", respond.Config{Enabled: true}, nil, true, nil},
		{"enabled gets defaults and paths", respond.Config{Enabled: true, CheckpointFile: "cp", JournalFile: "j"}, nil, false, func(c respond.Config) bool {
			return c.Workers == respond.DefaultConfig().Workers && c.CheckpointFile == filepath.Join("/etc/lg", "cp") && c.JournalFile == filepath.Join("/etc/lg", "j")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := respond.DecodeConfig(func(v any) error {
				if tt.derr != nil {
					return tt.derr
				}
				*(v.(*respond.Config)) = tt.in
				return nil
			}, "/etc/lg")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.check != nil && !tt.check(got) {
				t.Errorf("DecodeConfig = %+v", got)
			}
		})
	}
}
