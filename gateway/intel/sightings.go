package intel

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
)

// Reporter submits sightings to the ledger (intel:ReportSightings).
type Reporter interface {
	ReportSightings(ctx context.Context, s []wire.Sighting) (string, error)
}

// maxSeenPerWindow bounds the (indicator, event) pairs remembered between
// reports; past it, repeats are counted again rather than memory grown.
const maxSeenPerWindow = 1 << 20

// Sightings aggregates matches per indicator (count, first and last event
// time) and reports them in batches: one ReportSightings transaction per
// [wire.MaxSightingsPerTx] indicators per flush, never raw telemetry.
//
// A batch the alerter scores twice (a retry after a failed RaiseAlerts)
// matches the same events again; pairs of (indicator, event id) already
// counted since the last report are not counted again. Counts not yet
// reported are in memory only: a crash loses at most one interval's
// counts, which under-reports a sighting but never invents one.
type Sightings struct {
	mu   sync.Mutex
	agg  map[string]*wire.Sighting
	seen map[[2]string]struct{}
}

// NewSightings returns an empty aggregator.
func NewSightings() *Sightings {
	return &Sightings{agg: map[string]*wire.Sighting{}, seen: map[[2]string]struct{}{}}
}

// Record counts one match of indicator id by the event eventID at t.
func (s *Sightings) Record(id, eventID string, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := [2]string{id, eventID}
	if _, ok := s.seen[k]; ok {
		return
	}
	if len(s.seen) < maxSeenPerWindow {
		s.seen[k] = struct{}{}
	}
	g, ok := s.agg[id]
	if !ok {
		g = &wire.Sighting{IndicatorID: id, FirstSeen: wire.NewTime(t), LastSeen: wire.NewTime(t)}
		s.agg[id] = g
	}
	g.Count++
	if t.Before(g.FirstSeen.Time) {
		g.FirstSeen = wire.NewTime(t)
	}
	if t.After(g.LastSeen.Time) {
		g.LastSeen = wire.NewTime(t)
	}
}

// Pending returns the aggregated sightings not yet reported, by indicator id.
func (s *Sightings) Pending() []wire.Sighting {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]wire.Sighting, 0, len(s.agg))
	for _, g := range s.agg {
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b wire.Sighting) int { return strings.Compare(a.IndicatorID, b.IndicatorID) })
	return out
}

// Flush reports every pending sighting; those a failed transaction
// carried are merged back to be reported with the next flush, except when
// the transaction may have committed (gateway.MayHaveCommitted: it reached
// the orderers and its commit was not confirmed). ReportSightings records
// every report anew, so reporting those counts again could count them
// twice; they are dropped instead (an under-report, never an invented
// sighting, as for a crash) and the error says so.
func (s *Sightings) Flush(ctx context.Context, r Reporter) (int, error) {
	s.mu.Lock()
	agg := s.agg
	s.agg = map[string]*wire.Sighting{}
	s.seen = map[[2]string]struct{}{}
	s.mu.Unlock()
	list := make([]wire.Sighting, 0, len(agg))
	for _, g := range agg {
		list = append(list, *g)
	}
	slices.SortFunc(list, func(a, b wire.Sighting) int { return strings.Compare(a.IndicatorID, b.IndicatorID) })
	sent := 0
	for start := 0; start < len(list); start += wire.MaxSightingsPerTx {
		chunk := list[start:min(start+wire.MaxSightingsPerTx, len(list))]
		if _, err := r.ReportSightings(ctx, chunk); err != nil {
			if gateway.MayHaveCommitted(err) {
				s.restore(list[start+len(chunk):])
				return sent, fmt.Errorf("%d sightings not reported again (their transaction may have committed): %w", len(chunk), err)
			}
			s.restore(list[start:])
			return sent, err
		}
		sent += len(chunk)
	}
	return sent, nil
}

func (s *Sightings) restore(list []wire.Sighting) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, old := range list {
		g, ok := s.agg[old.IndicatorID]
		if !ok {
			c := old
			s.agg[old.IndicatorID] = &c
			continue
		}
		g.Count += old.Count
		if old.FirstSeen.Before(g.FirstSeen.Time) {
			g.FirstSeen = old.FirstSeen
		}
		if old.LastSeen.After(g.LastSeen.Time) {
			g.LastSeen = old.LastSeen
		}
	}
}

// Run flushes every interval until ctx ends, then once more with a short
// grace so a clean shutdown reports what it counted.
func (s *Sightings) Run(ctx context.Context, r Reporter, every time.Duration, log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if _, err := s.Flush(fctx, r); err != nil {
				log.Warn("reporting sightings at shutdown failed; they are lost", "err", err)
			}
			cancel()
			return
		case <-t.C:
			if n, err := s.Flush(ctx, r); err != nil {
				log.Warn("reporting sightings failed; will retry", "err", err)
			} else if n > 0 {
				log.Info("sightings reported", "indicators", n)
			}
		}
	}
}
