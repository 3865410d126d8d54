package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/ledgerguard/ledgerguard/gateway/config"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
	"github.com/ledgerguard/ledgerguard/gateway/intel"
	"github.com/ledgerguard/ledgerguard/gateway/metrics"
	"github.com/ledgerguard/ledgerguard/gateway/taxii"
)

// intelWiring is the gateway's threat-intelligence half: the matcher the
// alerter's detector consults, the catalog TAXII serves, the sync that
// keeps both in step with the ledger, and the sightings it reports.
type intelWiring struct {
	cfg       intel.Config
	matcher   *intel.Matcher
	catalog   *intel.Catalog
	sightings *intel.Sightings
	sync      *intel.Sync
	events    *fabric.Events
	ledger    *fabric.Ledger
	detector  *intel.Detector
	key       intel.Key
}

// decodeIntel decodes the intel: section (a bad one is a configuration
// error like any other).
func decodeIntel(cfg config.Config) (intel.Config, error) {
	ic, err := intel.DecodeConfig(cfg.Intel.Decode, cfg.Intel.Dir)
	if err != nil {
		return intel.Config{}, usageError{&config.ValidationError{Errors: []*config.FieldError{{Field: "intel", Msg: err.Error()}}}}
	}
	return ic, nil
}

// newIntel opens the sync's journal (rebuilding matcher and catalog from
// it) and prepares the event stream it follows: the ledgerguard
// chaincode's events from block 0 on the first start (every indicator
// shared before this gateway existed), from its checkpoint afterwards.
func newIntel(ic intel.Config, storeDir, msp string, ledger *fabric.Ledger, log *slog.Logger) (*intelWiring, error) {
	active, _, err := ic.LoadKeys()
	if err != nil {
		return nil, usageError{err}
	}
	path := ic.Checkpoint
	if path == "" {
		path = filepath.Join(storeDir, "intel", "sync.journal")
	}
	w := &intelWiring{cfg: ic, matcher: intel.NewMatcher(), catalog: intel.NewCatalog(), sightings: intel.NewSightings(), ledger: ledger, key: active}
	if err := mkdirFor(path); err != nil {
		return nil, err
	}
	w.sync, err = intel.OpenSync(intel.SyncConfig{MSP: msp, Path: path, Render: taxii.CatalogObject, Readers: ic.Readers, Logger: log},
		ledger, w.matcher, w.catalog)
	if err != nil {
		return nil, err
	}
	var first uint64
	w.events = fabric.NewEvents(ledger, w.sync, &first)
	w.detector = &intel.Detector{Matcher: w.matcher, Sightings: w.sightings}
	st := w.sync.Status()
	log.Info("intel enabled", "indicators", st.Indicators, "resume_block", st.Block, "journal", path, "can_share", active.ID != "")
	return w, nil
}

// run starts the sync and the sightings reporter under run.
func (w *intelWiring) run(ctx context.Context, run func(name string, f func() error), log *slog.Logger) {
	run("intel-sync", func() error {
		if err := w.sync.Run(ctx, w.events); err != nil && ctx.Err() == nil {
			return err
		}
		return nil
	})
	run("intel-sightings", func() error {
		w.sightings.Run(ctx, w.ledger, w.cfg.SightingsInterval, log)
		return nil
	})
}

// metrics exports the sync's state: how many indicators the matcher
// holds (what an operator, and the end-to-end test, watch to see a share
// arrive or a revocation take effect), how many wait for their value, and
// how many IntelChanged events were handled.
func (w *intelWiring) metrics(m *metrics.Metrics) error {
	for _, g := range []struct {
		name, help string
		f          func() float64
	}{
		{"intel_indicators", "Indicators the intel matcher holds (readable by this organisation, not revoked or purged; expired ones included until revoked).", func() float64 { return float64(w.matcher.Len()) }},
		{"intel_pending", "Readable indicators whose private value this gateway's peer has not delivered yet.", func() float64 { return float64(w.sync.Status().Pending) }},
		{"intel_events_handled", "IntelChanged chaincode events the intel sync handled since start.", func() float64 { return float64(w.sync.Status().Handled) }},
	} {
		if err := m.GaugeFunc(g.name, g.help, g.f); err != nil {
			return err
		}
	}
	return nil
}

// close closes the sync's journal.
func (w *intelWiring) close() {
	if w != nil {
		_ = w.sync.Close()
	}
}

// taxiiPublisher is what POSTs to TAXII share with: the active key and a
// ledger identity allowed to share (intel.share_identity), or nil (the
// server is read-only) when either is missing.
func taxiiPublisher(ctx context.Context, w *intelWiring, profile *fabric.Profile, cfg config.Config, msp string, log *slog.Logger) (taxii.Publisher, func(), error) {
	if w.key.ID == "" || w.cfg.ShareIdentity == "" {
		return nil, func() {}, nil
	}
	c, err := fabric.Dial(ctx, profile, fabric.WithIdentity(w.cfg.ShareIdentity), fabric.WithTimeouts(fabric.Timeouts{
		Evaluate: cfg.Ledger.Timeouts.Evaluate, Endorse: cfg.Ledger.Timeouts.Endorse,
		Submit: cfg.Ledger.Timeouts.Submit, CommitStatus: cfg.Ledger.Timeouts.CommitStatus,
	}))
	if err != nil {
		return nil, nil, fmt.Errorf("dial Fabric as intel.share_identity %q: %w", w.cfg.ShareIdentity, err)
	}
	log.Info("taxii POST shares as", "identity", w.cfg.ShareIdentity, "key", w.key.ID)
	return &taxii.LedgerPublisher{Ledger: fabric.NewLedger(c, cfg.Ledger.Channel, cfg.Ledger.Chaincode), Key: w.key, Sharer: msp},
		func() { c.Close() }, nil
}

// mkdirFor creates the directory that will hold path.
func mkdirFor(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("intel: %w", err)
	}
	return nil
}
