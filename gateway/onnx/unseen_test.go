// Anomaly-model tests. The file sorts after onnx_test.go on purpose:
// TestInitLibraryErrors there must run before any test initialises ONNX
// Runtime (Init is once per process).

package onnx

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/features"
)

func TestExplain(t *testing.T) {
	eng, err := features.Compile(features.Spec{Features: []features.Feature{
		{Name: "a", Kind: features.KindNumeric, Field: "a"},
		{Name: "b", Kind: features.KindNumeric, Field: "b"},
		{Name: "c", Kind: features.KindNumeric, Field: "c"},
		{Name: "d", Kind: features.KindNumeric, Field: "d"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	spec := &AnomalySpec{Mean: []float64{0, 1, 0, 0}, Scale: []float64{1, 2, 0.5, 1}}
	tests := []struct {
		name string
		top  int
		row  []float32
		want string
	}{
		{"largest |z| first, signed", 0, []float32{1, -5, 2, 0}, "c:+4.0,b:-3.0,a:+1.0"},
		{"top 1", 1, []float32{1, -5, 2, 0}, "c:+4.0"},
		{"ties by column", 2, []float32{2, 5, 0, 2}, "a:+2.0,b:+2.0"},
		{"no deviation names nothing", 0, []float32{0, 1, 0, 0}, ""},
		{"fewer deviating than top", 3, []float32{0, 1, 0, -1.5}, "d:-1.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := *spec
			s.TopFeatures = tt.top
			m := &Model{manifest: &Manifest{Anomaly: &s}, engine: eng}
			if got := m.explain(tt.row); got != tt.want {
				t.Errorf("explain(%v) = %q, want %q", tt.row, got, tt.want)
			}
		})
	}
}

func TestOpenAnomalyManifestErrors(t *testing.T) {
	requireORT(t)
	src := modelDir(t, "dns-anomaly")
	tests := []struct {
		name string
		edit func(m map[string]any)
	}{
		{"unknown detector", func(m map[string]any) { m["detector"] = "oracle" }},
		{"anomaly detector without anomaly section", func(m map[string]any) { delete(m, "anomaly") }},
		{"mean shorter than the feature vector", func(m map[string]any) {
			a := m["anomaly"].(map[string]any)
			a["mean"] = a["mean"].([]any)[1:]
		}},
		{"zero scale", func(m map[string]any) { m["anomaly"].(map[string]any)["scale"].([]any)[0] = 0 }},
		{"negative top_features", func(m map[string]any) { m["anomaly"].(map[string]any)["top_features"] = -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyModel(t, src, t.TempDir(), "1.0.0")
			editManifest(t, dir, tt.edit)
			m, err := Open(dir)
			if err == nil {
				m.Close()
			}
			var me *ModelError
			if !errors.As(err, &me) || !errors.Is(err, ErrManifest) {
				t.Fatalf("Open = %v, want *ModelError of kind ErrManifest", err)
			}
		})
	}
}

// TestAnomalyDetect: the committed NSL-KDD anomaly model leaves an
// ordinary HTTP connection alone and flags a connection unlike any normal
// training row, with the category "anomaly" and the features that
// deviated most.
func TestAnomalyDetect(t *testing.T) {
	requireORT(t)
	m := openCommitted(t, "nsl-kdd-flow-anomaly")
	if !m.Manifest().IsAnomaly() {
		t.Fatalf("manifest detector = %q, want anomaly", m.Manifest().Detector)
	}
	events := []gateway.Event{
		goldenEvents("nsl-kdd-flow")[0], // an ordinary HTTP connection
		{Class: gateway.ClassFlow, Fields: map[string]any{"kdd.protocol_type": "tcp", "kdd.service": "telnet", "kdd.flag": "SF",
			"kdd.src_bytes": 3e8, "kdd.dst_bytes": 0.0, "kdd.num_root": 40.0, "kdd.num_file_creations": 25.0, "kdd.root_shell": 1.0,
			"kdd.wrong_fragment": 3.0, "kdd.count": 1.0, "kdd.srv_count": 1.0}},
	}
	res, err := m.Detect(context.Background(), events)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 {
		t.Fatalf("got %d results, want 2", len(res))
	}
	if got := res[0]; got.Flagged || got.Label != "normal" || got.Category != "" || got.TopFeatures != "" {
		t.Errorf("ordinary HTTP = %+v, want normal, unflagged, no explanation", got)
	}
	got := res[1]
	if !got.Flagged || got.Label != "anomaly" || got.Category != CategoryAnomaly {
		t.Fatalf("odd telnet = %+v, want flagged anomaly", got)
	}
	t.Logf("odd telnet: score %.4f, top_features %s", got.Score, got.TopFeatures)
	parts := strings.Split(got.TopFeatures, ",")
	if len(parts) != 3 {
		t.Fatalf("TopFeatures = %q, want 3 features", got.TopFeatures)
	}
	known := map[string]bool{"src_bytes": true, "num_root": true, "num_file_creations": true, "root_shell": true, "wrong_fragment": true, "service=telnet": true, "dst_bytes": true}
	for _, p := range parts {
		name, z, ok := strings.Cut(p, ":")
		if !ok || !strings.HasPrefix(z, "+") && !strings.HasPrefix(z, "-") {
			t.Errorf("TopFeatures part %q is not name:±z", p)
		}
		if !known[name] {
			t.Logf("TopFeatures names %q (not one of the fields set far from normal)", name)
		}
	}
	if name, _, _ := strings.Cut(parts[0], ":"); !known[name] {
		t.Errorf("most deviating feature %q is not one of the fields set far from normal (%q)", name, got.TopFeatures)
	}
}

// FuzzAnomalyManifest: any manifest JSON either fails validation or, for
// an anomaly model, yields an explanation of any row (NaN, ±Inf included)
// without panicking, naming at most TopFeatures features.
func FuzzAnomalyManifest(f *testing.F) {
	for _, name := range []string{"dns-anomaly", "auth-anomaly"} {
		b, err := os.ReadFile(filepath.Join(modelDir(f, name), ManifestFile))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, []byte{0, 1, 2, 255})
	}
	f.Fuzz(func(t *testing.T, manifest, row []byte) {
		var m Manifest
		if json.Unmarshal(manifest, &m) != nil || m.validate() != nil || m.Anomaly == nil {
			return
		}
		eng, err := m.Engine()
		if err != nil {
			t.Fatalf("validated manifest does not compile: %v", err)
		}
		x := make([]float32, eng.Width())
		specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, 1e30, -1e30}
		for i := range x {
			if i < len(row) {
				x[i] = specials[int(row[i])%len(specials)] * float32(row[i]%3)
			}
		}
		got := (&Model{manifest: &m, engine: eng}).explain(x)
		k := m.Anomaly.TopFeatures
		if k == 0 {
			k = 3
		}
		if got != "" && len(strings.Split(got, ",")) > k {
			t.Errorf("explain named more than %d features: %q", k, got)
		}
	})
}
