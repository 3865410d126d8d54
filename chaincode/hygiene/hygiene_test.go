package hygiene_test

import (
	"errors"
	"testing"
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/access"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/fixture"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/harness"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/keys"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/ledgertest"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/state"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

func TestProposeRuleRules(t *testing.T) {
	h := harness.New(t)
	h.InitMembers()
	now := h.L.Now()
	ok := fixture.SuppressRule("scanner", 1, `alert.asset == "scanner-01"`, now.Add(24*time.Hour))
	tests := []struct {
		name    string
		who     *ledgertest.Identity
		rule    func() wire.HygieneRule
		wantErr any
	}{
		{"analyst", harness.Org1Analyst, func() wire.HygieneRule { return ok }, new(*access.DeniedError)},
		{"other owner", harness.Org1Author, func() wire.HygieneRule { r := ok; r.Owner = "Org2MSP"; return r }, new(*access.DeniedError)},
		{"bad CEL", harness.Org1Author, func() wire.HygieneRule { r := ok; r.Condition = "alert.nope =="; return r }, new(*wire.ValidationError)},
		{"not bool", harness.Org1Author, func() wire.HygieneRule { r := ok; r.Condition = "alert.score"; return r }, new(*wire.ValidationError)},
		{"no expiry", harness.Org1Author, func() wire.HygieneRule { r := ok; r.ExpiresAt = wire.Time{}; return r }, new(*wire.ValidationError)},
		{"expired", harness.Org1Author, func() wire.HygieneRule { r := ok; r.ExpiresAt = wire.NewTime(now.Add(-time.Hour)); return r }, new(*wire.ValidationError)},
		{"too long", harness.Org1Author, func() wire.HygieneRule { r := ok; r.ExpiresAt = wire.NewTime(now.Add(400 * 24 * time.Hour)); return r }, new(*wire.ValidationError)},
		{"no reason", harness.Org1Author, func() wire.HygieneRule { r := ok; r.Reason = ""; return r }, new(*wire.ValidationError)},
		{"unknown kind", harness.Org1Author, func() wire.HygieneRule { r := ok; r.Kind = "mute"; return r }, new(*wire.ValidationError)},
		{"dedup without window", harness.Org1Author, func() wire.HygieneRule { return fixture.DedupRule("d", 1, "true", 0) }, new(*wire.ValidationError)},
		{"quorum above members", harness.Org1Author, func() wire.HygieneRule { r := ok; r.Quorum = 3; return r }, new(*wire.ValidationError)},
		{"version 2 first", harness.Org1Author, func() wire.HygieneRule { r := ok; r.Version = 2; return r }, new(*state.ConflictError)},
		{"chaincode fields", harness.Org1Author, func() wire.HygieneRule { r := ok; r.State = wire.PolicyActive; return r }, new(*wire.ValidationError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.ProposeRule(tt.who, tt.rule())
			if !errors.As(err, tt.wantErr) {
				t.Fatalf("ProposeRule() = %v, want %T", err, tt.wantErr)
			}
			if n := h.L.CountKeys(keys.HygieneRule); n != 0 {
				t.Fatalf("refused proposal left %d rules", n)
			}
		})
	}
}

// TestRuleLifecycle checks the quorum floors, idempotency, ownership and
// revocation of hygiene rules.
func TestRuleLifecycle(t *testing.T) {
	h := harness.New(t)
	h.InitMembers()
	r := fixture.DedupRule("merge", 1, "true", 300)
	r.Quorum = 1 // below the consortium floor: raised to 2
	out, err := h.ProposeRule(harness.Org1Author, r)
	if err != nil {
		t.Fatal(err)
	}
	if got := harness.Decode[wire.HygieneRule](t, out); got.Quorum != 2 || got.State != wire.PolicyProposed || got.Owner != "Org1MSP" {
		t.Fatalf("proposed = quorum %d, %s, owner %s", got.Quorum, got.State, got.Owner)
	}
	if _, err := h.ProposeRule(harness.Org1Author, r); err != nil {
		t.Fatalf("replayed proposal: %v", err)
	}
	if _, err := h.ProposeRule(harness.Org2Author, fixture.DedupRule("merge", 2, "true", 300)); !errors.As(err, new(*access.DeniedError)) {
		t.Fatalf("other org's version = %v, want denied", err)
	}
	if _, err := h.ApproveRule(harness.Org1Author, "merge", 1); !errors.As(err, new(*access.DeniedError)) {
		t.Fatalf("author approval = %v, want denied", err)
	}
	for i, admin := range []*ledgertest.Identity{harness.Org1Admin, harness.Org1Admin, harness.Org2Admin} {
		out, err = h.ApproveRule(admin, "merge", 1)
		if err != nil {
			t.Fatal(err)
		}
		got := harness.Decode[wire.HygieneRule](t, out)
		if want := i == 2; (got.State == wire.PolicyActive) != want {
			t.Fatalf("after approval %d: %s", i, got.State)
		}
	}
	if n := h.L.CountKeys(keys.ActiveRule); n != 1 {
		t.Fatalf("%d active rules, want 1", n)
	}
	// Org-scoped rules: the owner alone enacts them.
	org := fixture.DedupRule("mine", 1, "true", 60)
	org.Scope = wire.ScopeOrg
	if _, err := h.ProposeRule(harness.Org2Author, org); err != nil {
		t.Fatal(err)
	}
	out, err = h.ApproveRule(harness.Org2Admin, "mine", 1)
	if err != nil || harness.Decode[wire.HygieneRule](t, out).State != wire.PolicyActive {
		t.Fatalf("org rule after its owner's approval: %v %s", err, out)
	}
	// Revocation by the owner only.
	revoke := func(id *ledgertest.Identity) (string, error) {
		return h.Call(id, func(ctx contractapi.TransactionContextInterface) (string, error) {
			return h.Hygiene.RevokeRule(ctx, "merge", 1, "too aggressive")
		})
	}
	if _, err := revoke(harness.Org2Author); !errors.As(err, new(*access.DeniedError)) {
		t.Fatalf("other org's revoke = %v", err)
	}
	out, err = revoke(harness.Org1Author)
	if err != nil || harness.Decode[wire.HygieneRule](t, out).State != wire.PolicyRevoked {
		t.Fatalf("revoke: %v %s", err, out)
	}
	if n := h.L.CountKeys(keys.ActiveRule); n != 1 {
		t.Fatalf("%d active rules after revoke, want 1 (the org rule)", n)
	}
	page := harness.Decode[wire.Page[wire.HygieneRule]](t, h.Must(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Hygiene.ListRules(ctx, `{"kind":"dedup","state":"active"}`, 10, "")
	}))
	if len(page.Records) != 1 || page.Records[0].ID != "mine" {
		t.Fatalf("active dedup rules = %+v", page.Records)
	}
	hist := harness.Decode[wire.Page[wire.HistoryEntry[wire.HygieneRule]]](t, h.Must(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Hygiene.GetRuleHistory(ctx, "merge", 1, 10, "")
	}))
	if len(hist.Records) != 4 { // propose, approve, approve+activate, revoke
		t.Fatalf("%d history entries, want 4", len(hist.Records))
	}
}

func TestOrgCapsRecord(t *testing.T) {
	h := harness.New(t)
	h.InitMembers()
	get := func(msp string) wire.OrgCaps {
		return harness.Decode[wire.OrgCaps](t, h.Must(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
			return h.Hygiene.GetOrgCaps(ctx, msp)
		}))
	}
	if c := get("Org1MSP"); len(c.Caps) != 0 {
		t.Fatalf("caps before any set: %+v", c)
	}
	bad := []wire.OrgCaps{
		{MSP: "Org1MSP", Caps: []wire.OrgCap{{Action: "reboot", Max: 1, WindowSeconds: 60}}},
		{MSP: "Org1MSP", Caps: []wire.OrgCap{{Action: wire.ActionIsolateHost, Max: 1, WindowSeconds: 0}}},
		{MSP: "Org1MSP", Caps: []wire.OrgCap{{Action: wire.ActionIsolateHost, Max: -1, WindowSeconds: 60}}},
		{MSP: "Org1MSP", Caps: []wire.OrgCap{{Action: wire.ActionBlockIP, Max: 1, WindowSeconds: 60}, {Action: wire.ActionBlockIP, Max: 2, WindowSeconds: 60}}},
	}
	for i, c := range bad {
		if _, err := h.SetCaps(harness.Org1Admin, c); !errors.As(err, new(*wire.ValidationError)) {
			t.Errorf("bad caps %d: %v, want a validation error", i, err)
		}
	}
	caps := wire.OrgCaps{MSP: "Org1MSP", Caps: []wire.OrgCap{{Action: wire.ActionIsolateHost, Max: 5, WindowSeconds: 3600}}}
	if _, err := h.SetCaps(harness.Org3Admin, wire.OrgCaps{MSP: "Org3MSP"}); !errors.As(err, new(*access.DeniedError)) {
		t.Fatalf("non-member's caps = %v, want denied", err)
	}
	if _, err := h.SetCaps(harness.Org1Admin, caps); err != nil {
		t.Fatal(err)
	}
	if c := get("Org1MSP"); len(c.Caps) != 1 || c.Caps[0].Max != 5 || c.SetBy == nil || c.SetBy.MSP != "Org1MSP" {
		t.Fatalf("caps = %+v", c)
	}
}
