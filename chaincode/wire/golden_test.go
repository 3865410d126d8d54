package wire_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

var update = flag.Bool("update", false, "rewrite testdata/*.json golden files from the samples")

func ts(s string) wire.Time {
	t, err := wire.ParseTime(s)
	if err != nil {
		panic(err)
	}
	return t
}

const (
	h1 = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
	h2 = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
	h3 = "5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592"
)

var (
	gwActor    = wire.Actor{MSP: "Org1MSP", Subject: "CN=gateway1,OU=client,O=Org1MSP"}
	adminActor = wire.Actor{MSP: "Org2MSP", Subject: "CN=admin,OU=admin,O=Org2MSP"}
	model      = wire.Model{ID: "nslkdd-mlp", Version: "1.0.0", SHA256: h2}
)

func sampleBatch() wire.Batch {
	b := wire.Batch{
		MSP: "Org1MSP", GatewayID: "gw-1", TreeSizeBefore: 1000, TreeSizeAfter: 1500, RootHash: h1,
		FirstSeq: 1000, LastSeq: 1499,
		FirstEventTime: ts("2026-11-25T09:00:00Z"), LastEventTime: ts("2026-11-25T09:00:04.5Z"),
		ClassCounts: map[string]uint64{"authentication": 120, "network_activity": 380},
		Models:      []wire.Model{model},
		AnchoredAt:  ts("2026-11-25T09:00:05.123456789Z"), TxID: h3, Submitter: &gwActor,
	}
	b.ID = wire.BatchID(b.MSP, b.GatewayID, b.TreeSizeBefore, b.TreeSizeAfter, b.RootHash)
	return b
}

func sampleAlert() wire.Alert {
	a := wire.Alert{
		MSP: "Org1MSP", GatewayID: "gw-1", EventHash: h3, BatchID: sampleBatch().ID,
		EventTime: ts("2026-11-25T09:00:01Z"), Detector: model, Score: 0.9731, Severity: "high",
		Category: "T1110.001", Asset: "web-01", Principal: "hmac-sha256:" + h2,
		Fields: map[string]string{"dst_port": "22", "src_ip": "hmac-sha256:" + h1},
		Status: "acknowledged", RaisedAt: ts("2026-11-25T09:00:06Z"), RaisedTx: h1, RaisedBy: &gwActor,
	}
	a.ID = wire.AlertID(a.MSP, a.GatewayID, a.EventHash, a.Detector.ID, a.Detector.Version)
	a.LastChange = &wire.AlertStatusChange{AlertID: a.ID, BatchID: a.BatchID, From: "open", Status: "acknowledged", Reason: "triage started",
		By: wire.Actor{MSP: "Org1MSP", Subject: "CN=analyst1,OU=client,O=Org1MSP"}, At: ts("2026-11-25T09:05:00Z"), TxID: h2}
	return a
}

// sampleAlertSet is the stored form of sampleAlert (and one more alert of
// its batch): gateway fields only, raised fields once for the set.
func sampleAlertSet() wire.AlertSet {
	a := sampleAlert()
	a.Status, a.RaisedAt, a.RaisedTx, a.RaisedBy, a.LastChange = "", wire.Time{}, "", nil, nil
	b := a
	b.EventHash, b.Score, b.Severity, b.Asset = h2, 0.88, "medium", "web-02"
	b.ID = wire.AlertID(b.MSP, b.GatewayID, b.EventHash, b.Detector.ID, b.Detector.Version)
	alerts := []wire.Alert{a, b}
	if alerts[1].ID < alerts[0].ID {
		alerts[0], alerts[1] = alerts[1], alerts[0]
	}
	set := wire.AlertSet{MSP: a.MSP, GatewayID: a.GatewayID, BatchID: a.BatchID, Seq: 0,
		RaisedAt: ts("2026-11-25T09:00:06Z"), RaisedTx: h1, RaisedBy: gwActor}
	for _, x := range alerts {
		set.Add(x)
	}
	return set
}

func samplePolicy() wire.Policy {
	return wire.Policy{
		ID: "ssh-bruteforce-isolate", Version: 2, Description: "Isolate hosts under SSH brute force",
		Condition: `alert.severityLevel >= 3 && alert.category.startsWith("T1110")`,
		Actions: []wire.Action{
			{Type: "isolate_host", Params: map[string]string{"host": "{{alert.asset}}", "reason": "alert {{alert.id}}"}},
			{Type: "notify", Params: map[string]string{"channel": "soc", "message": "{{alert.severity}} on {{alert.asset}}"}},
		},
		Mode: "enforce", Limit: &wire.RateLimit{Max: 3, WindowSeconds: 3600, Target: "{{alert.asset}}"},
		ResponseApprovals: 1, Quorum: 2, Scope: wire.ScopeConsortium, Owner: "Org1MSP", State: "active",
		ProposedBy: &wire.Actor{MSP: "Org1MSP", Subject: "CN=author1,OU=client,O=Org1MSP"},
		ProposedAt: ts("2026-11-25T08:00:00Z"), ProposedTx: h1,
		Approvals: []wire.Approval{
			{MSP: "Org1MSP", Subject: "CN=admin,OU=admin,O=Org1MSP", At: ts("2026-11-25T08:10:00Z"), TxID: h2},
			{MSP: "Org2MSP", Subject: adminActor.Subject, At: ts("2026-11-25T08:20:00Z"), TxID: h3},
		},
		ActivatedAt: ts("2026-11-25T08:20:00Z"), ActivatedTx: h3,
	}
}

func sampleRule() wire.HygieneRule {
	return wire.HygieneRule{
		ID: "scanner-office", Version: 1, Kind: wire.RuleSuppress, Description: "The office vulnerability scanner",
		Condition: `alert.asset == "scanner-01" && alert.category == "T1046"`, Reason: "authorised weekly scan (change CHG-1042)",
		ExpiresAt: ts("2026-12-25T00:00:00Z"), Quorum: 2, Scope: wire.ScopeConsortium, Owner: "Org1MSP", State: "active",
		ProposedBy: &wire.Actor{MSP: "Org1MSP", Subject: "CN=author1,OU=client,O=Org1MSP"},
		ProposedAt: ts("2026-11-25T08:00:00Z"), ProposedTx: h1,
		Approvals: []wire.Approval{
			{MSP: "Org1MSP", Subject: "CN=admin,OU=admin,O=Org1MSP", At: ts("2026-11-25T08:10:00Z"), TxID: h2},
			{MSP: "Org2MSP", Subject: adminActor.Subject, At: ts("2026-11-25T08:20:00Z"), TxID: h3},
		},
		ActivatedAt: ts("2026-11-25T08:20:00Z"), ActivatedTx: h3,
	}
}

func sampleResponse() wire.Response {
	a := sampleAlert()
	return wire.Response{
		ID: wire.ResponseID(a.ID, "ssh-bruteforce-isolate", 2), AlertID: a.ID, BatchID: a.BatchID, PolicyID: "ssh-bruteforce-isolate", PolicyVersion: 2,
		MSP: "Org1MSP", GatewayID: "gw-1", Mode: "enforce", State: "succeeded", Target: "web-01",
		Actions:     []wire.Action{{Type: "isolate_host", Params: map[string]string{"host": "web-01", "reason": "alert " + a.ID}}},
		PolicyScope: wire.ScopeConsortium, PolicyOwner: "Org1MSP", PolicyApprovedBy: []string{"Org1MSP", "Org2MSP"},
		RequiredApprovals: 1,
		Approvals:         []wire.Approval{{MSP: "Org2MSP", Subject: adminActor.Subject, At: ts("2026-11-25T09:01:00Z"), TxID: h1}},
		Outcomes:          []wire.Outcome{{Status: "succeeded", Detail: "host isolated by EDR", By: gwActor, At: ts("2026-11-25T09:01:30Z"), TxID: h2}},
		CreatedAt:         ts("2026-11-25T09:00:06Z"), CreatedTx: h3,
		UpdatedAt: ts("2026-11-25T09:01:30Z"), UpdatedTx: h2,
	}
}

func sampleModel() wire.ModelRecord {
	return wire.ModelRecord{
		Name: "nsl-kdd-flow", Version: "1.0.0", SHA256: h2, FeaturesSHA256: h1,
		TrainingData: []wire.DataFile{{Path: "nsl-kdd/KDDTrain+_full.zip", SHA256: h3}},
		Metrics:      map[string]float64{"test.nsl-kdd.KDDTest+.accuracy": 0.8324609652235628, "test.nsl-kdd.KDDTest+.fpr": 0.08186592523941921},
		Description:  "MLP 64-32 on NSL-KDD flow features", Quorum: 2,
		Owner: "Org1MSP", State: wire.ModelApproved,
		RegisteredBy: &wire.Actor{MSP: "Org1MSP", Subject: "CN=author1,OU=client,O=Org1MSP"},
		RegisteredAt: ts("2026-11-25T08:00:00Z"), RegisteredTx: h1,
		Approvals: []wire.Approval{
			{MSP: "Org1MSP", Subject: "CN=admin,OU=admin,O=Org1MSP", At: ts("2026-11-25T08:10:00Z"), TxID: h2},
			{MSP: "Org2MSP", Subject: adminActor.Subject, At: ts("2026-11-25T08:20:00Z"), TxID: h3},
		},
		ApprovedAt: ts("2026-11-25T08:20:00Z"), ApprovedTx: h3,
	}
}

// goldens maps each golden file to a sample value of its shape.
func goldens() map[string]any {
	b, a, p, r := sampleBatch(), sampleAlert(), samplePolicy(), sampleResponse()
	set := sampleAlertSet()
	model, revoked := sampleModel(), sampleModel()
	revoked.State, revoked.RevokedAt, revoked.RevokedTx = wire.ModelRevoked, ts("2026-11-26T10:00:00Z"), h1
	revoked.RevokedBy, revoked.RevokeReason = &adminActor, "false positives on backup traffic"
	req := r.Request()
	req.State = "requested"
	rule := sampleRule()
	dedupAlert := sampleAlert()
	dedupAlert.Status, dedupAlert.LastChange = wire.AlertSuppressed, nil
	dedupAlert.SuppressedBy = &wire.RuleRef{ID: "scanner-office", Version: 1}
	dedupAlert.DedupKey, dedupAlert.Count, dedupAlert.LastSeen = h1+".00000000001764061200", 42, ts("2026-11-25T09:41:07Z")
	mergedSet := sampleAlertSet()
	mergedSet.Alerts = mergedSet.Alerts[:1]
	mergedSet.Merged = []wire.MergedDetection{{ID: h2, EventHash: h3, EventTime: ts("2026-11-25T09:00:02Z"), Into: a.ID, IntoBatchID: a.BatchID}}
	escalated := sampleResponse()
	escalated.State, escalated.LimitedBy, escalated.Outcomes, escalated.Approvals = wire.ResponseAwaitingApproval, wire.LimitedByOrgCap+":isolate_host", nil, nil
	escalated.UpdatedAt, escalated.UpdatedTx = wire.Time{}, ""
	return map[string]any{
		"batch.json": &b,
		"checkpoint.json": &wire.Checkpoint{MSP: b.MSP, GatewayID: b.GatewayID, TreeSize: b.TreeSizeAfter, RootHash: b.RootHash,
			LastSeq: b.LastSeq, LastEventTime: b.LastEventTime, BatchID: b.ID, AnchoredAt: b.AnchoredAt, TxID: b.TxID},
		"alert.json":               &a,
		"alert_status_change.json": a.LastChange,
		"policy.json":              &p,
		"response.json":            &r,
		"response_event.json":      &wire.ResponseEvent{TxID: h3, Requests: []wire.ResponseRequest{req}},
		"raise_result.json": &wire.RaiseResult{TxID: h3, Created: 2, Existing: []string{h1}, Responses: []wire.ResponseRequest{req},
			EvalErrors: []wire.EvalError{{AlertID: a.ID, PolicyID: "needs-user", PolicyVersion: 1, Error: "no such key: user"}}},
		"members.json": &wire.Members{MSPs: []string{"Org1MSP", "Org2MSP"}, InitializedBy: wire.Actor{MSP: "Org1MSP", Subject: "CN=Admin@org1.example.com,OU=admin,O=Org1MSP"},
			InitializedAt: ts("2026-11-25T07:00:00Z"), TxID: h1},
		"page.json":                &wire.Page[wire.Alert]{Records: []wire.Alert{a}, Bookmark: "\x00lg.aset\x00Org1MSP\x00gw-1\x00" + a.BatchID + "\x000000\x001", Fetched: 1},
		"alert_set.json":           &set,
		"history_page.json":        &wire.Page[wire.HistoryEntry[wire.Alert]]{Records: []wire.HistoryEntry[wire.Alert]{{TxID: h2, Timestamp: a.LastChange.At, Value: &a}}, Bookmark: h2, Fetched: 1},
		"alert_filter.json":        &wire.AlertFilter{MSP: "Org1MSP", Status: "open", MinSeverity: "high", Since: ts("2026-11-25T00:00:00Z")},
		"response_filter.json":     &wire.ResponseFilter{MSP: "Org1MSP", State: "requested"},
		"policy_filter.json":       &wire.PolicyFilter{State: "active"},
		"model.json":               &model,
		"model_revoked.json":       &revoked,
		"model_filter.json":        &wire.ModelFilter{Name: "nsl-kdd-flow", State: "approved"},
		"hygiene_rule.json":        &rule,
		"hygiene_rule_filter.json": &wire.HygieneRuleFilter{Kind: wire.RuleSuppress, State: "active"},
		"org_caps.json": &wire.OrgCaps{MSP: "Org1MSP", Caps: []wire.OrgCap{{Action: wire.ActionIsolateHost, Max: 5, WindowSeconds: 3600}},
			SetBy: &wire.Actor{MSP: "Org1MSP", Subject: "CN=admin,OU=admin,O=Org1MSP"}, SetAt: ts("2026-11-25T08:00:00Z"), SetTx: h1},
		"dedup_record.json": &wire.DedupRecord{MSP: "Org1MSP", Key: h1, WindowStart: ts("2026-11-25T09:00:00Z"), WindowSeconds: 3600,
			Rule: wire.RuleRef{ID: "merge-repeats", Version: 1}, BatchID: a.BatchID, AlertID: a.ID, Count: 42,
			FirstSeen: ts("2026-11-25T09:00:01Z"), LastSeen: ts("2026-11-25T09:41:07Z"), UpdatedTx: h2},
		"alert_deduplicated.json": &dedupAlert,
		"alert_set_merged.json":   &mergedSet,
		"raise_result_hygiene.json": &wire.RaiseResult{TxID: h3, Created: 1, Existing: []string{},
			Merged:     []wire.MergedAlert{{AlertID: h2, IntoBatchID: a.BatchID, IntoAlertID: a.ID, Count: 2}},
			Suppressed: []string{a.ID}, Responses: []wire.ResponseRequest{}},
		"response_escalated.json": &escalated,
	}
}

func encode(t *testing.T, v any) []byte {
	t.Helper()
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return append(out, '\n')
}

// TestGolden pins every wire shape: each golden file decodes strictly and
// re-encodes to the same bytes, and the Go sample encodes to the file.
func TestGolden(t *testing.T) {
	for name, sample := range goldens() {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", name)
			want := encode(t, sample)
			if *update {
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			golden, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden (run go test ./wire -update to create): %v", err)
			}
			if !bytes.Equal(want, golden) {
				t.Errorf("sample encodes differently from %s:\n got %s\nwant %s", path, want, golden)
			}
			fresh := reflect.New(reflect.TypeOf(sample).Elem())
			dec := json.NewDecoder(bytes.NewReader(golden))
			dec.DisallowUnknownFields()
			if err := dec.Decode(fresh.Interface()); err != nil {
				t.Fatalf("decode %s: %v", path, err)
			}
			if got := encode(t, fresh.Interface()); !bytes.Equal(got, golden) {
				t.Errorf("decode→encode of %s differs:\n got %s\nwant %s", path, got, golden)
			}
		})
	}
}

// TestGoldenInputsValidate checks that the golden records, stripped of the
// chaincode-set fields, are valid inputs: the gateway can build from them.
func TestGoldenInputsValidate(t *testing.T) {
	b := sampleBatch()
	b.AnchoredAt, b.TxID, b.Submitter = wire.Time{}, "", nil
	if err := b.Validate(); err != nil {
		t.Errorf("batch: %v", err)
	}
	a := sampleAlert()
	a.Status, a.RaisedAt, a.RaisedTx, a.RaisedBy, a.LastChange = "", wire.Time{}, "", nil, nil
	if err := a.Validate("alert"); err != nil {
		t.Errorf("alert: %v", err)
	}
	p := samplePolicy()
	p.State, p.ProposedBy, p.ProposedAt, p.ProposedTx, p.Approvals, p.ActivatedAt, p.ActivatedTx = "", nil, wire.Time{}, "", nil, wire.Time{}, ""
	if err := p.Validate(); err != nil {
		t.Errorf("policy: %v", err)
	}
	rule := sampleRule()
	rule.Quorum, rule.Scope, rule.Owner = 0, "", ""
	rule.State, rule.ProposedBy, rule.ProposedAt, rule.ProposedTx, rule.Approvals, rule.ActivatedAt, rule.ActivatedTx = "", nil, wire.Time{}, "", nil, wire.Time{}, ""
	if err := rule.Validate(); err != nil {
		t.Errorf("rule: %v", err)
	}
	m := sampleModel()
	m.Owner, m.State, m.RegisteredBy, m.RegisteredAt, m.RegisteredTx, m.Approvals, m.ApprovedAt, m.ApprovedTx =
		"", "", nil, wire.Time{}, "", nil, wire.Time{}, ""
	if err := m.Validate(); err != nil {
		t.Errorf("model: %v", err)
	}
}

func TestTimeCanonical(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"2026-11-25T09:00:00Z"`, `"2026-11-25T09:00:00.000000000Z"`},
		{`"2026-11-25T10:00:00.5+01:00"`, `"2026-11-25T09:00:00.500000000Z"`},
		{`"2026-11-25T09:00:00.123456789Z"`, `"2026-11-25T09:00:00.123456789Z"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var v wire.Time
			if err := json.Unmarshal([]byte(tt.in), &v); err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(v)
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
	for _, bad := range []string{`null`, `"yesterday"`, `12`, `"2026-11-25"`, `"a"b"`} {
		var v wire.Time
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("Unmarshal(%s) succeeded, want error", bad)
		}
	}
	if got := wire.NewTime(time.Unix(0, 0)).String(); got != "1970-01-01T00:00:00.000000000Z" {
		t.Errorf("String() = %s", got)
	}
}
