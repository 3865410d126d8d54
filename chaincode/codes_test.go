package main

import (
	"errors"
	"testing"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/fixture"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/harness"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/keys"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/ledgertest"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// TestErrorCodes proves, per wire.Code, that a real contract call failing
// for that reason returns, through contractapi's dispatch and the coded
// wrapper as the peer runs them, a message wire.ParseError reads back with
// that code: the gateway decides retry or refuse on these codes alone.
// contractapi's own refusals (unknown contract or function, argument count
// or conversion) carry no code of their own; the wrapper makes them
// wire.CodeInvalid.
func TestErrorCodes(t *testing.T) {
	absent := fixture.Hash("absent")
	tests := []struct {
		name  string
		setup func(h *harness.H)
		who   *ledgertest.Identity
		args  []string
		want  wire.Code
	}{
		{name: "absent alert", who: harness.Org1Auditor,
			args: []string{"alerts:" + wire.TxGetAlert, absent, absent}, want: wire.CodeNotFound},
		{name: "outcome of an absent response", who: harness.Org1Gateway,
			args: []string{"responses:" + wire.TxRecordOutcome, absent, wire.ResponseSucceeded, "done"}, want: wire.CodeNotFound},
		{name: "no checkpoint yet", who: harness.Org1Auditor,
			args: []string{"events:" + wire.TxLatestCheckpoint, "", "gw-1"}, want: wire.CodeNotFound},
		{name: "absent policy", who: harness.Org1Auditor,
			args: []string{"policies:" + wire.TxGetPolicy, "p1", "0"}, want: wire.CodeNotFound},
		{name: "absent model", who: harness.Org1Auditor,
			args: []string{"models:" + wire.TxGetModel, "m", "1.0.0"}, want: wire.CodeNotFound},
		{name: "absent heartbeat", who: harness.Org1Auditor,
			args: []string{"system:" + wire.TxGetHeartbeat, "Org1MSP", "tx"}, want: wire.CodeNotFound},
		{name: "role lacking", who: harness.Org1Auditor,
			args: []string{"alerts:" + wire.TxRaiseAlerts, "[]"}, want: wire.CodeDenied},
		{name: "anchor for another org", who: harness.Org1Gateway,
			args: []string{"events:" + wire.TxAnchorBatch, fixture.JSON(fixture.Batch("Org2MSP", "gateway2", 0, 10))}, want: wire.CodeDenied},
		{name: "non-member approves", setup: proposed(1), who: harness.Org3Admin,
			args: []string{"policies:" + wire.TxApprovePolicy, "p1", "1"}, want: wire.CodeDenied},
		{name: "bad JSON", who: harness.Org1Gateway,
			args: []string{"alerts:" + wire.TxRaiseAlerts, "[{"}, want: wire.CodeInvalid},
		{name: "page size", who: harness.Org1Auditor,
			args: []string{"responses:" + wire.TxListResponses, "", "1001", ""}, want: wire.CodeInvalid},
		{name: "key attribute", who: harness.Org1Auditor,
			args: []string{"events:" + wire.TxLatestCheckpoint, "", "gw\xff"}, want: wire.CodeInvalid},
		{name: "heartbeat note too long", who: harness.Org1Gateway,
			args: []string{"system:" + wire.TxHeartbeat, string(make([]byte, 300))}, want: wire.CodeInvalid},
		{name: "batch does not extend", who: harness.Org1Gateway,
			setup: func(h *harness.H) { h.Anchor(harness.Org1Gateway, fixture.Batch("Org1MSP", "gw-1", 0, 10)) },
			args:  []string{"events:" + wire.TxAnchorBatch, fixture.JSON(fixture.Batch("Org1MSP", "gw-1", 20, 10))}, want: wire.CodeConflict},
		{name: "membership changed", setup: func(h *harness.H) { h.InitMembers() }, who: harness.Org1Admin,
			args: []string{"consortium:" + wire.TxInitMembers, `["Org1MSP"]`}, want: wire.CodeConflict},
		{name: "approve an active policy", setup: activeByOrg1, who: harness.Org2Admin,
			args: []string{"policies:" + wire.TxApprovePolicy, "p1", "1"}, want: wire.CodeState},
		{name: "failing stub read",
			setup: func(h *harness.H) { h.L.Fail(ledgertest.OpGet, "", errors.New("peer unavailable")) },
			who:   harness.Org1Auditor, args: []string{"events:" + wire.TxGetBatch, absent}, want: wire.CodeUnavailable},
		{name: "failing stub scan",
			setup: func(h *harness.H) { h.L.Fail(ledgertest.OpScan, "", errors.New("peer unavailable")) },
			who:   harness.Org1Auditor, args: []string{"alerts:" + wire.TxListAlerts, "", "10", ""}, want: wire.CodeInternal},
		{name: "failing stub history",
			setup: func(h *harness.H) {
				activeByOrg1(h)
				h.L.Fail(ledgertest.OpHistory, "", errors.New("history database disabled"))
			},
			who: harness.Org1Auditor, args: []string{"policies:" + wire.TxGetPolicyHistory, "p1", "1", "5", ""}, want: wire.CodeInternal},
		{name: "failing stub write",
			setup: func(h *harness.H) { h.L.Fail(ledgertest.OpPut, "", errors.New("peer unavailable")) },
			who:   harness.Org1Gateway, args: []string{"events:" + wire.TxAnchorBatch, fixture.JSON(fixture.Batch("Org1MSP", "gw-1", 0, 10))}, want: wire.CodeUnavailable},
		{name: "unknown function", who: harness.Org1Auditor,
			args: []string{"alerts:NoSuchFunction"}, want: wire.CodeInvalid},
		{name: "unknown contract", who: harness.Org1Auditor,
			args: []string{"nosuch:" + wire.TxGetAlert, absent, absent}, want: wire.CodeInvalid},
		{name: "wrong argument count", who: harness.Org1Auditor,
			args: []string{"alerts:" + wire.TxGetAlert, absent}, want: wire.CodeInvalid},
		{name: "argument that does not convert", who: harness.Org1Auditor,
			args: []string{"responses:" + wire.TxListResponses, "", "many", ""}, want: wire.CodeInvalid},
		{name: "undecodable record", setup: corruptLocator(absent), who: harness.Org1Auditor,
			args: []string{"events:" + wire.TxGetBatch, absent}, want: wire.CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc, err := newChaincode()
			if err != nil {
				t.Fatalf("newChaincode: %v", err)
			}
			h := harness.New(t)
			if tt.setup != nil {
				tt.setup(h)
			}
			tx := h.L.Begin(tt.who)
			defer tx.Discard()
			tx.SetArgs(tt.args...)
			resp := coded{cc: cc}.Invoke(tx)
			if resp.Status == 200 {
				t.Fatalf("%v succeeded: %s", tt.args[0], resp.Payload)
			}
			got, ok := wire.ParseError(resp.Message)
			if !ok {
				t.Fatalf("message %q carries no code", resp.Message)
			}
			if got.Code != tt.want {
				t.Errorf("got %s (%s), want %s", got.Code, resp.Message, tt.want)
			}
		})
	}
}

// proposed returns a set-up that initialises membership and proposes
// policy p1 version 1 with the given quorum.
func proposed(quorum int) func(h *harness.H) {
	return func(h *harness.H) {
		h.InitMembers()
		p := fixture.Policy("p1", 1, `alert.severityLevel >= 3`)
		p.Quorum = quorum
		if _, err := h.Propose(harness.Org1Author, p); err != nil {
			h.T.Fatalf("propose: %v", err)
		}
	}
}

// activeByOrg1 leaves policy p1 version 1 (scoped to Org1, so Org1 may
// enact it alone) active after Org1's approval alone, so Org2's approval
// meets an active policy.
func activeByOrg1(h *harness.H) {
	h.InitMembers()
	p := fixture.Policy("p1", 1, `alert.severityLevel >= 3`)
	p.Quorum, p.Scope = 1, wire.ScopeOrg
	if _, err := h.Propose(harness.Org1Author, p); err != nil {
		h.T.Fatalf("propose: %v", err)
	}
	if _, err := h.Approve(harness.Org1Admin, "p1", 1); err != nil {
		h.T.Fatalf("approve: %v", err)
	}
}

// corruptLocator commits a batch locator that is not JSON.
func corruptLocator(batchID string) func(h *harness.H) {
	return func(h *harness.H) {
		key, err := keys.Key(keys.Batch, batchID)
		if err != nil {
			h.T.Fatal(err)
		}
		tx := h.L.Begin(harness.Org1Gateway)
		if err := tx.PutState(key, []byte("{")); err != nil {
			h.T.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			h.T.Fatal(err)
		}
	}
}

// TestCodeResponse proves the wrapper leaves successes and coded refusals
// alone and codes only what carries no code.
func TestCodeResponse(t *testing.T) {
	coded := (&wire.Error{Code: wire.CodeNotFound, Message: "x"}).Error()
	tests := []struct {
		name string
		in   *peer.Response
		want *peer.Response
	}{
		{"success", shim.Success([]byte("ok")), shim.Success([]byte("ok"))},
		{"coded refusal", shim.Error(coded), shim.Error(coded)},
		{"uncoded refusal", shim.Error("Function X not found"), shim.Error("ledgerguard/INVALID: Function X not found")},
		{"uncoded warning", &peer.Response{Status: shim.ERRORTHRESHOLD, Message: "m"}, shim.Error("ledgerguard/INVALID: m")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := codeResponse(tt.in)
			if got.Status != tt.want.Status || got.Message != tt.want.Message || string(got.Payload) != string(tt.want.Payload) {
				t.Errorf("got %d %q %q, want %d %q %q", got.Status, got.Message, got.Payload, tt.want.Status, tt.want.Message, tt.want.Payload)
			}
		})
	}
}
