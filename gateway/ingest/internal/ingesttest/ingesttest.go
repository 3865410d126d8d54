// Package ingesttest holds helpers shared by the ingest parsers' tests: the
// location of the real-sample data directory (skipping when it is absent),
// golden-file comparison with an -update flag, and the comparison of a
// parser's fast-path events with its reference path's. It is imported
// only by tests.
package ingesttest

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/ with the current output")

// DataDir returns the directory of the shared real samples: $LEDGERGUARD_DATA_DIR
// if set, else ../shared/data relative to the repository root (found by
// walking up from the test's working directory to the directory holding
// go.mod). It skips the test, saying why, when the directory is absent, so
// a fresh clone without the data still passes.
func DataDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("LEDGERGUARD_DATA_DIR")
	if dir == "" {
		dir = filepath.Join(repoRoot(tb), "..", "shared", "data")
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		tb.Skipf("real-sample tests skipped: data directory %s not found (set LEDGERGUARD_DATA_DIR)", dir)
	}
	return dir
}

// repoRoot returns the repository root: the nearest directory above the
// test's working directory that holds go.mod and gateway/ (skipping the
// test when there is none).
func repoRoot(tb testing.TB) string {
	tb.Helper()
	wd, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	root := wd
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(root, "gateway")); err == nil {
				return root
			}
		}
		parent := filepath.Dir(root)
		if parent == root {
			tb.Skipf("real-sample tests skipped: no repository root above %s", wd)
		}
		root = parent
	}
}

// DataFile returns the path of a file in the data directory, skipping the
// test when that one file is missing.
func DataFile(tb testing.TB, rel string) string {
	tb.Helper()
	p := filepath.Join(DataDir(tb), rel)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("real-sample test skipped: %s not found", p)
	}
	return p
}

// Golden compares got with testdata/golden/<name>, rewriting the file when
// the test runs with -update.
func Golden(tb testing.TB, name string, got []byte) {
	tb.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("golden %s: %v (run with -update to create it)", path, err)
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("golden %s mismatch\n got: %s\nwant: %s", path, got, want)
	}
}

// SameEvents fails tb unless the events a parser's fast path gave (got)
// are those its reference path gave (want) for body: as many, each with
// the same canonical bytes and, but for FieldsCanonical, equal field by
// field. An event of the map-free path (Fields nil, FieldsCanonical set)
// has its FieldsCanonical decoded (encoding/json, UseNumber) for Fields:
// the fields a reader of the stored event sees.
func SameEvents(tb testing.TB, body []byte, got, want []gateway.Event) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("%q: fast path %d events, reference path %d", body, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		gc, gerr := g.Canonical()
		wc, werr := w.Canonical()
		if gerr != nil || werr != nil || !bytes.Equal(gc, wc) {
			tb.Fatalf("%q: event %d: fast path canonical\n%s (%v)\nreference path\n%s (%v)", body, i, gc, gerr, wc, werr)
		}
		for _, e := range []*gateway.Event{&g, &w} {
			if e.Fields == nil && e.FieldsCanonical != nil {
				d := json.NewDecoder(bytes.NewReader(e.FieldsCanonical))
				d.UseNumber()
				if err := d.Decode(&e.Fields); err != nil {
					tb.Fatalf("%q: event %d: FieldsCanonical %q does not decode: %v", body, i, e.FieldsCanonical, err)
				}
			}
			e.FieldsCanonical = nil
		}
		if !reflect.DeepEqual(g, w) {
			tb.Fatalf("%q: event %d: fast path %#v, reference path %#v", body, i, g, w)
		}
	}
}
