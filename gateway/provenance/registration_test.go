package provenance

import (
	"encoding/json"
	"testing"
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
