// Package detect is the gateway's detection vocabulary: what a detector is
// asked (a slice of events) and what it answers (one Result per event it
// scored). It holds no model code, so the rest of the gateway (pipeline,
// alerting, the ledger client) depends on this small package only and
// never on ONNX Runtime; gateway/onnx implements Detector.
package detect

import (
	"context"
	"slices"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// Detector scores events. Detect returns one Result for each event that at
// least one of its models applies to (by event class and sourcetype), in
// input order; events no model applies to get no Result. The input slice
// is not modified. An error means no result of the call is valid.
type Detector interface {
	Detect(ctx context.Context, events []gateway.Event) ([]Result, error)
}

// LeafDetector is a Detector that also scores leaves as the store returns
// them (each event with its canonical bytes), which lets it read
// features from the bytes instead of the decoded maps (see
// features.Engine.ExtractLeaf). Leaves may be partial (gateway.HeaderLeaf:
// the event's header only, as the alerter reads them), so an
// implementation reads anything past the header from the canonical bytes
// or from Leaf.Full, never from Leaf.Event.Fields. DetectLeaves answers
// exactly what Detect answers for the leaves' whole events, Index being
// the leaf's position; its error may also be a partial leaf's that does
// not decode.
type LeafDetector interface {
	Detector
	DetectLeaves(ctx context.Context, leaves []gateway.Leaf) ([]Result, error)
}

// DetectLeaves scores leaves with d: through DetectLeaves when d is a
// LeafDetector, else through Detect on the leaves' whole events. The
// results are the same either way; only the cost differs.
func DetectLeaves(ctx context.Context, d Detector, leaves []gateway.Leaf) ([]Result, error) {
	if ld, ok := d.(LeafDetector); ok {
		return ld.DetectLeaves(ctx, leaves)
	}
	events, err := Events(leaves)
	if err != nil {
		return nil, err
	}
	return d.Detect(ctx, events)
}

// Events returns the leaves' whole events, in order: a partial leaf's
// decoded (Leaf.Full), whose error is returned.
func Events(leaves []gateway.Leaf) ([]gateway.Event, error) {
	events := make([]gateway.Event, len(leaves))
	for i := range leaves {
		ev, err := leaves[i].Full()
		if err != nil {
			return nil, err
		}
		events[i] = ev
	}
	return events, nil
}

// Result is one model's verdict on one event. Model, Version and SHA256
// identify the exact model file (the alert transaction carries them so a
// verdict can be traced to the bytes that produced it).
type Result struct {
	// Index is the event's position in the slice passed to Detect.
	Index   int    `json:"index"`
	EventID string `json:"event_id"`
	Model   string `json:"model"`
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
	// Score is the model's probability that the event is not benign, in
	// [0, 1].
	Score float64 `json:"score"`
	// Label is the most likely label (the most likely non-benign label when
	// Flagged).
	Label string `json:"label"`
	// Flagged is Score >= the manifest's threshold.
	Flagged bool `json:"flagged"`
	// Category is the MITRE ATT&CK technique or tactic id the manifest maps
	// Label to (e.g. T1110, T1568.002, T1046, T1498); empty for benign.
	Category string `json:"category,omitempty"`
	// TopFeatures, set by anomaly models on flagged events, names the
	// features that deviated most from the benign training data with
	// their deviation in standard deviations ("src_bytes:+12.3,..."), so
	// an analyst sees why an event no signature covers was flagged.
	TopFeatures string `json:"top_features,omitempty"`
	// Fields are extra alert fields the detector attaches (e.g. the
	// indicator an intel match cites); the alerter adds them to the
	// alert's fields.
	Fields map[string]string `json:"fields,omitempty"`
	// Redact names event fields whose values must not reach the ledger
	// with this verdict's alert (e.g. the observable that matched an
	// AMBER indicator, which would disclose the indicator to every
	// member).
	Redact []string `json:"redact,omitempty"`
}

// Join returns a detector that asks each of ds in turn and returns their
// results together, ordered by event index (stable per detector order).
// nil detectors are skipped; with one left it is returned as is.
func Join(ds ...Detector) Detector {
	var keep []Detector
	for _, d := range ds {
		if d != nil {
			keep = append(keep, d)
		}
	}
	if len(keep) == 1 {
		return keep[0]
	}
	return joined(keep)
}

type joined []Detector

func (j joined) Detect(ctx context.Context, events []gateway.Event) ([]Result, error) {
	return j.join(func(d Detector) ([]Result, error) { return d.Detect(ctx, events) })
}

// DetectLeaves hands the leaves on to each detector (see DetectLeaves),
// decoding their events at most once for those that are not
// LeafDetectors.
func (j joined) DetectLeaves(ctx context.Context, leaves []gateway.Leaf) ([]Result, error) {
	var events []gateway.Event
	return j.join(func(d Detector) ([]Result, error) {
		if ld, ok := d.(LeafDetector); ok {
			return ld.DetectLeaves(ctx, leaves)
		}
		if events == nil {
			var err error
			if events, err = Events(leaves); err != nil {
				return nil, err
			}
		}
		return d.Detect(ctx, events)
	})
}

func (j joined) join(ask func(Detector) ([]Result, error)) ([]Result, error) {
	var out []Result
	for _, d := range j {
		r, err := ask(d)
		if err != nil {
			return nil, err
		}
		out = append(out, r...)
	}
	slices.SortStableFunc(out, func(a, b Result) int { return a.Index - b.Index })
	return out, nil
}
