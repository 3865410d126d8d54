package main

// Detection wiring: the served model set (gateway/modelset) from the
// gateway's configuration, on the Fabric adapter's provenance reads.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/config"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
	"github.com/ledgerguard/ledgerguard/gateway/metrics"
	"github.com/ledgerguard/ledgerguard/gateway/modelset"
	"github.com/ledgerguard/ledgerguard/gateway/onnx"
	"github.com/ledgerguard/ledgerguard/gateway/provenance"
	"github.com/ledgerguard/ledgerguard/gateway/shadow"
)

// The Fabric adapter serves the provenance check's ledger reads.
var _ provenance.Ledger = (*fabric.Ledger)(nil)

// openModels opens the served model set of the detection settings. A
// missing or wrong ONNX Runtime library is a usage error; a model that
// fails to load names detection.models_dir.
func openModels(ctx context.Context, c config.Detection, ledger provenance.Ledger, drift *shadow.Drift, log *slog.Logger) (*modelset.Set, error) {
	mc := modelset.Config{Library: c.Library, ModelsDir: c.ModelsDir, Strict: c.Strict,
		ReloadInterval: c.ReloadInterval, LedgerCheckInterval: c.LedgerCheckInterval}
	if drift != nil {
		mc.Observe = drift.Observe
	}
	ms, err := modelset.Open(ctx, mc, ledger, log)
	var le *modelset.LoadError
	switch {
	case errors.Is(err, onnx.ErrLibrary):
		return nil, usageError{fmt.Errorf("detection.onnxruntime_library: %w", err)}
	case errors.As(err, &le):
		return nil, fmt.Errorf("detection.models_dir: %w", err)
	}
	return ms, err
}

// servedMetrics lists the served models for ledgerguard_models_served.
func servedMetrics(ms *modelset.Set) func() []metrics.ServedModel {
	return func() []metrics.ServedModel {
		refs := ms.Served()
		out := make([]metrics.ServedModel, len(refs))
		for i, r := range refs {
			out[i] = metrics.ServedModel{Name: r.ID, Version: r.Version, SHA256: r.SHA256}
		}
		return out
	}
}

// shadowMetrics lists the shadow models for ledgerguard_shadow_*.
func shadowMetrics(sh *shadow.Shadow) func() []metrics.ShadowModel {
	return func() []metrics.ShadowModel {
		rep := sh.Report()
		out := make([]metrics.ShadowModel, len(rep))
		for i, r := range rep {
			out[i] = metrics.ShadowModel{Name: r.Model, Version: r.Version, ServedVersion: r.ServedVersion, Active: r.Active,
				Events: r.Events, Agreements: r.Agreements, WouldBeAlerts: r.WouldBeAlerts, ServedAlerts: r.ServedAlerts, ScoreDrift: r.ScoreDrift}
		}
		return out
	}
}

// shadowReport is the API's source for GET /v1/models/shadow (nil when
// no shadow runs: not strict, or detection off).
func shadowReport(sh *shadow.Shadow) func() []gateway.ShadowStats {
	if sh == nil {
		return nil
	}
	return sh.Report
}

// driftMetrics lists the models' input drift for ledgerguard_model_input_drift.
func driftMetrics(d *shadow.Drift) func() []metrics.ModelDrift {
	return func() []metrics.ModelDrift {
		rep := d.Report()
		out := make([]metrics.ModelDrift, 0, len(rep))
		for _, r := range rep {
			if r.HasStats {
				out = append(out, metrics.ModelDrift{Name: r.Model, Version: r.Version, Events: r.Events, Drift: r.Drift})
			}
		}
		return out
	}
}

// driftReport is the API's source of input drift (nil without detection).
func driftReport(d *shadow.Drift) func() []gateway.DriftStats {
	if d == nil {
		return nil
	}
	return d.Report
}
