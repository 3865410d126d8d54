package policy_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/fixture"
	"github.com/ledgerguard/ledgerguard/chaincode/policy"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

func TestCompile(t *testing.T) {
	tests := []struct {
		condition string
		wantErr   string // substring of CEL's message; "" = compiles
	}{
		{`alert.severityLevel >= 3 && alert.category.startsWith("T1110")`, ""},
		{`alert.score > 0.9 || alert.severity == "critical"`, ""},
		{`"user" in alert.fields && alert.fields.user == "alice"`, ""},
		{`alert.model.name == "nslkdd-mlp" && alert.model.version.startsWith("1.")`, ""},
		{`alert.asset.matches("^web-[0-9]+$")`, ""},
		{`alert.fields.exists(k, k == "src_ip")`, ""},
		{`alert.hostname == "x"`, "undefined field 'hostname'"},
		{`host == "x"`, "undeclared reference to 'host'"},
		{`alert.score`, "must evaluate to bool"},
		{`alert.severity`, "must evaluate to bool"},
		{`alert.score > `, "Syntax error"},
		{`alert.score > "high"`, "found no matching overload"},
	}
	for _, tt := range tests {
		t.Run(tt.condition, func(t *testing.T) {
			_, err := policy.Compile(tt.condition)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Compile() = %v, want nil", err)
				}
				return
			}
			var ve *wire.ValidationError
			if !errors.As(err, &ve) || ve.Field != "condition" {
				t.Fatalf("Compile() = %v, want *wire.ValidationError on condition", err)
			}
			if !strings.Contains(ve.Reason, tt.wantErr) {
				t.Fatalf("reason %q does not carry CEL's message %q", ve.Reason, tt.wantErr)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	a := fixture.Alert(fixture.Batch("Org1MSP", "gw-1", 0, 10), 3, "high", "T1110.001", "web-01")
	tests := []struct {
		condition string
		want      bool
		wantErr   bool
	}{
		{`alert.severityLevel >= 3`, true, false},
		{`alert.severityLevel >= 4`, false, false},
		{`alert.category.startsWith("T1110")`, true, false},
		{`alert.fields.user == "alice"`, true, false},
		{`alert.fields["nope"] == "x"`, false, true},
		{`has(alert.fields.nope) && alert.fields.nope == "x"`, false, false},
		{`alert.score > 0.95 && alert.gateway == "gw-1" && alert.msp == "Org1MSP"`, true, false},
		{`alert.model.sha256 == "` + fixture.Model.SHA256 + `"`, true, false},
		{`1 / (alert.severityLevel - 3) == 1`, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.condition, func(t *testing.T) {
			c, err := policy.Compile(tt.condition)
			if err != nil {
				t.Fatal(err)
			}
			v := policy.VarsOf(&a)
			got, err := c.Match(&v)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Match() error = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Match() = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestCostLimit shows an expensive condition compiles but cannot run away:
// evaluation stops at policy.CostLimit with an error.
func TestCostLimit(t *testing.T) {
	c, err := policy.Compile(`[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, [1,2,3,4,5,6,7,8,9,10].all(e, a+b+c+d+e > 0)))))`)
	if err != nil {
		t.Fatal(err)
	}
	a := fixture.Alert(fixture.Batch("Org1MSP", "gw-1", 0, 10), 3, "high", "T1110", "web-01")
	v := policy.VarsOf(&a)
	if _, err := c.Match(&v); err == nil || !strings.Contains(err.Error(), "cost limit") {
		t.Fatalf("Match() = %v, want a cost limit error", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(p *wire.Policy)
		field string
	}{
		{"valid", func(p *wire.Policy) {}, ""},
		{"invalid CEL", func(p *wire.Policy) { p.Condition = "alert.severity ==" }, "condition"},
		{"non-bool CEL", func(p *wire.Policy) { p.Condition = "alert.score" }, "condition"},
		{"unknown action", func(p *wire.Policy) { p.Actions[0].Type = "format_disk" }, "actions[0].type"},
		{"missing parameter", func(p *wire.Policy) { p.Actions[1].Params = map[string]string{"channel": "soc"} }, "actions[1].params.message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fixture.Policy("p1", 1, `alert.severityLevel >= 3`)
			tt.edit(&p)
			err := policy.Validate(&p)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			var ve *wire.ValidationError
			if !errors.As(err, &ve) || ve.Field != tt.field {
				t.Fatalf("Validate() = %v, want *wire.ValidationError on %s", err, tt.field)
			}
		})
	}
}

func TestCompileCachedReuses(t *testing.T) {
	a, err := policy.CompileCached(`alert.score > 0.5`)
	if err != nil {
		t.Fatal(err)
	}
	b, err := policy.CompileCached(`alert.score > 0.5`)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Error("CompileCached compiled the same source twice")
	}
	if _, err := policy.CompileCached(`alert.nope`); err == nil {
		t.Error("CompileCached accepted an invalid condition")
	}
}

// FuzzPolicy feeds arbitrary JSON to the policy decoder and full validator
// (including CEL compilation): it must never panic, and a policy that
// validates must have a condition that evaluates without panicking.
func FuzzPolicy(f *testing.F) {
	f.Add([]byte(fixture.JSON(fixture.Policy("p1", 1, `alert.severityLevel >= 3`))))
	f.Add([]byte(`{"id":"p","version":1,"condition":"alert.fields.exists(k, k.matches('a+'))","actions":[{"type":"notify","params":{"channel":"c","message":"{{alert.fields.x}}"}}],"mode":"dry-run"}`))
	a := fixture.Alert(fixture.Batch("Org1MSP", "gw-1", 0, 10), 3, "high", "T1110", "web-01")
	v := policy.VarsOf(&a)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := wire.Decode[wire.Policy](data, "policy")
		if err != nil {
			return
		}
		if err := policy.Validate(&p); err != nil {
			return
		}
		c, err := policy.Compile(p.Condition)
		if err != nil {
			t.Fatalf("validated condition does not compile: %v", err)
		}
		_, _ = c.Match(&v)
		_ = wire.ResolveActions(p.Actions, &a)
	})
}
