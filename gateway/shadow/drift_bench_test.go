package shadow

import (
	"path/filepath"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway/onnx"
)

// BenchmarkDriftObserve is the cost the drift observer adds per scored
// row of the widest committed model with training statistics (125
// features); compare with the gateway/onnx BenchmarkDetect figures.
func BenchmarkDriftObserve(b *testing.B) {
	m, err := onnx.ReadManifestFile(filepath.Join(repoRoot(b), "models", "nsl-kdd-flow-anomaly", "1.0.0", onnx.ManifestFile))
	if err != nil {
		b.Fatal(err)
	}
	const rows = 1024
	w := len(m.Anomaly.Mean)
	x := make([]float32, rows*w)
	for i := range x {
		x[i] = float32(i % 7)
	}
	d := NewDrift()
	d.Observe(m, x, rows)
	b.ResetTimer()
	for range b.N {
		d.Observe(m, x, rows)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
}
