package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
)

// submitJSON submits (retrying what is transient on a shared network, see
// submitRetry) and decodes the result into out.
func submitJSON(ctx context.Context, t *testing.T, c *fabric.Client, contract, fn string, out any, args ...string) {
	t.Helper()
	rspSubmit(ctx, t, c, contract, fn, out, args...)
}

func evaluateJSON(ctx context.Context, t *testing.T, c *fabric.Client, contract, fn string, out any, args ...string) {
	t.Helper()
	// A read right after a commit may reach a peer one block behind the
	// one that reported the commit: a NOT_FOUND is asked again for a few
	// seconds before it fails the test (no caller expects one here).
	var res []byte
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; {
		res, err = c.Contract(channelName, chaincodeName, contract).EvaluateWithContext(ctx, fn, client.WithArguments(args...))
		if err == nil || !strings.Contains(fabricDetails(err), string(wire.CodeNotFound)) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("evaluate %s as %s: %v", fn, c.MSPID(), err)
	}
	if err := json.Unmarshal(res, out); err != nil {
		t.Fatalf("%s result %s: %v", fn, res, err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// TestPolicyAlertResponseFlow drives the contracts across both orgs: a
// policy proposed by Org1's author and approved by both orgs' admins, a
// batch anchored and alerts raised by Org1's gateway, the chaincode event
// listing the response requests, an approval-gated response released by
// Org2's admin, outcomes recorded, the alert's audit trail read back.
func TestPolicyAlertResponseFlow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run := fmt.Sprint(time.Now().UnixNano())
	author1 := dial(t, "org1", "author")
	admin1 := dial(t, "org1", "")
	admin2 := dial(t, "org2", "")
	analyst1 := dial(t, "org1", "analyst")
	auditor2 := dial(t, "org2", "auditor")

	var members wire.Members
	evaluateJSON(ctx, t, auditor2, wire.ContractConsortium, wire.TxGetMembers, &members)
	if got := strings.Join(members.MSPs, ","); got != "Org1MSP,Org2MSP" {
		t.Fatalf("consortium members = %q, want Org1MSP,Org2MSP (deploy records them)", got)
	}

	// Two policies: autonomous isolation, and an MFA challenge that needs
	// one organisation's approval before it runs. Both match only this
	// run's gateway and are revoked at the end, so the policies of earlier
	// runs never match later runs' alerts (or the bench's) on a shared
	// development network.
	gwID := "e2e-" + run
	gw1 := dial(t, "org1", gatewayIdentity(t, "org1", gwID))
	isolate := wire.Policy{
		ID: "isolate-" + run, Version: 1, Condition: `alert.gateway == "` + gwID + `" && alert.severity == "critical" && alert.score >= 0.9`,
		Actions: []wire.Action{{Type: wire.ActionIsolateHost, Params: map[string]string{"host": "{{alert.asset}}"}}},
		Mode:    wire.ModeEnforce,
	}
	mfa := wire.Policy{
		ID: "mfa-" + run, Version: 1, Condition: `alert.gateway == "` + gwID + `" && alert.category == "T1110"`,
		Actions:           []wire.Action{{Type: wire.ActionMFAChallenge, Params: map[string]string{"principal": "{{alert.principal}}"}}},
		Mode:              wire.ModeEnforce,
		ResponseApprovals: 1,
	}
	for _, p := range []wire.Policy{isolate, mfa} {
		submitJSON(ctx, t, author1, wire.ContractPolicies, wire.TxProposePolicy, nil, mustJSON(t, p))
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := author1.Contract(channelName, chaincodeName, wire.ContractPolicies).SubmitWithContext(ctx, wire.TxRevokePolicy,
				client.WithArguments(p.ID, "1", "end of e2e run")); err != nil {
				t.Errorf("revoke policy %s: %v", p.ID, err)
			}
		})
		var got wire.Policy
		submitJSON(ctx, t, admin1, wire.ContractPolicies, wire.TxApprovePolicy, &got, p.ID, "1")
		if got.State != wire.PolicyProposed {
			t.Fatalf("after one of two approvals policy %s state = %q, want %q", p.ID, got.State, wire.PolicyProposed)
		}
		submitJSON(ctx, t, admin2, wire.ContractPolicies, wire.TxApprovePolicy, &got, p.ID, "1")
		if got.State != wire.PolicyActive {
			t.Fatalf("after both approvals policy %s state = %q, want %q", p.ID, got.State, wire.PolicyActive)
		}
	}

	// Anchor a batch for a gateway of this run, then raise alerts in it.
	now := time.Now().UTC()
	model := wire.Model{ID: "e2e-model", Version: "1", SHA256: sha("e2e-model")}
	batch := wire.Batch{
		MSP: "Org1MSP", GatewayID: gwID, TreeSizeBefore: 0, TreeSizeAfter: 3, RootHash: sha(run),
		FirstSeq: 0, LastSeq: 2, FirstEventTime: wire.NewTime(now.Add(-time.Minute)), LastEventTime: wire.NewTime(now),
		ClassCounts: map[string]uint64{"auth": 2, "flow": 1}, Models: []wire.Model{model},
	}
	batch.ID = wire.BatchID(batch.MSP, gwID, 0, 3, batch.RootHash)
	submitJSON(ctx, t, gw1, wire.ContractEvents, wire.TxAnchorBatch, nil, mustJSON(t, batch))

	network := gw1.Gateway().GetNetwork(channelName)
	events, err := network.ChaincodeEvents(ctx, chaincodeName)
	if err != nil {
		t.Fatalf("chaincode events: %v", err)
	}
	mk := func(event, severity, category, asset, principal string, score float64) wire.Alert {
		eh := sha(run + event)
		return wire.Alert{
			ID: wire.AlertID("Org1MSP", gwID, eh, model.ID, model.Version), MSP: "Org1MSP", GatewayID: gwID,
			EventHash: eh, BatchID: batch.ID, EventTime: wire.NewTime(now.Add(-time.Second)), Detector: model,
			Score: score, Severity: severity, Category: category, Asset: asset, Principal: principal,
		}
	}
	intrusion := mk("a", wire.SeverityCritical, "TA0001", "web-01", "", 0.97)
	brute := mk("b", wire.SeverityHigh, "T1110", "ssh-01", "pseudo-"+sha("alice")[:16], 0.91)
	benign := mk("c", wire.SeverityLow, "T1046", "ws-07", "", 0.55)
	var raised wire.RaiseResult
	submitJSON(ctx, t, gw1, wire.ContractAlerts, wire.TxRaiseAlerts, &raised, mustJSON(t, []wire.Alert{intrusion, brute, benign}))
	if raised.Created != 3 || len(raised.Responses) != 2 {
		t.Fatalf("RaiseAlerts created %d alerts and %d responses, want 3 and 2: %+v", raised.Created, len(raised.Responses), raised)
	}

	ev := nextEvent(ctx, t, events, wire.EventResponsesRequested)
	var payload wire.ResponseEvent
	if err := json.Unmarshal(ev.Payload, &payload); err != nil {
		t.Fatalf("event payload: %v", err)
	}
	states := map[string]string{}
	for _, r := range payload.Requests {
		states[r.PolicyID] = r.State
		if r.BatchID != batch.ID {
			t.Fatalf("request %s names batch %q, want %s", r.ID, r.BatchID, batch.ID)
		}
	}
	wantStates := map[string]string{isolate.ID: wire.ResponseRequested, mfa.ID: wire.ResponseAwaitingApproval}
	if fmt.Sprint(states) != fmt.Sprint(wantStates) {
		t.Fatalf("event request states = %v, want %v", states, wantStates)
	}
	isolateID := wire.ResponseID(intrusion.ID, isolate.ID, 1)
	mfaID := wire.ResponseID(brute.ID, mfa.ID, 1)

	// Replaying the same alerts writes nothing and requests nothing.
	var replay wire.RaiseResult
	// rspSubmit retries the transient endorsement mismatch of the two
	// peers at different heights; every call here is idempotent.
	rspSubmit(ctx, t, gw1, wire.ContractAlerts, wire.TxRaiseAlerts, &replay, mustJSON(t, []wire.Alert{intrusion, brute, benign}))
	if replay.Created != 0 || len(replay.Existing) != 3 || len(replay.Responses) != 0 {
		t.Fatalf("replayed RaiseAlerts = %+v, want 0 created, 3 existing, no responses", replay)
	}

	// The executor records the autonomous response's outcome, twice.
	var resp wire.Response
	for range 2 {
		rspSubmit(ctx, t, gw1, wire.ContractResponses, wire.TxRecordOutcome, &resp, isolateID, wire.ResponseSucceeded, "isolated web-01")
	}
	if resp.State != wire.ResponseSucceeded || len(resp.Outcomes) != 1 {
		t.Fatalf("after RecordOutcome twice: state %q with %d outcomes, want succeeded with 1", resp.State, len(resp.Outcomes))
	}

	// RecordOutcomes answers per record: the replay of that outcome is
	// accepted without a write, while the gated response, still awaiting
	// approval, refuses its outcome alone.
	var outcomes wire.OutcomesResult
	rspSubmit(ctx, t, gw1, wire.ContractResponses, wire.TxRecordOutcomes, &outcomes, mustJSON(t, []wire.OutcomeRecord{
		{ResponseID: isolateID, Status: wire.ResponseSucceeded, Detail: "isolated web-01"},
		{ResponseID: mfaID, Status: wire.ResponseSucceeded, Detail: "too early"},
	}))
	if r := outcomes.Results; len(r) != 2 || !r[0].OK() || r[0].Recorded || r[0].State != wire.ResponseSucceeded ||
		r[1].Code != wire.CodeState || r[1].State != wire.ResponseAwaitingApproval {
		t.Fatalf("RecordOutcomes = %s, want the replay accepted unwritten and the gated response refused with %s", mustJSON(t, outcomes), wire.CodeState)
	}

	// Org2's admin releases the gated response: the event announces it.
	submitJSON(ctx, t, admin2, wire.ContractResponses, wire.TxApproveResponse, &resp, mfaID)
	if resp.State != wire.ResponseRequested {
		t.Fatalf("after approval response state = %q, want requested", resp.State)
	}
	ev = nextEvent(ctx, t, events, wire.EventResponsesRequested)
	if err := json.Unmarshal(ev.Payload, &payload); err != nil || len(payload.Requests) != 1 || payload.Requests[0].ID != mfaID {
		t.Fatalf("approval event = %s (%v), want one request %s", ev.Payload, err, mfaID)
	}
	if p := payload.Requests[0].Actions[0].Params["principal"]; p != brute.Principal {
		t.Fatalf("mfa principal param = %q, want the alert's pseudonymised principal %q", p, brute.Principal)
	}

	// An analyst acknowledges the alert (addressed by batch and alert id);
	// its history shows the raise and the change.
	var acked wire.Alert
	submitJSON(ctx, t, analyst1, wire.ContractAlerts, wire.TxUpdateAlertStatus, &acked, batch.ID, brute.ID, wire.AlertAcknowledged, "investigating")
	var got wire.Alert
	evaluateJSON(ctx, t, auditor2, wire.ContractAlerts, wire.TxGetAlert, &got, batch.ID, brute.ID)
	if got.Status != wire.AlertAcknowledged || got.RaisedTx != raised.TxID || got.LastChange == nil || got.LastChange.TxID != acked.LastChange.TxID {
		t.Fatalf("GetAlert = %s, want acknowledged, raised in %s", mustJSON(t, got), raised.TxID)
	}
	var hist wire.Page[wire.HistoryEntry[wire.Alert]]
	evaluateJSON(ctx, t, auditor2, wire.ContractAlerts, wire.TxGetAlertHistory, &hist, batch.ID, brute.ID, "10", "")
	if len(hist.Records) != 2 || hist.Records[0].Value.Status != wire.AlertAcknowledged || hist.Records[1].Value.Status != wire.AlertOpen ||
		hist.Records[1].TxID != raised.TxID {
		t.Fatalf("alert history = %s, want acknowledged then open (newest first)", mustJSON(t, hist))
	}
	var listed wire.Page[wire.Alert]
	filter := mustJSON(t, wire.AlertFilter{MSP: "Org1MSP", GatewayID: gwID, BatchID: batch.ID, Status: wire.AlertAcknowledged})
	evaluateJSON(ctx, t, auditor2, wire.ContractAlerts, wire.TxListAlerts, &listed, filter, "10", "")
	if len(listed.Records) != 1 || listed.Records[0].ID != brute.ID || listed.Bookmark != "" {
		t.Fatalf("ListAlerts(acknowledged in batch) = %s, want the one alert", mustJSON(t, listed))
	}
}

func nextEvent(ctx context.Context, t *testing.T, events <-chan *client.ChaincodeEvent, name string) *client.ChaincodeEvent {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("chaincode event stream closed")
			}
			if ev.EventName == name {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s chaincode event within 30s", name)
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
}

// TestUnauthorisedIdentitiesAreRefused checks the rules every endorsing
// peer enforces: roles, and each org acting only for itself.
func TestUnauthorisedIdentitiesAreRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run := fmt.Sprint(time.Now().UnixNano())
	now := time.Now().UTC()
	batch := wire.Batch{
		MSP: "Org1MSP", GatewayID: "deny-" + run, TreeSizeBefore: 0, TreeSizeAfter: 1, RootHash: sha(run),
		FirstSeq: 0, LastSeq: 0, FirstEventTime: wire.NewTime(now), LastEventTime: wire.NewTime(now),
		ClassCounts: map[string]uint64{"flow": 1}, Models: []wire.Model{},
	}
	batch.ID = wire.BatchID(batch.MSP, batch.GatewayID, 0, 1, batch.RootHash)
	policy := wire.Policy{ID: "deny-" + run, Version: 1, Condition: "true", Mode: wire.ModeDryRun,
		Actions: []wire.Action{{Type: wire.ActionNotify, Params: map[string]string{"channel": "soc", "message": "x"}}}}
	tests := []struct {
		name              string
		org, identity     string
		contract, fn      string
		args              []string
		wantMissingRightS string
	}{
		{"Org2 gateway anchors as Org1", "org2", "gateway", wire.ContractEvents, wire.TxAnchorBatch, []string{mustJSON(t, batch)}, "Org1MSP"},
		{"auditor anchors a batch", "org1", "auditor", wire.ContractEvents, wire.TxAnchorBatch, []string{mustJSON(t, batch)}, "gateway"},
		{"gateway proposes a policy", "org1", "gateway", wire.ContractPolicies, wire.TxProposePolicy, []string{mustJSON(t, policy)}, "author"},
		{"author approves a policy", "org1", "author", wire.ContractPolicies, wire.TxApprovePolicy, []string{policy.ID, "1"}, "admin"},
		{"admin anchors a batch", "org1", "", wire.ContractEvents, wire.TxAnchorBatch, []string{mustJSON(t, batch)}, "gateway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, tt.org, tt.identity)
			_, err := c.Contract(channelName, chaincodeName, tt.contract).SubmitWithContext(ctx, tt.fn, client.WithArguments(tt.args...))
			if err == nil {
				t.Fatalf("%s succeeded, want access denied", tt.fn)
			}
			// Over gRPC only the chaincode's message survives; the
			// chaincode's denial names the function and the missing right.
			msg := fabricDetails(err)
			if !strings.Contains(msg, "access denied") || !strings.Contains(msg, tt.wantMissingRightS) || !strings.Contains(msg, tt.fn) {
				t.Fatalf("error = %s, want an access denial naming %q and %s", msg, tt.wantMissingRightS, tt.fn)
			}
		})
	}
}
