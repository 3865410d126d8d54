package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ledgerguard/ledgerguard/gateway/features"
	"github.com/ledgerguard/ledgerguard/gateway/onnx"
	"github.com/ledgerguard/ledgerguard/gateway/trainset"
)

// EnvDataDir names the data directory (default ../shared/data relative to
// the repository root).
const envDataDir = "LEDGERGUARD_DATA_DIR"

// repoRoot returns the nearest ancestor of the working directory holding
// this project's go.mod, or the working directory.
func repoRoot() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for d := wd; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil &&
			bytes.HasPrefix(b, []byte("module github.com/ledgerguard/ledgerguard\n")) {
			return d
		}
		if filepath.Dir(d) == d {
			return wd
		}
	}
}

// defaultDataDir is $LEDGERGUARD_DATA_DIR or ../shared/data beside the
// repository root.
func defaultDataDir() string {
	if d := os.Getenv(envDataDir); d != "" {
		return d
	}
	return filepath.Join(repoRoot(), "..", "shared", "data")
}

func newFeaturesCmd() *cobra.Command {
	var (
		manifestPath, input, mapping, label, split, dataDir, output string
		bundle, labels, defaultLabel                                string
		all, online                                                 bool
		lf                                                          ledgerFlags
	)
	cmd := &cobra.Command{
		Use:   "features --manifest M (--input FILE [--mapping NAME] [--label RAW] | --split NAME | --bundle FILE [--labels FILE] [--online --profile P --identity auditor])",
		Short: "write the feature matrix of a dataset or a verified evidence bundle as CSV, through the gateway's feature engine",
		Long: `features replays a dataset as gateway events (using the manifest's dataset
mappings) and writes one CSV row per event the model applies to:
row,file,raw_label,label,group,time, then the feature columns in the model's
input order. The training pipeline reads its matrices from here, so training
and serving share one feature implementation.

--split train reads the manifest's training split; any other name reads
that evaluation split. Files are relative to --data (default
$LEDGERGUARD_DATA_DIR, else ../shared/data beside the repository).

--bundle reads an evidence bundle written by 'ledgerguard export' (authentic
events from the ledger). It is first verified exactly as 'ledgerguard verify'
does (offline; --online also compares it with the live ledger): if anything
fails, nothing is written, the problems are printed on stderr and the exit
status is 1. Otherwise each event's canonical bytes (the anchored leaf) are
decoded and run, in seq order, through the feature engine as live scoring
runs them; events the model does not apply to are skipped. A bundle row has
row = the event's seq, file = the event id, time = the event time, and
raw_label = label = group = its label from --labels (a CSV with event_id and
label columns, or JSON {"<event id>": "<label>"}; labels must be among the
manifest's labels), or --default-label for events not listed, else empty.
The bundle's sha256 is printed on stderr ("bundle sha256 <hex>").`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			modes := 0
			for _, s := range []string{input, split, bundle} {
				if s != "" {
					modes++
				}
			}
			if manifestPath == "" || modes != 1 {
				return usageError{errors.New("features: --manifest and exactly one of --input, --split or --bundle are required")}
			}
			if bundle == "" && (labels != "" || defaultLabel != "" || online) {
				return usageError{errors.New("features: --labels, --default-label and --online go with --bundle")}
			}
			m, err := onnx.ReadManifestFile(manifestPath)
			if err != nil {
				return err
			}
			if bundle != "" {
				return runBundleFeatures(cmd, m, bundleOptions{path: bundle, labels: labels, defaultLabel: defaultLabel, all: all, online: online, lf: lf}, output)
			}
			var sp features.Split
			if input != "" {
				if mapping == "" && len(m.Datasets) == 1 {
					for k := range m.Datasets {
						mapping = k
					}
				}
				abs, err := filepath.Abs(input)
				if err != nil {
					return err
				}
				sp = features.Split{Dataset: "input", Split: "input", Files: []features.FileRef{{Path: abs, Mapping: mapping, Label: label}}}
				dataDir = "/"
			} else {
				var ok bool
				if sp, ok = trainset.FindSplit(m, split); !ok {
					return usageError{fmt.Errorf("features: manifest has no split %q", split)}
				}
			}
			out := cmd.OutOrStdout()
			if output != "" && output != "-" {
				f, err := os.Create(output)
				if err != nil {
					return err
				}
				defer f.Close()
				out = f
			}
			n, err := trainset.WriteFeatures(cmd.Context(), out, m, sp, dataDir, all)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "features: %d rows\n", n)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&manifestPath, "manifest", "", "model manifest (manifest.json or a training draft)")
	f.StringVar(&input, "input", "", "dataset file (.gz and .zip are read transparently)")
	f.StringVar(&mapping, "mapping", "", "dataset mapping name in the manifest (default: the only one)")
	f.StringVar(&label, "label", "", "raw label of every row of --input (one-class files)")
	f.StringVar(&split, "split", "", "read the manifest's split: train, or an evaluation split name")
	f.StringVar(&dataDir, "data", defaultDataDir(), "data directory for --split")
	f.StringVar(&output, "output", "-", "output CSV file")
	f.BoolVar(&all, "all", false, "also write events the model does not apply to")
	f.StringVar(&bundle, "bundle", "", "evidence bundle (from 'ledgerguard export'); refused unless it verifies")
	f.StringVar(&labels, "labels", "", "with --bundle: event id -> label file (CSV event_id,label or JSON object)")
	f.StringVar(&defaultLabel, "default-label", "", "with --bundle: label of events --labels does not list (default: empty)")
	f.BoolVar(&online, "online", false, "with --bundle: also compare the bundle with the live ledger")
	lf.register(cmd)
	if t := f.Lookup("timeout"); t != nil {
		t.DefValue = "30m"
		_ = t.Value.Set("30m")
		t.Usage = "overall time limit of the online check"
	}
	return cmd
}
