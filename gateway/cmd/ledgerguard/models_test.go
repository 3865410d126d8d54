package main

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/provenance"
)

func TestModelsLedgerCommands(t *testing.T) {
	dir := filepath.Join(repoRoot(), "models", "nsl-kdd-flow", "1.0.0")
	reg, err := provenance.Registration(dir)
	if err != nil {
		t.Fatal(err)
	}
	stored := reg
	stored.Quorum, stored.Owner, stored.State = 2, "Org1MSP", wire.ModelRegistered
	revoked := stored
	revoked.State, revoked.RevokeReason = wire.ModelRevoked, "false positives"
	tests := []struct {
		name      string
		args      []string
		answers   map[string]any
		wantCalls []string
		wantOut   string
		wantUsage bool
	}{
		{"register a version directory", []string{"models", "register", dir},
			map[string]any{"models:RegisterModel": stored}, []string{"models:RegisterModel("}, "nsl-kdd-flow  1.0.0    registered", false},
		{"register with a quorum", []string{"models", "register", dir, "--quorum", "1"},
			map[string]any{"models:RegisterModel": stored}, []string{`"quorum":1`}, "", false},
		{"register a models folder", []string{"models", "register", filepath.Join(repoRoot(), "models")},
			map[string]any{"models:RegisterModel": stored}, []string{"auth-bruteforce", "cic-ids2017-flow", "dns-dga", "nsl-kdd-flow"}, "", false},
		{"register nothing", []string{"models", "register", t.TempDir()}, nil, nil, "", true},
		{"approve by name", []string{"models", "approve", "nsl-kdd-flow", "1.0.0"},
			map[string]any{"models:ApproveModel": stored}, []string{"models:ApproveModel(nsl-kdd-flow,1.0.0)"}, "", false},
		{"approve by directory", []string{"models", "approve", dir},
			map[string]any{"models:ApproveModel": stored}, []string{"models:ApproveModel(nsl-kdd-flow,1.0.0)"}, "", false},
		{"approve a bad name", []string{"models", "approve", "nsl kdd", "1"}, nil, nil, "", true},
		{"revoke", []string{"models", "revoke", "nsl-kdd-flow", "1.0.0", "--reason", "false positives"},
			map[string]any{"models:RevokeModel": revoked}, []string{"models:RevokeModel(nsl-kdd-flow,1.0.0,false positives)"}, "false positives", false},
		{"revoke without reason", []string{"models", "revoke", "nsl-kdd-flow", "1.0.0"}, nil, nil, "", true},
		{"list with filter", []string{"models", "list", "--state", "approved", "--json"},
			map[string]any{"models:ListModels": wire.Page[wire.ModelRecord]{Records: []wire.ModelRecord{stored}}},
			[]string{`models:ListModels({"state":"approved"},100,)`}, `"featuresSha256"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeLedger{answers: tt.answers}
			out, err := runCLI(t, fake, tt.args...)
			if tt.wantUsage {
				var ue usageError
				if !errors.As(err, &ue) {
					t.Fatalf("err = %v, want a usage error", err)
				}
				if len(fake.calls) != 0 {
					t.Fatalf("usage error still called the ledger: %v", fake.calls)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			calls := strings.Join(fake.calls, "\n")
			for _, w := range tt.wantCalls {
				if !strings.Contains(calls, w) {
					t.Errorf("calls %s\nlack %s", calls, w)
				}
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("output lacks %q:\n%s", tt.wantOut, out)
			}
		})
	}
	// What register submits is exactly the registration of the directory.
	fake := &fakeLedger{answers: map[string]any{"models:RegisterModel": stored}}
	if _, err := runCLI(t, fake, "models", "register", dir); err != nil {
		t.Fatal(err)
	}
	arg := strings.TrimSuffix(strings.TrimPrefix(fake.calls[0], "models:RegisterModel("), ")")
	var sent wire.ModelRecord
	if err := json.Unmarshal([]byte(arg), &sent); err != nil {
		t.Fatalf("decode submitted registration %s: %v", arg, err)
	}
	if !sent.SameRegistration(&reg) || sent.Validate() != nil {
		t.Errorf("submitted %+v, want %+v", sent, reg)
	}
}
