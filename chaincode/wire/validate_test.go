package wire_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/fixture"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	var ve *wire.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want *wire.ValidationError on %s", err, field)
	}
	if ve.Field != field {
		t.Fatalf("error on field %q (%v), want %q", ve.Field, ve, field)
	}
}

func TestBatchValidate(t *testing.T) {
	rehash := func(b *wire.Batch) {
		b.ID = wire.BatchID(b.MSP, b.GatewayID, b.TreeSizeBefore, b.TreeSizeAfter, b.RootHash)
	}
	tests := []struct {
		name  string
		edit  func(b *wire.Batch)
		field string // "" = valid
	}{
		{"valid", func(b *wire.Batch) {}, ""},
		{"msp empty", func(b *wire.Batch) { b.MSP = ""; rehash(b) }, "msp"},
		{"gateway with NUL", func(b *wire.Batch) { b.GatewayID = "gw\x00"; rehash(b) }, "gatewayId"},
		{"root uppercase", func(b *wire.Batch) { b.RootHash = strings.ToUpper(b.RootHash); rehash(b) }, "rootHash"},
		{"no leaves", func(b *wire.Batch) { b.TreeSizeAfter = b.TreeSizeBefore; rehash(b) }, "treeSizeAfter"},
		{"seq range too short", func(b *wire.Batch) { b.LastSeq-- }, "lastSeq"},
		{"seq reversed", func(b *wire.Batch) { b.FirstSeq, b.LastSeq = b.LastSeq, b.FirstSeq }, "lastSeq"},
		{"times missing", func(b *wire.Batch) { b.FirstEventTime = wire.Time{} }, "firstEventTime"},
		{"times reversed", func(b *wire.Batch) { b.FirstEventTime, b.LastEventTime = b.LastEventTime, b.FirstEventTime }, "lastEventTime"},
		{"counts missing", func(b *wire.Batch) { b.ClassCounts = nil }, "classCounts"},
		{"counts wrong sum", func(b *wire.Batch) { b.ClassCounts["other"] = 1 }, "classCounts"},
		{"count zero", func(b *wire.Batch) { b.ClassCounts["other"] = 0 }, "classCounts[other]"},
		{"model hash bad", func(b *wire.Batch) { b.Models[0].SHA256 = "xyz" }, "models[0].sha256"},
		{"model twice", func(b *wire.Batch) { b.Models = append(b.Models, b.Models[0]) }, "models"},
		{"id mismatch", func(b *wire.Batch) { b.ID = fixture.Hash("other") }, "id"},
		{"anchoredAt set", func(b *wire.Batch) { b.TxID = "x" }, "anchoredAt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := fixture.Batch("Org1MSP", "gw-1", 10, 5)
			tt.edit(&b)
			err := b.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			wantField(t, err, tt.field)
		})
	}
}

func TestAlertValidate(t *testing.T) {
	rehash := func(a *wire.Alert) {
		a.ID = wire.AlertID(a.MSP, a.GatewayID, a.EventHash, a.Detector.ID, a.Detector.Version)
	}
	tests := []struct {
		name  string
		edit  func(a *wire.Alert)
		field string
	}{
		{"valid", func(a *wire.Alert) {}, ""},
		{"valid no fields", func(a *wire.Alert) { a.Fields = nil; a.Asset = ""; a.Principal = "" }, ""},
		{"event hash bad", func(a *wire.Alert) { a.EventHash = "abc"; rehash(a) }, "a.eventHash"},
		{"batch id bad", func(a *wire.Alert) { a.BatchID = "" }, "a.batchId"},
		{"event time missing", func(a *wire.Alert) { a.EventTime = wire.Time{} }, "a.eventTime"},
		{"detector version missing", func(a *wire.Alert) { a.Detector.Version = ""; rehash(a) }, "a.detector.version"},
		{"severity unknown", func(a *wire.Alert) { a.Severity = "severe" }, "a.severity"},
		{"category with space", func(a *wire.Alert) { a.Category = "brute force" }, "a.category"},
		{"asset too long", func(a *wire.Alert) { a.Asset = strings.Repeat("x", 2000) }, "a.asset"},
		{"field key not ident", func(a *wire.Alert) { a.Fields["src-ip"] = "x" }, "a.fields"},
		{"field value NUL", func(a *wire.Alert) { a.Fields["user"] = "a\x00b" }, "a.fields[user]"},
		{"status set", func(a *wire.Alert) { a.Status = "open" }, "a.status"},
		{"id mismatch", func(a *wire.Alert) { a.Severity = "low"; a.ID = fixture.Hash("x") }, "a.id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := fixture.Alert(fixture.Batch("Org1MSP", "gw-1", 0, 10), 3, "high", "T1110", "web-01")
			tt.edit(&a)
			err := a.Validate("a")
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			wantField(t, err, tt.field)
		})
	}
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(p *wire.Policy)
		field string
	}{
		{"valid", func(p *wire.Policy) {}, ""},
		{"valid with limit", func(p *wire.Policy) { p.Limit = &wire.RateLimit{Max: 2, WindowSeconds: 60} }, ""},
		{"id bad", func(p *wire.Policy) { p.ID = "has space" }, "id"},
		{"version zero", func(p *wire.Policy) { p.Version = 0 }, "version"},
		{"condition empty", func(p *wire.Policy) { p.Condition = "" }, "condition"},
		{"mode unknown", func(p *wire.Policy) { p.Mode = "maybe" }, "mode"},
		{"no actions", func(p *wire.Policy) { p.Actions = nil }, "actions"},
		{"unknown action", func(p *wire.Policy) { p.Actions[0].Type = "reboot_host" }, "actions[0].type"},
		{"missing parameter", func(p *wire.Policy) { delete(p.Actions[0].Params, "host") }, "actions[0].params.host"},
		{"unknown parameter", func(p *wire.Policy) { p.Actions[0].Params["hots"] = "x" }, "actions[0].params.hots"},
		{"bad template ref", func(p *wire.Policy) { p.Actions[0].Params["host"] = "{{alert.hostname}}" }, "actions[0].params.host"},
		{"malformed template", func(p *wire.Policy) { p.Actions[0].Params["host"] = "{{alert.asset}" }, "actions[0].params.host"},
		{"webhook scheme", func(p *wire.Policy) {
			p.Actions = []wire.Action{{Type: "webhook", Params: map[string]string{"url": "ftp://x"}}}
		}, "actions[0].params.url"},
		{"limit max zero", func(p *wire.Policy) { p.Limit = &wire.RateLimit{Max: 0, WindowSeconds: 60} }, "limit.max"},
		{"limit window zero", func(p *wire.Policy) { p.Limit = &wire.RateLimit{Max: 1} }, "limit.windowSeconds"},
		{"limit target unknown", func(p *wire.Policy) { p.Limit = &wire.RateLimit{Max: 1, WindowSeconds: 1, Target: "{{alert.nope}}"} }, "limit.target"},
		{"approvals negative", func(p *wire.Policy) { p.ResponseApprovals = -1 }, "responseApprovals"},
		{"quorum negative", func(p *wire.Policy) { p.Quorum = -1 }, "quorum"},
		{"state set", func(p *wire.Policy) { p.State = "active" }, "state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fixture.Policy("p1", 1, "true")
			tt.edit(&p)
			err := p.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			wantField(t, err, tt.field)
		})
	}
}

func TestResolveTemplate(t *testing.T) {
	a := fixture.Alert(fixture.Batch("Org1MSP", "gw-1", 0, 10), 3, "high", "T1110", "web-01")
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"{{alert.asset}}", "web-01"},
		{"{{ alert.asset }}/{{alert.severity}}", "web-01/high"},
		{"{{alert.fields.user}}@{{alert.fields.missing}}", "alice@"},
		{"{{alert.score}}", "0.97"},
		{"{{alert.model.name}}:{{alert.model.version}}", "nslkdd-mlp:1.0.0"},
		{"{{alert.gateway}} {{alert.msp}}", "gw-1 Org1MSP"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := wire.ResolveTemplate(tt.in, &a); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDecodeStrict(t *testing.T) {
	tests := []struct{ name, in string }{
		{"unknown field", `{"id":"x","bogus":1}`},
		{"trailing data", `{"id":"x"} {}`},
		{"not json", `{`},
		{"wrong type", `{"treeSizeAfter":"3"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := wire.Decode[wire.Batch]([]byte(tt.in), "batch")
			wantField(t, err, "batch")
		})
	}
}

func TestCanonicalMSPs(t *testing.T) {
	got, err := wire.CanonicalMSPs([]string{"Org2MSP", "Org1MSP"})
	if err != nil || strings.Join(got, ",") != "Org1MSP,Org2MSP" {
		t.Fatalf("got %v, %v", got, err)
	}
	for _, bad := range [][]string{nil, {"A", "A"}, {"has space"}} {
		if _, err := wire.CanonicalMSPs(bad); err == nil {
			t.Errorf("CanonicalMSPs(%q) succeeded", bad)
		}
	}
	m := wire.Members{MSPs: got}
	if !m.Has("Org2MSP") || m.Has("Org3MSP") {
		t.Error("Has is wrong")
	}
	for n, want := range map[int]int{1: 1, 2: 2, 3: 2, 4: 3, 5: 3} {
		if got := wire.DefaultQuorum(n); got != want {
			t.Errorf("DefaultQuorum(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestTransitions(t *testing.T) {
	tests := []struct {
		from, to string
		want     bool
	}{
		{"requested", "succeeded", true},
		{"requested", "rolled-back", false},
		{"failed", "succeeded", true},
		{"succeeded", "rolled-back", true},
		{"rollback-requested", "rolled-back", true},
		{"dry-run", "succeeded", false},
		{"awaiting-approval", "succeeded", false},
		{"rate-limited", "failed", false},
	}
	for _, tt := range tests {
		if got := wire.OutcomeAllowed(tt.from, tt.to); got != tt.want {
			t.Errorf("OutcomeAllowed(%s, %s) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
	alert := []struct {
		from, to string
		want     bool
	}{
		{"open", "acknowledged", true}, {"acknowledged", "resolved", true}, {"resolved", "acknowledged", false},
		{"false-positive", "open", true}, {"open", "open", false},
	}
	for _, tt := range alert {
		if got := wire.AlertTransitionAllowed(tt.from, tt.to); got != tt.want {
			t.Errorf("AlertTransitionAllowed(%s, %s) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}
