// Package modelset is the gateway's set of served detection models: the
// ONNX model registry (gateway/onnx) joined, in strict mode, with the
// ledger's model approvals (gateway/provenance), kept current by a reload
// loop that logs every model loaded and unloaded.
//
// It is not part of gateway/onnx on purpose: the ONNX adapter knows model
// files and the runtime and nothing of the ledger (it takes an allow hook,
// onnx.WithAllow); provenance knows registrations and nothing of ONNX.
// Which models may serve is the join of the two, and this package owns it,
// so neither has to import the other.
package modelset

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/onnx"
	"github.com/ledgerguard/ledgerguard/gateway/provenance"
)

// FirstCheckTimeout bounds the start-up read of the approved models: a
// slow ledger must not hold the gateway's ingest back (detection starts
// idle and the periodic check catches up).
const FirstCheckTimeout = 30 * time.Second

// Config says where the models and the runtime are and how the set is
// kept current.
type Config struct {
	// Library is the ONNX Runtime shared library.
	Library string
	// ModelsDir holds models as <name>/<version>/{manifest.json,model.onnx}.
	ModelsDir string
	// Strict serves only models approved on the ledger.
	Strict bool
	// ReloadInterval is how often Run rescans ModelsDir.
	ReloadInterval time.Duration
	// LedgerCheckInterval is how often Run rereads the approvals (strict).
	LedgerCheckInterval time.Duration
	// Observe, when set, sees every feature matrix the served models
	// score (input drift; onnx.WithFeatureObserver).
	Observe onnx.FeatureObserver
}

// Set is the served models. Its methods are safe for concurrent use.
type Set struct {
	reg     *onnx.Registry
	checker *provenance.Checker
	log     *slog.Logger
	cfg     Config

	mu     sync.Mutex // serialises reloads so their before/after logs pair up
	served []gateway.ModelRef
}

// LoadError is a failure to load the models under Dir at start-up (a model
// that does not load, or whose file does not match its manifest's
// sha256); Err holds the *onnx.ModelError of each. Strict-mode refusals
// are never a LoadError: they are logged and the model is not served.
type LoadError struct {
	Dir string
	Err error
}

// Error implements error: the cause's text alone, which already names
// the model.
func (e *LoadError) Error() string { return e.Err.Error() }

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *LoadError) Unwrap() error { return e.Err }

// Open loads ONNX Runtime and the models to serve. A missing or wrong
// library is an *onnx.LibraryError (errors.Is onnx.ErrLibrary); a model
// that fails to load is a *LoadError naming it. In strict mode it first
// reads the approved models from ledger (within FirstCheckTimeout) and
// serves only those: a model not approved is skipped with a log line
// naming it and why, and if none is approved (or the ledger cannot be read
// yet) detection starts idle. ledger may be nil when not strict. The
// caller closes Registry().
func Open(ctx context.Context, c Config, ledger provenance.Ledger, log *slog.Logger) (*Set, error) {
	if err := onnx.Init(c.Library); err != nil {
		return nil, err
	}
	ms := &Set{log: log, cfg: c}
	var opts []onnx.Option
	if c.Observe != nil {
		opts = append(opts, onnx.WithFeatureObserver(c.Observe))
	}
	if c.Strict {
		checker, err := provenance.New(ledger, provenance.WithLogger(log))
		if err != nil {
			return nil, err
		}
		rctx, cancel := context.WithTimeout(ctx, FirstCheckTimeout)
		_, err = checker.Refresh(rctx)
		cancel()
		if err != nil {
			log.Error("strict mode: cannot read the approved models from the ledger; detection stays idle until a check succeeds",
				"err", err, "retry_every", c.LedgerCheckInterval)
		}
		ms.checker = checker
		opts = append(opts, onnx.WithAllow(ms.allow))
	} else {
		log.Warn("detection.strict is false: serving every model under detection.models_dir without checking its approval on the ledger",
			"models_dir", c.ModelsDir)
	}
	reg, err := onnx.NewRegistry(ctx, c.ModelsDir, opts...)
	if reg == nil {
		return nil, &LoadError{Dir: c.ModelsDir, Err: err}
	}
	if failed := loadFailures(err); failed != nil {
		_ = reg.Close()
		return nil, &LoadError{Dir: c.ModelsDir, Err: failed}
	}
	ms.reg = reg
	ms.served = Refs(reg)
	for _, m := range ms.served {
		log.Info("model loaded", "model", m.ID, "version", m.Version, "sha256", m.SHA256, "strict", c.Strict)
	}
	if len(ms.served) == 0 {
		if c.Strict {
			log.Warn("strict mode: no model on disk is approved on the ledger; detection is idle until one is (ledgerguard models register/approve)",
				"models_dir", c.ModelsDir)
		} else {
			log.Warn("no model under detection.models_dir; detection is idle", "models_dir", c.ModelsDir)
		}
	}
	return ms, nil
}

// Registry is the served models' registry: the detector the alerter
// scores with. The caller that opened the set closes it.
func (ms *Set) Registry() *onnx.Registry { return ms.reg }

// allow is the registry's filter in strict mode.
func (ms *Set) allow(m *onnx.Manifest) error {
	fh, err := provenance.ManifestFeaturesSHA256(m)
	if err != nil {
		return err
	}
	return ms.checker.Check(provenance.Model{Name: m.Name, Version: m.Version, SHA256: m.Model.SHA256, FeaturesSHA256: fh})
}

// Run reloads the models when their files change (every ReloadInterval)
// and, in strict mode, when the approvals on the ledger change (checked
// every LedgerCheckInterval), until ctx ends.
func (ms *Set) Run(ctx context.Context) {
	var wg sync.WaitGroup
	if ms.checker != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ms.checker.Run(ctx, ms.cfg.LedgerCheckInterval, ms.reload)
		}()
	}
	t := time.NewTicker(ms.cfg.ReloadInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-t.C:
			ms.reload(ctx)
		}
	}
}

// reload rescans the models and logs what was loaded and unloaded.
// Refusals are not logged here: the checker logs each decision once.
func (ms *Set) reload(ctx context.Context) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	err := ms.reg.Reload(ctx)
	if ctx.Err() != nil {
		return
	}
	if failed := loadFailures(err); failed != nil {
		ms.log.Error("reloading models failed; the previous versions keep serving", "err", failed)
	}
	now := Refs(ms.reg)
	for _, m := range diffRefs(now, ms.served) {
		ms.log.Info("model loaded", "model", m.ID, "version", m.Version, "sha256", m.SHA256)
	}
	for _, m := range diffRefs(ms.served, now) {
		ms.log.Warn("model unloaded", "model", m.ID, "version", m.Version, "sha256", m.SHA256)
	}
	if len(now) == 0 && len(ms.served) > 0 {
		ms.log.Warn("no model is served any more; detection is idle")
	}
	ms.served = now
}

// Served lists the models served right now, in the registry's order.
func (ms *Set) Served() []gateway.ModelRef { return Refs(ms.reg) }

// Refs lists the models a registry serves, in its order.
func Refs(reg *onnx.Registry) []gateway.ModelRef {
	var refs []gateway.ModelRef
	for _, m := range reg.Models() {
		mf := m.Manifest()
		refs = append(refs, gateway.ModelRef{ID: mf.Name, Version: mf.Version, SHA256: mf.Model.SHA256})
	}
	return refs
}

// diffRefs returns the refs of a that b lacks.
func diffRefs(a, b []gateway.ModelRef) []gateway.ModelRef {
	var out []gateway.ModelRef
	for _, x := range a {
		found := false
		for _, y := range b {
			if x == y {
				found = true
				break
			}
		}
		if !found {
			out = append(out, x)
		}
	}
	return out
}

// loadFailures drops the strict-mode refusals (onnx.ErrNotAllowed) from a
// registry error, keeping real failures to load a model; nil if none.
func loadFailures(err error) error {
	if err == nil {
		return nil
	}
	// A *onnx.ModelError also unwraps to a list (its kind and cause), so
	// recognise it before taking err for an errors.Join list.
	list := []error{err}
	if _, single := err.(*onnx.ModelError); !single {
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			list = joined.Unwrap()
		}
	}
	var kept []error
	for _, e := range list {
		if !errors.Is(e, onnx.ErrNotAllowed) {
			kept = append(kept, e)
		}
	}
	return errors.Join(kept...)
}
