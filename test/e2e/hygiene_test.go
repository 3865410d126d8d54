package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
)

// TestAlertHygiene drives the hygiene rules on the real network, every
// rule and policy scoped to this run's gateway and revoked at the end (and
// Org1's caps restored), so nothing leaks into other tests:
//   - repeated detections of one entity become one alert whose count grows;
//   - a suppress rule approved by both orgs records a scanner's alerts as
//     suppressed, with no response, while other alerts still get one;
//   - Org1's cap of two isolations turns the third into rate-limited, and
//     a policy that escalates gets an awaiting-approval response instead.
func TestAlertHygiene(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	run := fmt.Sprint(time.Now().UnixNano())
	author1 := dial(t, "org1", "author")
	admin1 := dial(t, "org1", "")
	admin2 := dial(t, "org2", "")
	gwID := "e2e-hyg-" + run
	gw1 := dial(t, "org1", gatewayIdentity(t, "org1", gwID))
	auditor2 := dial(t, "org2", "auditor")
	onGW := `alert.gateway == "` + gwID + `"`

	cleanup := func(c *fabric.Client, contract, fn string, args ...string) {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := submitRetry(ctx, t, c, contract, fn, args...); err != nil {
				t.Errorf("cleanup %s %v: %s", fn, args, fabricDetails(err))
			}
		})
	}
	activateRule := func(r wire.HygieneRule) {
		t.Helper()
		var got wire.HygieneRule
		rspSubmit(ctx, t, author1, wire.ContractHygiene, wire.TxProposeHygieneRule, &got, mustJSON(t, r))
		cleanup(author1, wire.ContractHygiene, wire.TxRevokeHygieneRule, r.ID, "1", "end of e2e run")
		rspSubmit(ctx, t, admin1, wire.ContractHygiene, wire.TxApproveHygieneRule, &got, r.ID, "1")
		if got.State != wire.PolicyProposed {
			t.Fatalf("rule %s after Org1's approval alone: %s, want proposed", r.ID, got.State)
		}
		rspSubmit(ctx, t, admin2, wire.ContractHygiene, wire.TxApproveHygieneRule, &got, r.ID, "1")
		if got.State != wire.PolicyActive {
			t.Fatalf("rule %s after both approvals: %s, want active", r.ID, got.State)
		}
	}
	activatePolicy := func(p wire.Policy) {
		t.Helper()
		rspSubmit(ctx, t, author1, wire.ContractPolicies, wire.TxProposePolicy, nil, mustJSON(t, p))
		cleanup(author1, wire.ContractPolicies, wire.TxRevokePolicy, p.ID, "1", "end of e2e run")
		rspSubmit(ctx, t, admin1, wire.ContractPolicies, wire.TxApprovePolicy, nil, p.ID, "1")
		var got wire.Policy
		rspSubmit(ctx, t, admin2, wire.ContractPolicies, wire.TxApprovePolicy, &got, p.ID, "1")
		if got.State != wire.PolicyActive {
			t.Fatalf("policy %s: %s, want active", p.ID, got.State)
		}
	}

	now := time.Now().UTC()
	model := wire.Model{ID: "e2e-model", Version: "1", SHA256: sha("e2e-model")}
	batch := wire.Batch{
		MSP: "Org1MSP", GatewayID: gwID, TreeSizeBefore: 0, TreeSizeAfter: 100, RootHash: sha(run),
		FirstSeq: 0, LastSeq: 99, FirstEventTime: wire.NewTime(now.Add(-time.Minute)), LastEventTime: wire.NewTime(now.Add(time.Minute)),
		ClassCounts: map[string]uint64{"flow": 100}, Models: []wire.Model{model},
	}
	batch.ID = wire.BatchID(batch.MSP, gwID, 0, 100, batch.RootHash)
	rspSubmit(ctx, t, gw1, wire.ContractEvents, wire.TxAnchorBatch, nil, mustJSON(t, batch))
	n := 0
	mk := func(category, asset string) wire.Alert {
		n++
		eh := sha(fmt.Sprintf("%s-%d", run, n))
		return wire.Alert{
			ID: wire.AlertID("Org1MSP", gwID, eh, model.ID, model.Version), MSP: "Org1MSP", GatewayID: gwID,
			EventHash: eh, BatchID: batch.ID, EventTime: wire.NewTime(now), Detector: model,
			Score: 0.97, Severity: wire.SeverityHigh, Category: category, Asset: asset, Principal: "pseudo-" + sha("mallory")[:16],
		}
	}
	raise := func(list ...wire.Alert) wire.RaiseResult {
		t.Helper()
		var res wire.RaiseResult
		rspSubmit(ctx, t, gw1, wire.ContractAlerts, wire.TxRaiseAlerts, &res, mustJSON(t, list))
		return res
	}
	// mine keeps the responses of this run's policies: policies other
	// tests left active on a shared network must not change the verdict.
	mine := func(rs []wire.ResponseRequest) []wire.ResponseRequest {
		var out []wire.ResponseRequest
		for _, r := range rs {
			if strings.HasSuffix(r.PolicyID, run) {
				out = append(out, r)
			}
		}
		return out
	}
	getAlert := func(id string) wire.Alert {
		t.Helper()
		var a wire.Alert
		evaluateJSON(ctx, t, auditor2, wire.ContractAlerts, wire.TxGetAlert, &a, batch.ID, id)
		return a
	}

	t.Run("repeated detections become one alert", func(t *testing.T) {
		activateRule(wire.HygieneRule{ID: "dedup-" + run, Version: 1, Kind: wire.RuleDedup,
			Condition: onGW + ` && alert.category == "T1110"`, WindowSeconds: 3600, Description: "e2e dedup"})
		var first []wire.Alert
		for range 5 {
			first = append(first, mk("T1110", "ssh-01"))
		}
		res := raise(first...)
		if res.Created != 1 || len(res.Merged) != 4 {
			t.Fatalf("first RaiseAlerts: created %d, merged %d; want 1 and 4", res.Created, len(res.Merged))
		}
		into := res.Merged[0].IntoAlertID
		if a := getAlert(into); a.Count != 5 {
			t.Fatalf("count after 5 detections = %d", a.Count)
		}
		var more []wire.Alert
		for range 5 {
			more = append(more, mk("T1110", "ssh-01"))
		}
		res = raise(more...)
		if res.Created != 0 || len(res.Merged) != 5 || res.Merged[4].Count != 10 || res.Merged[4].IntoAlertID != into {
			t.Fatalf("second RaiseAlerts: %s", mustJSON(t, res))
		}
		if a := getAlert(into); a.Count != 10 || a.LastSeen.IsZero() {
			t.Fatalf("alert after 10 detections: count %d, last seen %s", a.Count, a.LastSeen)
		}
	})

	t.Run("suppressed scanner", func(t *testing.T) {
		activatePolicy(wire.Policy{ID: "hyg-notify-" + run, Version: 1, Condition: onGW + ` && alert.category == "T1046"`,
			Actions: []wire.Action{{Type: wire.ActionNotify, Params: map[string]string{"channel": "soc", "message": "scan from {{alert.asset}}"}}},
			Mode:    wire.ModeEnforce})
		activateRule(wire.HygieneRule{ID: "scanner-" + run, Version: 1, Kind: wire.RuleSuppress,
			Condition: onGW + ` && alert.asset == "scanner-01"`, Reason: "authorised vulnerability scanner",
			ExpiresAt: wire.NewTime(time.Now().Add(time.Hour).Truncate(time.Second))})
		s1, s2, other := mk("T1046", "scanner-01"), mk("T1046", "scanner-01"), mk("T1046", "ws-07")
		res := raise(s1, s2, other)
		if own := mine(res.Responses); res.Created != 3 || len(res.Suppressed) != 2 || len(own) != 1 || own[0].AlertID != other.ID {
			t.Fatalf("RaiseAlerts: %s", mustJSON(t, res))
		}
		a := getAlert(s1.ID)
		if a.Status != wire.AlertSuppressed || a.SuppressedBy == nil || a.SuppressedBy.ID != "scanner-"+run {
			t.Fatalf("scanner alert: status %s, suppressed by %+v", a.Status, a.SuppressedBy)
		}
		var listed wire.Page[wire.Alert]
		filter := mustJSON(t, wire.AlertFilter{MSP: "Org1MSP", GatewayID: gwID, BatchID: batch.ID, Status: wire.AlertSuppressed})
		evaluateJSON(ctx, t, auditor2, wire.ContractAlerts, wire.TxListAlerts, &listed, filter, "100", "")
		if len(listed.Records) != 2 {
			t.Fatalf("%d suppressed alerts listed, want 2", len(listed.Records))
		}
	})

	t.Run("org cap and escalation", func(t *testing.T) {
		var before wire.OrgCaps
		evaluateJSON(ctx, t, auditor2, wire.ContractHygiene, wire.TxGetOrgCaps, &before, "Org1MSP")
		restore := wire.OrgCaps{MSP: "Org1MSP", Caps: before.Caps}
		cleanup(admin1, wire.ContractHygiene, wire.TxSetOrgCaps, mustJSON(t, restore))
		// A one-minute window, and all four alerts in one transaction (one
		// timestamp): earlier runs' marks are in earlier windows.
		caps := wire.OrgCaps{MSP: "Org1MSP", Caps: []wire.OrgCap{{Action: wire.ActionIsolateHost, Max: 2, WindowSeconds: 60}}}
		rspSubmit(ctx, t, admin1, wire.ContractHygiene, wire.TxSetOrgCaps, nil, mustJSON(t, caps))
		isolate := []wire.Action{{Type: wire.ActionIsolateHost, Params: map[string]string{"host": "{{alert.asset}}"}}}
		activatePolicy(wire.Policy{ID: "hyg-cap-a-" + run, Version: 1, Condition: onGW + ` && alert.category == "cap-a"`, Actions: isolate, Mode: wire.ModeEnforce})
		activatePolicy(wire.Policy{ID: "hyg-cap-b-" + run, Version: 1, Condition: onGW + ` && alert.category == "cap-b"`, Actions: isolate, Mode: wire.ModeEnforce,
			EscalateLimited: true})
		res := raise(mk("cap-a", "h1"), mk("cap-a", "h2"), mk("cap-a", "h3"), mk("cap-b", "h4"))
		var got []string
		own := mine(res.Responses)
		for _, r := range own {
			got = append(got, r.Target+":"+r.State)
		}
		want := []string{"h1:requested", "h2:requested", "h3:rate-limited", "h4:awaiting-approval"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("responses = %v, want %v", got, want)
		}
		var r wire.Response
		evaluateJSON(ctx, t, auditor2, wire.ContractResponses, wire.TxGetResponse, &r, own[3].ID)
		if r.LimitedBy != wire.LimitedByOrgCap+":"+wire.ActionIsolateHost || r.RequiredApprovals != 1 {
			t.Fatalf("escalated response: limitedBy %q, required approvals %d", r.LimitedBy, r.RequiredApprovals)
		}
	})
}
