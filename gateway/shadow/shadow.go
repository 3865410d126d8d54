// Package shadow runs candidate model versions beside the served ones on
// live traffic without letting them raise alerts ("shadow mode"), and
// counts how they compare: agreement, would-be alerts and score drift per
// shadow model.
//
// A version is in shadow when, in strict mode, it is registered on the
// ledger but not (yet) approved (provenance's Pending refusal, so its file
// and feature spec match the registration), present on disk, and newer
// than the version served under its name. Promotion needs nothing from
// this package: once a quorum approves the version, the served registry
// (gateway/modelset) loads it at its next ledger check, and the shadow
// registry here drops it at its next one because it is no longer pending.
//
// The shadow models live in their own onnx.Registry (their own feature
// engines, so their window state never touches the served models'), and
// the served detector is wrapped, not changed: Wrap returns a detector
// whose results are exactly the served ones.
package shadow

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/detect"
	"github.com/ledgerguard/ledgerguard/gateway/onnx"
	"github.com/ledgerguard/ledgerguard/gateway/provenance"
)

// Shadow scores the shadow models and keeps their statistics. Safe for
// concurrent use.
type Shadow struct {
	served  *onnx.Registry
	reg     *onnx.Registry
	checker *provenance.Checker
	log     *slog.Logger

	mu    sync.Mutex
	stats map[string]*gateway.ShadowStats // name@version
	drift map[string]float64              // name@version -> sum |Δscore|
}

// Open reads the registrations from ledger and loads the shadow models
// under modelsDir (as gateway/modelset does for the served ones). served
// is the served registry: shadow versions must be newer than what it
// serves. A failed first read of the ledger is logged and retried by Run.
// opts are passed to the shadow models (e.g. onnx.WithFeatureObserver).
func Open(ctx context.Context, modelsDir string, served *onnx.Registry, ledger provenance.Ledger, log *slog.Logger, opts ...onnx.Option) (*Shadow, error) {
	if served == nil {
		return nil, errors.New("shadow: the served registry is required")
	}
	// The served set's checker already logs every refusal; this one would
	// repeat each as "pending", so it logs nowhere.
	checker, err := provenance.New(ledger, provenance.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		return nil, err
	}
	if _, err := checker.Refresh(ctx); err != nil {
		log.Warn("shadow: cannot read model registrations yet; no shadow model until a check succeeds", "err", err)
	}
	s := &Shadow{served: served, checker: checker, log: log, stats: map[string]*gateway.ShadowStats{}, drift: map[string]float64{}}
	reg, err := onnx.NewRegistry(ctx, modelsDir, append(opts, onnx.WithAllow(s.allow))...)
	if reg == nil {
		return nil, err
	}
	s.reg = reg
	s.logChanges()
	return s, nil
}

// allow admits a pending (registered, not approved) version newer than
// the served one of its name.
func (s *Shadow) allow(m *onnx.Manifest) error {
	cur, ok := s.served.Get(m.Name)
	if !ok {
		return errors.New("shadow: no served version of " + m.Name + " to compare with")
	}
	if onnx.CompareVersions(m.Version, cur.Manifest().Version) <= 0 {
		return errors.New("shadow: not newer than the served version " + cur.Manifest().Version)
	}
	fh, err := provenance.ManifestFeaturesSHA256(m)
	if err != nil {
		return err
	}
	err = s.checker.Check(provenance.Model{Name: m.Name, Version: m.Version, SHA256: m.Model.SHA256, FeaturesSHA256: fh})
	var re *provenance.RefusedError
	if errors.As(err, &re) && re.Reason == provenance.Pending {
		return nil
	}
	if err == nil {
		return errors.New("shadow: approved: served, not shadowed")
	}
	return err
}

// Run rereads the registrations every interval and reloads the shadow
// models (a promoted or revoked version leaves shadow, a newly registered
// one enters), until ctx ends.
func (s *Shadow) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.Check(ctx)
	}
}

// Check rereads the registrations once and reloads the shadow models.
func (s *Shadow) Check(ctx context.Context) {
	if _, err := s.checker.Refresh(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("shadow: reading model registrations failed; keeping the last known", "err", err)
	}
	_ = s.reg.Reload(ctx) // refusals are the point; load failures keep the previous model
	s.logChanges()
}

// logChanges marks which shadow models are active and logs entries and
// exits.
func (s *Shadow) logChanges() {
	now := map[string]*onnx.Model{}
	for _, m := range s.reg.Models() {
		now[key(m.Manifest())] = m
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, m := range now {
		st, ok := s.stats[k]
		if !ok {
			mf := m.Manifest()
			st = &gateway.ShadowStats{Model: mf.Name, Version: mf.Version, SHA256: mf.Model.SHA256}
			if cur, ok := s.served.Get(mf.Name); ok {
				st.ServedVersion = cur.Manifest().Version
			}
			s.stats[k] = st
		}
		if !st.Active {
			s.log.Info("shadow: model runs in shadow (scored, never alerting) until a quorum approves it",
				"model", st.Model, "version", st.Version, "served_version", st.ServedVersion)
		}
		st.Active = true
	}
	for k, st := range s.stats {
		if _, ok := now[k]; !ok && st.Active {
			st.Active = false
			s.log.Info("shadow: model left shadow (approved and served, revoked, or removed)", "model", st.Model, "version", st.Version)
		}
	}
}

func key(m *onnx.Manifest) string { return m.Name + "@" + m.Version }

// Close closes the shadow models.
func (s *Shadow) Close() error { return s.reg.Close() }

// Wrap returns a detector that answers exactly as d and, after each call,
// scores the same events with the shadow models and counts how they
// compare with d's results for the same model name. A shadow model's
// failure is counted and logged, never returned: shadow scoring cannot
// stop or change alerting.
func (s *Shadow) Wrap(d detect.Detector) detect.Detector { return &wrapped{d: d, s: s} }

type wrapped struct {
	d detect.Detector
	s *Shadow
}

func (w *wrapped) Detect(ctx context.Context, events []gateway.Event) ([]detect.Result, error) {
	res, err := w.d.Detect(ctx, events)
	if err != nil {
		return res, err
	}
	w.s.score(ctx, events, res)
	return res, nil
}

// The wrapper keeps the served detector's leaf path (detect.LeafDetector).
var _ detect.LeafDetector = (*wrapped)(nil)

// DetectLeaves is Detect on leaves: the served detector reads them as it
// can (detect.DetectLeaves), the shadow models score their whole events,
// decoded (detect.Events) only while there are shadow models: the
// alerter's leaves are partial. A leaf that does not decode is logged
// and skips the shadow scoring of the call, which never changes
// alerting.
func (w *wrapped) DetectLeaves(ctx context.Context, leaves []gateway.Leaf) ([]detect.Result, error) {
	res, err := detect.DetectLeaves(ctx, w.d, leaves)
	if err != nil {
		return res, err
	}
	if len(w.s.reg.Models()) == 0 {
		return res, nil
	}
	events, err := detect.Events(leaves)
	if err != nil {
		w.s.log.Warn("shadow: events not scored (alerting is not affected)", "err", err)
		return res, nil
	}
	w.s.score(ctx, events, res)
	return res, nil
}

// score runs every shadow model over events and compares its verdicts
// with the served results of the same model name, event by event.
func (s *Shadow) score(ctx context.Context, events []gateway.Event, served []detect.Result) {
	models := s.reg.Models()
	if len(models) == 0 {
		return
	}
	byName := map[string]map[int]detect.Result{}
	for _, r := range served {
		if byName[r.Model] == nil {
			byName[r.Model] = map[int]detect.Result{}
		}
		byName[r.Model][r.Index] = r
	}
	for _, m := range models {
		mf := m.Manifest()
		k := key(mf)
		res, err := m.Detect(ctx, events)
		s.mu.Lock()
		st := s.stats[k]
		if st == nil {
			st = &gateway.ShadowStats{Model: mf.Name, Version: mf.Version, SHA256: mf.Model.SHA256, Active: true}
			s.stats[k] = st
		}
		if err != nil {
			st.Errors++
			s.mu.Unlock()
			if !errors.Is(err, onnx.ErrClosed) {
				s.log.Warn("shadow: scoring failed (alerting is not affected)", "model", mf.Name, "version", mf.Version, "err", err)
			}
			continue
		}
		ref := byName[mf.Name]
		for _, r := range res {
			sv, ok := ref[r.Index]
			if !ok {
				continue // the served version did not score it
			}
			st.ServedVersion = sv.Version
			st.Events++
			if r.Flagged {
				st.WouldBeAlerts++
			}
			if sv.Flagged {
				st.ServedAlerts++
			}
			switch {
			case r.Flagged == sv.Flagged:
				st.Agreements++
			case r.Flagged:
				st.OnlyShadow++
			default:
				st.OnlyServed++
			}
			s.drift[k] += math.Abs(r.Score - sv.Score)
		}
		s.mu.Unlock()
	}
}

// Report returns every shadow model's statistics (current and past),
// sorted by model and version.
func (s *Shadow) Report() []gateway.ShadowStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]gateway.ShadowStats, 0, len(s.stats))
	for k, st := range s.stats {
		c := *st
		if c.Events > 0 {
			c.Agreement = float64(c.Agreements) / float64(c.Events)
			c.ScoreDrift = s.drift[k] / float64(c.Events)
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Model != out[j].Model {
			return out[i].Model < out[j].Model
		}
		return onnx.CompareVersions(out[i].Version, out[j].Version) < 0
	})
	return out
}
