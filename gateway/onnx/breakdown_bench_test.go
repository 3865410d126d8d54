package onnx

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/features"
	ort "github.com/yalue/onnxruntime_go"
)

// detectModels are the committed models BenchmarkDetect and
// BenchmarkDetectStages measure, classifiers first.
var detectModels = []string{"nsl-kdd-flow", "cic-ids2017-flow", "dns-dga", "auth-bruteforce",
	"nsl-kdd-flow-anomaly", "cic-ids2017-flow-anomaly", "dns-anomaly", "auth-anomaly", "unsw-nb15-flow", "cic-ids2017-flow-common"}

// detectInput returns BenchmarkDetect's batch for model name: detectBatch
// events as the store returns them, and their canonical bytes.
func detectInput(b *testing.B, m *Model, name string) ([]gateway.Event, [][]byte) {
	var base []gateway.Event
	if name == "auth-bruteforce" || name == "auth-anomaly" {
		base = goldenEvents("auth-bruteforce")
	} else {
		base = benchEvents(b, m, detectBatch)
	}
	evs := make([]gateway.Event, 0, detectBatch)
	for len(evs) < detectBatch {
		evs = append(evs, base[:min(len(base), detectBatch-len(evs))]...)
	}
	raw := make([][]byte, len(evs))
	for i := range evs {
		evs[i] = stored(b, evs[i])
		c, err := evs[i].Canonical()
		if err != nil {
			b.Fatal(err)
		}
		raw[i] = c
	}
	return evs, raw
}

// BenchmarkDetectStages breaks BenchmarkDetect's cost per event into its
// stages, each run alone on one goroutine so that CPU time and wall time
// agree and the stages add up (cpu-ns/event):
//
//   - decode: the store's decoding of a stored event (encoding/json with
//     UseNumber, as store.Leaves does). Paid once per event for all models,
//     not part of detect_ns_per_event; shown for scale.
//   - extract: features.Engine.Extract over the batch.
//   - extract-canonical: features.Engine.ExtractCanonical, the same
//     vectors read from the canonical bytes, each event's bytes
//     prefetched prefetchAhead events ahead as the serving loops do.
//   - tensor: creating and destroying the input and output tensors of one
//     model call per chunk, no Run.
//   - run: ONNX Runtime Run on the extracted rows, in chunks of the
//     batcher's MaxBatch (tree ensembles: TreeChunk), tensors included;
//     for a cascade, the screen and then the full graph on the rows it is
//     unsure of, as served.
//   - run-8192: one Run over the whole batch at once, on synthetic rows
//     (standard normal): the model graph's floor, whatever Go does. For a
//     cascade, on the extracted rows instead (how many rows the screen
//     answers alone depends on them; on synthetic rows the figure would
//     mean nothing): one cascade call over the batch.
//   - screen, full (cascades only): the run stage's two graphs alone, the
//     screen and the full graph each on every extracted row.
//   - verdict: turning the probabilities into Results.
func BenchmarkDetectStages(b *testing.B) {
	requireORT(b)
	for _, name := range detectModels {
		b.Run(name, func(b *testing.B) {
			m := openCommitted(b, name)
			evs, raw := detectInput(b, m, name)
			n := len(evs)
			w, nl := m.engine.Width(), len(m.manifest.Labels)
			x := make([]float32, n*w)
			probs := make([]float32, n*nl)
			for i := range evs {
				m.engine.Extract(&evs[i], x[i*w:(i+1)*w])
			}
			if err := m.sess.run(x, n, probs); err != nil {
				b.Fatal(err)
			}
			chunk := m.batcher.Config().MaxBatch
			stage := func(stage string, f func()) {
				b.Run(stage, func(b *testing.B) {
					cpu0 := cpuTime(b)
					for b.Loop() {
						f()
					}
					b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(b.N*n), "cpu-ns/event")
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
				})
			}
			stage("decode", func() {
				for _, c := range raw {
					var e gateway.Event
					d := json.NewDecoder(bytes.NewReader(c))
					d.UseNumber()
					if err := d.Decode(&e); err != nil {
						b.Fatal(err)
					}
				}
			})
			m.engine.Reset()
			stage("extract", func() {
				for i := range evs {
					m.engine.Extract(&evs[i], x[i*w:(i+1)*w])
				}
			})
			m.engine.Reset()
			leaves := make([]gateway.Leaf, n)
			for i := range evs {
				leaves[i] = gateway.Leaf{Event: evs[i], Canonical: raw[i]}
			}
			stage("extract-canonical", func() {
				for i := range evs {
					if i+prefetchAhead < n {
						features.PrefetchLeaf(&leaves[i+prefetchAhead]) // as the serving loops do
					}
					m.engine.ExtractCanonical(&evs[i], raw[i], x[i*w:(i+1)*w])
				}
			})
			stage("tensor", func() {
				step := chunk
				if m.sess.chunk > 0 {
					step = m.sess.chunk
				}
				for lo := 0; lo < n; lo += step {
					k := min(step, n-lo)
					if err := m.sess.tensorsOnly(x[lo*w:(lo+k)*w], k, probs[lo*nl:(lo+k)*nl]); err != nil {
						b.Fatal(err)
					}
				}
			})
			stage("run", func() {
				for lo := 0; lo < n; lo += chunk {
					k := min(chunk, n-lo)
					if err := m.run(x[lo*w:(lo+k)*w], k, probs[lo*nl:(lo+k)*nl]); err != nil {
						b.Fatal(err)
					}
				}
			})
			syn := make([]float32, n*w)
			r := rand.New(rand.NewPCG(1, 2))
			for i := range syn {
				syn[i] = float32(r.NormFloat64())
			}
			stage("run-8192", func() {
				var err error
				if m.casc != nil {
					err = m.casc.run(x, n, probs)
				} else {
					err = m.sess.runOne(syn, n, probs)
				}
				if err != nil {
					b.Fatal(err)
				}
			})
			if m.casc != nil {
				for _, g := range []struct {
					name string
					s    *session
				}{{"screen", m.casc.screen}, {"full", m.casc.full}} {
					stage(g.name, func() {
						for lo := 0; lo < n; lo += chunk {
							k := min(chunk, n-lo)
							if err := g.s.run(x[lo*w:(lo+k)*w], k, probs[lo*nl:(lo+k)*nl]); err != nil {
								b.Fatal(err)
							}
						}
					})
				}
			}
			stage("verdict", func() {
				for r := range n {
					res := m.Verdict(probs[r*nl : (r+1)*nl])
					res.Index = r
					res.EventID = evs[r].ID
				}
			})
		})
	}
}

// tensorsOnly is runOne without the Run: what building a call's tensors
// costs.
func (s *session) tensorsOnly(x []float32, rows int, dst []float32) error {
	in, err := ort.NewTensor(ort.NewShape(int64(rows), int64(s.width)), x)
	if err != nil {
		return err
	}
	defer in.Destroy()
	out, err := ort.NewTensor(ort.NewShape(int64(rows), int64(s.classes)), dst)
	if err != nil {
		return err
	}
	return out.Destroy()
}
