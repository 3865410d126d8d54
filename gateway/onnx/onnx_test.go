package onnx

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
)

var update = flag.String("update", "", "rewrite the golden feature vectors of this model (\"all\" for every one)")

// repoRoot is the repository root (this package is gateway/onnx).
func repoRoot(t testing.TB) string {
	t.Helper()
	r, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// requireORT initialises ONNX Runtime from the repo's bin/ (or
// $LEDGERGUARD_ORT_LIB) and fails, not skips, when it is absent: `make
// setup` installs it, so its absence is a broken checkout.
func requireORT(t testing.TB) {
	t.Helper()
	path := LibraryPath(repoRoot(t))
	if err := Init(path); err != nil {
		t.Fatalf("ONNX Runtime library required by this test is unusable: %v", err)
	}
}

// dataDir returns the shared data directory or skips the test.
func dataDir(t testing.TB) string {
	t.Helper()
	d := os.Getenv("LEDGERGUARD_DATA_DIR")
	if d == "" {
		d = filepath.Join(repoRoot(t), "..", "shared", "data")
	}
	if _, err := os.Stat(d); err != nil {
		t.Skipf("datasets not found at %s (set LEDGERGUARD_DATA_DIR): %v", d, err)
	}
	return d
}

func modelDir(t testing.TB, name string) string {
	t.Helper()
	d, ok := latestVersion(filepath.Join(repoRoot(t), "models", name))
	if !ok {
		t.Fatalf("committed model %s not found under models/", name)
	}
	return d
}

// openCommitted opens the latest committed version of model name with
// opts and closes it when the test or benchmark ends.
func openCommitted(t testing.TB, name string, opts ...Option) *Model {
	t.Helper()
	m, err := Open(modelDir(t, name), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// copyModel copies a committed model directory to dst/name/version.
func copyModel(t *testing.T, src, dst, version string) string {
	t.Helper()
	out := filepath.Join(dst, filepath.Base(filepath.Dir(src)), version)
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{ManifestFile, ModelFile} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func editManifest(t *testing.T, dir string, edit func(m map[string]any)) {
	t.Helper()
	p := filepath.Join(dir, ManifestFile)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, _ = json.Marshal(m)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestInitLibraryErrors must run before any test that loads the runtime
// (Init succeeds once per process): test files sorting after onnx_test.go
// hold those.
func TestInitLibraryErrors(t *testing.T) {
	garbage := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	os.WriteFile(garbage, []byte("not a library"), 0o644)
	tests := []struct {
		name string
		path string
		is   error
	}{
		{"missing", filepath.Join(t.TempDir(), "nope.so"), fs.ErrNotExist},
		{"not ELF", garbage, ErrNotSharedLibrary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Init(tt.path)
			var le *LibraryError
			if !errors.As(err, &le) || !errors.Is(err, ErrLibrary) || !errors.Is(err, tt.is) {
				t.Fatalf("Init(%s) = %v, want *LibraryError wrapping %v", tt.path, err, tt.is)
			}
		})
	}
	requireORT(t)
	if err := Init(garbage); !errors.Is(err, ErrLibrary) {
		t.Errorf("Init with another path after success = %v, want ErrLibrary", err)
	}
	if err := Init(LibraryPath(repoRoot(t))); err != nil {
		t.Errorf("Init again with the same path = %v, want nil", err)
	}
}

func TestOpenErrors(t *testing.T) {
	requireORT(t)
	src := filepath.Join(repoRoot(t), "models", "dns-dga", "1.0.0") // two labels, no anomaly section
	tests := []struct {
		name    string
		corrupt func(t *testing.T, dir string)
		kind    error
	}{
		{"wrong sha256", func(t *testing.T, dir string) {
			f, _ := os.OpenFile(filepath.Join(dir, ModelFile), os.O_APPEND|os.O_WRONLY, 0)
			f.Write([]byte{0})
			f.Close()
		}, ErrChecksum},
		{"wrong input name", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) {
				m["model"].(map[string]any)["inputs"].([]any)[0].(map[string]any)["name"] = "features"
			})
		}, ErrInputs},
		{"wrong input width", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) {
				in := m["model"].(map[string]any)["inputs"].([]any)[0].(map[string]any)
				in["shape"] = []any{-1, 14}
				fs := m["features"].(map[string]any)["features"].([]any)
				m["features"].(map[string]any)["features"] = append(fs, map[string]any{"name": "extra", "kind": "numeric", "field": "x"})
			})
		}, ErrInputs},
		{"spec width differs from input", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) {
				m["model"].(map[string]any)["inputs"].([]any)[0].(map[string]any)["shape"] = []any{-1, 99}
			})
		}, ErrManifest},
		{"missing score output", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) {
				m["model"].(map[string]any)["score_output"] = "nope"
				m["model"].(map[string]any)["outputs"] = []any{map[string]any{"name": "nope", "shape": []any{-1, 2}, "type": "float32"}}
			})
		}, ErrOutputs},
		{"wrong label count", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) { m["labels"] = []any{"benign", "dga", "other"} })
		}, ErrOutputs},
		{"bad feature spec", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) { m["features"] = map[string]any{"features": []any{}} })
		}, ErrManifest},
		{"no manifest", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, ManifestFile)) }, ErrManifest},
		{"threshold out of range", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) { m["threshold"] = 1.5 })
		}, ErrManifest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyModel(t, src, t.TempDir(), "1.0.0")
			tt.corrupt(t, dir)
			wantOpenError(t, dir, tt.kind)
		})
	}
}

func dnsEvents(names ...string) []gateway.Event {
	out := make([]gateway.Event, len(names))
	for i, n := range names {
		out[i] = gateway.Event{ID: "e" + n, Class: gateway.ClassDNS, Fields: map[string]any{"dns.question.name": n}}
	}
	return out
}

func TestDetect(t *testing.T) {
	requireORT(t)
	m := openCommitted(t, "dns-dga")
	events := dnsEvents("www.google.com", "xjwqkzvbnmtrplq.biz")
	events = append(events, gateway.Event{ID: "flow", Class: gateway.ClassFlow})
	res, err := m.Detect(context.Background(), events)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 {
		t.Fatalf("got %d results, want 2 (the flow event does not apply)", len(res))
	}
	man := m.Manifest()
	for i, r := range res {
		if r.Index != i || r.EventID != events[i].ID || r.Model != man.Name || r.Version != man.Version || r.SHA256 != man.Model.SHA256 {
			t.Errorf("result %d identity = %+v", i, r)
		}
		if r.Flagged != (r.Score >= man.Threshold) || r.Score < 0 || r.Score > 1 {
			t.Errorf("result %d: score %v flagged %v threshold %v", i, r.Score, r.Flagged, man.Threshold)
		}
	}
	if res[0].Flagged || res[0].Label != "benign" || res[0].Category != "" {
		t.Errorf("google = %+v, want benign", res[0])
	}
	if !res[1].Flagged || res[1].Label != "dga" || res[1].Category != "T1568.002" {
		t.Errorf("random name = %+v, want dga T1568.002", res[1])
	}
}

// cicRow is one flow of the cic-ids2017 test split with all its fields
// (testdata/cic-ids2017-rows.json, written from the evaluation split of
// the served manifest): the golden vectors pin every column the served
// models read, and TestDetectCICIDS2017 their verdicts.
type cicRow struct {
	Label  string         `json:"label"`
	Fields map[string]any `json:"fields"`
}

func (r cicRow) event() gateway.Event {
	return gateway.Event{ID: r.Label, Class: gateway.ClassFlow, Fields: r.Fields}
}

func cicRows() []cicRow {
	b, err := os.ReadFile(filepath.Join("testdata", "cic-ids2017-rows.json"))
	if err != nil {
		panic(err)
	}
	var rows []cicRow
	if err := json.Unmarshal(b, &rows); err != nil {
		panic(err)
	}
	return rows
}

// TestDetectCICIDS2017: the served cic-ids2017 pair on real test-split
// flows: the classifier names each attack and leaves the benign flow
// alone, and the autoencoder finds the benign flow the least unusual.
func TestDetectCICIDS2017(t *testing.T) {
	requireORT(t)
	rows := cicRows()
	var events []gateway.Event
	for _, r := range rows {
		events = append(events, r.event())
	}
	wantCategory := map[string]string{"DDoS": "T1498", "Portscan": "T1046", "SSH-Patator": "T1110"}
	res, err := openCommitted(t, "cic-ids2017-flow").Detect(context.Background(), events)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(rows) {
		t.Fatalf("%d results for %d flows", len(res), len(rows))
	}
	for i, r := range res {
		label := rows[i].Label
		if got, want := r.Flagged, label != "BENIGN"; got != want {
			t.Errorf("%s: flagged %v (score %v), want %v", label, got, r.Score, want)
		}
		if r.Label != label || r.Category != wantCategory[label] {
			t.Errorf("%s: label %q category %q, want %q %q", label, r.Label, r.Category, label, wantCategory[label])
		}
	}
	res, err = openCommitted(t, "cic-ids2017-flow-anomaly").Detect(context.Background(), events)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(rows) {
		t.Fatalf("anomaly: %d results for %d flows", len(res), len(rows))
	}
	for i := 1; i < len(res); i++ {
		if res[i].Score <= res[0].Score {
			t.Errorf("anomaly: %s scores %v, the benign flow %v", rows[i].Label, res[i].Score, res[0].Score)
		}
	}
}

func TestDetectConcurrentMatchesSerial(t *testing.T) {
	requireORT(t)
	m := openCommitted(t, "nsl-kdd-flow", WithMaxBatch(64), WithMaxWait(time.Millisecond))
	w := m.Engine().Width()
	x := make([]float32, w)
	want := make([][]float32, 50)
	for i := range want {
		x[0] = float32(i)
		p, err := m.Probabilities(context.Background(), x, 1)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = p
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			xx := make([]float32, w)
			for i := range want {
				xx[0] = float32((i + g) % len(want))
				p, err := m.Probabilities(context.Background(), xx, 1)
				if err != nil {
					t.Error(err)
					return
				}
				for j := range p {
					if d := p[j] - want[(i+g)%len(want)][j]; d > 1e-5 || d < -1e-5 {
						t.Errorf("row %d differs under concurrency: %v vs %v", (i+g)%len(want), p, want[(i+g)%len(want)])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

func TestRegistryReload(t *testing.T) {
	requireORT(t)
	ctx := context.Background()
	root := t.TempDir()
	src := filepath.Join(repoRoot(t), "models", "dns-dga", "1.0.0") // two labels, no anomaly section
	copyModel(t, src, root, "1.0.0")
	r, err := NewRegistry(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	m1, ok := r.Get("dns-dga")
	if !ok || filepath.Base(m1.Dir()) != "1.0.0" {
		t.Fatalf("Get = %v %v", m1, ok)
	}
	// Unchanged tree: the same model stays.
	if err := r.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if m, _ := r.Get("dns-dga"); m != m1 {
		t.Error("Reload without changes replaced the model")
	}
	// A broken new version is refused and the old one keeps serving.
	bad := copyModel(t, src, root, "1.10.0")
	editManifest(t, bad, func(m map[string]any) { m["model"].(map[string]any)["sha256"] = strings.Repeat("0", 64) })
	if err := r.Reload(ctx); !errors.Is(err, ErrChecksum) {
		t.Fatalf("Reload with a bad model = %v, want ErrChecksum", err)
	}
	if m, _ := r.Get("dns-dga"); m != m1 {
		t.Error("a bad model replaced the serving one")
	}
	// Fixing it swaps atomically; the old model is closed.
	os.RemoveAll(bad)
	copyModel(t, src, root, "1.10.0")
	if err := r.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	m2, _ := r.Get("dns-dga")
	if m2 == m1 || filepath.Base(m2.Dir()) != "1.10.0" {
		t.Fatalf("after Reload serving %s, want 1.10.0", m2.Dir())
	}
	if _, err := m1.Detect(ctx, dnsEvents("a.com")); !errors.Is(err, ErrClosed) {
		t.Errorf("old model Detect = %v, want ErrClosed", err)
	}
	res, err := r.Detect(ctx, dnsEvents("a.com", "b.org"))
	if err != nil || len(res) != 2 || res[0].Version != "1.0.0" {
		// The manifest's version field is what results carry.
		t.Errorf("Registry.Detect = %v, %v", res, err)
	}
	// Watch picks up a removal.
	ctx2, cancel := context.WithCancel(ctx)
	defer cancel()
	go r.Watch(ctx2, 5*time.Millisecond, nil)
	os.RemoveAll(filepath.Join(root, "dns-dga"))
	deadline := time.Now().Add(5 * time.Second)
	for len(r.Models()) != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := len(r.Models()); n != 0 {
		t.Errorf("after removal %d models served", n)
	}
}

// Reloads racing with Detect calls never fail a call.
func TestRegistryReloadUnderLoad(t *testing.T) {
	requireORT(t)
	ctx := context.Background()
	root := t.TempDir()
	src := filepath.Join(repoRoot(t), "models", "dns-dga", "1.0.0") // two labels, no anomaly section
	copyModel(t, src, root, "1.0.0")
	r, err := NewRegistry(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := r.Detect(ctx, dnsEvents("x.com", "y.net"))
				if err != nil || len(res) != 2 {
					t.Errorf("Detect during reload = %d results, %v", len(res), err)
					return
				}
			}
		}()
	}
	for i := range 5 {
		copyModel(t, src, root, "1.0."+string(rune('1'+i)))
		if err := r.Reload(ctx); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
}

// golden pins the committed models' feature vectors: a few fixed events per
// model and the exact vectors the engine must produce for them. A change to
// the feature engine that alters any committed model's inputs fails here.
type golden struct {
	Events  []gateway.Event `json:"events"`
	Vectors [][]float32     `json:"vectors"`
}

func goldenEvents(name string) []gateway.Event {
	t0 := time.Date(2016, 12, 10, 6, 55, 46, 0, time.UTC)
	switch name {
	case "nsl-kdd-flow":
		return []gateway.Event{
			{Class: gateway.ClassFlow, Fields: map[string]any{"kdd.duration": 0.0, "kdd.protocol_type": "tcp", "kdd.service": "http", "kdd.flag": "SF", "kdd.src_bytes": 215.0, "kdd.dst_bytes": 45076.0, "kdd.logged_in": 1.0, "kdd.count": 1.0, "kdd.srv_count": 1.0, "kdd.dst_host_count": 0.0, "kdd.dst_host_srv_count": 0.0}},
			{Class: gateway.ClassFlow, Fields: map[string]any{"kdd.protocol_type": "icmp", "kdd.service": "nosuchservice", "kdd.flag": "REJ", "kdd.serror_rate": 1.0, "kdd.count": 229.0}},
		}
	case "cic-ids2017-flow":
		evs := []gateway.Event{{Class: gateway.ClassFlow, Fields: map[string]any{"destination.port": 53.0, "cic.protocol": 17.0, "cic.flow_duration": 25324.0, "cic.total_fwd_packet": 2.0, "cic.flow_bytes_s": 13110.09, "cic.flow_iat_min": 3.0}}}
		for _, r := range cicRows() {
			evs = append(evs, r.event())
		}
		return evs
	case "dns-dga":
		return dnsEvents("www.google.com", "1sbh3891b5qfxt3dszss1grf20g.biz", "inspectionlandscapebelieve.com")
	case "auth-bruteforce":
		var evs []gateway.Event
		for i, u := range []string{"root", "admin", "root", "oracle"} {
			evs = append(evs, gateway.Event{Class: gateway.ClassAuth, Time: t0.Add(time.Duration(i) * time.Second),
				Fields: map[string]any{"source.ip": "173.234.31.186", "user.name": u, "event.outcome": "failure", "system.auth.ssh.invalid_user": u != "root"}})
		}
		evs = append(evs, gateway.Event{Class: gateway.ClassAuth, Time: t0.Add(time.Minute),
			Fields: map[string]any{"source.ip": "10.0.0.5", "user.name": "alice", "event.outcome": "success"}})
		return evs
	}
	return nil
}

func TestGoldenVectors(t *testing.T) {
	for _, name := range []string{"nsl-kdd-flow", "cic-ids2017-flow", "dns-dga", "auth-bruteforce"} {
		t.Run(name, func(t *testing.T) {
			man, _, err := LoadManifest(modelDir(t, name))
			if err != nil {
				t.Fatal(err)
			}
			eng, err := man.Engine()
			if err != nil {
				t.Fatal(err)
			}
			evs := goldenEvents(name)
			got := make([][]float32, len(evs))
			for i := range evs {
				got[i] = make([]float32, eng.Width())
				eng.Extract(&evs[i], got[i])
			}
			path := filepath.Join("testdata", "golden", name+".json")
			if *update == name || *update == "all" {
				b, _ := json.MarshalIndent(golden{evs, got}, "", " ")
				os.MkdirAll(filepath.Dir(path), 0o755)
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("golden file: %v (generate with go test -run TestGoldenVectors -update %s)", err, name)
			}
			var want golden
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			if len(want.Vectors) != len(got) {
				t.Fatalf("%d vectors, golden has %d", len(got), len(want.Vectors))
			}
			for i := range got {
				if len(got[i]) != len(want.Vectors[i]) {
					t.Fatalf("vector %d width %d, golden %d", i, len(got[i]), len(want.Vectors[i]))
				}
				for j := range got[i] {
					if got[i][j] != want.Vectors[i][j] {
						t.Errorf("vector %d column %s = %v, golden %v", i, eng.Names()[j], got[i][j], want.Vectors[i][j])
					}
				}
			}
		})
	}
}

// TestRegistryAllow: with WithAllow, each name serves its highest allowed
// version, refusals are reported as ErrNotAllowed, and a model the filter
// stops accepting is unloaded at the next Reload (falling back to an
// older allowed version when there is one).
func TestRegistryAllow(t *testing.T) {
	requireORT(t)
	ctx := context.Background()
	root := t.TempDir()
	src := filepath.Join(repoRoot(t), "models", "dns-dga", "1.0.0") // two labels, no anomaly section
	for _, v := range []string{"1.0.0", "1.1.0"} {
		dir := copyModel(t, src, root, v)
		editManifest(t, dir, func(m map[string]any) { m["version"] = v })
	}
	var mu sync.Mutex
	allowed := map[string]bool{}
	set := func(versions ...string) {
		mu.Lock()
		defer mu.Unlock()
		clear(allowed)
		for _, v := range versions {
			allowed[v] = true
		}
	}
	allow := func(m *Manifest) error {
		mu.Lock()
		defer mu.Unlock()
		if !allowed[m.Version] {
			return errors.New("not approved")
		}
		return nil
	}
	served := func(r *Registry) string {
		var out []string
		for _, m := range r.Models() {
			out = append(out, m.Manifest().Name+"@"+m.Manifest().Version)
		}
		return strings.Join(out, ",")
	}

	r, err := NewRegistry(ctx, root, WithAllow(allow))
	if !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("NewRegistry with nothing allowed = %v, want ErrNotAllowed", err)
	}
	if r == nil {
		t.Fatal("NewRegistry returned no registry")
	}
	defer r.Close()
	var me *ModelError
	if !errors.As(err, &me) || filepath.Base(me.Dir) != "1.1.0" {
		t.Errorf("first refusal = %v, want the highest version's directory", err)
	}
	if got := served(r); got != "" {
		t.Fatalf("nothing allowed, serving %q", got)
	}

	steps := []struct {
		name    string
		allowed []string
		want    string
		refused bool
	}{
		{"older approved, newer pending", []string{"1.0.0"}, "dns-dga@1.0.0", true},
		{"newer approved", []string{"1.0.0", "1.1.0"}, "dns-dga@1.1.0", false},
		{"newer revoked falls back", []string{"1.0.0"}, "dns-dga@1.0.0", true},
		{"all revoked unloads", nil, "", true},
		{"approved again", []string{"1.1.0"}, "dns-dga@1.1.0", false},
	}
	var before *Model
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			set(s.allowed...)
			err := r.Reload(ctx)
			if got := errors.Is(err, ErrNotAllowed); got != s.refused {
				t.Errorf("Reload() = %v, refusal reported %t, want %t", err, got, s.refused)
			}
			if got := served(r); got != s.want {
				t.Fatalf("serving %q, want %q", got, s.want)
			}
			if before != nil {
				if m, ok := r.Get("dns-dga"); !ok || m != before {
					if _, err := before.Detect(ctx, dnsEvents("a.com")); !errors.Is(err, ErrClosed) {
						t.Errorf("model no longer served still answers: %v", err)
					}
				}
			}
			before, _ = r.Get("dns-dga")
			if _, err := r.Detect(ctx, dnsEvents("a.com")); err != nil {
				t.Errorf("Registry.Detect = %v", err)
			}
		})
	}
	// Unchanged and still allowed: the same model keeps serving.
	if err := r.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if m, _ := r.Get("dns-dga"); m != before {
		t.Error("Reload without changes replaced an allowed model")
	}
}

// TestOpenAllow: Open asks the filter on the verified manifest.
func TestOpenAllow(t *testing.T) {
	requireORT(t)
	refuse := errors.New("revoked")
	_, err := Open(modelDir(t, "dns-dga"), WithAllow(func(*Manifest) error { return refuse }))
	if !errors.Is(err, ErrNotAllowed) || !errors.Is(err, refuse) {
		t.Fatalf("Open with a refusing filter = %v, want ErrNotAllowed wrapping the reason", err)
	}
	if err := WithAllow(nil)(&options{}); err == nil {
		t.Error("WithAllow(nil) accepted")
	}
}

// wantOpenError fails t unless opening the model in dir fails with a
// *ModelError of kind.
func wantOpenError(t *testing.T, dir string, kind error) {
	t.Helper()
	m, err := Open(dir)
	if err == nil {
		m.Close()
	}
	var me *ModelError
	if !errors.As(err, &me) || !errors.Is(err, kind) {
		t.Fatalf("Open = %v, want *ModelError of kind %v", err, kind)
	}
}
