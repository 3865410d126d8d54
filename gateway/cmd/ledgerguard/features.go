package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/features"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/normalize"
	"github.com/ledgerguard/ledgerguard/gateway/onnx"
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

// logDecoders returns, per file, a decoder that runs each line through the
// gateway's own ingest normaliser, so replayed logs become exactly the
// events live ingestion would produce. Year-less syslog stamps resolve
// against the mapping's ref_time (fixed, so feature output is
// reproducible).
func logDecoders(path string) func(features.Mapping) features.LineDecoder {
	return func(m features.Mapping) features.LineDecoder {
		ref, _ := time.Parse(time.RFC3339, m.RefTime)
		s := normalize.NewStream(ref)
		meta := ingest.Meta{Source: path, Sourcetype: m.Sourcetype, Received: ref}
		return func(line []byte) (gateway.Event, bool) {
			r, skip := s.Line(line, m.Sourcetype)
			if skip {
				return gateway.Event{}, false
			}
			mm := meta
			mm.Sourcetype = ""
			return r.Event(mm, line, time.Time{}), true
		}
	}
}

func newFeaturesCmd() *cobra.Command {
	var (
		manifestPath, input, mapping, label, split, dataDir, output string
		all                                                         bool
	)
	cmd := &cobra.Command{
		Use:   "features --manifest M (--input FILE [--mapping NAME] [--label RAW] | --split NAME)",
		Short: "write the feature matrix of a dataset as CSV, through the gateway's feature engine",
		Long: `features replays a dataset as gateway events (using the manifest's dataset
mappings) and writes one CSV row per event the model applies to:
row,file,raw_label,label,group,time, then the feature columns in the model's
input order. The training pipeline reads its matrices from here, so training
and serving share one feature implementation.

--split train reads the manifest's training split; any other name reads
that evaluation split. Files are relative to --data (default
$LEDGERGUARD_DATA_DIR, else ../shared/data beside the repository).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if manifestPath == "" || (input == "") == (split == "") {
				return usageError{errors.New("features: --manifest and exactly one of --input or --split are required")}
			}
			m, err := onnx.ReadManifestFile(manifestPath)
			if err != nil {
				return err
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
				if sp, ok = findSplit(m, split); !ok {
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
			n, err := writeFeatures(cmd.Context(), out, m, sp, dataDir, all)
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
	return cmd
}

// findSplit returns the training split ("train") or the evaluation split
// with that name.
func findSplit(m *onnx.Manifest, name string) (features.Split, bool) {
	if name == "train" {
		return m.Training.Train, true
	}
	for _, s := range m.Evaluation {
		if s.Split == name {
			return s, true
		}
	}
	return features.Split{}, false
}

func writeFeatures(ctx context.Context, w io.Writer, m *onnx.Manifest, sp features.Split, dataDir string, all bool) (int, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	eng, err := m.Engine()
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	cw := csv.NewWriter(bw)
	header := append([]string{"row", "file", "raw_label", "label", "group", "time"}, eng.Names()...)
	if err := cw.Write(header); err != nil {
		return 0, err
	}
	vec := make([]float32, eng.Width())
	rec := make([]string, len(header))
	n := 0
	err = features.ReadSplit(ctx, dataDir, sp, m.Datasets, logDecoders(dataDir), func(f features.FileRef, row features.Row) error {
		if !all && !m.Applies(&row.Event) {
			return nil
		}
		eng.Extract(&row.Event, vec)
		rec[0] = strconv.Itoa(row.Index)
		rec[1] = f.Path
		rec[2], rec[3], rec[4] = row.RawLabel, row.Label, row.Group
		rec[5] = ""
		if !row.Event.Time.IsZero() {
			rec[5] = row.Event.Time.UTC().Format(time.RFC3339Nano)
		}
		for i, v := range vec {
			rec[6+i] = strconv.FormatFloat(float64(v), 'g', -1, 32)
		}
		n++
		return cw.Write(rec)
	})
	if err != nil {
		return n, err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, err
	}
	return n, bw.Flush()
}
