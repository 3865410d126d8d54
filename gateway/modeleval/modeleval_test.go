package modeleval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway/detect"
	"github.com/ledgerguard/ledgerguard/gateway/onnx"
)

func TestROCAUC(t *testing.T) {
	tests := []struct {
		name   string
		pos    []bool
		score  []float64
		want   float64
		wantOK bool
	}{
		{"perfect", []bool{false, false, true, true}, []float64{0.1, 0.2, 0.8, 0.9}, 1, true},
		{"inverted", []bool{true, true, false, false}, []float64{0.1, 0.2, 0.8, 0.9}, 0, true},
		{"all tied", []bool{true, false, true, false}, []float64{0.5, 0.5, 0.5, 0.5}, 0.5, true},
		{"one swap", []bool{false, true, false, true}, []float64{0.1, 0.2, 0.3, 0.4}, 0.75, true},
		{"tie across classes", []bool{false, true, true}, []float64{0.5, 0.5, 0.9}, 0.75, true},
		{"positives only", []bool{true, true}, []float64{0.1, 0.9}, 0, false},
		{"negatives only", []bool{false}, []float64{0.3}, 0, false},
		{"empty", nil, nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ROCAUC(tt.pos, tt.score)
			if ok != tt.wantOK || math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("ROCAUC() = %v, %v; want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestScore(t *testing.T) {
	man := &onnx.Manifest{Name: "m", Version: "1", Benign: "normal", Threshold: 0.5}
	man.Model.SHA256 = "abc"
	truth := []string{"normal", "normal", "normal", "dos", "dos", "probe"}
	groups := []string{"benign", "benign", "benign", "dos", "dos", "novel"}
	preds := []detect.Result{
		{Score: 0.1, Label: "normal"},
		{Score: 0.2, Label: "normal"},
		{Score: 0.7, Label: "dos", Flagged: true}, // false positive
		{Score: 0.9, Label: "dos", Flagged: true},
		{Score: 0.4, Label: "normal"},             // missed
		{Score: 0.8, Label: "dos", Flagged: true}, // caught, wrong class
	}
	r := Score(man, truth, groups, preds)
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if r.Model != "m" || r.Version != "1" || r.ModelSHA != "abc" || r.Threshold != 0.5 || r.N != 6 {
		t.Errorf("identity = %+v", r)
	}
	near("accuracy", r.Accuracy, 4.0/6)
	near("fpr", r.FPR, 1.0/3)
	near("tpr", r.TPR, 2.0/3)
	near("precision at base rate", r.PrecisionAtBaseRate, (2.0/3*0.001)/(2.0/3*0.001+1.0/3*0.999))
	if r.ROCAUC == nil {
		t.Fatal("roc_auc is nil for a two-class split")
	}
	near("roc_auc", *r.ROCAUC, 8.0/9)
	// normal: tp 2, fp 1 (the missed dos), fn 1; dos: tp 1, fp 2, fn 1;
	// probe: tp 0, fn 1.
	want := map[string]PerClass{
		"normal": {Support: 3, Precision: 2.0 / 3, Recall: 2.0 / 3, F1: 2.0 / 3},
		"dos":    {Support: 2, Precision: 1.0 / 3, Recall: 0.5, F1: 0.4},
		"probe":  {Support: 1},
	}
	if len(r.PerClass) != len(want) {
		t.Fatalf("per_class = %v, want %v", r.PerClass, want)
	}
	for l, w := range want {
		g := r.PerClass[l]
		if g.Support != w.Support {
			t.Errorf("%s support = %d, want %d", l, g.Support, w.Support)
		}
		near(l+" precision", g.Precision, w.Precision)
		near(l+" recall", g.Recall, w.Recall)
		near(l+" f1", g.F1, w.F1)
	}
	near("macro_f1", r.MacroF1, (2.0/3+0.4)/3)
	wantGroups := map[string]GroupRate{"benign": {3, 1.0 / 3}, "dos": {2, 0.5}, "novel": {1, 1}}
	for g, w := range wantGroups {
		if got := r.PerGroup[g]; got.N != w.N || math.Abs(got.Flagged-w.Flagged) > 1e-12 {
			t.Errorf("group %s = %+v, want %+v", g, got, w)
		}
	}
}

// TestResultJSONShape pins the field names and order `models eval --json`
// prints and manifests record.
func TestResultJSONShape(t *testing.T) {
	auc := 0.5
	rs := []Result{{Model: "m", Version: "1", Dataset: "d", Split: "s", N: 2, ROCAUC: &auc,
		PerClass: map[string]PerClass{"a": {Support: 1}}, ModelSHA: "x", ORTVersion: "1.24.1"}, {Model: "n"}}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, rs); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2:\n%s", len(lines), buf.String())
	}
	want := `{"model":"m","version":"1","dataset":"d","split":"s","n":2,"accuracy":0,"macro_f1":0,"roc_auc":0.5,"fpr":0,"tpr":0,"precision_at_base_rate_0.001":0,"threshold":0,"per_class":{"a":{"support":1,"precision":0,"recall":0,"f1":0}},"ns_per_event":0,"sha256":"x","onnxruntime":"1.24.1"}`
	if got := lines[0]; got != want {
		t.Errorf("line 1:\n got %s\nwant %s", got, want)
	}
	var back map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &back); err != nil {
		t.Fatal(err)
	}
	if v, ok := back["roc_auc"]; !ok || v != nil {
		t.Errorf("a result without AUC must print roc_auc null, got %v (present %v)", v, ok)
	}
}

func TestPrint(t *testing.T) {
	auc := 0.91234
	var buf bytes.Buffer
	Print(&buf, []Result{{Model: "m", Dataset: "d", Split: "s", N: 3, Accuracy: 0.5, ROCAUC: &auc,
		PerClass: map[string]PerClass{"b": {Support: 1}, "a": {Support: 2}}, PerGroup: map[string]GroupRate{"g": {N: 3, Flagged: 1}}}, {Model: "n"}})
	out := buf.String()
	for _, want := range []string{"MODEL", "0.9123", "n/a", "m d/s per class:", "  group g"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "  a ") > strings.Index(out, "  b ") {
		t.Errorf("classes not in name order:\n%s", out)
	}
}

// TestScoreMacroF1IsDeterministic scores one set of predictions over many
// labels repeatedly: macro-F1 must come out bit for bit the same each time
// (summed in map order it varied in its last digit between runs).
func TestScoreMacroF1IsDeterministic(t *testing.T) {
	man := &onnx.Manifest{Name: "m", Version: "1", Benign: "l0", Threshold: 0.5}
	var truth, groups []string
	var preds []detect.Result
	for i := range 400 {
		// Each label right a different share of the time, so the per-class
		// F1 values are unequal fractions whose float sum depends on order.
		tl, pl := fmt.Sprintf("l%d", i%23), fmt.Sprintf("l%d", i%23)
		if i%(i%23+2) == 0 {
			pl = fmt.Sprintf("l%d", (i+1)%23)
		}
		truth, groups = append(truth, tl), append(groups, "g")
		preds = append(preds, detect.Result{Score: float64(i%10) / 10, Label: pl, Flagged: pl != "l0"})
	}
	want := Score(man, truth, groups, preds).MacroF1
	for range 200 {
		if got := Score(man, truth, groups, preds).MacroF1; got != want {
			t.Fatalf("MacroF1 = %v, then %v: not deterministic", want, got)
		}
	}
}
