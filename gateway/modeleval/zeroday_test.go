package modeleval

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway/detect"
	"github.com/ledgerguard/ledgerguard/gateway/onnx"
)

// negatives returns n negative labels and scores 0, 1/n, ..., (n-1)/n.
func negatives(n int) ([]bool, []float64) {
	pos := make([]bool, n)
	s := make([]float64, n)
	for i := range s {
		s[i] = float64(i) / float64(n)
	}
	return pos, s
}

func TestDetectionRateAtFPR(t *testing.T) {
	neg, negScore := negatives(1000) // highest negative 0.999, 10th highest 0.990
	tests := []struct {
		name   string
		pos    []bool
		score  []float64
		fpr    float64
		want   float64
		wantOK bool
	}{
		// At FPR 0.1 % one negative (0.999) may be above t, so t = 0.998.
		{"fpr 0.001 of 1000 negatives", append(append([]bool{}, neg...), true, true, true, true),
			append(append([]float64{}, negScore...), 0.9985, 0.998, 0.5, 1), 0.001, 0.5, true},
		// At FPR 1 % ten may be above t, so t = 0.989.
		{"fpr 0.01 of 1000 negatives", append(append([]bool{}, neg...), true, true, true, true),
			append(append([]float64{}, negScore...), 0.9895, 0.989, 0.5, 1), 0.01, 0.5, true},
		{"fewer negatives than 1/fpr: no false positive allowed", []bool{false, false, true, true},
			[]float64{0.2, 0.4, 0.4, 0.6}, 0.01, 0.5, true},
		{"ties with the cut count as misses", []bool{false, true}, []float64{0.5, 0.5}, 0.001, 0, true},
		{"fpr 1 flags everything", []bool{false, true}, []float64{0.5, 0.1}, 1, 1, true},
		{"positives only", []bool{true}, []float64{1}, 0.01, 0, false},
		{"negatives only", []bool{false}, []float64{1}, 0.01, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := DetectionRateAtFPR(tt.pos, tt.score, tt.fpr)
			if ok != tt.wantOK || math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("DetectionRateAtFPR() = %v, %v; want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestZeroDayAndAlertsPerDay(t *testing.T) {
	man := &onnx.Manifest{Name: "m", Version: "1", Labels: []string{"benign", "anomaly"}, Benign: "benign", Threshold: 0.5}
	truth := []string{"benign", "benign", "anomaly", "anomaly"}
	preds := []detect.Result{{Score: 0.1, Label: "benign"}, {Score: 0.6, Flagged: true, Label: "anomaly"},
		{Score: 0.7, Flagged: true, Label: "anomaly"}, {Score: 0.2, Label: "benign"}}
	r := Score(man, truth, []string{"b", "b", "x", "y"}, preds)
	if r.DR001 != nil || r.HeldOut != nil {
		t.Fatalf("Score set zero-day figures on its own: %+v", r)
	}
	// FPR 0.5, TPR 0.5 at the threshold.
	if want := EventsPerDay * (0.999*0.5 + 0.001*0.5); r.AlertsPerDay == nil || math.Abs(*r.AlertsPerDay-want) > 1e-6 {
		t.Errorf("AlertsPerDay = %v, want %v", r.AlertsPerDay, want)
	}
	r.ZeroDay([]string{"x", "y"}, man.Benign, truth, preds)
	// Two negatives: no false positive allowed at either FPR, so t = 0.6
	// and only 0.7 is above it.
	if r.DR001 == nil || *r.DR001 != 0.5 || r.DR01 == nil || *r.DR01 != 0.5 || len(r.HeldOut) != 2 {
		t.Errorf("ZeroDay: held_out %v dr001 %v dr01 %v, want [x y] 0.5 0.5", r.HeldOut, r.DR001, r.DR01)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"held_out":["x","y"]`, `"detection_rate_at_fpr_0.001":0.5`, `"detection_rate_at_fpr_0.01":0.5`, `"alerts_per_day_at_10k_eps":`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON %s lacks %s", b, key)
		}
	}
}
