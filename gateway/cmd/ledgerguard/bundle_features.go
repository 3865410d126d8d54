package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/evidence"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
	"github.com/ledgerguard/ledgerguard/gateway/features"
	"github.com/ledgerguard/ledgerguard/gateway/onnx"
)

// errRefused is returned (exit status 1) when `features --bundle` is given
// a bundle that does not verify; the findings are already printed.
var errRefused = errors.New("refusing to compute features from a bundle that fails verification")

// bundleOptions are the --bundle mode's flags.
type bundleOptions struct {
	path, labels, defaultLabel string
	all, online                bool
	lf                         ledgerFlags
}

// runBundleFeatures verifies the bundle and writes its feature matrix. The
// CSV is spooled to a temporary file and only copied to stdout (or renamed
// to --output) once the whole bundle has verified and been read, so a
// refused or failed run writes nothing.
func runBundleFeatures(cmd *cobra.Command, m *onnx.Manifest, o bundleOptions, output string) error {
	var labels map[string]string
	if o.labels != "" {
		f, err := os.Open(o.labels)
		if err != nil {
			return usageError{err}
		}
		labels, err = features.ReadEventLabels(f, o.labels)
		f.Close()
		if err != nil {
			return err
		}
		if len(m.Labels) > 0 {
			for id, l := range labels {
				if !slices.Contains(m.Labels, l) {
					return fmt.Errorf("features: %s labels event %s %q, not one of the model's labels %v", o.labels, id, l, m.Labels)
				}
			}
		}
	}
	if o.defaultLabel != "" && len(m.Labels) > 0 && !slices.Contains(m.Labels, o.defaultLabel) {
		return usageError{fmt.Errorf("features: --default-label %q is not one of the model's labels %v", o.defaultLabel, m.Labels)}
	}
	file, err := os.Open(o.path)
	if err != nil {
		return usageError{err}
	}
	defer file.Close()

	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	var opts []evidence.VerifyOption
	if o.online {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.lf.timeout)
		defer cancel()
		c, err := o.lf.dial(ctx)
		if err != nil {
			return err
		}
		defer c.Close()
		opts = append(opts, evidence.WithOnline(fabric.NewEvidenceSource(c, o.lf.channel, o.lf.chaincode)))
	}

	toFile := output != "" && output != "-"
	dir := ""
	if toFile {
		dir = filepath.Dir(output)
	}
	spool, err := os.CreateTemp(dir, ".ledgerguard-features-*.csv")
	if err != nil {
		return err
	}
	defer func() {
		spool.Close()
		os.Remove(spool.Name()) // after a rename this fails harmlessly
	}()

	st, err := writeBundleFeatures(ctx, spool, m, file, labels, o.defaultLabel, o.all, opts...)
	stderr := cmd.ErrOrStderr()
	var nv *evidence.NotVerifiedError
	if errors.As(err, &nv) {
		printReport(stderr, nv.Report, o.online)
		return errRefused
	}
	if err != nil {
		return fmt.Errorf("features %s: %w", o.path, err)
	}
	if toFile {
		if err := spool.Close(); err != nil {
			return err
		}
		if err := os.Rename(spool.Name(), output); err != nil {
			return err
		}
	} else {
		if _, err := spool.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if _, err := io.Copy(cmd.OutOrStdout(), spool); err != nil {
			return err
		}
	}
	mode := "offline"
	if o.online {
		mode = "online"
	}
	fmt.Fprintf(stderr, "features: bundle sha256 %s verified (%s): %d events in %d batches of gateway %s/%s\n",
		st.verified.SHA256, mode, st.verified.Events, st.verified.Report.Batches, st.verified.Report.GatewayMSP, st.verified.Report.GatewayID)
	fmt.Fprintf(stderr, "features: %d rows, %d labelled\n", st.rows, st.labelled)
	if labels != nil && st.unmatched > 0 {
		fmt.Fprintf(stderr, "features: warning: %d of %d labelled events are not rows of this bundle (not in it, or the model does not apply to them)\n", st.unmatched, len(labels))
	}
	return nil
}

// bundleStats is what writeBundleFeatures did.
type bundleStats struct {
	verified                  *evidence.Verified
	rows, labelled, unmatched int
}

// writeBundleFeatures writes the CSV of a bundle's feature matrix to w (see
// the features command's help for the columns). Nothing is written when
// the bundle does not verify (*evidence.NotVerifiedError); on any other
// error w may hold a partial matrix.
func writeBundleFeatures(ctx context.Context, w io.Writer, m *onnx.Manifest, bundle io.ReadSeeker, labels map[string]string, defaultLabel string, all bool, opts ...evidence.VerifyOption) (bundleStats, error) {
	eng, err := m.Engine()
	if err != nil {
		return bundleStats{}, err
	}
	var (
		fw   *featureCSV
		st   bundleStats
		seen = map[string]bool{}
	)
	applies := m.Applies
	if all {
		applies = nil
	}
	v, err := evidence.Features(ctx, bundle, eng, applies, func(ev *gateway.Event, vec []float32) error {
		if fw == nil { // first row: the bundle verified
			var err error
			if fw, err = newFeatureCSV(w, eng.Names()); err != nil {
				return err
			}
		}
		l, ok := labels[ev.ID]
		if ok {
			seen[ev.ID] = true
			st.labelled++
		} else {
			l = defaultLabel
		}
		st.rows++
		return fw.write(strconv.FormatUint(ev.Seq, 10), ev.ID, l, l, l, ev.Time, vec)
	}, opts...)
	if err != nil {
		return bundleStats{}, err
	}
	if fw == nil { // verified, but no event the model applies to
		if fw, err = newFeatureCSV(w, eng.Names()); err != nil {
			return bundleStats{}, err
		}
	}
	st.verified = v
	st.unmatched = len(labels) - len(seen)
	return st, fw.flush()
}
