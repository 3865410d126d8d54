package main

// Detection wiring: the ONNX model registry, and in strict mode the
// provenance check that lets it serve only models approved on the ledger.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/config"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
	"github.com/ledgerguard/ledgerguard/gateway/metrics"
	"github.com/ledgerguard/ledgerguard/gateway/onnx"
	"github.com/ledgerguard/ledgerguard/gateway/provenance"
)

// The Fabric adapter serves the provenance check's ledger reads.
var _ provenance.Ledger = (*fabric.Ledger)(nil)

// firstCheckTimeout bounds the start-up read of the approved models: a
// slow ledger must not hold the gateway's ingest back (detection starts
// idle and the periodic check catches up).
const firstCheckTimeout = 30 * time.Second

// modelSet is the gateway's detection models: the registry, the strict
// mode check (nil when detection.strict is false) and the reload loop
// that logs every model loaded and unloaded.
type modelSet struct {
	reg     *onnx.Registry
	checker *provenance.Checker
	log     *slog.Logger

	mu     sync.Mutex // serialises reloads so their before/after logs pair up
	served []gateway.ModelRef
}

// openModels loads ONNX Runtime and the models to serve. A missing or
// wrong library, or a model whose file does not match its manifest's
// sha256, is a start-up error naming the file. In strict mode it first
// reads the approved models from ledger and serves only those: a model
// not approved is skipped with a log line naming it and why, and if none
// is approved (or the ledger cannot be read yet) detection starts idle.
func openModels(ctx context.Context, c config.Detection, ledger provenance.Ledger, log *slog.Logger) (*modelSet, error) {
	if err := onnx.Init(c.Library); err != nil {
		return nil, usageError{fmt.Errorf("detection.onnxruntime_library: %w", err)}
	}
	ms := &modelSet{log: log}
	var opts []onnx.Option
	if c.Strict {
		checker, err := provenance.New(ledger, provenance.WithLogger(log))
		if err != nil {
			return nil, err
		}
		rctx, cancel := context.WithTimeout(ctx, firstCheckTimeout)
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
		return nil, fmt.Errorf("detection.models_dir: %w", err)
	}
	if failed := loadFailures(err); failed != nil {
		_ = reg.Close()
		return nil, fmt.Errorf("detection.models_dir: %w", failed)
	}
	ms.reg = reg
	ms.served = modelRefs(reg)
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

// allow is the registry's filter in strict mode.
func (ms *modelSet) allow(m *onnx.Manifest) error {
	fh, err := provenance.FeaturesSHA256(m.Features)
	if err != nil {
		return err
	}
	return ms.checker.Check(provenance.Model{Name: m.Name, Version: m.Version, SHA256: m.Model.SHA256, FeaturesSHA256: fh})
}

// run reloads the models when their files change (every reload_interval)
// and, in strict mode, when the approvals on the ledger change (checked
// every ledger_check_interval), until ctx ends.
func (ms *modelSet) run(ctx context.Context, c config.Detection) {
	var wg sync.WaitGroup
	if ms.checker != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ms.checker.Run(ctx, c.LedgerCheckInterval, ms.reload)
		}()
	}
	t := time.NewTicker(c.ReloadInterval)
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
func (ms *modelSet) reload(ctx context.Context) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	err := ms.reg.Reload(ctx)
	if ctx.Err() != nil {
		return
	}
	if failed := loadFailures(err); failed != nil {
		ms.log.Error("reloading models failed; the previous versions keep serving", "err", failed)
	}
	now := modelRefs(ms.reg)
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

// servedMetrics lists the served models for ledgerguard_models_served.
func (ms *modelSet) servedMetrics() []metrics.ServedModel {
	refs := modelRefs(ms.reg)
	out := make([]metrics.ServedModel, len(refs))
	for i, r := range refs {
		out[i] = metrics.ServedModel{Name: r.ID, Version: r.Version, SHA256: r.SHA256}
	}
	return out
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
