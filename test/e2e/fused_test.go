package e2e

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/connector"
	"github.com/ledgerguard/ledgerguard/gateway/connector/rest"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
	"github.com/ledgerguard/ledgerguard/gateway/respond"
)

// TestAnchorAndRaiseEndToEnd drives events:AnchorAndRaise through the
// gateway's ledger adapter on the real network: one transaction anchors a
// batch and raises its alert, the policy in force requests a response in
// it, the responder (listening to chaincode events) executes the action
// and records its outcome; a replay writes nothing and answers with the
// existing records; an alert of a batch other than the one anchored is
// refused with a code and nothing of the transaction is kept.
func TestAnchorAndRaiseEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	run := fmt.Sprint(time.Now().UnixNano())
	gwID := "fuse-" + run
	author1 := dial(t, "org1", "author")
	admin1 := dial(t, "org1", "")
	admin2 := dial(t, "org2", "")
	gw1 := dial(t, "org1", gatewayIdentity(t, "org1", gwID))
	ledger := fabric.NewLedger(gw1, channelName, chaincodeName)

	p := wire.Policy{ID: "fuse-iso-" + run, Version: 1, Mode: wire.ModeEnforce, Condition: fmt.Sprintf(`alert.gateway == %q`, gwID),
		Actions: []wire.Action{{Type: wire.ActionIsolateHost, Params: map[string]string{"host": "{{alert.asset}}"}}}}
	rspSubmit(ctx, t, author1, wire.ContractPolicies, wire.TxProposePolicy, nil, mustJSONString(t, p))
	rspSubmit(ctx, t, admin1, wire.ContractPolicies, wire.TxApprovePolicy, nil, p.ID, "1")
	rspSubmit(ctx, t, admin2, wire.ContractPolicies, wire.TxApprovePolicy, nil, p.ID, "1")
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), time.Minute)
		defer ccancel()
		if _, err := author1.Contract(channelName, chaincodeName, wire.ContractPolicies).SubmitWithContext(cctx, wire.TxRevokePolicy,
			client.WithArguments(p.ID, "1", "end of e2e run "+run)); err != nil {
			t.Logf("revoke %s: %s", p.ID, fabricDetails(err))
		}
	})

	h, err := height(ctx, gw1)
	if err != nil {
		t.Fatal(err)
	}
	receiver, srv := newActionReceiver(t)
	iso, err := rest.New(wire.ActionIsolateHost, connector.RESTConfig{HTTPCall: connector.HTTPCall{URL: srv.URL + "/isolate",
		Body: `{"response": {{json .Request.ResponseID}}, "alert": {{if .Alert}}{{json .Alert.ID}}{{else}}null{{end}}}`}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	startResponder(t, gw1, respond.Config{
		GatewayIDs: []string{gwID}, CheckpointFile: filepath.Join(dir, "checkpoint.json"), JournalFile: filepath.Join(dir, "journal"),
		StartBlock: &h, Workers: 2, Timeout: 5 * time.Second,
		Retry:         respond.Retry{Attempts: 3, InitialBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond},
		LedgerBackoff: time.Second,
	}, map[string]connector.Connector{wire.ActionIsolateHost: iso})

	now := time.Now().UTC()
	model := gateway.ModelRef{ID: "fuse-model", Version: "1", SHA256: sha(run + "model")}
	batchOf := func(before, after uint64) gateway.Batch {
		root := sha(fmt.Sprint(run, after))
		return gateway.Batch{ID: wire.BatchID("Org1MSP", gwID, before, after, root), GatewayMSP: "Org1MSP", GatewayID: gwID,
			TreeSizeBefore: before, TreeSizeAfter: after, RootHash: root, FirstSeq: before, LastSeq: after - 1,
			TimeFrom: now.Add(-time.Minute), TimeTo: now, ClassCounts: map[string]int{"network_activity": int(after - before)},
			Models: []gateway.ModelRef{model}}
	}
	alertOf := func(b gateway.Batch, event string) wire.Alert {
		eh := sha(run + event)
		return wire.Alert{ID: wire.AlertID("Org1MSP", gwID, eh, model.ID, model.Version), MSP: "Org1MSP", GatewayID: gwID,
			EventHash: eh, BatchID: b.ID, EventTime: wire.NewTime(now.Add(-time.Second)),
			Detector: wire.Model{ID: model.ID, Version: model.Version, SHA256: model.SHA256},
			Score:    0.97, Severity: wire.SeverityHigh, Category: "fuse-intrusion", Asset: "host-" + event}
	}

	b1 := batchOf(0, 32)
	a1 := alertOf(b1, "e1")
	anc, res, err := ledger.AnchorAndRaise(ctx, b1, []wire.Alert{a1})
	if err != nil {
		t.Fatalf("AnchorAndRaise: %s", fabricDetails(err))
	}
	waitPeersAt(ctx, t, anc.BlockNumber)
	if anc.Replayed || anc.TxID == "" || res.TxID != anc.TxID || res.Created != 1 {
		t.Fatalf("anchor %+v, raise %+v: want one new transaction creating the alert", anc, res)
	}
	respID := wire.ResponseID(a1.ID, p.ID, 1)
	found := false
	for _, r := range res.Responses {
		found = found || r.ID == respID
	}
	if !found {
		t.Fatalf("responses %+v lack %s", res.Responses, respID)
	}
	got, err := ledger.GetAlert(ctx, b1.ID, a1.ID)
	if err != nil {
		t.Fatalf("GetAlert: %s", fabricDetails(err))
	}
	if got.RaisedTx != anc.TxID {
		t.Fatalf("alert raised in %s, batch anchored in %s", got.RaisedTx, anc.TxID)
	}

	t.Run("the responder acts on the fused transaction's event", func(t *testing.T) {
		r := waitState(ctx, t, gw1, respID, wire.ResponseSucceeded, time.Minute)
		if calls, _ := receiver.count("/isolate", respID); calls != 1 {
			t.Fatalf("receiver saw %d calls for %s, want 1", calls, respID)
		}
		if len(r.Outcomes) != 1 {
			t.Fatalf("outcomes = %+v, want one", r.Outcomes)
		}
	})

	t.Run("replay writes nothing", func(t *testing.T) {
		anc2, res2, err := ledger.AnchorAndRaise(ctx, b1, []wire.Alert{a1})
		if err != nil {
			t.Fatalf("replay: %s", fabricDetails(err))
		}
		if !anc2.Replayed || anc2.TxID != anc.TxID || res2.Created != 0 || len(res2.Existing) != 1 || len(res2.Responses) != 0 {
			t.Fatalf("replay = anchor %+v, raise %+v; want the first transaction's records, the alert existing", anc2, res2)
		}
	})

	t.Run("an alert of another batch is refused and nothing is kept", func(t *testing.T) {
		b2 := batchOf(32, 40)
		other := alertOf(b1, "e2") // cites b1, carried with b2
		_, _, err := ledger.AnchorAndRaise(ctx, b2, []wire.Alert{other})
		var rej *gateway.LedgerRejectedError
		if !errors.As(err, &rej) || rej.Code != wire.CodeInvalid {
			t.Fatalf("AnchorAndRaise = %v, want a refusal with code %s", err, wire.CodeInvalid)
		}
		size, err := ledger.AnchoredSize(ctx, "Org1MSP", gwID)
		if err != nil || size != 32 {
			t.Fatalf("anchored size = %d, %v; want 32 (the refused batch not anchored)", size, err)
		}
		// The log goes on with the batch alone.
		anc3, err := ledger.AnchorBatch(ctx, b2)
		if err != nil || anc3.Replayed {
			t.Fatalf("AnchorBatch after the refusal = %+v, %v", anc3, err)
		}
	})
}
