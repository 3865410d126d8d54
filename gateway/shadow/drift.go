package shadow

import (
	"math"
	"sort"
	"sync"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/onnx"
)

// Drift measures input drift per model version: it observes the feature
// rows the models score (onnx.WithFeatureObserver, so nothing is
// extracted twice) and compares their running means with the training
// statistics in the manifest (the anomaly section's mean and scale, which
// the anomaly and hybrid models carry; they describe the benign training
// rows, so live attacks also move them). Only every 16th row is summed (a
// systematic sample: the features themselves were computed on every
// event), which keeps the cost at a few ns per scored row. Sums are
// float64 per feature: memory is one vector per model version. Safe for
// concurrent use.
type Drift struct {
	mu sync.Mutex
	by map[string]*driftAcc // name@version
}

type driftAcc struct {
	mu          sync.Mutex
	name, ver   string
	names       []string
	mean, scale []float64 // nil without statistics
	sum         []float64
	n           uint64 // rows observed
	sampled     uint64 // rows summed (every driftStride-th)
}

// NewDrift returns an empty tracker.
func NewDrift() *Drift { return &Drift{by: map[string]*driftAcc{}} }

// Observe is the onnx.FeatureObserver: it adds the rows to m's sums.
func (d *Drift) Observe(m *onnx.Manifest, x []float32, rows int) {
	a := d.acc(m)
	if a.mean == nil || rows == 0 {
		a.mu.Lock()
		a.n += uint64(rows)
		a.mu.Unlock()
		return
	}
	w := len(a.sum)
	a.mu.Lock()
	// Every driftStride-th row (continuing across calls): the features
	// were computed on every event, so a systematic sample of the rows
	// estimates their mean without bias at a sixteenth of the cost.
	sum := a.sum[:w]
	first := int((driftStride - a.n%driftStride) % driftStride)
	for r := first; r < rows; r += driftStride {
		row := x[r*w : (r+1)*w]
		for i, v := range row {
			sum[i] += float64(v)
		}
		a.sampled++
	}
	a.n += uint64(rows)
	a.mu.Unlock()
}

// driftStride is the sampling stride of Observe's rows.
const driftStride = 16

func (d *Drift) acc(m *onnx.Manifest) *driftAcc {
	k := m.Name + "@" + m.Version
	d.mu.Lock()
	defer d.mu.Unlock()
	if a, ok := d.by[k]; ok {
		return a
	}
	a := &driftAcc{name: m.Name, ver: m.Version}
	if eng, err := m.Engine(); err == nil {
		a.names = eng.Names()
		if s := m.Anomaly; s != nil && len(s.Mean) == eng.Width() && len(s.Scale) == eng.Width() {
			a.mean, a.scale = s.Mean, s.Scale
			a.sum = make([]float64, eng.Width())
		}
	}
	d.by[k] = a
	return a
}

// Report returns every observed model version's drift, sorted by model
// and version.
func (d *Drift) Report() []gateway.DriftStats {
	d.mu.Lock()
	accs := make([]*driftAcc, 0, len(d.by))
	for _, a := range d.by {
		accs = append(accs, a)
	}
	d.mu.Unlock()
	out := make([]gateway.DriftStats, 0, len(accs))
	for _, a := range accs {
		a.mu.Lock()
		st := gateway.DriftStats{Model: a.name, Version: a.ver, Events: a.n, HasStats: a.mean != nil}
		if a.mean != nil && a.sampled > 0 {
			var total float64
			for i, s := range a.sum {
				scale := a.scale[i]
				if scale <= 0 {
					scale = 1
				}
				z := math.Abs(s/float64(a.sampled)-a.mean[i]) / scale
				total += z
				if z > st.MaxZ {
					st.MaxZ = z
					if i < len(a.names) {
						st.MaxFeature = a.names[i]
					}
				}
			}
			st.Drift = total / float64(len(a.sum))
		}
		a.mu.Unlock()
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Model != out[j].Model {
			return out[i].Model < out[j].Model
		}
		return onnx.CompareVersions(out[i].Version, out[j].Version) < 0
	})
	return out
}
