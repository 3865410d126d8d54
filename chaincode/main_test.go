package main

import (
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/ledgertest"
)

// TestRegistration builds the chaincode as the peer would run it and
// invokes one function of every contract through contractapi's dispatch,
// proving every transaction function's signature is accepted and routed.
func TestRegistration(t *testing.T) {
	cc, err := newChaincode()
	if err != nil {
		t.Fatalf("newChaincode: %v", err)
	}
	l := ledgertest.New()
	admin := ledgertest.Admin("Org1MSP", "admin1")
	auditor := ledgertest.Role("Org1MSP", "audit1", "auditor")
	tests := []struct {
		who      *ledgertest.Identity
		args     []string
		wantCode int32
		wantBody string
	}{
		{auditor, []string{"system:Ping"}, 200, "pong Org1MSP"},
		{admin, []string{"consortium:InitMembers", `["Org1MSP","Org2MSP"]`}, 200, `"msps":["Org1MSP","Org2MSP"]`},
		{auditor, []string{"consortium:GetMembers"}, 200, `"Org2MSP"`},
		{auditor, []string{"events:LatestCheckpoint", "", "gw-1"}, 500, "not found"},
		{auditor, []string{"events:ListBatches", "", "gw-1", "", "", "10", ""}, 200, `"records":[]`},
		{auditor, []string{"alerts:ListAlerts", "", "10", ""}, 200, `"records":[]`},
		{auditor, []string{"alerts:RaiseAlerts", "[]"}, 500, `lacks role "gateway"`},
		{auditor, []string{"policies:GetPolicy", "p1", "0"}, 500, "not found"},
		{auditor, []string{"policies:ListPolicies", "", "5", ""}, 200, `"records":[]`},
		{auditor, []string{"policies:GetPolicyHistory", "p1", "1", "5", ""}, 500, "not found"},
		{auditor, []string{"responses:ListResponses", "", "5", ""}, 200, `"records":[]`},
		{auditor, []string{"responses:ListResponses", "", "1001", ""}, 500, "pageSize"},
		{auditor, []string{"models:ListModels", "", "5", ""}, 200, `"records":[]`},
		{auditor, []string{"models:GetModel", "m", "1.0.0"}, 500, "not found"},
		{auditor, []string{"models:GetModelHistory", "m", "1.0.0", "5", ""}, 500, "not found"},
		{auditor, []string{"models:RegisterModel", "{}"}, 500, "lacks role"},
		{auditor, []string{"models:ApproveModel", "m", "1.0.0"}, 500, "lacks org admin"},
		{auditor, []string{"models:RevokeModel", "m", "1.0.0", "bad"}, 500, "lacks role"},
	}
	for _, tt := range tests {
		t.Run(tt.args[0], func(t *testing.T) {
			tx := l.Begin(tt.who)
			tx.SetArgs(tt.args...)
			resp := cc.Invoke(tx)
			if resp.Status != tt.wantCode {
				t.Fatalf("status = %d (%s), want %d", resp.Status, resp.Message, tt.wantCode)
			}
			body := string(resp.Payload) + resp.Message
			if !strings.Contains(body, tt.wantBody) {
				t.Fatalf("response %q does not contain %q", body, tt.wantBody)
			}
			if resp.Status == 200 {
				if err := tx.Commit(); err != nil {
					t.Fatalf("commit: %v", err)
				}
			} else {
				tx.Discard()
			}
		})
	}
}
