package shadow

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway/onnx"
)

func TestDrift(t *testing.T) {
	withStats, err := onnx.ReadManifestFile(filepath.Join(repoRoot(t), "models", "dns-anomaly", "1.0.0", onnx.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	without, err := onnx.ReadManifestFile(filepath.Join(repoRoot(t), "models", "auth-bruteforce", "1.0.0", onnx.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	w := len(withStats.Anomaly.Mean)
	// rows at mean + k·scale for every feature, except feature 3 at +3k.
	rowsAt := func(k float64, n int) []float32 {
		x := make([]float32, n*w)
		for r := range n {
			for i := range w {
				kk := k
				if i == 3 {
					kk = 3 * k
				}
				x[r*w+i] = float32(withStats.Anomaly.Mean[i] + kk*withStats.Anomaly.Scale[i])
			}
		}
		return x
	}
	tests := []struct {
		name      string
		k         float64
		rows      int
		wantDrift float64
		wantMaxZ  float64
	}{
		{"at the training mean", 0, 10, 0, 0},
		{"one scale away", 1, 10, (float64(w-1) + 3) / float64(w), 3},
		{"half a scale", 0.5, 4, (float64(w-1) + 3) * 0.5 / float64(w), 1.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDrift()
			d.Observe(withStats, rowsAt(tt.k, tt.rows), tt.rows)
			d.Observe(without, make([]float32, 5*10), 5)
			got := d.Report()
			if len(got) != 2 {
				t.Fatalf("report %+v, want two models", got)
			}
			a, s := got[0], got[1] // auth-bruteforce, dns-anomaly
			if a.Model != "auth-bruteforce" || a.HasStats || a.Events != 5 || a.Drift != 0 {
				t.Errorf("model without statistics: %+v", a)
			}
			if s.Model != "dns-anomaly" || !s.HasStats || s.Events != uint64(tt.rows) {
				t.Errorf("model with statistics: %+v", s)
			}
			if math.Abs(s.Drift-tt.wantDrift) > 1e-3 || math.Abs(s.MaxZ-tt.wantMaxZ) > 1e-3 {
				t.Errorf("drift %v max z %v, want %v and %v", s.Drift, s.MaxZ, tt.wantDrift, tt.wantMaxZ)
			}
			if tt.k > 0 && s.MaxFeature == "" {
				t.Errorf("no max feature named: %+v", s)
			}
		})
	}
}

// TestDriftSamplesAcrossCalls: every 16th row counts, continuing across
// calls, and Events counts every row.
func TestDriftSamplesAcrossCalls(t *testing.T) {
	m, err := onnx.ReadManifestFile(filepath.Join(repoRoot(t), "models", "dns-anomaly", "1.0.0", onnx.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	w := len(m.Anomaly.Mean)
	d := NewDrift()
	// Row g sits g training scales above the mean: rows 0 and 16 are
	// sampled, so the drift is (0+16)/2.
	for _, calls := range [][2]int{{0, 5}, {5, 7}, {12, 8}, {20, 1}} { // {first g, rows}
		x := make([]float32, calls[1]*w)
		for r := range calls[1] {
			for i := range w {
				x[r*w+i] = float32(m.Anomaly.Mean[i] + float64(calls[0]+r)*m.Anomaly.Scale[i])
			}
		}
		d.Observe(m, x, calls[1])
	}
	got := d.Report()[0]
	if got.Events != 21 || math.Abs(got.Drift-8) > 1e-2 {
		t.Errorf("got %+v, want 21 events and drift 8", got)
	}
}
