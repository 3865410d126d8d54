package modelset

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/onnx"
	"github.com/ledgerguard/ledgerguard/gateway/provenance"
)

// repoRoot is the repository root (this package is gateway/modelset).
func repoRoot(t testing.TB) string {
	t.Helper()
	r, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// modelsLedger is an in-memory models contract for the strict-mode tests:
// ListModels over a map, one page.
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

func (l *modelsLedger) put(r wire.ModelRecord, state string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r.State = state
	l.recs[r.Name+"@"+r.Version] = r
}

// linkModels makes root/<name>/1.0.0/ with the committed model's files
// linked in, so tests never copy the model bytes.
func linkModels(t *testing.T, names ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, n := range names {
		src := filepath.Join(repoRoot(t), "models", n, "1.0.0")
		dst := filepath.Join(root, n, "1.0.0")
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

// syncBuffer is a log sink safe for the reload goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func served(ms *Set) string {
	var out []string
	for _, m := range ms.Served() {
		out = append(out, m.ID+"@"+m.Version)
	}
	return strings.Join(out, ",")
}

// TestStrictMode drives the gateway's detection wiring against a fake
// ledger: a model that is not registered, or registered but not approved,
// is not served; its approval makes it served at the next ledger check;
// its revocation unloads it; a model whose registration names another
// sha256 is refused. Non-strict mode serves everything on disk.
func TestStrictMode(t *testing.T) {
	lib := onnx.LibraryPath(repoRoot(t))
	if _, err := os.Stat(lib); err != nil {
		t.Fatalf("ONNX Runtime library required by this test is missing (make setup installs it): %v", err)
	}
	root := linkModels(t, "nsl-kdd-flow", "dns-dga")
	nsl, err := provenance.Registration(filepath.Join(root, "nsl-kdd-flow", "1.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	dga, err := provenance.Registration(filepath.Join(root, "dns-dga", "1.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	ledger := &modelsLedger{recs: map[string]wire.ModelRecord{}}
	ledger.put(dga, wire.ModelRegistered) // registered, awaiting approval

	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	cfg := Config{ModelsDir: root, Library: lib, Strict: true,
		ReloadInterval: time.Hour, LedgerCheckInterval: 10 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ms, err := Open(ctx, cfg, ledger, log)
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Registry().Close()
	if got := served(ms); got != "" {
		t.Fatalf("nothing approved, serving %q", got)
	}
	for _, want := range []string{
		`msg="model not served: not registered on the ledger" model=nsl-kdd-flow version=1.0.0`,
		`msg="model not served: awaiting approval" model=dns-dga version=1.0.0`,
		"detection is idle",
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("start-up log lacks %q:\n%s", want, logs.String())
		}
	}
	done := make(chan struct{})
	go func() { ms.Run(ctx); close(done) }()

	waitServed := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for served(ms) != want && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if got := served(ms); got != want {
			t.Fatalf("serving %q, want %q\n%s", got, want, logs.String())
		}
	}
	ledger.put(dga, wire.ModelApproved)
	waitServed("dns-dga@1.0.0")
	ledger.put(nsl, wire.ModelApproved)
	waitServed("dns-dga@1.0.0,nsl-kdd-flow@1.0.0")
	evil := dga
	evil.SHA256 = strings.Repeat("0", 64)
	ledger.put(evil, wire.ModelApproved) // the approved file is not the one on disk
	waitServed("nsl-kdd-flow@1.0.0")
	ledger.put(dga, wire.ModelApproved)
	waitServed("dns-dga@1.0.0,nsl-kdd-flow@1.0.0")
	ledger.put(nsl, wire.ModelRevoked)
	waitServed("dns-dga@1.0.0")
	wantLogs := []string{
		`msg="model loaded" model=nsl-kdd-flow version=1.0.0`,
		`msg="model unloaded" model=nsl-kdd-flow version=1.0.0`,
		`msg="model not served: revoked on the ledger" model=nsl-kdd-flow`,
		`msg="model not served: model sha256 differs from the registration" model=dns-dga`,
	}
	// The registry swaps models before the runner logs the change, so the
	// last line may trail the state change by a moment.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		all := true
		for _, want := range wantLogs {
			all = all && strings.Contains(logs.String(), want)
		}
		if all {
			break
		}
	}
	cancel()
	<-done
	for _, want := range wantLogs {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	// The revoked model's results are gone from detection.
	if m, ok := ms.Registry().Get("nsl-kdd-flow"); ok {
		t.Errorf("revoked model still served: %s", m.Dir())
	}
}

func TestNonStrictServesAll(t *testing.T) {
	lib := onnx.LibraryPath(repoRoot(t))
	root := linkModels(t, "dns-dga")
	var logs syncBuffer
	ms, err := Open(context.Background(), Config{ModelsDir: root, Library: lib,
		ReloadInterval: time.Hour}, nil, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Registry().Close()
	if got := served(ms); got != "dns-dga@1.0.0" {
		t.Fatalf("non-strict serving %q", got)
	}
	if !strings.Contains(logs.String(), "detection.strict is false") {
		t.Errorf("no start-up warning:\n%s", logs.String())
	}
}

// TestStrictModeKeepsLoadFailuresFatal: a corrupt model is still a
// start-up error in strict mode; refusals are not.
func TestStrictModeKeepsLoadFailuresFatal(t *testing.T) {
	lib := onnx.LibraryPath(repoRoot(t))
	root := t.TempDir()
	dir := filepath.Join(root, "dns-dga", "1.0.0")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(repoRoot(t), "models", "dns-dga", "1.0.0", onnx.ManifestFile))
	os.WriteFile(filepath.Join(dir, onnx.ManifestFile), b, 0o644)
	os.WriteFile(filepath.Join(dir, onnx.ModelFile), []byte("not the model"), 0o644)
	reg, err := provenance.Registration(filepath.Join(repoRoot(t), "models", "dns-dga", "1.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	ledger := &modelsLedger{recs: map[string]wire.ModelRecord{}}
	ledger.put(reg, wire.ModelApproved)
	_, err = Open(context.Background(), Config{ModelsDir: root, Library: lib, Strict: true,
		ReloadInterval: time.Hour, LedgerCheckInterval: time.Hour}, ledger, slog.New(slog.DiscardHandler))
	if !errors.Is(err, onnx.ErrChecksum) {
		t.Fatalf("Open with a swapped model file = %v, want ErrChecksum", err)
	}
}

func TestLoadFailures(t *testing.T) {
	refused := &onnx.ModelError{Dir: "a", Kind: onnx.ErrNotAllowed, Err: errors.New("revoked")}
	broken := &onnx.ModelError{Dir: "b", Kind: onnx.ErrChecksum, Err: errors.New("x")}
	tests := []struct {
		name string
		in   error
		want []error
	}{
		{"nil", nil, nil},
		{"one refusal", refused, nil},
		{"one failure", broken, []error{broken}},
		{"joined", errors.Join(refused, broken), []error{broken}},
		{"joined refusals", errors.Join(refused, refused), nil},
		{"other", context.Canceled, []error{context.Canceled}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := loadFailures(tt.in)
			if tt.want == nil {
				if got != nil {
					t.Fatalf("loadFailures() = %v, want nil", got)
				}
				return
			}
			for _, w := range tt.want {
				if !errors.Is(got, w) {
					t.Errorf("loadFailures() = %v, want it to hold %v", got, w)
				}
			}
			if errors.Is(got, onnx.ErrNotAllowed) {
				t.Errorf("loadFailures() = %v still holds a refusal", got)
			}
		})
	}
}
