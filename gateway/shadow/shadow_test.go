package shadow

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/onnx"
	"github.com/ledgerguard/ledgerguard/gateway/provenance"
)

func repoRoot(t testing.TB) string {
	t.Helper()
	r, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// modelsLedger is an in-memory models contract: ListModels over a map.
type modelsLedger struct {
	mu   sync.Mutex
	recs map[string]wire.ModelRecord
}

func (l *modelsLedger) ListModels(_ context.Context, f wire.ModelFilter, _ int32, _ string) (wire.Page[wire.ModelRecord], error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := wire.Page[wire.ModelRecord]{Records: []wire.ModelRecord{}}
	for _, r := range l.recs {
		if f.Match(&r) {
			p.Records = append(p.Records, r)
		}
	}
	return p, nil
}

func (l *modelsLedger) put(t *testing.T, dir, state string) {
	t.Helper()
	r, err := provenance.Registration(dir)
	if err != nil {
		t.Fatal(err)
	}
	r.State = state
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs[r.Name+"@"+r.Version] = r
}

// linkVersions makes root/dns-dga/<v>/ for the committed versions.
func linkVersions(t *testing.T, versions ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, v := range versions {
		src := filepath.Join(repoRoot(t), "models", "dns-dga", v)
		dst := filepath.Join(root, "dns-dga", v)
		if err := os.MkdirAll(dst, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{onnx.ManifestFile, onnx.ModelFile} {
			if err := os.Symlink(filepath.Join(src, f), filepath.Join(dst, f)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

func dnsEvents(n int) []gateway.Event {
	names := []string{"google.com", "wikipedia.org", "xkqjzvbwpl.net", "q3f9z0xk2m7v.info", "github.com", "zzqxvbnmkjhg.biz"}
	evs := make([]gateway.Event, n)
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := range evs {
		evs[i] = gateway.Event{ID: fmt.Sprintf("e%d", i), Time: t0.Add(time.Duration(i) * time.Second), Class: gateway.ClassDNS,
			Host: "h", Fields: map[string]any{"dns.question.name": names[i%len(names)]}}
	}
	return evs
}

func TestShadowScoresPendingVersionWithoutChangingResults(t *testing.T) {
	ctx := context.Background()
	if err := onnx.Init(onnx.LibraryPath(repoRoot(t))); err != nil {
		t.Fatal(err)
	}
	root := linkVersions(t, "1.0.0", "1.1.0")
	ledger := &modelsLedger{recs: map[string]wire.ModelRecord{}}
	ledger.put(t, filepath.Join(root, "dns-dga", "1.0.0"), wire.ModelApproved)
	ledger.put(t, filepath.Join(root, "dns-dga", "1.1.0"), wire.ModelRegistered)
	log := slog.New(slog.DiscardHandler)

	// The served registry, as modelset builds it in strict mode.
	checker, err := provenance.New(ledger, provenance.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := checker.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	allow := func(m *onnx.Manifest) error {
		fh, err := provenance.FeaturesSHA256(m.Features)
		if err != nil {
			return err
		}
		return checker.Check(provenance.Model{Name: m.Name, Version: m.Version, SHA256: m.Model.SHA256, FeaturesSHA256: fh})
	}
	served, err := onnx.NewRegistry(ctx, root, onnx.WithAllow(allow), onnx.WithMaxWait(-1))
	if served == nil {
		t.Fatal(err)
	}
	defer served.Close()
	if m, ok := served.Get("dns-dga"); !ok || m.Manifest().Version != "1.0.0" {
		t.Fatalf("served: %v %v, want dns-dga 1.0.0", m, ok)
	}
	// A second, independent served registry gives the results Wrap must
	// return unchanged (same model, same event order, fresh windows).
	reference, err := onnx.NewRegistry(ctx, root, onnx.WithAllow(allow), onnx.WithMaxWait(-1))
	if reference == nil {
		t.Fatal(err)
	}
	defer reference.Close()

	sh, err := Open(ctx, root, served, ledger, log)
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	det := sh.Wrap(served)
	evs := dnsEvents(30)
	got, err := det.Detect(ctx, evs)
	if err != nil {
		t.Fatal(err)
	}
	want, err := reference.Detect(ctx, evs)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("wrapped results differ from the served model's:\n got %+v\nwant %+v", got, want)
	}

	// The shadow's own verdicts, computed independently.
	v11, err := onnx.Open(filepath.Join(root, "dns-dga", "1.1.0"), onnx.WithMaxWait(-1))
	if err != nil {
		t.Fatal(err)
	}
	defer v11.Close()
	shadowRes, err := v11.Detect(ctx, evs)
	if err != nil {
		t.Fatal(err)
	}
	wantStats := gateway.ShadowStats{Model: "dns-dga", Version: "1.1.0", SHA256: v11.Manifest().Model.SHA256, ServedVersion: "1.0.0", Active: true}
	var drift float64
	for i, r := range shadowRes {
		sv := want[i]
		wantStats.Events++
		if r.Flagged {
			wantStats.WouldBeAlerts++
		}
		if sv.Flagged {
			wantStats.ServedAlerts++
		}
		switch {
		case r.Flagged == sv.Flagged:
			wantStats.Agreements++
		case r.Flagged:
			wantStats.OnlyShadow++
		default:
			wantStats.OnlyServed++
		}
		d := r.Score - sv.Score
		if d < 0 {
			d = -d
		}
		drift += d
	}
	wantStats.Agreement = float64(wantStats.Agreements) / float64(wantStats.Events)
	wantStats.ScoreDrift = drift / float64(wantStats.Events)
	rep := sh.Report()
	if len(rep) != 1 {
		t.Fatalf("report %+v, want one shadow model", rep)
	}
	if d := rep[0].ScoreDrift - wantStats.ScoreDrift; d > 1e-9 || d < -1e-9 {
		t.Errorf("score drift %v, want %v", rep[0].ScoreDrift, wantStats.ScoreDrift)
	}
	rep[0].ScoreDrift = wantStats.ScoreDrift
	if rep[0] != wantStats {
		t.Errorf("stats:\n got %+v\nwant %+v", rep[0], wantStats)
	}
	if wantStats.Events != 30 {
		t.Errorf("events %d, want 30", wantStats.Events)
	}

	// Promotion: once approved, 1.1.0 is served and leaves shadow.
	ledger.put(t, filepath.Join(root, "dns-dga", "1.1.0"), wire.ModelApproved)
	if _, err := checker.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if err := served.Reload(ctx); err != nil {
		t.Logf("reload: %v", err)
	}
	sh.Check(ctx)
	if m, _ := served.Get("dns-dga"); m.Manifest().Version != "1.1.0" {
		t.Fatalf("served %s after approval, want 1.1.0", m.Manifest().Version)
	}
	rep = sh.Report()
	if len(rep) != 1 || rep[0].Active {
		t.Errorf("after promotion: %+v, want 1.1.0 inactive", rep)
	}
	if _, err := det.Detect(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if n := sh.Report()[0].Events; n != 30 {
		t.Errorf("a promoted version was still scored in shadow: %d events", n)
	}
}

func TestShadowRefusesWhatIsNotPendingAndNewer(t *testing.T) {
	ctx := context.Background()
	if err := onnx.Init(onnx.LibraryPath(repoRoot(t))); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		state map[string]string // version -> state ("" unregistered)
	}{
		{"unregistered", map[string]string{"1.0.0": wire.ModelApproved}},
		{"revoked", map[string]string{"1.0.0": wire.ModelApproved, "1.1.0": wire.ModelRevoked}},
		{"older than served", map[string]string{"1.0.0": wire.ModelRegistered, "1.1.0": wire.ModelApproved}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := linkVersions(t, "1.0.0", "1.1.0")
			ledger := &modelsLedger{recs: map[string]wire.ModelRecord{}}
			for v, st := range tt.state {
				ledger.put(t, filepath.Join(root, "dns-dga", v), st)
			}
			checker, _ := provenance.New(ledger, provenance.WithLogger(slog.New(slog.DiscardHandler)))
			if _, err := checker.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			served, err := onnx.NewRegistry(ctx, root, onnx.WithAllow(func(m *onnx.Manifest) error {
				fh, _ := provenance.FeaturesSHA256(m.Features)
				return checker.Check(provenance.Model{Name: m.Name, Version: m.Version, SHA256: m.Model.SHA256, FeaturesSHA256: fh})
			}))
			if served == nil {
				t.Fatal(err)
			}
			defer served.Close()
			sh, err := Open(ctx, root, served, ledger, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer sh.Close()
			if got := sh.Report(); len(got) != 0 {
				t.Errorf("shadow models %+v, want none", got)
			}
		})
	}
}
