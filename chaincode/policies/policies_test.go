package policies_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/access"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/fixture"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/harness"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/keys"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/ledgertest"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/state"
	"github.com/ledgerguard/ledgerguard/chaincode/policies"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

func TestProposePolicy(t *testing.T) {
	valid := fixture.Policy("ssh-isolate", 1, `alert.severityLevel >= 3`)
	tests := []struct {
		name      string
		who       *ledgertest.Identity
		edit      func(p *wire.Policy)
		noMembers bool
		wantErr   any
		wantField string
	}{
		{"author", harness.Org1Author, func(p *wire.Policy) {}, false, nil, ""},
		{"admin may author", harness.Org1Admin, func(p *wire.Policy) {}, false, nil, ""},
		{"explicit own owner", harness.Org1Author, func(p *wire.Policy) { p.Owner = "Org1MSP" }, false, nil, ""},
		{"gateway", harness.Org1Gateway, func(p *wire.Policy) {}, false, new(*access.DeniedError), ""},
		{"analyst", harness.Org1Analyst, func(p *wire.Policy) {}, false, new(*access.DeniedError), ""},
		{"other org as owner", harness.Org1Author, func(p *wire.Policy) { p.Owner = "Org2MSP" }, false, new(*access.DeniedError), ""},
		{"non-member org", ledgertest.Role("Org3MSP", "a3", "author"), func(p *wire.Policy) {}, false, new(*access.DeniedError), ""},
		{"membership not initialised", harness.Org1Author, func(p *wire.Policy) {}, true, new(*state.NotFoundError), ""},
		{"invalid CEL", harness.Org1Author, func(p *wire.Policy) { p.Condition = `alert.severity >` }, false, new(*wire.ValidationError), "condition"},
		{"unknown identifier", harness.Org1Author, func(p *wire.Policy) { p.Condition = `alert.hostname == "x"` }, false, new(*wire.ValidationError), "condition"},
		{"non-bool", harness.Org1Author, func(p *wire.Policy) { p.Condition = `alert.score * 2.0` }, false, new(*wire.ValidationError), "condition"},
		{"unknown action", harness.Org1Author, func(p *wire.Policy) { p.Actions[0].Type = "wipe_disk" }, false, new(*wire.ValidationError), "actions[0].type"},
		{"missing parameter", harness.Org1Author, func(p *wire.Policy) { p.Actions[0].Params = map[string]string{} }, false, new(*wire.ValidationError), "actions[0].params.host"},
		{"quorum above members", harness.Org1Author, func(p *wire.Policy) { p.Quorum = 3 }, false, new(*wire.ValidationError), "quorum"},
		{"approvals above members", harness.Org1Author, func(p *wire.Policy) { p.ResponseApprovals = 3 }, false, new(*wire.ValidationError), "responseApprovals"},
		{"first version not 1", harness.Org1Author, func(p *wire.Policy) { p.Version = 2 }, false, new(*state.ConflictError), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := harness.New(t)
			if !tt.noMembers {
				h.InitMembers()
			}
			p := valid
			p.Actions = []wire.Action{{Type: valid.Actions[0].Type, Params: map[string]string{"host": "{{alert.asset}}"}}}
			tt.edit(&p)
			out, err := h.Propose(tt.who, p)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("ProposePolicy() = %v", err)
				}
				got := harness.Decode[wire.Policy](t, out)
				if got.State != wire.PolicyProposed || got.Owner != tt.who.MSP || got.Quorum != 2 || got.ProposedTx == "" {
					t.Fatalf("stored policy = %+v", got)
				}
				return
			}
			if !errors.As(err, tt.wantErr) {
				t.Fatalf("ProposePolicy() = %v, want %T", err, tt.wantErr)
			}
			if tt.wantField != "" {
				var ve *wire.ValidationError
				errors.As(err, &ve)
				if ve.Field != tt.wantField {
					t.Fatalf("error on %q (%v), want %q", ve.Field, err, tt.wantField)
				}
			}
			if h.L.CountKeys(keys.Policy) != 0 {
				t.Fatal("refused proposal was stored")
			}
		})
	}
}

func TestPolicyLifecycle(t *testing.T) {
	h := harness.New(t)
	h.InitMembers()
	v1 := fixture.Policy("ssh-isolate", 1, `alert.severityLevel >= 3`)
	if _, err := h.Propose(harness.Org1Author, v1); err != nil {
		t.Fatal(err)
	}
	// Replaying the identical proposal is a no-op; other content conflicts.
	tx := h.L.Begin(harness.Org1Author)
	if _, err := h.Policies.ProposePolicy(tx.Ctx(), fixture.JSON(v1)); err != nil || len(tx.Written()) != 0 {
		t.Fatalf("replayed proposal = %v, wrote %d", err, len(tx.Written()))
	}
	tx.Discard()
	changed := v1
	changed.Condition = "true"
	var ce *state.ConflictError
	if _, err := h.Propose(harness.Org1Author, changed); !errors.As(err, &ce) {
		t.Fatalf("changed v1 = %v, want conflict", err)
	}
	var de *access.DeniedError
	if _, err := h.Propose(harness.Org2Author, fixture.Policy("ssh-isolate", 2, "true")); !errors.As(err, &de) {
		t.Fatalf("other org proposing a version of Org1's policy = %v, want denied", err)
	}

	steps := []struct {
		name      string
		who       *ledgertest.Identity
		version   uint32
		wantErr   any
		wantState string
	}{
		{"author cannot approve", harness.Org1Author, 1, new(*access.DeniedError), ""},
		{"non-member admin", harness.Org3Admin, 1, new(*access.DeniedError), ""},
		{"missing version", harness.Org1Admin, 9, new(*state.NotFoundError), ""},
		{"first approval", harness.Org1Admin, 1, nil, wire.PolicyProposed},
		{"same org again is a no-op", harness.Org1Admin, 1, nil, wire.PolicyProposed},
		{"quorum reached", harness.Org2Admin, 1, nil, wire.PolicyActive},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			out, err := h.Approve(s.who, "ssh-isolate", s.version)
			if s.wantErr != nil {
				if !errors.As(err, s.wantErr) {
					t.Fatalf("ApprovePolicy() = %v, want %T", err, s.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := harness.Decode[wire.Policy](t, out); got.State != s.wantState {
				t.Fatalf("state = %s, want %s", got.State, s.wantState)
			}
		})
	}
	if n := h.L.CountKeys(keys.ActivePolicy); n != 1 {
		t.Fatalf("%d active keys, want 1", n)
	}

	// Version 2 supersedes version 1 when it reaches quorum.
	v2 := fixture.Policy("ssh-isolate", 2, `alert.severityLevel >= 4`)
	h.Activate(v2)
	get := func(version uint32) wire.Policy {
		out := h.Must(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
			return h.Policies.GetPolicy(ctx, "ssh-isolate", version)
		})
		return harness.Decode[wire.Policy](t, out)
	}
	if p := get(1); p.State != wire.PolicySuperseded || !strings.Contains(p.EndReason, "version 2") {
		t.Fatalf("v1 = %s (%s), want superseded", p.State, p.EndReason)
	}
	if p := get(0); p.Version != 2 || p.State != wire.PolicyActive {
		t.Fatalf("GetPolicy(0) = v%d %s, want the active v2", p.Version, p.State)
	}
	if n := h.L.CountKeys(keys.ActivePolicy); n != 1 {
		t.Fatalf("%d active keys after supersession, want 1", n)
	}
	var se *state.StateError
	if _, err := h.Approve(harness.Org2Admin, "ssh-isolate", 1); err != nil {
		t.Fatalf("re-approval by an org that approved = %v, want no-op", err)
	}

	// Revocation: only the owner's authors or admins, with a reason.
	revoke := func(who *ledgertest.Identity, version uint32, reason string) (string, error) {
		return h.Call(who, func(ctx contractapi.TransactionContextInterface) (string, error) {
			return h.Policies.RevokePolicy(ctx, "ssh-isolate", version, reason)
		})
	}
	if _, err := revoke(harness.Org2Author, 2, "not mine"); !errors.As(err, &de) {
		t.Fatalf("revoke by other org = %v, want denied", err)
	}
	var ve *wire.ValidationError
	if _, err := revoke(harness.Org1Author, 2, ""); !errors.As(err, &ve) {
		t.Fatalf("revoke without reason = %v", err)
	}
	if _, err := revoke(harness.Org1Author, 1, "old"); !errors.As(err, &se) {
		t.Fatalf("revoke superseded = %v, want state error", err)
	}
	if _, err := revoke(harness.Org1Author, 2, "too aggressive"); err != nil {
		t.Fatal(err)
	}
	if _, err := revoke(harness.Org1Admin, 2, "again"); err != nil {
		t.Fatalf("revoking a revoked version = %v, want no-op", err)
	}
	if n := h.L.CountKeys(keys.ActivePolicy); n != 0 {
		t.Fatalf("%d active keys after revocation", n)
	}
	if p := get(0); p.Version != 2 || p.State != wire.PolicyRevoked || p.EndReason != "too aggressive" {
		t.Fatalf("after revocation GetPolicy(0) = v%d %s", p.Version, p.State)
	}

	// History of v1: proposal, two approvals (activation), supersession.
	out := h.Must(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Policies.GetPolicyHistory(ctx, "ssh-isolate", 1, 10, "")
	})
	hist := harness.Decode[wire.Page[wire.HistoryEntry[wire.Policy]]](t, out)
	var states []string
	for _, e := range hist.Records {
		states = append(states, e.Value.State)
	}
	if got := strings.Join(states, ","); got != "superseded,active,proposed,proposed" {
		t.Fatalf("history = %s", got)
	}

	// Listing with filters.
	list := func(filter string) int {
		out := h.Must(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
			return h.Policies.ListPolicies(ctx, filter, 1, "")
		})
		n := 0
		page := harness.Decode[wire.Page[wire.Policy]](t, out)
		for {
			n += len(page.Records)
			if page.Bookmark == "" {
				return n
			}
			bm := page.Bookmark
			out = h.Must(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
				return h.Policies.ListPolicies(ctx, filter, 1, bm)
			})
			page = harness.Decode[wire.Page[wire.Policy]](t, out)
		}
	}
	for filter, want := range map[string]int{"": 2, `{"id":"ssh-isolate"}`: 2, `{"state":"revoked"}`: 1, `{"owner":"Org2MSP"}`: 0, `{"id":"other"}`: 0} {
		if got := list(filter); got != want {
			t.Errorf("ListPolicies(%s) = %d, want %d", filter, got, want)
		}
	}
}

// TestApproveOlderVersionRefused: once v2 is active, a pending v1 cannot
// be activated and roll the policy back.
func TestApproveOlderVersionRefused(t *testing.T) {
	h := harness.New(t)
	h.InitMembers()
	if _, err := h.Propose(harness.Org1Author, fixture.Policy("p", 1, "true")); err != nil {
		t.Fatal(err)
	}
	h.Activate(fixture.Policy("p", 2, "false"))
	var se *state.StateError
	if _, err := h.Approve(harness.Org1Admin, "p", 1); !errors.As(err, &se) {
		t.Fatalf("activating an older version = %v, want *state.StateError", err)
	}
}

// TestQuorumConfigurable: an author may ask for more than the floor (here
// every member of three), never for less.
func TestQuorumConfigurable(t *testing.T) {
	h := harness.New(t)
	h.Must(harness.Org1Admin, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Consortium.InitMembers(ctx, `["Org1MSP","Org2MSP","Org3MSP"]`)
	})
	p := fixture.Policy("all", 1, "true")
	p.Quorum = 3
	if _, err := h.Propose(harness.Org2Author, p); err != nil {
		t.Fatal(err)
	}
	for i, admin := range []*ledgertest.Identity{harness.Org1Admin, harness.Org2Admin, harness.Org3Admin} {
		out, err := h.Approve(admin, "all", 1)
		if err != nil {
			t.Fatal(err)
		}
		got, want := harness.Decode[wire.Policy](t, out).State, wire.PolicyProposed
		if i == 2 {
			want = wire.PolicyActive
		}
		if got != want {
			t.Fatalf("quorum 3 policy after %d approvals is %s, want %s", i+1, got, want)
		}
	}
}

func TestActivePolicyLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("activates 256 policies")
	}
	h := harness.New(t)
	h.InitMembers()
	for i := 0; i <= policies.MaxActivePolicies; i++ {
		p := fixture.Policy(fmt.Sprintf("p%03d", i), 1, "false")
		p.Quorum, p.Scope = 1, wire.ScopeOrg // Org1 alone enacts its own org-scoped policies
		if _, err := h.Propose(harness.Org1Author, p); err != nil {
			t.Fatal(err)
		}
		_, err := h.Approve(harness.Org1Admin, p.ID, 1)
		if i < policies.MaxActivePolicies {
			if err != nil {
				t.Fatalf("activating policy %d: %v", i, err)
			}
			continue
		}
		var ce *state.ConflictError
		if !errors.As(err, &ce) {
			t.Fatalf("activating policy %d = %v, want the active-policy limit", i, err)
		}
	}
}

// FuzzProposePolicy submits arbitrary JSON as an author: no panic, and a
// refused proposal stores nothing.
func FuzzProposePolicy(f *testing.F) {
	f.Add([]byte(fixture.JSON(fixture.Policy("p", 1, `alert.severityLevel >= 3`))))
	f.Add([]byte(`{"id":"p","version":1,"condition":"alert.fields.exists(k, k == 'x')","actions":[{"type":"webhook","params":{"url":"https://x/{{alert.id}}"}}],"mode":"dry-run","limit":{"max":1,"windowSeconds":60}}`))
	f.Add([]byte(`{"id":"p","version":1,"condition":"(","actions":[],"mode":"enforce"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		h := harness.New(t)
		h.InitMembers()
		_, err := h.Call(harness.Org1Author, func(ctx contractapi.TransactionContextInterface) (string, error) {
			return h.Policies.ProposePolicy(ctx, string(data))
		})
		if err != nil && h.L.CountKeys(keys.Policy) != 0 {
			t.Fatalf("refused proposal stored: %v", err)
		}
	})
}
