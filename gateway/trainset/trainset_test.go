package trainset

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway/features"
	"github.com/ledgerguard/ledgerguard/gateway/onnx"
)

func authManifest(t *testing.T) *onnx.Manifest {
	t.Helper()
	m, err := onnx.ReadManifestFile(filepath.Join("..", "..", "models", "auth-bruteforce", "1.0.0", onnx.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFindSplit(t *testing.T) {
	m := authManifest(t)
	tests := []struct {
		name    string
		want    string
		wantOK  bool
		wantLen int
	}{
		{"train", m.Training.Train.Split, true, len(m.Training.Train.Files)},
		{"openssh-test", "openssh-test", true, 1},
		{"nope", "", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := FindSplit(m, tt.name)
			if ok != tt.wantOK || got.Split != tt.want || len(got.Files) != tt.wantLen {
				t.Errorf("FindSplit(%q) = %s (%d files), %v; want %s (%d files), %v", tt.name, got.Split, len(got.Files), ok, tt.want, tt.wantLen, tt.wantOK)
			}
		})
	}
}

// TestWriteFeatures writes the matrix of a small sshd log through the
// auth model's openssh mapping and checks it against the same events
// decoded and extracted directly: header, one row per event the model
// applies to (every event with all), labels, times and vectors.
func TestWriteFeatures(t *testing.T) {
	m := authManifest(t)
	dir := t.TempDir()
	var log strings.Builder
	for i := range 12 {
		fmt.Fprintf(&log, "Dec 10 06:55:%02d LabSZ sshd[%d]: Failed password for invalid user u%d from 10.0.0.%d port 22 ssh2\n", i, 100+i, i, i%2)
		if i%4 == 0 {
			fmt.Fprintf(&log, "Dec 10 06:56:%02d LabSZ sshd[%d]: Received disconnect from 10.0.0.9: 11: Bye Bye [preauth]\n", i, 200+i)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "auth.log"), []byte(log.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	sp := features.Split{Dataset: "input", Split: "input", Files: []features.FileRef{{Path: "auth.log", Mapping: "openssh"}}}
	eng, err := m.Engine()
	if err != nil {
		t.Fatal(err)
	}
	for _, all := range []bool{false, true} {
		t.Run(fmt.Sprintf("all=%v", all), func(t *testing.T) {
			want := [][]string{append([]string{"row", "file", "raw_label", "label", "group", "time"}, eng.Names()...)}
			eng.Reset()
			vec := make([]float32, eng.Width())
			err := features.ReadSplit(context.Background(), dir, sp, m.Datasets, LogDecoders(dir), func(f features.FileRef, row features.Row) error {
				if !all && !m.Applies(&row.Event) {
					return nil
				}
				eng.Extract(&row.Event, vec)
				rec := []string{strconv.Itoa(row.Index), f.Path, row.RawLabel, row.Label, row.Group, row.Event.Time.UTC().Format(time.RFC3339Nano)}
				for _, v := range vec {
					rec = append(rec, strconv.FormatFloat(float64(v), 'g', -1, 32))
				}
				want = append(want, rec)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			n, err := WriteFeatures(context.Background(), &buf, m, sp, dir, all)
			if err != nil {
				t.Fatal(err)
			}
			got, err := csv.NewReader(&buf).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if n != len(want)-1 || len(got) != len(want) || n < 12 {
				t.Fatalf("rows: returned %d, wrote %d, want %d (at least 12)", n, len(got)-1, len(want)-1)
			}
			for i := range want {
				if !slices.Equal(got[i], want[i]) {
					t.Errorf("row %d:\n got %v\nwant %v", i, got[i], want[i])
				}
			}
		})
	}
}
