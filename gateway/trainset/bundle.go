package trainset

import (
	"context"
	"io"
	"strconv"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/evidence"
	"github.com/ledgerguard/ledgerguard/gateway/onnx"
)

// BundleStats is what WriteBundleFeatures did: the verified bundle, the
// rows written, how many carried a label from labels, and how many of
// labels' events were not rows (absent, or the model does not apply).
type BundleStats struct {
	Verified  *evidence.Verified
	Rows      int
	Labelled  int
	Unmatched int
}

// WriteBundleFeatures writes to w the CSV feature matrix of an evidence
// bundle's events, in seq order, with the columns of WriteFeatures: row
// is the event's seq, file its id, time its time, and raw_label, label
// and group its label from labels (by event id, or by event hash: the
// hex leaf hash an alert on the ledger cites as eventHash), else
// defaultLabel.
// Events the model does not apply to are skipped unless all is set.
// Nothing is written when the bundle does not verify
// (*evidence.NotVerifiedError); on any other error w may hold a partial
// matrix.
func WriteBundleFeatures(ctx context.Context, w io.Writer, m *onnx.Manifest, bundle io.ReadSeeker, labels map[string]string, defaultLabel string, all bool, opts ...evidence.VerifyOption) (BundleStats, error) {
	eng, err := m.Engine()
	if err != nil {
		return BundleStats{}, err
	}
	var (
		fw   *featureCSV
		st   BundleStats
		seen = map[string]bool{}
	)
	applies := m.Applies
	if all {
		applies = nil
	}
	v, err := evidence.FeatureLeaves(ctx, bundle, eng, applies, func(ev *gateway.Event, leafHash string, vec []float32) error {
		if fw == nil { // first row: the bundle verified
			var err error
			if fw, err = newFeatureCSV(w, eng.Names()); err != nil {
				return err
			}
		}
		key := ev.ID
		l, ok := labels[key]
		if !ok {
			key = leafHash
			l, ok = labels[key]
		}
		if ok {
			seen[key] = true
			st.Labelled++
		} else {
			l = defaultLabel
		}
		st.Rows++
		return fw.write(strconv.FormatUint(ev.Seq, 10), ev.ID, l, l, l, ev.Time, vec)
	}, opts...)
	if err != nil {
		return BundleStats{}, err
	}
	if fw == nil { // verified, but no event the model applies to
		if fw, err = newFeatureCSV(w, eng.Names()); err != nil {
			return BundleStats{}, err
		}
	}
	st.Verified = v
	st.Unmatched = len(labels) - len(seen)
	return st, fw.flush()
}
