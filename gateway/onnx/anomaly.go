package onnx

import (
	"math"
	"strconv"
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
		i     int
		z, az float64 // az = |z|
	}
	// Keep only the k best in rank order (insertion into a short sorted
	// list): a flagged row needs its top k, not all its columns sorted.
	// Rank: largest |z| first, ties by column so the text is
	// deterministic; columns come in increasing order, so a column ranks
	// above a kept one only with a strictly larger |z|.
	var buf [8]dev
	top := buf[:0]
	if k > len(buf) {
		top = make([]dev, 0, k)
	}
	for i, v := range row {
		z := (float64(v) - a.Mean[i]) / a.Scale[i]
		if z != z || z == 0 { // NaN, or no deviation
			continue
		}
		az := math.Abs(z)
		if len(top) == k && !(az > top[k-1].az) {
			continue
		}
		if len(top) < k {
			top = append(top, dev{i, z, az})
		} else {
			top[k-1] = dev{i, z, az}
		}
		for j := len(top) - 1; j > 0 && top[j].az > top[j-1].az; j-- {
			top[j], top[j-1] = top[j-1], top[j]
		}
	}
	// One allocation, the result: the text is built in a stack buffer.
	names := m.engine.ColumnNames()
	var tb [256]byte
	b := tb[:0]
	for j, d := range top {
		if j > 0 {
			b = append(b, ',')
		}
		b = append(b, names[d.i]...)
		b = append(b, ':')
		if d.z > 0 {
			b = append(b, '+')
		}
		b = strconv.AppendFloat(b, math.Max(math.Min(d.z, 1e6), -1e6), 'f', 1, 64)
	}
	return string(b)
}
