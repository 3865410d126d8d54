package onnx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// cascadeModel is the committed model whose latest version is a cascade.
const cascadeModel = "cic-ids2017-flow"

// copyDir copies every file of a committed model directory (a cascade has
// a screen graph beside model.onnx) to dst/name/version.
func copyDir(t *testing.T, src, dst, version string) string {
	t.Helper()
	out := filepath.Join(dst, filepath.Base(filepath.Dir(src)), version)
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestOpenScreenErrors(t *testing.T) {
	requireORT(t)
	src := modelDir(t, cascadeModel)
	screen := func(m map[string]any) map[string]any { return m["screen"].(map[string]any) }
	tests := []struct {
		name    string
		corrupt func(t *testing.T, dir string)
		kind    error
	}{
		{"screen sha256 mismatch", func(t *testing.T, dir string) {
			f, _ := os.OpenFile(filepath.Join(dir, "screen.onnx"), os.O_APPEND|os.O_WRONLY, 0)
			f.Write([]byte{0})
			f.Close()
		}, ErrChecksum},
		{"screen file missing", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "screen.onnx")) }, ErrManifest},
		{"screen file is the model", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) { screen(m)["file"] = ModelFile })
		}, ErrManifest},
		{"screen file outside the directory", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) { screen(m)["file"] = "../screen.onnx" })
		}, ErrManifest},
		{"screen threshold one half", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) { screen(m)["threshold"] = 0.5 })
		}, ErrManifest},
		{"screen threshold above one", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) { screen(m)["threshold"] = 1.01 })
		}, ErrManifest},
		{"screen threshold missing", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) { delete(screen(m), "threshold") })
		}, ErrManifest},
		{"screen input width differs", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) {
				screen(m)["inputs"].([]any)[0].(map[string]any)["shape"] = []any{-1, 82}
			})
		}, ErrManifest},
		{"screen kind autoencoder", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) { screen(m)["kind"] = "autoencoder" })
		}, ErrManifest},
		{"screen score output not listed", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) { screen(m)["score_output"] = "nope" })
		}, ErrManifest},
		{"screen of a model with an anomaly part", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) {
				n := len(m["features"].(map[string]any)["features"].([]any))
				mean, scale := make([]any, n), make([]any, n)
				for i := range n {
					mean[i], scale[i] = 0.0, 1.0
				}
				m["anomaly"] = map[string]any{"mean": mean, "scale": scale}
			})
		}, ErrManifest},
		{"screen graph lacks the score output", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) {
				screen(m)["score_output"] = "nope"
				screen(m)["outputs"] = []any{map[string]any{"name": "nope", "shape": []any{-1, 16}, "type": "float32"}}
			})
		}, ErrOutputs},
		{"screen graph input name differs", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) {
				screen(m)["inputs"].([]any)[0].(map[string]any)["name"] = "features"
			})
		}, ErrInputs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyDir(t, src, t.TempDir(), "9.0.0")
			tt.corrupt(t, dir)
			wantOpenError(t, dir, tt.kind)
		})
	}
	t.Run("intact copy opens", func(t *testing.T) {
		m, err := Open(copyDir(t, src, t.TempDir(), "9.0.0"))
		if err != nil {
			t.Fatal(err)
		}
		m.Close()
	})
}

// checkCascade scores x (rows × width) through m's cascade and checks
// every row against the two graphs run alone on all rows: the screen's
// probabilities where its top one reaches threshold, the full graph's
// elsewhere. It returns how many rows the screen answered.
func checkCascade(t *testing.T, m *Model, c *cascade, x []float32, rows int) int {
	t.Helper()
	k := c.full.classes
	got := make([]float32, rows*k)
	if err := c.run(x, rows, got); err != nil {
		t.Fatal(err)
	}
	screen, full := make([]float32, rows*k), make([]float32, rows*k)
	if err := c.screen.run(x, rows, screen); err != nil {
		t.Fatal(err)
	}
	if err := c.full.run(x, rows, full); err != nil {
		t.Fatal(err)
	}
	screened := 0
	for r := range rows {
		row := func(p []float32) []float32 { return p[r*k : (r+1)*k] }
		want := row(full)
		// The screen answers when its top probability reaches the
		// threshold and its verdict is flagged exactly when that top
		// class is an attack (see cascade.confident).
		sp := row(screen)
		top := slices.Index(sp, slices.Max(sp))
		flagged := 1-float64(sp[c.benign]) >= c.flagAt
		if sp[top] >= c.threshold && flagged == (top != c.benign) {
			want = sp
			screened++
		}
		if !slices.Equal(row(got), want) {
			t.Fatalf("row %d: cascade %v, want %v (screen %v, full %v, threshold %v)", r, row(got), want, row(screen), row(full), c.threshold)
		}
	}
	return screened
}

// TestConfident checks which screen verdicts the cascade takes: a top
// probability at the threshold, and a flag that agrees with the top
// class under the model's threshold.
func TestConfident(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name      string
		p         []float32
		threshold float64 // the screen's
		flagAt    float64 // the model's
		want      bool
	}{
		{"benign, sure", []float32{0.95, 0.03, 0.02}, 0.8, 0.9, true},
		{"attack, sure and flagged", []float32{0.02, 0.97, 0.01}, 0.8, 0.9, true},
		{"top exactly at the threshold", []float32{0.8, 0.1, 0.1}, 0.8, 0.9, true},
		{"below the threshold", []float32{0.7, 0.2, 0.1}, 0.8, 0.9, false},
		{"attack above the threshold but not flagged", []float32{0.15, 0.85, 0}, 0.8, 0.9, false},
		{"benign top yet flagged", []float32{0.65, 0.35, 0}, 0.6, 0.3, false},
		{"NaN", []float32{nan, 0.99, 0}, 0.8, 0.9, false},
		{"negative", []float32{-0.1, 1.1, 0}, 0.8, 0.9, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCascade(nil, nil, tt.threshold, tt.flagAt, 0)
			if got := c.confident(tt.p); got != tt.want {
				t.Errorf("confident(%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

// TestCascadeRows checks the cascade's routing on synthetic rows with
// the screen threshold above one, at the median of the rows' top screen
// probability and at zero, and that ScreenStats counts what it routed.
func TestCascadeRows(t *testing.T) {
	requireORT(t)
	m := openCommitted(t, cascadeModel)
	if m.casc == nil {
		t.Fatalf("%s %s has no screen", cascadeModel, m.manifest.Version)
	}
	w, k := m.sess.width, m.sess.classes
	const rows = 500
	rnd := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, rows*w)
	for i := range x {
		x[i] = float32(rnd.ExpFloat64() * 4) // log1p-scaled statistics are non-negative
	}
	p := make([]float32, rows*k)
	if err := m.casc.screen.run(x, rows, p); err != nil {
		t.Fatal(err)
	}
	tops := make([]float32, rows)
	for r := range rows {
		tops[r] = slices.Max(p[r*k : (r+1)*k])
	}
	slices.Sort(tops)
	benign := slices.Index(m.manifest.Labels, m.manifest.Benign)
	tests := []struct {
		name      string
		threshold float32
		screened  int // -1: some rows each way
	}{
		{"none confident", 2, 0},
		{"median", tops[rows/2], -1},
		{"any top probability", 0, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCascade(m.casc.screen, m.casc.full, float64(tt.threshold), m.manifest.Threshold, benign)
			got := checkCascade(t, m, c, x, rows)
			if tt.screened >= 0 && got != tt.screened {
				t.Errorf("screened %d rows, want %d", got, tt.screened)
			}
			if tt.screened < 0 && (got == 0 || got == rows) {
				t.Errorf("screened %d of %d rows: both paths should be taken", got, rows)
			}
			if r, s := c.rows.Load(), c.screened.Load(); r != rows || s != int64(got) {
				t.Errorf("counters rows %d screened %d, want %d, %d", r, s, rows, got)
			}
		})
	}
}

// TestCascadeServed checks the served cascade on the model's own
// evaluation events: Detect's probabilities are the screen's or the full
// graph's per row as the manifest's threshold says, and the screen
// answers most of these rows alone (the point of the cascade).
func TestCascadeServed(t *testing.T) {
	requireORT(t)
	m := openCommitted(t, cascadeModel)
	evs := benchEvents(t, m, 2000)
	w := m.engine.Width()
	x := make([]float32, len(evs)*w)
	for i := range evs {
		m.engine.Extract(&evs[i], x[i*w:(i+1)*w])
	}
	screened := checkCascade(t, m, m.casc, x, len(evs))
	if float64(screened) < 0.5*float64(len(evs)) {
		t.Errorf("the screen answered %d of %d evaluation rows alone, want most", screened, len(evs))
	}
	res, err := m.Detect(context.Background(), evs)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(evs) {
		t.Fatalf("%d results for %d events", len(res), len(evs))
	}
	rows, s, ok := m.ScreenStats()
	if !ok || rows < int64(len(evs)) || s == 0 {
		t.Errorf("ScreenStats = %d, %d, %v after scoring %d events", rows, s, ok, len(evs))
	}
	if _, _, ok := openCommitted(t, "dns-dga").ScreenStats(); ok {
		t.Error("ScreenStats of a model without a screen reports ok")
	}
}

// FuzzScreenManifest: any manifest JSON either fails validation or, when
// it has a screen, satisfies what Open and the cascade rely on (a
// threshold in (0.5, 1], a graph file other than the model's reading the
// model's input, no anomaly part); and the cascade's routing of any row
// (NaN, ±Inf, negatives included) never panics and takes a row only with
// its top probability at the threshold and a flag that agrees with its
// top class.
func FuzzScreenManifest(f *testing.F) {
	b, err := os.ReadFile(filepath.Join(modelDir(f, cascadeModel), ManifestFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b, []byte{0, 1, 2, 255})
	f.Fuzz(func(t *testing.T, manifest, row []byte) {
		var m Manifest
		if json.Unmarshal(manifest, &m) != nil || m.validate() != nil || m.Screen == nil {
			return
		}
		s := m.Screen
		if !(s.Threshold > 0.5 && s.Threshold <= 1) || s.File == "" || s.File == m.Model.File || m.Anomaly != nil ||
			!slices.Equal(s.Inputs[0].Shape, m.Model.Inputs[0].Shape) {
			t.Fatalf("validated screen breaks an invariant: %+v (model file %q, anomaly %v)", s, m.Model.File, m.Anomaly != nil)
		}
		benign := slices.Index(m.Labels, m.Benign)
		c := newCascade(nil, nil, s.Threshold, m.Threshold, benign)
		specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, 0.25, 0.5, 0.97, 1, -1}
		p := make([]float32, len(m.Labels))
		for i := range p {
			if i < len(row) {
				p[i] = specials[int(row[i])%len(specials)]
			}
		}
		if !c.confident(p) {
			return
		}
		top := slices.Index(p, slices.Max(p))
		if p[top] < c.threshold || (1-float64(p[benign]) >= m.Threshold) != (top != benign) {
			t.Errorf("confident(%v) with screen threshold %v, model threshold %v, benign %d", p, s.Threshold, m.Threshold, benign)
		}
	})
}

// TestCascadeRestMatchesPerChunk: Model.score runs the screen chunk by
// chunk and the full graph once over the unsure rows of every chunk
// (cascade.rest, split over par goroutines); each row must get exactly,
// bit for bit, what the cascade gave it when it scored each 1,024-row
// chunk alone (screen, then the full graph on that chunk's unsure rows),
// for any par; and Detect's verdicts must be those of the per-chunk
// probabilities. The served cascade's own evaluation events, as
// BenchmarkDetect's batch: their unsure rows cluster in a few chunks.
func TestCascadeRestMatchesPerChunk(t *testing.T) {
	requireORT(t)
	m := openCommitted(t, cascadeModel)
	c := m.casc
	evs := benchEvents(t, m, detectBatch)
	w, k := m.engine.Width(), c.full.classes
	n := len(evs)
	x := make([]float32, n*w)
	for i := range evs {
		m.engine.Extract(&evs[i], x[i*w:(i+1)*w])
	}
	const chunk = 1024 // the batcher's default MaxBatch: one screen call per chunk
	want := make([]float32, n*k)
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		if err := c.run(x[lo*w:hi*w], hi-lo, want[lo*k:hi*k]); err != nil {
			t.Fatal(err)
		}
	}
	for _, par := range []int{1, 2, 3, 7} {
		t.Run(fmt.Sprintf("par %d", par), func(t *testing.T) {
			got := make([]float32, n*k)
			for lo := 0; lo < n; lo += chunk {
				hi := min(lo+chunk, n)
				if err := c.screen.run(x[lo*w:hi*w], hi-lo, got[lo*k:hi*k]); err != nil {
					t.Fatal(err)
				}
			}
			rows0, screened0, _ := m.ScreenStats()
			if err := c.rest(context.Background(), x, n, got, par); err != nil {
				t.Fatal(err)
			}
			rows, screened, _ := m.ScreenStats()
			if rows-rows0 != int64(n) || screened-screened0 == int64(n) || screened == screened0 {
				t.Fatalf("rest routed %d rows, %d by the screen alone, of %d: both paths should be taken", rows-rows0, screened-screened0, n)
			}
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("row %d class %d: %v, per chunk %v", i/k, i%k, got[i], want[i])
				}
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		got := make([]float32, n*k)
		for lo := 0; lo < n; lo += chunk {
			hi := min(lo+chunk, n)
			if err := c.screen.run(x[lo*w:hi*w], hi-lo, got[lo*k:hi*k]); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := c.rest(ctx, x, n, got, 2); !errors.Is(err, context.Canceled) {
			t.Fatalf("rest with a cancelled context: %v, want context.Canceled", err)
		}
	})
	if cap(c.restCalls) != m.batcher.Config().Workers {
		t.Fatalf("restCalls holds %d slots, want WithWorkers' %d", cap(c.restCalls), m.batcher.Config().Workers)
	}
	res, err := m.Detect(context.Background(), evs)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != n {
		t.Fatalf("%d results for %d events", len(res), n)
	}
	for r := range res {
		v := m.Verdict(want[r*k : (r+1)*k])
		if res[r].Score != v.Score || res[r].Label != v.Label || res[r].Flagged != v.Flagged {
			t.Fatalf("event %d: Detect %v %s %v, per chunk %v %s %v", r, res[r].Score, res[r].Label, res[r].Flagged, v.Score, v.Label, v.Flagged)
		}
	}
}
