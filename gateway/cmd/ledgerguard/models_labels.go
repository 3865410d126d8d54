package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"

	"github.com/spf13/cobra"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/durable"
	"github.com/ledgerguard/ledgerguard/gateway/onnx"
)

// Verdicts become labels: an alert an analyst closed as false-positive is
// a benign example of its event for the detector that raised it; one
// closed as resolved confirms the detector's verdict (the attack label the
// alert carries, or the model's only non-benign label). Open and
// acknowledged alerts say nothing yet and are not labels.

// verdictLabels is the labels file of one model's verdicts.
type verdictLabels struct {
	Labels    map[string]string // event hash -> label
	Benign    int               // false-positive verdicts
	Attack    int               // resolved verdicts
	Conflicts []string          // events with both verdicts (left out)
	Skipped   int               // resolved alerts whose attack label is unknown
}

// labelsFromAlerts turns the alerts of model (any version) with a verdict
// into labels by event hash, given the model's labels and benign label.
func labelsFromAlerts(alerts []wire.Alert, model string, labels []string, benign string) verdictLabels {
	var attackOnly string
	if len(labels) == 2 {
		for _, l := range labels {
			if l != benign {
				attackOnly = l
			}
		}
	}
	out := verdictLabels{Labels: map[string]string{}}
	bad := map[string]bool{}
	for _, a := range alerts {
		if a.Detector.ID != model {
			continue
		}
		var l string
		switch a.Status {
		case wire.AlertFalsePositive:
			l = benign
		case wire.AlertResolved:
			l = a.Fields["label"]
			if !slices.Contains(labels, l) || l == benign {
				l = attackOnly
			}
			if l == "" {
				out.Skipped++
				continue
			}
		default:
			continue
		}
		if prev, ok := out.Labels[a.EventHash]; ok && prev != l {
			bad[a.EventHash] = true
			continue
		}
		if _, ok := out.Labels[a.EventHash]; ok {
			continue // the same verdict on the same event by another version
		}
		out.Labels[a.EventHash] = l
		if l == benign {
			out.Benign++
		} else {
			out.Attack++
		}
	}
	for h := range bad {
		if out.Labels[h] == benign {
			out.Benign--
		} else {
			out.Attack--
		}
		delete(out.Labels, h)
		out.Conflicts = append(out.Conflicts, h)
	}
	sort.Strings(out.Conflicts)
	return out
}

// writeLabels writes labels as the CSV from_bundle.py and
// `features --labels` take (event_id,label; the id is the event hash),
// sorted so the file, and its sha256 in a model card, is reproducible.
func writeLabels(w io.Writer, labels map[string]string) error {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"event_id", "label"}); err != nil {
		return err
	}
	for _, k := range keys {
		if err := cw.Write([]string{k, labels[k]}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// modelManifest reads the highest version's manifest of model under
// modelsDir.
func modelManifest(modelsDir, model string) (*onnx.Manifest, string, error) {
	if err := wire.ValidateModelName(model, "0"); err != nil {
		return nil, "", usageError{err}
	}
	dir, ok := onnx.LatestVersionDir(filepath.Join(modelsDir, model))
	if !ok {
		return nil, "", usageError{fmt.Errorf("no version of model %s under %s", model, modelsDir)}
	}
	m, err := onnx.ReadManifestFile(filepath.Join(dir, onnx.ManifestFile))
	if err != nil {
		return nil, "", usageError{err}
	}
	return m, dir, nil
}

// ledgerVerdicts reads every alert with a verdict (false-positive or
// resolved) from the ledger and returns model's labels.
func ledgerVerdicts(ctx context.Context, lc ledgerCalls, pageSize int, model string, m *onnx.Manifest) (verdictLabels, error) {
	all := &ledgerCmd{pageSize: pageSize}
	var alerts []wire.Alert
	for _, status := range []string{wire.AlertFalsePositive, wire.AlertResolved} {
		as, err := collect[wire.Alert](ctx, lc, all, evaluate(wire.ContractAlerts, wire.TxListAlerts, filterArg(wire.AlertFilter{Status: status})))
		if err != nil {
			return verdictLabels{}, err
		}
		alerts = append(alerts, as...)
	}
	return labelsFromAlerts(alerts, model, m.Labels, m.Benign), nil
}

// reportVerdicts prints what the labels hold to w (stderr).
func reportVerdicts(w io.Writer, model string, v verdictLabels) {
	fmt.Fprintf(w, "labels: %s: %d events from analysts' verdicts (%d false-positive -> benign, %d resolved -> attack)\n", model, len(v.Labels), v.Benign, v.Attack)
	if len(v.Conflicts) > 0 {
		fmt.Fprintf(w, "labels: warning: %d events have both verdicts and are left out: %v\n", len(v.Conflicts), v.Conflicts)
	}
	if v.Skipped > 0 {
		fmt.Fprintf(w, "labels: warning: %d resolved alerts name no label of the model and are left out\n", v.Skipped)
	}
}

func newModelsLabelsCmd() *cobra.Command {
	var l ledgerCmd
	var output, modelsDir string
	cmd := &cobra.Command{
		Use:   "labels MODEL -o LABELS.csv",
		Short: "write the labels analysts' verdicts on MODEL's alerts give their events",
		Long: `labels reads from the ledger every alert of detector MODEL (any version)
that an analyst closed: false-positive makes its event a benign example (the
manifest's benign label), resolved an attack example (the alert's label when
it is one of the model's labels, else the model's only non-benign label).
Events with both verdicts are left out (and named). The file is a CSV
event_id,label keyed by event hash (the leaf hash the alert cites), as
'features --bundle --labels' and models/train/from_bundle.py take it; only
events of a bundle that verifies are ever labelled.`,
		Args: argsExactly("MODEL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output == "" {
				return usageError{fmt.Errorf("models labels needs -o FILE (or -o - for stdout)")}
			}
			m, _, err := modelManifest(modelsDir, args[0])
			if err != nil {
				return err
			}
			return l.run(cmd, func(ctx context.Context, lc ledgerCalls) error {
				v, err := ledgerVerdicts(ctx, lc, l.pageSize, args[0], m)
				if err != nil {
					return err
				}
				reportVerdicts(cmd.ErrOrStderr(), args[0], v)
				if output == "-" {
					return writeLabels(cmd.OutOrStdout(), v.Labels)
				}
				return durable.AtomicWrite(nil, output, func(w io.Writer) error { return writeLabels(w, v.Labels) })
			})
		},
	}
	l.register(cmd, "")
	cmd.Flags().IntVar(&l.pageSize, "page-size", 100, "records per ledger query (1..1000)")
	cmd.Flags().StringVarP(&output, "output", "o", "", "labels file to write (- for stdout)")
	cmd.Flags().StringVar(&modelsDir, "models-dir", "models", "directory of <name>/<version>/ model directories (the model's labels come from its highest version)")
	return cmd
}
