package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// TestGatewayIdentityCannotActForAnotherGateway: a gateway identity is
// bound (certificate attribute ledgerguard.gateway) to one gateway id. An
// identity bound to gateway A submits a well-formed next batch, and an
// alert on B's anchored batch, for a live gateway B: both are refused with
// the chaincode's access denial naming the binding, B's checkpoint is
// unchanged and no alert is recorded, and B keeps anchoring. The same
// batch and alert, simulated as B's own identity, pass: what A sent was
// well-formed, only the identity was wrong.
func TestGatewayIdentityCannotActForAnotherGateway(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	b := newGateway(t, gatewayOpts{detection: true})
	if st, body := b.post("/v1/events", "Bearer "+ndjsonToken, "application/x-ndjson",
		[]byte(fmt.Sprintf("{\"event\":{\"msg\":\"gwid one %d\"}}\n{\"event\":{\"msg\":\"gwid two %d\"}}\n", time.Now().UnixNano(), time.Now().UnixNano()))); st != http.StatusOK {
		t.Fatalf("NDJSON to gateway B: %d %s", st, body)
	}
	b.waitAnchored(ctx, 2)

	auditor := dial(t, "org1", "auditor")
	checkpoint := func() wire.Checkpoint {
		t.Helper()
		var cp wire.Checkpoint
		evaluateJSON(ctx, t, auditor, "events", "LatestCheckpoint", &cp, "Org1MSP", b.id)
		return cp
	}
	before := checkpoint()
	var last wire.Batch
	evaluateJSON(ctx, t, auditor, "events", "GetBatch", &last, before.BatchID)
	if len(last.Models) == 0 {
		t.Fatalf("gateway B's batch %s lists no models; an alert on it cannot be well-formed", last.ID)
	}

	// The forged next batch: it continues B's log exactly, with a root of
	// the forger's choosing.
	now := time.Now().UTC()
	forged := wire.Batch{
		MSP: "Org1MSP", GatewayID: b.id, TreeSizeBefore: before.TreeSize, TreeSizeAfter: before.TreeSize + 1,
		RootHash: strings.Repeat("f", 64), FirstSeq: before.LastSeq + 1, LastSeq: before.LastSeq + 1,
		FirstEventTime: wire.NewTime(now), LastEventTime: wire.NewTime(now),
		ClassCounts: map[string]uint64{"flow": 1}, Models: last.Models,
	}
	forged.ID = wire.BatchID(forged.MSP, forged.GatewayID, forged.TreeSizeBefore, forged.TreeSizeAfter, forged.RootHash)
	// A false alert on B's real, anchored batch.
	model := last.Models[0]
	eventHash := sha("gwid forged event " + b.id)
	alert := wire.Alert{
		ID: wire.AlertID("Org1MSP", b.id, eventHash, model.ID, model.Version), MSP: "Org1MSP", GatewayID: b.id,
		EventHash: eventHash, BatchID: last.ID, EventTime: last.FirstEventTime, Detector: model,
		Score: 0.99, Severity: wire.SeverityCritical, Category: "gwid-forged", Asset: "victim-01",
	}

	self := dial(t, "org1", gatewayIdentity(t, "org1", b.id))
	other := dial(t, "org1", gatewayIdentity(t, "org1", "e2e-gwA-"+fmt.Sprint(time.Now().UnixNano())))
	calls := []struct {
		contract, fn, arg string
	}{
		{"events", "AnchorBatch", mustJSON(t, forged)},
		{"alerts", "RaiseAlerts", mustJSON(t, []wire.Alert{alert})},
	}
	for _, c := range calls {
		t.Run(c.fn, func(t *testing.T) {
			// Simulated (never ordered) as B's own identity: well-formed.
			if _, err := self.Contract(channelName, chaincodeName, c.contract).EvaluateWithContext(ctx, c.fn, client.WithArguments(c.arg)); err != nil {
				t.Fatalf("%s simulated as gateway B's identity: %s; the forged input must be well-formed", c.fn, fabricDetails(err))
			}
			_, err := other.Contract(channelName, chaincodeName, c.contract).SubmitWithContext(ctx, c.fn, client.WithArguments(c.arg))
			if err == nil {
				t.Fatalf("%s for gateway %s as an identity bound to another gateway succeeded, want access denied", c.fn, b.id)
			}
			// Over gRPC only the chaincode's message survives: the
			// *access.DeniedError's text names the function and the
			// binding the call needed.
			msg := fabricDetails(err)
			if want := fmt.Sprintf("binding to gateway %q", b.id); !strings.Contains(msg, "access denied") || !strings.Contains(msg, want) || !strings.Contains(msg, c.fn) {
				t.Fatalf("error = %s, want an access denial of %s naming %s", msg, c.fn, want)
			}
		})
	}

	if after := checkpoint(); after.TreeSize != before.TreeSize || after.RootHash != before.RootHash ||
		after.LastSeq != before.LastSeq || after.BatchID != before.BatchID || after.TxID != before.TxID {
		t.Fatalf("gateway B's checkpoint changed:\n got %+v\nwant %+v", after, before)
	}
	_, err := auditor.Contract(channelName, chaincodeName, "alerts").EvaluateWithContext(ctx, "GetAlert", client.WithArguments(last.ID, alert.ID))
	if err == nil || !strings.Contains(fabricDetails(err), "not found") {
		t.Fatalf("GetAlert of the refused alert = %v, want not found", err)
	}

	// B's own log is intact: its next batch anchors.
	if st, body := b.post("/v1/events", "Bearer "+ndjsonToken, "application/x-ndjson",
		[]byte(fmt.Sprintf("{\"event\":{\"msg\":\"gwid three %d\"}}\n", time.Now().UnixNano()))); st != http.StatusOK {
		t.Fatalf("NDJSON to gateway B: %d %s", st, body)
	}
	b.waitAnchored(ctx, before.TreeSize+1)
	if got := checkpoint(); got.TreeSize != before.TreeSize+1 || got.RootHash == forged.RootHash {
		t.Fatalf("gateway B's checkpoint after its own next batch = %+v, want tree size %d and B's own root", got, before.TreeSize+1)
	}
}
