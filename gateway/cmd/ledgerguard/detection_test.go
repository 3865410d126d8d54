package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/config"
	"github.com/ledgerguard/ledgerguard/gateway/onnx"
	"github.com/ledgerguard/ledgerguard/gateway/provenance"
)

// TestRegistrationOfCommittedModels: every committed model yields a valid
// registration with its training files' hashes and metrics.
func TestRegistrationOfCommittedModels(t *testing.T) {
	dirs, err := modelDirs([]string{filepath.Join(repoRoot(), "models")})
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 4 {
		t.Fatalf("found %d committed models, want at least 4", len(dirs))
	}
	for _, d := range dirs {
		t.Run(filepath.Base(filepath.Dir(d)), func(t *testing.T) {
			r, err := provenance.Registration(d)
			if err != nil {
				t.Fatal(err)
			}
			m, _, _ := onnx.LoadManifest(d)
			if r.Name != m.Name || r.Version != m.Version || r.SHA256 != m.Model.SHA256 || !wire.IsHash(r.FeaturesSHA256) {
				t.Errorf("registration %+v does not match manifest", r)
			}
			if len(r.TrainingData) == 0 || len(r.Metrics) == 0 {
				t.Errorf("registration has %d training files and %d metrics", len(r.TrainingData), len(r.Metrics))
			}
			if b, _ := json.Marshal(r); bytes.Contains(b, []byte(`"state"`)) {
				t.Errorf("registration carries chaincode fields: %s", b)
			}
		})
	}
}

// TestOpenModelsErrors: a bad ONNX Runtime library is a usage error (exit
// 2); a model that fails to load is a failure (exit 1) naming the setting.
func TestOpenModelsErrors(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "dns-dga", "1.0.0")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(repoRoot(), "models", "dns-dga", "1.0.0", onnx.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, onnx.ManifestFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, onnx.ModelFile), []byte("not the model"), 0o644); err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	_, err = openModels(context.Background(), config.Detection{Library: filepath.Join(t.TempDir(), "none.so"), ModelsDir: root}, nil, nil, quiet)
	if !errors.Is(err, onnx.ErrLibrary) || exitCode(err) != 2 {
		t.Errorf("missing library: err = %v (exit %d), want ErrLibrary with exit 2", err, exitCode(err))
	}
	_, err = openModels(context.Background(), config.Detection{Library: onnx.LibraryPath(repoRoot()), ModelsDir: root}, nil, nil, quiet)
	if !errors.Is(err, onnx.ErrChecksum) || exitCode(err) != 1 || !strings.HasPrefix(err.Error(), "detection.models_dir: ") {
		t.Errorf("swapped model: err = %v (exit %d), want ErrChecksum under detection.models_dir with exit 1", err, exitCode(err))
	}
}
