package onnx

import (
	"math"
	"strconv"
	"strings"
)

// explain names the features of one extracted row that lie farthest from
// the benign training data, as "name:+z" in standard deviations (z from
// the manifest's anomaly mean and scale), largest |z| first. It runs only
// for flagged rows of anomaly models, so it costs nothing on the benign
// bulk of the traffic. The deviation is model-agnostic on purpose: it is
// the same explanation whether the score comes from an autoencoder's
// reconstruction error or another one-class model, and an analyst can
// check it against the event's fields.
func (m *Model) explain(row []float32) string {
	a := m.manifest.Anomaly
	k := a.TopFeatures
	if k == 0 {
		k = 3
	}
	type dev struct {
		i int
		z float64
	}
	// before reports whether p ranks above q: largest |z| first, ties by
	// column so the text is deterministic.
	before := func(p, q dev) bool {
		if c := compareAbs(p.z, q.z); c != 0 {
			return c > 0
		}
		return p.i < q.i
	}
	// Keep only the k best in rank order (insertion into a short sorted
	// list): a flagged row needs its top k, not all its columns sorted.
	var buf [8]dev
	top := buf[:0]
	if k > len(buf) {
		top = make([]dev, 0, k)
	}
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

func compareAbs(a, b float64) int {
	switch a, b := math.Abs(a), math.Abs(b); {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
