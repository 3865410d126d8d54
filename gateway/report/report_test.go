package report_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/report"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.*")

var t0 = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func at(d time.Duration) wire.Time { return wire.NewTime(t0.Add(d)) }

func hex64(c string) string { return strings.Repeat(c, 64) }

// fakeInputs is a ledger's worth of records around the period [t0, t0+1h)
// of Org1MSP's gateway gw1: some belong to the report, the others are
// outside its period or scope and must be left out.
func fakeInputs() report.Inputs {
	modelA := wire.Model{ID: "kdd-mlp", Version: "1", SHA256: hex64("a")}
	modelB := wire.Model{ID: "ssh-brute", Version: "2", SHA256: hex64("b")}
	modelRogue := wire.Model{ID: "kdd-mlp", Version: "1", SHA256: hex64("f")} // another file under a registered name
	org1 := &wire.Actor{MSP: "Org1MSP", Subject: "CN=gateway"}
	batch := func(id, gw string, before, after uint64, first, last time.Duration, tx string, models ...wire.Model) wire.Batch {
		return wire.Batch{ID: id, MSP: "Org1MSP", GatewayID: gw, TreeSizeBefore: before, TreeSizeAfter: after, RootHash: hex64(id[:1]),
			FirstSeq: before, LastSeq: after - 1, FirstEventTime: at(first), LastEventTime: at(last), Models: models,
			AnchoredAt: at(last + time.Second), TxID: tx, Submitter: org1}
	}
	alert := func(id, gw string, raised time.Duration, sev, cat, status string, m wire.Model) wire.Alert {
		a := wire.Alert{ID: id, MSP: "Org1MSP", GatewayID: gw, EventHash: hex64("e"), BatchID: "b2", EventTime: at(raised - time.Second),
			Detector: m, Score: 0.97, Severity: sev, Category: cat, Asset: "host7", Principal: "root", Status: status,
			RaisedAt: at(raised), RaisedTx: "tx-" + id, RaisedBy: org1}
		if status != wire.AlertOpen {
			a.LastChange = &wire.AlertStatusChange{AlertID: id, From: wire.AlertOpen, Status: status, Reason: "triaged",
				By: wire.Actor{MSP: "Org1MSP", Subject: "CN=analyst"}, At: at(raised + 5*time.Minute), TxID: "tx-ack-" + id}
		}
		return a
	}
	appr := func(msp string, d time.Duration, tx string) wire.Approval {
		return wire.Approval{MSP: msp, Subject: "CN=Admin@" + strings.ToLower(msp[:4]) + ".example.com", At: at(d), TxID: tx}
	}
	policy := func(id string, v uint32, state string, activated, ended time.Duration) wire.Policy {
		p := wire.Policy{ID: id, Version: v, Condition: `alert.severity == "critical" && alert.score >= 0.9`,
			Actions: []wire.Action{{Type: wire.ActionIsolateHost, Params: map[string]string{"host": "{{alert.asset}}"}}},
			Mode:    wire.ModeEnforce, State: state, ProposedBy: &wire.Actor{MSP: "Org1MSP", Subject: "CN=author"},
			ProposedAt: at(activated - time.Hour), ProposedTx: "tx-prop-" + id,
			Approvals: []wire.Approval{appr("Org1MSP", activated-time.Minute, "tx-ap1-"+id), appr("Org2MSP", activated, "tx-ap2-"+id)}}
		if state != wire.PolicyProposed {
			p.ActivatedAt, p.ActivatedTx = at(activated), "tx-ap2-"+id
		}
		if ended != 0 {
			p.EndedAt, p.EndedTx, p.EndedBy, p.EndReason = at(ended), "tx-end-"+id, &wire.Actor{MSP: "Org1MSP", Subject: "CN=author"}, "replaced"
		}
		return p
	}
	return report.Inputs{
		GeneratedAt: t0.Add(2 * time.Hour), Org: "Org1MSP", Channel: "lgchannel", Chaincode: "ledgerguard",
		Period: report.Period{From: t0, To: t0.Add(time.Hour)},
		Scope:  report.Scope{MSP: "Org1MSP", GatewayID: "gw1"},
		Batches: []wire.Batch{
			batch("b3", "gw1", 8, 12, 50*time.Minute, 70*time.Minute, "tx-b3", modelA), // overlaps the end
			batch("b1", "gw1", 0, 4, -30*time.Minute, -10*time.Minute, "tx-b1"),        // before the period
			batch("b2", "gw1", 4, 8, 5*time.Minute, 20*time.Minute, "tx-b2", modelA, modelB),
			batch("b9", "gw2", 0, 4, 5*time.Minute, 20*time.Minute, "tx-b9", modelB), // another gateway
		},
		Alerts: []wire.Alert{
			alert("al3", "gw1", 40*time.Minute, "critical", "T1110", wire.AlertResolved, modelB),
			alert("al1", "gw1", 10*time.Minute, "high", "T1046", wire.AlertOpen, modelA),
			alert("al2", "gw1", 20*time.Minute, "critical", "T1110", wire.AlertAcknowledged, modelRogue),
			alert("al0", "gw1", -time.Minute, "low", "T1046", wire.AlertOpen, modelA),    // before
			alert("al4", "gw1", time.Hour, "low", "T1046", wire.AlertOpen, modelA),       // at To: excluded
			alert("al9", "gw2", 30*time.Minute, "low", "T1046", wire.AlertOpen, modelA),  // another gateway
			alert("al1", "gw1", 10*time.Minute, "high", "T1046", wire.AlertOpen, modelA), // listed twice
		},
		Policies: []wire.Policy{
			policy("isolate", 2, wire.PolicyActive, 30*time.Minute, 0),
			policy("isolate", 1, wire.PolicySuperseded, -24*time.Hour, 30*time.Minute),
			policy("old", 1, wire.PolicyRevoked, -48*time.Hour, -time.Hour), // ended before
			policy("later", 1, wire.PolicyActive, 2*time.Hour, 0),           // activated after
			policy("draft", 1, wire.PolicyProposed, 0, 0),                   // never in force
		},
		Responses: []wire.Response{
			{ID: "r2", AlertID: "al3", BatchID: "b2", PolicyID: "isolate", PolicyVersion: 2, MSP: "Org1MSP", GatewayID: "gw1",
				Mode: wire.ModeEnforce, State: wire.ResponseSucceeded, Target: "host7",
				Actions: []wire.Action{{Type: wire.ActionIsolateHost}}, RequiredApprovals: 1,
				Approvals: []wire.Approval{appr("Org2MSP", 41*time.Minute, "tx-rap")},
				Outcomes: []wire.Outcome{
					{Status: wire.ResponseFailed, Detail: "timeout", By: *org1, At: at(42 * time.Minute), TxID: "tx-o1"},
					{Status: wire.ResponseSucceeded, Detail: "isolated", By: *org1, At: at(43 * time.Minute), TxID: "tx-o2"},
				},
				CreatedAt: at(40 * time.Minute), CreatedTx: "tx-al3"},
			{ID: "r1", AlertID: "al2", BatchID: "b2", PolicyID: "isolate", PolicyVersion: 1, MSP: "Org1MSP", GatewayID: "gw1",
				Mode: wire.ModeEnforce, State: wire.ResponseRateLimited, Target: "host7",
				Actions: []wire.Action{{Type: wire.ActionIsolateHost}}, CreatedAt: at(20 * time.Minute), CreatedTx: "tx-al2"},
			{ID: "r0", AlertID: "al0", PolicyID: "isolate", PolicyVersion: 1, MSP: "Org1MSP", GatewayID: "gw1",
				State: wire.ResponseSucceeded, CreatedAt: at(-time.Minute), CreatedTx: "tx-al0"}, // before
		},
		Models: []wire.ModelRecord{
			{Name: "kdd-mlp", Version: "1", SHA256: hex64("a"), State: wire.ModelApproved, RegisteredBy: &wire.Actor{MSP: "Org1MSP", Subject: "CN=author"},
				RegisteredTx: "tx-reg", Approvals: []wire.Approval{appr("Org1MSP", -time.Hour, "tx-ma1"), appr("Org2MSP", -time.Hour, "tx-ma2")},
				ApprovedAt: at(-time.Hour), ApprovedTx: "tx-ma2"},
			{Name: "unused", Version: "1", SHA256: hex64("c"), State: wire.ModelApproved},
		},
		Evidence: &report.Evidence{
			Source: "given with --bundle", Bundle: "period.jsonl.gz", BundleSHA256: hex64("d"),
			Events: 8, Batches: 2, Transactions: 2, Endorsements: 4,
			TrustedCAs: []report.TrustedCA{{MSP: "Org1MSP", SHA256: hex64("1")}, {MSP: "Org2MSP", SHA256: hex64("2")}},
			Findings:   []string{},
			Anchors:    []report.Anchor{{BatchID: "b2", TxID: "tx-b2", Block: 17}, {BatchID: "b3", TxID: "tx-b3", Block: 21}},
		},
	}
}

func goldenFile(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test -update and review the diff):\n%s", path, got)
	}
}

func TestAssembleGolden(t *testing.T) {
	r, err := report.Assemble(fakeInputs())
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	goldenFile(t, "report.golden.json", got)

	// The order the ledger returns records in does not matter.
	in := fakeInputs()
	reverse(in.Batches)
	reverse(in.Alerts)
	reverse(in.Policies)
	reverse(in.Responses)
	reverse(in.Models)
	r2, err := report.Assemble(in)
	if err != nil {
		t.Fatal(err)
	}
	got2, _ := r2.Encode()
	if !bytes.Equal(got, got2) {
		t.Error("reordered inputs give another report")
	}

	html, err := report.RenderHTML(got)
	if err != nil {
		t.Fatal(err)
	}
	goldenFile(t, "report.golden.html", html)
	for _, bad := range []string{"<script", "src=", "href=", "@import", "url("} {
		if bytes.Contains(html, []byte(bad)) {
			t.Errorf("HTML holds %q: a report must have no script and no external asset", bad)
		}
	}
	for _, want := range []string{"@media print", "@page", "tx-b2", "al3", "T1110", "isolate v2", "tx-ap2-isolate", hex64("a"), `verdict-verified">verified`} {
		if !bytes.Contains(html, []byte(want)) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}

func reverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

func TestAssembleVerdicts(t *testing.T) {
	anchors := func(as ...report.Anchor) *report.Evidence {
		return &report.Evidence{Source: "test", TrustedCAs: []report.TrustedCA{}, Findings: []string{}, Anchors: as}
	}
	withFinding := anchors(report.Anchor{BatchID: "b2", TxID: "tx-b2"}, report.Anchor{BatchID: "b3", TxID: "tx-b3"})
	withFinding.Findings = []string{"modified: event x seq 5"}
	tests := []struct {
		name     string
		batches  bool
		evidence *report.Evidence
		want     string
	}{
		{"every batch, right transactions", true, anchors(report.Anchor{BatchID: "b2", TxID: "tx-b2"}, report.Anchor{BatchID: "b3", TxID: "tx-b3"}), report.VerdictVerified},
		{"a finding", true, withFinding, report.VerdictFailed},
		{"a batch missing", true, anchors(report.Anchor{BatchID: "b2", TxID: "tx-b2"}), report.VerdictIncomplete},
		{"another transaction", true, anchors(report.Anchor{BatchID: "b2", TxID: "tx-b2"}, report.Anchor{BatchID: "b3", TxID: "tx-other"}), report.VerdictIncomplete},
		{"no bundle, batches on the ledger", true, nil, report.VerdictIncomplete},
		{"no bundle, nothing anchored", false, nil, report.VerdictNothingAnchored},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := fakeInputs()
			in.Evidence = tt.evidence
			if !tt.batches {
				in.Batches = nil
			}
			r, err := report.Assemble(in)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Evidence.Verdict; got != tt.want {
				t.Errorf("verdict: got %q, want %q (missing %v, mismatched %v)", got, tt.want, r.Evidence.Missing, r.Evidence.Mismatched)
			}
		})
	}
}

func TestAssembleRefusesBadPeriod(t *testing.T) {
	tests := []struct {
		name     string
		from, to time.Time
	}{
		{"from after to", t0.Add(time.Hour), t0},
		{"empty period", t0, t0},
		{"no from", time.Time{}, t0},
		{"no to", t0, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := fakeInputs()
			in.Period = report.Period{From: tt.from, To: tt.to}
			if _, err := report.Assemble(in); !errors.Is(err, report.ErrPeriod) {
				t.Errorf("got %v, want ErrPeriod", err)
			}
		})
	}
}

func TestDecodeRefusesOtherLayouts(t *testing.T) {
	r, err := report.Assemble(fakeInputs())
	if err != nil {
		t.Fatal(err)
	}
	good, _ := r.Encode()
	tests := []struct {
		name string
		b    []byte
	}{
		{"unknown field", bytes.Replace(good, []byte(`"format": 1,`), []byte(`"format": 1, "extra": true,`), 1)},
		{"other format", bytes.Replace(good, []byte(`"format": 1,`), []byte(`"format": 2,`), 1)},
		{"not JSON", []byte("<html>")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := report.RenderHTML(tt.b); err == nil {
				t.Error("rendered; want an error")
			}
		})
	}
}
