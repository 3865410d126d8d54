package main

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

func TestParsePolicy(t *testing.T) {
	const base = "id: p1\nversion: 1\ncondition: alert.severityLevel >= 3\nmode: enforce\n"
	const action = "actions:\n  - type: notify\n    params: {channel: soc, message: \"{{alert.id}}\"}\n"
	tests := []struct {
		name      string
		yaml      string
		wantField string // "" = valid; "-" = a YAML error (no field)
	}{
		{"valid", base + action, ""},
		{"valid with limit and approvals", base + action + "limit: {max: 2, windowSeconds: 60}\nresponseApprovals: 1\nquorum: 2\nowner: Org1MSP\n", ""},
		{"unknown key", base + action + "approvals: 2\n", "-"},
		{"misspelt nested key", base + action + "limit: {max: 2, window: 60}\n", "-"},
		{"two documents", base + action + "---\n" + base + action, "-"},
		{"empty", "", "-"},
		{"no id", "version: 1\ncondition: \"true\"\nmode: enforce\n" + action, "id"},
		{"version zero", "id: p1\nversion: 0\ncondition: \"true\"\nmode: enforce\n" + action, "version"},
		{"bad mode", "id: p1\nversion: 1\ncondition: \"true\"\nmode: maybe\n" + action, "mode"},
		{"no actions", base, "actions"},
		{"unknown action", base + "actions: [{type: reboot, params: {}}]\n", "actions[0].type"},
		{"missing param", base + "actions: [{type: isolate_host, params: {reason: x}}]\n", "actions[0].params.host"},
		{"unknown param", base + "actions: [{type: block_ip, params: {ip: 1.2.3.4, port: \"22\"}}]\n", "actions[0].params.port"},
		{"bad template", base + "actions: [{type: isolate_host, params: {host: \"{{alert.hostname}}\"}}]\n", "actions[0].params.host"},
		{"bad limit", base + action + "limit: {max: 0, windowSeconds: 60}\n", "limit.max"},
		{"condition does not compile", "id: p1\nversion: 1\ncondition: alert.nope > 1\nmode: enforce\n" + action, "condition"},
		{"condition not bool", "id: p1\nversion: 1\ncondition: alert.score\nmode: enforce\n" + action, "condition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parsePolicy("p.yaml", []byte(tt.yaml))
			var pe *policyFileError
			switch {
			case tt.wantField == "":
				if err != nil {
					t.Fatalf("parsePolicy = %v, want nil", err)
				}
				if p.ID != "p1" || len(p.Actions) != 1 {
					t.Fatalf("policy = %+v", p)
				}
			case !errors.As(err, &pe):
				t.Fatalf("parsePolicy error = %v, want a *policyFileError", err)
			case tt.wantField == "-" && pe.Field != "":
				t.Fatalf("field = %q, want a YAML error", pe.Field)
			case tt.wantField != "-" && pe.Field != tt.wantField:
				t.Fatalf("field = %q (%v), want %q", pe.Field, err, tt.wantField)
			}
		})
	}
}

func TestExamplePoliciesValidate(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "policies", "*.yaml"))
	if err != nil || len(files) < 4 {
		t.Fatalf("example policies: %v (%d files)", err, len(files))
	}
	modes := map[string]int{}
	for _, f := range files {
		p, err := loadPolicyFile(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		modes[p.Mode]++
	}
	if modes[wire.ModeDryRun] == 0 || modes[wire.ModeEnforce] == 0 {
		t.Errorf("modes = %v, want enforce and dry-run examples", modes)
	}
}
