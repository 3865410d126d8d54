package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/spf13/cobra"

	"github.com/ledgerguard/ledgerguard/gateway/durable"
	"github.com/ledgerguard/ledgerguard/gateway/evidence"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
	"github.com/ledgerguard/ledgerguard/gateway/features"
	"github.com/ledgerguard/ledgerguard/gateway/onnx"
	"github.com/ledgerguard/ledgerguard/gateway/trainset"
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
// CSV is spooled to a temporary file and only copied to stdout (or
// atomically replaces --output) once the whole bundle has verified and been
// read, so a refused or failed run writes nothing.
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

	// The CSV reaches its destination only once the whole bundle has
	// verified: atomically replacing --output, or spooled and then copied to
	// stdout.
	var st trainset.BundleStats
	write := func(w io.Writer) (err error) {
		st, err = trainset.WriteBundleFeatures(ctx, w, m, file, labels, o.defaultLabel, o.all, opts...)
		return err
	}
	if output != "" && output != "-" {
		err = durable.AtomicWrite(nil, output, write)
	} else {
		err = spoolTo(cmd.OutOrStdout(), write)
	}
	stderr := cmd.ErrOrStderr()
	var nv *evidence.NotVerifiedError
	if errors.As(err, &nv) {
		printReport(stderr, nv.Report, o.online)
		return errRefused
	}
	if err != nil {
		return fmt.Errorf("features %s: %w", o.path, err)
	}
	mode := "offline"
	if o.online {
		mode = "online"
	}
	fmt.Fprintf(stderr, "features: bundle sha256 %s verified (%s): %d events in %d batches of gateway %s/%s\n",
		st.Verified.SHA256, mode, st.Verified.Events, st.Verified.Report.Batches, st.Verified.Report.GatewayMSP, st.Verified.Report.GatewayID)
	fmt.Fprintf(stderr, "features: %d rows, %d labelled\n", st.Rows, st.Labelled)
	if labels != nil && st.Unmatched > 0 {
		fmt.Fprintf(stderr, "features: warning: %d of %d labelled events are not rows of this bundle (not in it, or the model does not apply to them)\n", st.Unmatched, len(labels))
	}
	return nil
}

// spoolTo runs write into a temporary file and copies the result to out
// only when write succeeded, so out sees all or nothing.
func spoolTo(out io.Writer, write func(io.Writer) error) error {
	spool, err := os.CreateTemp("", ".ledgerguard-features-*.csv")
	if err != nil {
		return err
	}
	defer func() {
		spool.Close()
		os.Remove(spool.Name())
	}()
	if err := write(spool); err != nil {
		return err
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err = io.Copy(out, spool)
	return err
}
