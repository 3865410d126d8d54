package intel

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/detect"
)

// Detector checks events' observables against the matcher and answers one
// flagged detect.Result per (event, indicator) match, so intel matches
// travel the alert path detections use (gateway/alerting → RaiseAlerts →
// the ledger's policies). Each result cites its indicator: model
// wire.DetectorIntelMatch, version the indicator id, sha256 its keyed hash,
// score its confidence / 100, category its first ATT&CK technique. Every
// match is also counted as a sighting when Sightings is set.
type Detector struct {
	Matcher   *Matcher
	Sightings *Sightings
	// Now is the clock expiry is checked against (nil: time.Now).
	Now func() time.Time
}

// scanChunk is how many events one read-locked scan covers.
const scanChunk = 2048

// scratch holds one Detect call's buffers, reused through scratchPool so
// detection does not allocate them per batch (allocation is garbage
// collection work the whole gateway pays for).
type scratch struct {
	obs    []Observable
	from   []int
	starts []int
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// DefaultCategory is the category of an intel-match alert whose indicator
// names no ATT&CK technique.
const DefaultCategory = "threat-intel"

// Detect implements detect.Detector. It never fails.
func (d *Detector) Detect(_ context.Context, events []gateway.Event) ([]detect.Result, error) {
	return d.detect(len(events), func(i int) *gateway.Event { return &events[i] },
		func(i int, dst []Observable) ([]Observable, error) { return Observables(&events[i], dst), nil })
}

// DetectLeaves implements detect.LeafDetector: Detect on the leaves'
// events, read in place, each event's observables read from its
// canonical bytes (observablesCanonical), so a partial leaf
// (gateway.HeaderLeaf) is decoded whole only when those bytes hold
// what that reader leaves to the decoded event (escapes, nested
// objects). Without it the alerter's joined detector would copy every
// leaf's Event into a slice of its own for this detector alone, and
// decode every partial leaf. Its only error is a partial leaf's that
// does not decode (Leaf.Full).
func (d *Detector) DetectLeaves(_ context.Context, leaves []gateway.Leaf) ([]detect.Result, error) {
	return d.detect(len(leaves), func(i int) *gateway.Event { return &leaves[i].Event },
		func(i int, dst []Observable) ([]Observable, error) {
			l := &leaves[i]
			if out, ok := observablesCanonical(l.Canonical, dst); ok {
				return out, nil
			}
			ev, err := l.Full()
			if err != nil {
				return dst, err
			}
			return Observables(&ev, dst), nil
		})
}

// detect is Detect on the n events event(0) … event(n-1) (their header
// is all it reads of them), whose observables observe appends; observe's
// first error ends it.
func (d *Detector) detect(n int, event func(i int) *gateway.Event, observe func(i int, dst []Observable) ([]Observable, error)) ([]detect.Result, error) {
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	// An (event, entry) pair is reported once. Keyed on the entry's
	// pointer, not its id: within one Scan the matcher holds one entry
	// per id, and an event's lookups all happen in one Scan; the pointer
	// needs no read of the id's bytes (a cache miss per match).
	type seenKey struct {
		ev int
		e  *Entry
	}
	var out []detect.Result
	var seen map[seenKey]bool
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	// obs[j] came from event from[j]; event i's observables are
	// obs[starts[i-start]:starts[i-start+1]].
	obs, from, starts := sc.obs[:0], sc.from[:0], sc.starts[:0]
	defer func() {
		clear(obs) // keep no event's strings alive in the pool
		sc.obs, sc.from, sc.starts = obs[:0], from[:0], starts[:0]
	}()
	// The read lock is taken per chunk, so a share or revocation the sync
	// applies waits for at most one chunk, not a whole batch. A chunk's
	// observables are looked up together (View.LookupAll overlaps the
	// cache misses of many lookups).
	for start := 0; start < n; start += scanChunk {
		end := min(start+scanChunk, n)
		obs, from, starts = obs[:0], from[:0], starts[:0]
		for i := start; i < end; i++ {
			starts = append(starts, len(obs))
			var err error
			if obs, err = observe(i, obs); err != nil {
				return nil, err
			}
			for len(from) < len(obs) {
				from = append(from, i)
			}
		}
		starts = append(starts, len(obs))
		d.Matcher.Scan(now(), func(v *View) {
			v.LookupAll(obs, func(j int, e *Entry) {
				i := from[j]
				k := seenKey{i, e}
				if seen[k] {
					return // the same indicator through another field
				}
				if seen == nil {
					seen = map[seenKey]bool{}
				}
				seen[k] = true
				evObs := obs[starts[i-start]:starts[i-start+1]]
				out = append(out, result(i, event(i), obs[j], evObs, e))
			})
		})
	}
	if d.Sightings != nil {
		for _, r := range out {
			d.Sightings.Record(r.Version, r.EventID, event(r.Index).Time)
		}
	}
	return out, nil
}

func result(i int, ev *gateway.Event, o Observable, obs []Observable, e *Entry) detect.Result {
	category := DefaultCategory
	if len(e.Techniques) > 0 {
		category = e.Techniques[0]
	}
	r := detect.Result{
		Index: i, EventID: ev.ID,
		Model: wire.DetectorIntelMatch, Version: e.ID, SHA256: e.Hash,
		Score: float64(min(max(e.Confidence, 0), 100)) / 100, Label: "intel-" + e.Type, Flagged: true,
		Category: category,
		Fields: map[string]string{
			wire.AlertFieldIntelSharedBy:   e.SharedBy,
			wire.AlertFieldIntelType:       e.Type,
			wire.AlertFieldIntelTLP:        e.TLP,
			wire.AlertFieldIntelConfidence: strconv.Itoa(e.Confidence),
			wire.AlertFieldIntelField:      o.Field,
		},
	}
	if Restricted(e.TLP) {
		// Alerts are public to every member: an alert carrying the
		// matched value beside an AMBER indicator's id would tell
		// non-recipients what the indicator is: every field holding the
		// matched value stays off the ledger.
		for _, x := range obs {
			if x.Value == o.Value && !slices.Contains(r.Redact, x.Field) {
				r.Redact = append(r.Redact, x.Field)
			}
		}
	}
	return r
}

// Restricted reports whether tlp limits an indicator to named recipients
// (AMBER, AMBER+STRICT).
func Restricted(tlp string) bool { return tlp == wire.TLPAmber || tlp == wire.TLPAmberStrict }
