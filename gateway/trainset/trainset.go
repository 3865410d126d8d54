// Package trainset replays the datasets a model manifest names as gateway
// events and writes their feature matrices as CSV, through the gateway's
// own ingest normaliser and feature engine: the training pipeline learns
// from exactly the vectors live scoring computes, and evaluation
// (gateway/modeleval) replays its splits through the same decoders.
//
// It reads two kinds of source: a manifest's dataset splits (files under
// a data directory, decoded by the manifest's mappings) and evidence
// bundles (authentic anchored events, used only once they verify).
package trainset

import (
	"bufio"
	"context"
	"encoding/csv"
	"io"
	"strconv"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/features"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/normalize"
	"github.com/ledgerguard/ledgerguard/gateway/onnx"
)

// LogDecoders returns, per file, a decoder that runs each line through the
// gateway's own ingest normaliser, so replayed logs become exactly the
// events live ingestion would produce; source is recorded as their
// source. Year-less syslog stamps resolve against the mapping's ref_time
// (fixed, so feature output is reproducible).
func LogDecoders(source string) func(features.Mapping) features.LineDecoder {
	return func(m features.Mapping) features.LineDecoder {
		ref, _ := time.Parse(time.RFC3339, m.RefTime)
		s := normalize.NewStream(ref)
		meta := ingest.Meta{Source: source, Sourcetype: m.Sourcetype, Received: ref}
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

// FindSplit returns the training split ("train") or the evaluation split
// with that name.
func FindSplit(m *onnx.Manifest, name string) (features.Split, bool) {
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

// WriteFeatures replays the split's files under dataDir in split order and
// writes one CSV row per event the model applies to (every event when all
// is set): row,file,raw_label,label,group,time, then the feature columns
// in the model's input order. It returns the rows written; on error w may
// hold a partial matrix.
func WriteFeatures(ctx context.Context, w io.Writer, m *onnx.Manifest, sp features.Split, dataDir string, all bool) (int, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	eng, err := m.Engine()
	if err != nil {
		return 0, err
	}
	fw, err := newFeatureCSV(w, eng.Names())
	if err != nil {
		return 0, err
	}
	vec := make([]float32, eng.Width())
	err = features.ReadSplit(ctx, dataDir, sp, m.Datasets, LogDecoders(dataDir), func(f features.FileRef, row features.Row) error {
		if !all && !m.Applies(&row.Event) {
			return nil
		}
		eng.Extract(&row.Event, vec)
		return fw.write(strconv.Itoa(row.Index), f.Path, row.RawLabel, row.Label, row.Group, row.Event.Time, vec)
	})
	if err != nil {
		return fw.n, err
	}
	return fw.n, fw.flush()
}

// featureCSV writes the feature matrix CSV: row,file,raw_label,label,
// group,time, then one column per feature.
type featureCSV struct {
	bw  *bufio.Writer
	cw  *csv.Writer
	rec []string
	n   int
}

func newFeatureCSV(w io.Writer, names []string) (*featureCSV, error) {
	bw := bufio.NewWriterSize(w, 1<<16)
	fw := &featureCSV{bw: bw, cw: csv.NewWriter(bw)}
	header := append([]string{"row", "file", "raw_label", "label", "group", "time"}, names...)
	fw.rec = make([]string, len(header))
	return fw, fw.cw.Write(header)
}

func (fw *featureCSV) write(row, file, rawLabel, label, group string, t time.Time, vec []float32) error {
	rec := fw.rec
	rec[0], rec[1], rec[2], rec[3], rec[4] = row, file, rawLabel, label, group
	rec[5] = ""
	if !t.IsZero() {
		rec[5] = t.UTC().Format(time.RFC3339Nano)
	}
	for i, v := range vec {
		rec[6+i] = strconv.FormatFloat(float64(v), 'g', -1, 32)
	}
	fw.n++
	return fw.cw.Write(rec)
}

func (fw *featureCSV) flush() error {
	fw.cw.Flush()
	if err := fw.cw.Error(); err != nil {
		return err
	}
	return fw.bw.Flush()
}
