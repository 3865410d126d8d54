package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

func TestParseRule(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	const sup = "id: scanner\nversion: 1\nkind: suppress\ncondition: alert.asset == \"scanner-01\"\nreason: weekly scan\n"
	const dd = "id: merge\nversion: 1\nkind: dedup\ncondition: \"true\"\n"
	tests := []struct {
		name      string
		yaml      string
		wantField string // "" = valid; "-" = a YAML error
	}{
		{"suppress with expiresIn", sup + "expiresIn: 72h\n", ""},
		{"suppress with expiresAt", sup + "expiresAt: \"2026-12-01T00:00:00Z\"\n", ""},
		{"dedup", dd + "windowSeconds: 3600\n", ""},
		{"both expiries", sup + "expiresIn: 72h\nexpiresAt: \"2026-12-01T00:00:00Z\"\n", "expiresAt"},
		{"bad expiresIn", sup + "expiresIn: soon\n", "expiresIn"},
		{"no expiry", sup, "expiresAt"},
		{"dedup without window", dd, "windowSeconds"},
		{"bad kind", "id: x\nversion: 1\nkind: mute\ncondition: \"true\"\n", "kind"},
		{"bad condition", dd + "windowSeconds: 60\ncondition2: x\n", "-"},
		{"condition not bool", "id: x\nversion: 1\nkind: dedup\nwindowSeconds: 60\ncondition: alert.score\n", "condition"},
		{"empty", "", "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := parseRule("r.yaml", []byte(tt.yaml), now)
			var pe *policyFileError
			switch {
			case tt.wantField == "":
				if err != nil {
					t.Fatalf("parseRule = %v", err)
				}
				if r.Kind == wire.RuleSuppress && !r.ExpiresAt.After(now) {
					t.Fatalf("expiresAt = %s", r.ExpiresAt)
				}
			case !errors.As(err, &pe):
				t.Fatalf("parseRule error = %v, want *policyFileError", err)
			case tt.wantField == "-" && pe.Field != "":
				t.Fatalf("field = %q, want a YAML error", pe.Field)
			case tt.wantField != "-" && pe.Field != tt.wantField:
				t.Fatalf("field = %q (%v), want %q", pe.Field, err, tt.wantField)
			}
		})
	}
}

func TestSuppressAndCapsCalls(t *testing.T) {
	rule := wire.HygieneRule{ID: "scanner", Version: 1, Kind: wire.RuleSuppress, Condition: `alert.asset == "scanner-01"`,
		Reason: "weekly scan", ExpiresAt: wire.NewTime(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)), State: wire.PolicyActive,
		Owner: "Org1MSP", Approvals: []wire.Approval{{MSP: "Org1MSP"}, {MSP: "Org2MSP"}}}
	caps := wire.OrgCaps{MSP: "Org1MSP", Caps: []wire.OrgCap{{Action: wire.ActionBlockIP, Max: 9, WindowSeconds: 60}}}
	tests := []struct {
		name     string
		args     []string
		wantCall string
		wantOut  string
	}{
		{"approve", []string{"suppress", "approve", "scanner", "1"}, "hygiene:ApproveRule(scanner,1)", "until 2026-12-01"},
		{"revoke", []string{"suppress", "revoke", "scanner", "1", "--reason", "scan over"}, "hygiene:RevokeRule(scanner,1,scan over)", "scanner"},
		{"show", []string{"suppress", "show", "scanner"}, "hygiene:GetRule(scanner,0)", "Org1MSP,Org2MSP"},
		{"list", []string{"suppress", "list", "--kind", "suppress"}, `hygiene:ListRules({"kind":"suppress"},100,)`, "KIND"},
		{"list json", []string{"suppress", "list", "--json"}, `hygiene:ListRules(,100,)`, `"kind": "suppress"`},
		{"caps show", []string{"caps", "show", "--msp", "Org1MSP"}, "hygiene:GetOrgCaps(Org1MSP)", "block_ip"},
		{"caps set", []string{"caps", "set", "isolate_host", "3", "--per", "hour", "--msp", "Org1MSP"},
			`hygiene:SetOrgCaps({"msp":"Org1MSP","caps":[{"action":"block_ip","max":9,"windowSeconds":60},{"action":"isolate_host","max":3,"windowSeconds":3600}]})`, "MSP"},
		{"caps unset", []string{"caps", "unset", "block_ip", "--msp", "Org1MSP"}, `hygiene:SetOrgCaps({"msp":"Org1MSP","caps":[]})`, "MSP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeLedger{answers: map[string]any{
				"hygiene:ApproveRule": rule, "hygiene:RevokeRule": rule, "hygiene:GetRule": rule,
				"hygiene:ListRules":  wire.Page[wire.HygieneRule]{Records: []wire.HygieneRule{rule}},
				"hygiene:GetOrgCaps": caps, "hygiene:SetOrgCaps": caps,
			}}
			out, err := runCLI(t, fake, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if got := fake.calls[len(fake.calls)-1]; got != tt.wantCall {
				t.Fatalf("call = %s, want %s", got, tt.wantCall)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Fatalf("output lacks %q:\n%s", tt.wantOut, out)
			}
		})
	}
}

func TestCapsSetRefusesBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"caps", "set", "isolate_host", "-1", "--msp", "Org1MSP"},
		{"caps", "set", "isolate_host", "3", "--per", "fortnightly", "--msp", "Org1MSP"},
		{"caps", "set", "reboot", "3", "--msp", "Org1MSP"},
	} {
		fake := &fakeLedger{answers: map[string]any{"hygiene:GetOrgCaps": wire.OrgCaps{MSP: "Org1MSP"}}}
		_, err := runCLI(t, fake, args...)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: error %v, want a usage error", args, err)
		}
		for _, c := range fake.calls {
			if strings.HasPrefix(c, "hygiene:SetOrgCaps") {
				t.Errorf("%v: wrote caps despite bad input", args)
			}
		}
	}
}

func TestExampleRulesValidate(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "policies", "hygiene", "*.yaml"))
	if err != nil || len(files) < 2 {
		t.Fatalf("example rules: %v (%d files)", err, len(files))
	}
	kinds := map[string]int{}
	for _, f := range files {
		r, err := loadRuleFile(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		kinds[r.Kind]++
	}
	if kinds[wire.RuleSuppress] == 0 || kinds[wire.RuleDedup] == 0 {
		t.Errorf("kinds = %v, want suppress and dedup examples", kinds)
	}
}
