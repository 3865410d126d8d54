package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
)

// revokeLater revokes policy id version 1 as author when the test ends, so
// a policy of this run never matches a later run's alerts.
func revokeLater(t *testing.T, author *fabric.Client, id string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := submitRetry(ctx, t, author, wire.ContractPolicies, wire.TxRevokePolicy, id, "1", "end of e2e run"); err != nil {
			t.Errorf("revoke policy %s: %s", id, fabricDetails(err))
		}
	})
}

// TestOrg1AloneCannotActForTheConsortium: finding 1 of issue 10 on the
// real network. A consortium policy proposed with quorum 1 and approved by
// Org1 alone stays proposed (its quorum is raised to the majority of the
// two members), and so does a shared model registered with quorum 1; the
// second organisation's approval enacts each.
func TestOrg1AloneCannotActForTheConsortium(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run := fmt.Sprint(time.Now().UnixNano())
	author1 := dial(t, "org1", "author")
	admin1 := dial(t, "org1", "")
	admin2 := dial(t, "org2", "")

	t.Run("consortium policy", func(t *testing.T) {
		p := wire.Policy{
			ID: "solo-" + run, Version: 1, Condition: `alert.gateway == "nobody-` + run + `"`,
			Actions: []wire.Action{{Type: wire.ActionIsolateHost, Params: map[string]string{"host": "{{alert.asset}}"}}},
			Mode:    wire.ModeEnforce, Quorum: 1,
		}
		var got wire.Policy
		rspSubmit(ctx, t, author1, "policies", "ProposePolicy", &got, mustJSON(t, p))
		revokeLater(t, author1, p.ID)
		if got.Scope != wire.ScopeConsortium || got.Quorum != 2 {
			t.Fatalf("proposed with quorum 1: scope %q quorum %d, want consortium and the floor 2", got.Scope, got.Quorum)
		}
		rspSubmit(ctx, t, admin1, "policies", "ApprovePolicy", &got, p.ID, "1")
		if got.State != wire.PolicyProposed {
			t.Fatalf("after Org1's approval alone the policy is %q, want %q (approvals %+v)", got.State, wire.PolicyProposed, got.Approvals)
		}
		var active wire.Policy
		evaluateJSON(ctx, t, admin2, "policies", "GetPolicy", &active, p.ID, "0")
		if active.State != wire.PolicyProposed {
			t.Fatalf("GetPolicy says %q, want %q", active.State, wire.PolicyProposed)
		}
		rspSubmit(ctx, t, admin2, "policies", "ApprovePolicy", &got, p.ID, "1")
		if got.State != wire.PolicyActive {
			t.Fatalf("after both approvals the policy is %q, want %q", got.State, wire.PolicyActive)
		}
	})

	t.Run("shared model", func(t *testing.T) {
		m := wire.ModelRecord{
			Name: "e2e-quorum-" + run, Version: "1", SHA256: sha("model " + run), FeaturesSHA256: sha("features " + run),
			Description: "registered by the quorum e2e test", Quorum: 1,
		}
		var got wire.ModelRecord
		rspSubmit(ctx, t, author1, "models", "RegisterModel", &got, mustJSON(t, m))
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := submitRetry(ctx, t, author1, "models", "RevokeModel", m.Name, m.Version, "end of e2e run"); err != nil {
				t.Errorf("revoke model %s: %s", m.Name, fabricDetails(err))
			}
		})
		if got.Quorum != 2 {
			t.Fatalf("registered with quorum 1: quorum %d, want the floor 2", got.Quorum)
		}
		rspSubmit(ctx, t, admin1, "models", "ApproveModel", &got, m.Name, m.Version)
		if got.State != wire.ModelRegistered {
			t.Fatalf("after Org1's approval alone the model is %q, want %q", got.State, wire.ModelRegistered)
		}
		rspSubmit(ctx, t, admin2, "models", "ApproveModel", &got, m.Name, m.Version)
		if got.State != wire.ModelApproved {
			t.Fatalf("after both approvals the model is %q, want %q", got.State, wire.ModelApproved)
		}
	})
}

// TestOrgScopedPolicyActsOnlyOnItsOwnersAlerts: an Org1 policy scoped to
// Org1 is enacted by Org1's admin alone and then requests a response for
// an Org1 alert (addressed to Org1, carrying its scope, owner and
// approval) and none for the same kind of alert raised by Org2.
func TestOrgScopedPolicyActsOnlyOnItsOwnersAlerts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run := fmt.Sprint(time.Now().UnixNano())
	author1 := dial(t, "org1", "author")
	admin1 := dial(t, "org1", "")
	gwID1, gwID2 := "q1-"+run, "q2-"+run
	gw1 := dial(t, "org1", gatewayIdentity(t, "org1", gwID1))
	gw2 := dial(t, "org2", gatewayIdentity(t, "org2", gwID2))

	p := wire.Policy{
		ID: "own-" + run, Version: 1,
		Condition: `(alert.gateway == "` + gwID1 + `" || alert.gateway == "` + gwID2 + `") && alert.severity == "critical"`,
		Actions:   []wire.Action{{Type: wire.ActionIsolateHost, Params: map[string]string{"host": "{{alert.asset}}"}}},
		Mode:      wire.ModeEnforce, Quorum: 1, Scope: wire.ScopeOrg,
	}
	var got wire.Policy
	rspSubmit(ctx, t, author1, "policies", "ProposePolicy", &got, mustJSON(t, p))
	revokeLater(t, author1, p.ID)
	rspSubmit(ctx, t, admin1, "policies", "ApprovePolicy", &got, p.ID, "1")
	if got.State != wire.PolicyActive || got.Scope != wire.ScopeOrg || got.Owner != "Org1MSP" {
		t.Fatalf("org-scoped policy after its owner's approval: state %q scope %q owner %q, want active, org, Org1MSP", got.State, got.Scope, got.Owner)
	}

	now := time.Now().UTC()
	model := wire.Model{ID: "e2e-model", Version: "1", SHA256: sha("e2e-model")}
	raise := func(gw *fabric.Client, msp, gwID string) wire.RaiseResult {
		t.Helper()
		b := wire.Batch{
			MSP: msp, GatewayID: gwID, TreeSizeBefore: 0, TreeSizeAfter: 1, RootHash: sha(run + gwID),
			FirstSeq: 0, LastSeq: 0, FirstEventTime: wire.NewTime(now.Add(-time.Minute)), LastEventTime: wire.NewTime(now.Add(-time.Minute)),
			ClassCounts: map[string]uint64{"flow": 1}, Models: []wire.Model{model},
		}
		b.ID = wire.BatchID(b.MSP, gwID, 0, 1, b.RootHash)
		rspSubmit(ctx, t, gw, "events", "AnchorBatch", nil, mustJSON(t, b))
		eh := sha(run + gwID + "event")
		a := wire.Alert{
			ID: wire.AlertID(msp, gwID, eh, model.ID, model.Version), MSP: msp, GatewayID: gwID,
			EventHash: eh, BatchID: b.ID, EventTime: wire.NewTime(now.Add(-time.Minute)), Detector: model,
			Score: 0.99, Severity: wire.SeverityCritical, Category: "TA0001", Asset: "host-" + msp,
		}
		var res wire.RaiseResult
		rspSubmit(ctx, t, gw, "alerts", "RaiseAlerts", &res, mustJSON(t, []wire.Alert{a}))
		if res.Created != 1 {
			t.Fatalf("RaiseAlerts as %s created %d alerts, want 1: %+v", msp, res.Created, res)
		}
		return res
	}
	ofPolicy := func(res wire.RaiseResult) []wire.ResponseRequest {
		var out []wire.ResponseRequest
		for _, r := range res.Responses {
			if r.PolicyID == p.ID {
				out = append(out, r)
			}
		}
		return out
	}

	own := ofPolicy(raise(gw1, "Org1MSP", gwID1))
	if len(own) != 1 {
		t.Fatalf("responses of %s for Org1's alert = %+v, want one", p.ID, own)
	}
	r := own[0]
	if r.MSP != "Org1MSP" || r.PolicyScope != wire.ScopeOrg || r.PolicyOwner != "Org1MSP" ||
		len(r.PolicyApprovedBy) != 1 || r.PolicyApprovedBy[0] != "Org1MSP" || r.State != wire.ResponseRequested {
		t.Fatalf("response for Org1's alert = %+v, want requested, addressed to Org1MSP, scope org, owner and approver Org1MSP", r)
	}
	if other := ofPolicy(raise(gw2, "Org2MSP", gwID2)); len(other) != 0 {
		t.Fatalf("Org1's org-scoped policy requested %+v for Org2's alert, want nothing", other)
	}
}
