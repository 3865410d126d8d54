package provenance

import (
	"encoding/json"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway/features"
	"github.com/ledgerguard/ledgerguard/gateway/onnx"
)

func TestManifestMetrics(t *testing.T) {
	var m map[string]any
	json.Unmarshal([]byte(`{"test":[{"dataset":"nsl-kdd","split":"KDDTest+","accuracy":0.83,"note":"x","roc_auc":null,"per_class":{"a":{"f1":1}}}],
		"validation":{"tpr":0.9,"novel_attack_types":["back"]}}`), &m)
	got, err := manifestMetrics(m)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"test.nsl-kdd.KDDTest+.accuracy": 0.83, "validation.tpr": 0.9}
	if len(got) != len(want) {
		t.Fatalf("metrics = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("metrics[%s] = %v, want %v", k, got[k], v)
		}
	}
}

// TestManifestFeaturesSHA256 checks that a cascade's registered hash pins
// its screen (graph sha256 and threshold) and that a manifest without a
// screen hashes as FeaturesSHA256 always did.
func TestManifestFeaturesSHA256(t *testing.T) {
	spec := features.Spec{Features: []features.Feature{{Name: "a", Kind: "numeric", Field: "x"}}}
	plain := &onnx.Manifest{Features: spec}
	screen := func(sha string, th float64) *onnx.Manifest {
		return &onnx.Manifest{Features: spec, Screen: &onnx.ScreenSpec{ModelSpec: onnx.ModelSpec{File: "screen.onnx", SHA256: sha}, Threshold: th}}
	}
	hash := func(m *onnx.Manifest) string {
		h, err := ManifestFeaturesSHA256(m)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	specOnly, _ := FeaturesSHA256(spec)
	tests := []struct {
		name string
		a, b *onnx.Manifest
		same bool
	}{
		{"no screen hashes the spec alone", plain, plain, true},
		{"same screen", screen("aa", 0.95), screen("aa", 0.95), true},
		{"screen added", plain, screen("aa", 0.95), false},
		{"screen graph swapped", screen("aa", 0.95), screen("bb", 0.95), false},
		{"screen threshold lowered", screen("aa", 0.95), screen("aa", 0.6), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hash(tt.a) == hash(tt.b); got != tt.same {
				t.Errorf("equal hashes = %v, want %v", got, tt.same)
			}
		})
	}
	if got := hash(plain); got != specOnly {
		t.Errorf("manifest without a screen hashes to %s, FeaturesSHA256 of its spec is %s", got, specOnly)
	}
}
