package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

var updateCLIGolden = flag.Bool("update-cli-golden", false, "rewrite testdata/cli/*.golden")

// fakeLedger answers contract:fn calls with canned results and records
// what was called.
type fakeLedger struct {
	answers map[string]any
	calls   []string
}

func (f *fakeLedger) answer(contract, fn string, args []string) ([]byte, error) {
	f.calls = append(f.calls, contract+":"+fn+"("+strings.Join(args, ",")+")")
	a, ok := f.answers[contract+":"+fn]
	if !ok {
		return nil, errors.New(contract + ":" + fn + ": not stubbed")
	}
	if err, ok := a.(error); ok {
		return nil, err
	}
	return json.Marshal(a)
}

func (f *fakeLedger) Evaluate(_ context.Context, contract, fn string, args ...string) ([]byte, error) {
	return f.answer(contract, fn, args)
}

func (f *fakeLedger) Submit(_ context.Context, contract, fn string, args ...string) ([]byte, error) {
	return f.answer(contract, fn, args)
}

func (f *fakeLedger) Close() error { return nil }

// runCLI runs the root command against fake, returning stdout and error.
func runCLI(t *testing.T, fake *fakeLedger, args ...string) (string, error) {
	t.Helper()
	saved := dialLedger
	dialLedger = func(context.Context, *ledgerFlags) (ledgerCalls, error) { return fake, nil }
	t.Cleanup(func() { dialLedger = saved })
	root := newRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "cli", name+".golden")
	if *updateCLIGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-cli-golden to create it)", err)
	}
	if got != string(want) {
		t.Fatalf("output differs from %s:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

func at(s string) wire.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return wire.NewTime(t)
}

func hex64(c byte) string { return strings.Repeat(string(c), 64) }

func fixturePolicy() wire.Policy {
	return wire.Policy{
		ID: "isolate-high-confidence-intrusion", Version: 1, Description: "Isolate on intrusion",
		Condition: `alert.severityLevel >= 3 && alert.score >= 0.95 && alert.asset != "" && alert.category.startsWith("TA0001")`,
		Actions:   []wire.Action{{Type: wire.ActionIsolateHost, Params: map[string]string{"host": "{{alert.asset}}"}}},
		Mode:      wire.ModeEnforce, Limit: &wire.RateLimit{Max: 3, WindowSeconds: 3600, Target: "{{alert.asset}}"},
		Owner: "Org1MSP", State: wire.PolicyActive,
		ProposedBy: &wire.Actor{MSP: "Org1MSP", Subject: "CN=author"}, ProposedAt: at("2026-11-25T09:00:00Z"), ProposedTx: "tx-propose",
		Approvals: []wire.Approval{
			{MSP: "Org1MSP", Subject: "CN=Admin", At: at("2026-11-25T09:01:00Z"), TxID: "tx-approve-1"},
			{MSP: "Org2MSP", Subject: "CN=Admin", At: at("2026-11-25T09:02:00Z"), TxID: "tx-approve-2"},
		},
		ActivatedAt: at("2026-11-25T09:02:00Z"), ActivatedTx: "tx-approve-2",
	}
}

func fixtureAlert() wire.Alert {
	by := wire.Actor{MSP: "Org1MSP", Subject: "CN=gateway"}
	return wire.Alert{
		ID: hex64('a'), MSP: "Org1MSP", GatewayID: "gw-1", EventHash: hex64('e'), BatchID: hex64('b'),
		EventTime: at("2026-11-25T08:59:58Z"), Detector: wire.Model{ID: "nsl-mlp", Version: "3", SHA256: hex64('d')},
		Score: 0.973, Severity: wire.SeverityCritical, Category: "TA0001", Asset: "web-01",
		Fields: map[string]string{"dst_port": "443", "src_ip": "pseudo-1f2e"},
		Status: wire.AlertAcknowledged, RaisedAt: at("2026-11-25T09:00:00Z"), RaisedTx: "tx-raise", RaisedBy: &by,
		LastChange: &wire.AlertStatusChange{AlertID: hex64('a'), From: wire.AlertOpen, Status: wire.AlertAcknowledged,
			Reason: "investigating", By: wire.Actor{MSP: "Org1MSP", Subject: "CN=analyst"}, At: at("2026-11-25T09:05:00Z"), TxID: "tx-ack"},
	}
}

func fixtureResponse() wire.Response {
	return wire.Response{
		ID: hex64('r'), AlertID: hex64('a'), PolicyID: "isolate-high-confidence-intrusion", PolicyVersion: 1,
		MSP: "Org1MSP", GatewayID: "gw-1", Mode: wire.ModeEnforce, State: wire.ResponseSucceeded, Target: "web-01",
		Actions:   []wire.Action{{Type: wire.ActionIsolateHost, Params: map[string]string{"host": "web-01"}}},
		CreatedAt: at("2026-11-25T09:00:00Z"), CreatedTx: "tx-raise",
		Outcomes: []wire.Outcome{{Status: wire.ResponseSucceeded, Detail: "isolate_host: HTTP 200 id=job-7",
			By: wire.Actor{MSP: "Org1MSP", Subject: "CN=gateway"}, At: at("2026-11-25T09:00:02Z"), TxID: "tx-outcome"}},
	}
}

func TestCLIGolden(t *testing.T) {
	p := fixturePolicy()
	a := fixtureAlert()
	r := fixtureResponse()
	r.BatchID = hex64('b')
	pending := r
	pending.ID, pending.State, pending.RequiredApprovals, pending.Outcomes = hex64('s'), wire.ResponseAwaitingApproval, 1, nil
	raised := a
	raised.Status, raised.LastChange = wire.AlertOpen, nil
	answers := map[string]any{
		"policies:ListPolicies":     wire.Page[wire.Policy]{Records: []wire.Policy{p}},
		"policies:GetPolicy":        p,
		"policies:GetPolicyHistory": wire.Page[wire.HistoryEntry[wire.Policy]]{Records: []wire.HistoryEntry[wire.Policy]{{TxID: "tx-approve-2", Timestamp: at("2026-11-25T09:02:00Z"), Value: &p}}},
		"responses:ListResponses":   wire.Page[wire.Response]{Records: []wire.Response{r, pending}},
		"responses:GetResponse":     r,
		"alerts:ListAlerts":         wire.Page[wire.Alert]{Records: []wire.Alert{a}},
		"alerts:GetAlert":           a,
		"alerts:GetAlertHistory": wire.Page[wire.HistoryEntry[wire.Alert]]{Records: []wire.HistoryEntry[wire.Alert]{
			{TxID: "tx-ack", Timestamp: at("2026-11-25T09:05:00Z"), Value: &a},
			{TxID: "tx-raise", Timestamp: at("2026-11-25T09:00:00Z"), Value: &raised},
		}},
	}
	tests := []struct {
		name string
		args []string
	}{
		{"policy_list", []string{"policy", "list"}},
		{"policy_list_json", []string{"policy", "list", "--json"}},
		{"policy_show", []string{"policy", "show", p.ID}},
		{"policy_history", []string{"policy", "history", p.ID, "1"}},
		{"response_list", []string{"response", "list"}},
		{"response_show", []string{"response", "show", r.ID}},
		{"alert_list", []string{"alert", "list"}},
		{"alert_show", []string{"alert", "show", a.BatchID, a.ID}},
		{"alert_history", []string{"alert", "history", a.BatchID, a.ID}},
		{"alert_history_json", []string{"alert", "history", a.BatchID, a.ID, "--json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := runCLI(t, &fakeLedger{answers: answers}, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, got)
		})
	}
}

func TestCLICallsTheNewAlertAPI(t *testing.T) {
	a := fixtureAlert()
	tests := []struct {
		name     string
		args     []string
		wantCall string
	}{
		{"ack", []string{"alert", "ack", "B", "A", "--reason", "looking"}, "alerts:UpdateAlertStatus(B,A,acknowledged,looking)"},
		{"resolve", []string{"alert", "resolve", "B", "A", "--reason", "fixed"}, "alerts:UpdateAlertStatus(B,A,resolved,fixed)"},
		{"false positive", []string{"alert", "resolve", "B", "A", "--reason", "benign", "--false-positive"}, "alerts:UpdateAlertStatus(B,A,false-positive,benign)"},
		{"show", []string{"alert", "show", "B", "A"}, "alerts:GetAlert(B,A)"},
		{"history", []string{"alert", "history", "B", "A", "--page-size", "10"}, "alerts:GetAlertHistory(B,A,10,)"},
		{"list filter", []string{"alert", "list", "--status", "open", "--min-severity", "high"}, `alerts:ListAlerts({"status":"open","minSeverity":"high"},100,)`},
		{"approve policy", []string{"policy", "approve", "p1", "2"}, "policies:ApprovePolicy(p1,2)"},
		{"revoke policy", []string{"policy", "revoke", "p1", "2", "--reason", "noisy"}, "policies:RevokePolicy(p1,2,noisy)"},
		{"approve response", []string{"response", "approve", "R"}, "responses:ApproveResponse(R)"},
		{"rollback response", []string{"response", "rollback", "R", "--reason", "false positive"}, "responses:RequestRollback(R,false positive)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeLedger{answers: map[string]any{
				"alerts:UpdateAlertStatus": a, "alerts:GetAlert": a,
				"alerts:GetAlertHistory": wire.Page[wire.HistoryEntry[wire.Alert]]{}, "alerts:ListAlerts": wire.Page[wire.Alert]{},
				"policies:ApprovePolicy": fixturePolicy(), "policies:RevokePolicy": fixturePolicy(),
				"responses:ApproveResponse": fixtureResponse(), "responses:RequestRollback": fixtureResponse(),
			}}
			if _, err := runCLI(t, fake, tt.args...); err != nil {
				t.Fatal(err)
			}
			if len(fake.calls) != 1 || fake.calls[0] != tt.wantCall {
				t.Fatalf("calls = %q, want [%s]", fake.calls, tt.wantCall)
			}
		})
	}
}

func TestCLIPaginationFollowsBookmarks(t *testing.T) {
	pages := 0
	fake := &paged{next: func() wire.Page[wire.Alert] {
		pages++
		bm := "more"
		if pages == 3 {
			bm = ""
		}
		return wire.Page[wire.Alert]{Records: []wire.Alert{fixtureAlert()}, Bookmark: bm}
	}}
	saved := dialLedger
	dialLedger = func(context.Context, *ledgerFlags) (ledgerCalls, error) { return fake, nil }
	defer func() { dialLedger = saved }()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"alert", "list", "--json", "--limit", "0"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	var got []wire.Alert
	if err := json.Unmarshal(out.Bytes(), &got); err != nil || len(got) != 3 || pages != 3 {
		t.Fatalf("got %d alerts over %d pages (%v), want 3 over 3", len(got), pages, err)
	}
}

type paged struct{ next func() wire.Page[wire.Alert] }

func (p *paged) Evaluate(context.Context, string, string, ...string) ([]byte, error) {
	return json.Marshal(p.next())
}
func (p *paged) Submit(context.Context, string, string, ...string) ([]byte, error) { return nil, nil }
func (p *paged) Close() error                                                      { return nil }

func TestCLIUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"ack without reason", []string{"alert", "ack", "B", "A"}},
		{"show with one id", []string{"alert", "show", "A"}},
		{"approve without version", []string{"policy", "approve", "p1"}},
		{"version not a number", []string{"policy", "approve", "p1", "x"}},
		{"version zero", []string{"policy", "history", "p1", "0"}},
		{"unknown flag", []string{"response", "list", "--nope"}},
		{"bad page size", []string{"policy", "list", "--page-size", "5000"}},
		{"bad since", []string{"alert", "list", "--since", "yesterday"}},
		{"bad severity", []string{"alert", "list", "--min-severity", "huge"}},
		{"missing policy file", []string{"policy", "propose", "testdata/does-not-exist.yaml"}},
		{"invalid policy file", []string{"policy", "validate", "testdata/policies/bad-action.yaml"}},
		{"respond without config", []string{"respond"}},
		{"bare group", []string{"alert"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeLedger{}
			_, err := runCLI(t, fake, tt.args...)
			var ue usageError
			if !errors.As(err, &ue) {
				t.Fatalf("error = %v, want a usage error (exit 2)", err)
			}
			if len(fake.calls) != 0 {
				t.Fatalf("the ledger was called: %v", fake.calls)
			}
		})
	}
}

func TestCLILedgerFailureIsNotUsage(t *testing.T) {
	fake := &fakeLedger{answers: map[string]any{"responses:ApproveResponse": errors.New("access denied: ApproveResponse needs admin")}}
	_, err := runCLI(t, fake, "response", "approve", "R")
	var ue usageError
	if err == nil || errors.As(err, &ue) {
		t.Fatalf("error = %v, want a failure (exit 1)", err)
	}
}
