package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/evidence"
	"github.com/ledgerguard/ledgerguard/gateway/evidence/evidencetest"
	"github.com/ledgerguard/ledgerguard/gateway/merkle"
	"github.com/ledgerguard/ledgerguard/gateway/onnx"
	"github.com/ledgerguard/ledgerguard/gateway/store"
)

// authBundle stores sshd-like events (failures from a few sources, every
// fifth a process event the auth model does not apply to) in a real store,
// anchors its batches on a fake two-org ledger, exports a bundle to a file
// and returns its path and the stored events (with ids and seqs).
func authBundle(t *testing.T, n int) (string, []gateway.Event) {
	t.Helper()
	ctx := context.Background()
	const msp, gw = "Org1MSP", "gw-features"
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	s, err := store.Open(ctx, t.TempDir(), store.WithGateway(msp, gw), store.WithBatchMaxEvents(4), store.WithBatchMaxWait(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	events := make([]gateway.Event, n)
	for i := range events {
		outcome := "failure"
		if i%3 == 2 {
			outcome = "success"
		}
		class := gateway.ClassAuth
		if i%5 == 4 {
			class = gateway.ClassProcess
		}
		at := t0.Add(time.Duration(i) * 15 * time.Second)
		events[i] = gateway.Event{
			Received: at, Time: at, Source: "syslog", Sourcetype: "linux:auth", Host: "bastion", Class: class,
			Fields: map[string]any{"source.ip": fmt.Sprintf("10.0.0.%d", i%2), "user.name": fmt.Sprintf("user%d", i%4), "event.outcome": outcome},
			Raw:    []byte(fmt.Sprintf("sshd[%d]: %s password for user%d", 100+i, outcome, i%4)),
		}
	}
	stored, err := s.Append(ctx, events)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	l, err := evidencetest.NewLedger("lgchannel", "ledgerguard", msp, "Org2MSP")
	if err != nil {
		t.Fatal(err)
	}
	pending, err := s.PendingBatches(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range pending {
		tx, err := l.Anchor(b)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.MarkAnchored(ctx, b.ID, tx, uint64(10+i)); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	req := evidence.Request{GatewayMSP: msp, GatewayID: gw, Channel: "lgchannel", Chaincode: "ledgerguard", From: t0, To: t0.Add(time.Hour)}
	if _, err := evidence.Export(ctx, &buf, s, l, req); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bundle.jsonl")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, stored
}

// runFeatures runs the root command in process: stdout, stderr, error.
func runFeatures(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	root := newRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func authManifest(t *testing.T) (string, *onnx.Manifest) {
	t.Helper()
	p := filepath.Join(repoRoot(), "models", "auth-bruteforce", "1.0.0", "manifest.json")
	m, err := onnx.ReadManifestFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return p, m
}

func TestFeaturesFromBundle(t *testing.T) {
	mpath, m := authManifest(t)
	bundle, events := authBundle(t, 22)
	labels := filepath.Join(t.TempDir(), "labels.csv")
	// Event 5 is labelled by its event hash (the leaf hash alerts cite, as
	// `models labels` writes), event 0 by its id.
	canon5, err := events[5].Canonical()
	if err != nil {
		t.Fatal(err)
	}
	hash5 := hex.EncodeToString(merkle.LeafHash(canon5))
	if err := os.WriteFile(labels, []byte(fmt.Sprintf("event_id,label\n%s,brute_force\n%s,brute_force\n", events[0].ID, hash5)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := runFeatures(t, "features", "--manifest", mpath, "--bundle", bundle, "--labels", labels, "--default-label", "benign")
	if err != nil {
		t.Fatalf("features: %v\n%s", err, stderr)
	}

	// Want: the same events, computed directly in seq order, skipping those
	// the model does not apply to.
	eng, err := m.Engine()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{append([]string{"row", "file", "raw_label", "label", "group", "time"}, eng.Names()...)}
	for i := range events {
		ev := &events[i]
		if !m.Applies(ev) {
			continue
		}
		vec := make([]float32, eng.Width())
		eng.Extract(ev, vec)
		l := "benign"
		if i == 0 || i == 5 {
			l = "brute_force"
		}
		row := []string{strconv.FormatUint(ev.Seq, 10), ev.ID, l, l, l, ev.Time.UTC().Format(time.RFC3339Nano)}
		for _, v := range vec {
			row = append(row, strconv.FormatFloat(float64(v), 'g', -1, 32))
		}
		want = append(want, row)
	}
	got, err := csv.NewReader(bytes.NewReader([]byte(out))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(want) < 10 {
		t.Fatalf("rows: got %d, want %d", len(got), len(want))
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("row %d:\n got %v\nwant %v", i, got[i], want[i])
		}
	}
	sum := bytes.Contains([]byte(stderr), []byte("bundle sha256 "))
	if !sum {
		t.Errorf("stderr lacks the bundle's sha256:\n%s", stderr)
	}

	// --output writes the same bytes to a file.
	outFile := filepath.Join(t.TempDir(), "m.csv")
	if _, _, err := runFeatures(t, "features", "--manifest", mpath, "--bundle", bundle, "--labels", labels, "--default-label", "benign", "--output", outFile); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(outFile); err != nil || string(b) != out {
		t.Errorf("--output file differs from stdout (err %v)", err)
	}
}

func TestFeaturesRefusesTamperedBundle(t *testing.T) {
	mpath, _ := authManifest(t)
	bundle, _ := authBundle(t, 10)
	tampered := tamperedCopy(t, bundle)
	outFile := filepath.Join(t.TempDir(), "never.csv")
	for _, extra := range [][]string{nil, {"--output", outFile}} {
		args := append([]string{"features", "--manifest", mpath, "--bundle", tampered}, extra...)
		out, stderr, err := runFeatures(t, args...)
		if !errors.Is(err, errRefused) || exitCode(err) != 1 {
			t.Fatalf("%v: got error %v (exit %d), want refusal with exit 1", extra, err, exitCode(err))
		}
		if out != "" {
			t.Errorf("%v: stdout not empty:\n%s", extra, out)
		}
		if !bytes.Contains([]byte(stderr), []byte("modified: event")) || !bytes.Contains([]byte(stderr), []byte("FAILED")) {
			t.Errorf("%v: stderr does not name the problem:\n%s", extra, stderr)
		}
	}
	if _, err := os.Stat(outFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("--output file exists after a refusal (stat: %v)", err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(outFile), ".ledgerguard-features-*")); len(left) != 0 {
		t.Errorf("spool files left behind: %v", left)
	}
}

func TestFeaturesBundleErrors(t *testing.T) {
	mpath, _ := authManifest(t)
	bundle, events := authBundle(t, 5)
	badLabels := filepath.Join(t.TempDir(), "labels.json")
	if err := os.WriteFile(badLabels, []byte(fmt.Sprintf(`{%q: "bruteforce"}`, events[0].ID)), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		exit int
	}{
		{"bundle and split", []string{"--bundle", bundle, "--split", "train"}, 2},
		{"labels without bundle", []string{"--split", "train", "--labels", badLabels}, 2},
		{"online without bundle", []string{"--split", "train", "--online"}, 2},
		{"missing bundle", []string{"--bundle", filepath.Join(t.TempDir(), "none")}, 2},
		{"unknown default label", []string{"--bundle", bundle, "--default-label", "maybe"}, 2},
		{"label not the model's", []string{"--bundle", bundle, "--labels", badLabels}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runFeatures(t, append([]string{"features", "--manifest", mpath}, tt.args...)...)
			if got := exitCode(err); got != tt.exit {
				t.Errorf("exit: got %d (%v), want %d", got, err, tt.exit)
			}
			if out != "" {
				t.Errorf("stdout not empty:\n%s", out)
			}
		})
	}
}
