package main

import (
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

func verdict(model, hash, status, label string) wire.Alert {
	a := wire.Alert{EventHash: hash, Detector: wire.Model{ID: model, Version: "1.0.0"}, Status: status}
	if label != "" {
		a.Fields = map[string]string{"label": label}
	}
	return a
}

func TestLabelsFromAlerts(t *testing.T) {
	binary := []string{"benign", "brute_force"}
	multi := []string{"benign", "dos", "probe"}
	tests := []struct {
		name          string
		alerts        []wire.Alert
		labels        []string
		want          map[string]string
		wantConflicts []string
		wantSkipped   int
	}{
		{"false positive is benign, resolved the attack label", []wire.Alert{
			verdict("m", "h1", wire.AlertFalsePositive, "brute_force"),
			verdict("m", "h2", wire.AlertResolved, ""),
		}, binary, map[string]string{"h1": "benign", "h2": "brute_force"}, nil, 0},
		{"open, acknowledged and other detectors say nothing", []wire.Alert{
			verdict("m", "h1", wire.AlertOpen, ""),
			verdict("m", "h2", wire.AlertAcknowledged, ""),
			verdict("other", "h3", wire.AlertFalsePositive, ""),
		}, binary, map[string]string{}, nil, 0},
		{"multi-class resolved keeps the alert's label", []wire.Alert{
			verdict("m", "h1", wire.AlertResolved, "probe"),
			verdict("m", "h2", wire.AlertResolved, "unknown"),
		}, multi, map[string]string{"h1": "probe"}, nil, 1},
		{"both verdicts on one event leave it out", []wire.Alert{
			verdict("m", "h1", wire.AlertFalsePositive, ""),
			verdict("m", "h1", wire.AlertResolved, ""),
			verdict("m", "h2", wire.AlertFalsePositive, ""),
			verdict("m", "h2", wire.AlertFalsePositive, ""),
		}, binary, map[string]string{"h2": "benign"}, []string{"h1"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := labelsFromAlerts(tt.alerts, "m", tt.labels, "benign")
			if !maps.Equal(got.Labels, tt.want) {
				t.Errorf("labels: got %v, want %v", got.Labels, tt.want)
			}
			if !slices.Equal(got.Conflicts, tt.wantConflicts) {
				t.Errorf("conflicts: got %v, want %v", got.Conflicts, tt.wantConflicts)
			}
			if got.Skipped != tt.wantSkipped {
				t.Errorf("skipped: got %d, want %d", got.Skipped, tt.wantSkipped)
			}
			n := 0
			for _, l := range got.Labels {
				if l == "benign" {
					n++
				}
			}
			if got.Benign != n || got.Attack != len(got.Labels)-n {
				t.Errorf("counts: benign %d attack %d, labels %v", got.Benign, got.Attack, got.Labels)
			}
		})
	}
}

func TestModelsLabelsCommand(t *testing.T) {
	page := wire.Page[wire.Alert]{Records: []wire.Alert{
		verdict("auth-bruteforce", "bb", wire.AlertFalsePositive, "brute_force"),
		verdict("auth-bruteforce", "aa", wire.AlertFalsePositive, "brute_force"),
		verdict("dns-dga", "cc", wire.AlertFalsePositive, ""),
	}}
	fake := &fakeLedger{answers: map[string]any{"alerts:ListAlerts": page}}
	out, err := runCLI(t, fake, "models", "labels", "auth-bruteforce", "-o", "-", "--models-dir", filepath.Join(repoRoot(), "models"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "event_id,label\naa,benign\nbb,benign\n"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
	calls := strings.Join(fake.calls, "\n")
	for _, w := range []string{`{"status":"false-positive"}`, `{"status":"resolved"}`} {
		if !strings.Contains(calls, w) {
			t.Errorf("calls %s lack %s", calls, w)
		}
	}
	for _, args := range [][]string{
		{"models", "labels", "auth-bruteforce"},
		{"models", "labels", "no-such-model", "-o", "-", "--models-dir", filepath.Join(repoRoot(), "models")},
	} {
		fake := &fakeLedger{}
		if _, err := runCLI(t, fake, args...); !isUsage(err) || len(fake.calls) != 0 {
			t.Errorf("%v: err %v, calls %v; want a usage error before any call", args, err, fake.calls)
		}
	}
}

func isUsage(err error) bool {
	var ue usageError
	return errors.As(err, &ue)
}
