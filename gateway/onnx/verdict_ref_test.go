package onnx

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway/detect"
)

// explainRef is explain as it was before it kept |z| beside z and built
// its text in a stack buffer (a full comparison function per candidate,
// strings.Builder, FormatFloat): the reference the faster one must match.
func explainRef(m *Model, row []float32) string {
	a := m.manifest.Anomaly
	k := a.TopFeatures
	if k == 0 {
		k = 3
	}
	type dev struct {
		i int
		z float64
	}
	compareAbs := func(a, b float64) int {
		switch a, b := math.Abs(a), math.Abs(b); {
		case a < b:
			return -1
		case a > b:
			return 1
		}
		return 0
	}
	before := func(p, q dev) bool {
		if c := compareAbs(p.z, q.z); c != 0 {
			return c > 0
		}
		return p.i < q.i
	}
	var top []dev
	for i, v := range row {
		z := (float64(v) - a.Mean[i]) / a.Scale[i]
		if math.IsNaN(z) || z == 0 {
			continue
		}
		d := dev{i, z}
		if len(top) == k && !before(d, top[k-1]) {
			continue
		}
		if len(top) < k {
			top = append(top, d)
		} else {
			top[k-1] = d
		}
		for j := len(top) - 1; j > 0 && before(top[j], top[j-1]); j-- {
			top[j], top[j-1] = top[j-1], top[j]
		}
	}
	names := m.engine.ColumnNames()
	var b strings.Builder
	for j, d := range top {
		if j > 0 {
			b.WriteByte(',')
		}
		b.WriteString(names[d.i])
		b.WriteByte(':')
		if d.z > 0 {
			b.WriteByte('+')
		}
		b.WriteString(strconv.FormatFloat(math.Max(math.Min(d.z, 1e6), -1e6), 'f', 1, 64))
	}
	return b.String()
}

// TestExplainMatchesReference: on the committed anomaly-bearing models,
// explain gives explainRef's text for rows of their evaluation events and
// for synthetic rows full of ties, zeros, NaN and infinities.
func TestExplainMatchesReference(t *testing.T) {
	requireORT(t)
	r := rand.New(rand.NewPCG(12, 7))
	for _, name := range []string{"nsl-kdd-flow", "nsl-kdd-flow-anomaly", "cic-ids2017-flow-anomaly", "dns-anomaly", "unsw-nb15-flow"} {
		t.Run(name, func(t *testing.T) {
			m := openCommitted(t, name)
			if m.manifest.Anomaly == nil {
				t.Skipf("%s has no anomaly part", name)
			}
			w := m.engine.Width()
			var rows [][]float32
			for _, ev := range benchEvents(t, m, 500) {
				x := make([]float32, w)
				m.engine.Extract(&ev, x)
				rows = append(rows, x)
			}
			a := m.manifest.Anomaly
			specials := []float32{0, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1, -1}
			for range 3000 {
				x := make([]float32, w)
				for i := range x {
					switch r.IntN(4) {
					case 0: // exactly the mean: z 0, or a tie with another such column
						x[i] = float32(a.Mean[i])
					case 1:
						x[i] = specials[r.IntN(len(specials))]
					case 2: // the same deviation in many columns: ties
						x[i] = float32(a.Mean[i] + 2*a.Scale[i])
					default:
						x[i] = float32(r.NormFloat64() * 5)
					}
				}
				rows = append(rows, x)
			}
			for _, x := range rows {
				if got, want := m.explain(x), explainRef(m, x); got != want {
					t.Fatalf("explain = %q, reference %q (row %v)", got, want, x)
				}
			}
		})
	}
}

// verdictRef is Verdict as it was before labelInfo (the labels compared
// with the benign one and the category looked up per row).
func verdictRef(m *Model, p []float32) detect.Result {
	man := m.manifest
	var benign float64
	best, bestMal := -1, -1
	for j, l := range man.Labels {
		if best < 0 || p[j] > p[best] {
			best = j
		}
		if l == man.Benign {
			benign = float64(p[j])
		} else if bestMal < 0 || p[j] > p[bestMal] {
			bestMal = j
		}
	}
	score := min(max(1-benign, 0), 1)
	res := detect.Result{
		Model: man.Name, Version: man.Version, SHA256: man.Model.SHA256,
		Score: score, Flagged: score >= man.Threshold, Label: man.Labels[best],
	}
	if res.Flagged {
		res.Label = man.Labels[bestMal]
	}
	if c, ok := man.Categories[res.Label]; ok && res.Label != man.Benign {
		res.Category = c.ID
	}
	if man.IsAnomaly() {
		res.Label, res.Category = man.Benign, ""
		if res.Flagged {
			res.Label, res.Category = man.Labels[bestMal], CategoryAnomaly
		}
	}
	return res
}

// TestVerdictMatchesReference: for every committed model, Verdict gives
// verdictRef's Result on random probability rows, ties and the
// threshold's neighbourhood included.
func TestVerdictMatchesReference(t *testing.T) {
	requireORT(t)
	r := rand.New(rand.NewPCG(5, 9))
	for _, name := range detectModels {
		t.Run(name, func(t *testing.T) {
			m := openCommitted(t, name)
			nl := len(m.manifest.Labels)
			th := float32(m.manifest.Threshold)
			for range 20000 {
				p := make([]float32, nl)
				for j := range p {
					switch r.IntN(4) {
					case 0:
						p[j] = 1 - th
					case 1:
						p[j] = th
					case 2:
						p[j] = 0.5
					default:
						p[j] = r.Float32()
					}
				}
				if got, want := m.Verdict(p), verdictRef(m, p); !reflect.DeepEqual(got, want) {
					t.Fatalf("Verdict(%v) = %+v, reference %+v", p, got, want)
				}
			}
		})
	}
}
