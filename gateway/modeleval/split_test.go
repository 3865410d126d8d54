package modeleval

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway/onnx"
)

// TestSplitReproducesManifest: replaying the committed auth model's
// evaluation splits gives the n, accuracy, macro-F1 and ROC AUC its
// manifest records (the manifest's figures come from this evaluation).
func TestSplitReproducesManifest(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	data := os.Getenv("LEDGERGUARD_DATA_DIR")
	if data == "" {
		data = filepath.Join(root, "..", "shared", "data")
	}
	if _, err := os.Stat(data); err != nil {
		t.Skipf("datasets not found at %s (set LEDGERGUARD_DATA_DIR): %v", data, err)
	}
	if err := onnx.Init(onnx.LibraryPath(root)); err != nil {
		t.Fatalf("ONNX Runtime library required by this test is unusable: %v", err)
	}
	m, err := onnx.Open(filepath.Join(root, "models", "auth-bruteforce", "1.0.0"), onnx.WithMaxWait(-1))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	recorded := map[string]map[string]any{}
	tests, _ := m.Manifest().Metrics["test"].([]any)
	for _, e := range tests {
		if obj, ok := e.(map[string]any); ok {
			sp, _ := obj["split"].(string)
			recorded[sp] = obj
		}
	}
	for _, sp := range m.Manifest().Evaluation {
		t.Run(sp.Split, func(t *testing.T) {
			want, ok := recorded[sp.Split]
			if !ok {
				t.Fatalf("manifest records no test metrics for split %s", sp.Split)
			}
			got, err := Split(context.Background(), m, sp, data)
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := want["n"].(float64); got.N != int(n) {
				t.Errorf("n = %d, want %v", got.N, n)
			}
			for name, g := range map[string]float64{"accuracy": got.Accuracy, "macro_f1": got.MacroF1} {
				if w, _ := want[name].(float64); math.Abs(g-w) > 1e-9 {
					t.Errorf("%s = %v, want %v", name, g, w)
				}
			}
			switch w := want["roc_auc"].(type) {
			case nil:
				if got.ROCAUC != nil {
					t.Errorf("roc_auc = %v, want null", *got.ROCAUC)
				}
			case float64:
				if got.ROCAUC == nil || math.Abs(*got.ROCAUC-w) > 1e-9 {
					t.Errorf("roc_auc = %v, want %v", got.ROCAUC, w)
				}
			}
			if got.Dataset != sp.Dataset || got.Split != sp.Split || got.ORTVersion == "" {
				t.Errorf("result names %s/%s (onnxruntime %q)", got.Dataset, got.Split, got.ORTVersion)
			}
		})
	}
}
