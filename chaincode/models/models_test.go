package models_test

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
	"github.com/ledgerguard/ledgerguard/chaincode/models"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// env is one test's ledger with the models contract beside the harness.
type env struct {
	*harness.H
	M *models.Contract
}

func newEnv(t *testing.T, members bool) *env {
	e := &env{H: harness.New(t), M: models.New()}
	if members {
		e.InitMembers()
	}
	return e
}

// valid returns a registration that passes every rule.
func valid(name, version string) wire.ModelRecord {
	return wire.ModelRecord{
		Name: name, Version: version, SHA256: fixture.Hash("model " + name + version), FeaturesSHA256: fixture.Hash("features " + name),
		TrainingData: []wire.DataFile{{Path: "nsl-kdd/KDDTrain+_full.zip", SHA256: fixture.Hash("train")}},
		Metrics:      map[string]float64{"test.nsl-kdd.accuracy": 0.83, "test.nsl-kdd.fpr": 0.08},
		Description:  "MLP on NSL-KDD flows",
	}
}

func (e *env) register(who *ledgertest.Identity, m wire.ModelRecord) (string, error) {
	return e.Call(who, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return e.M.RegisterModel(ctx, fixture.JSON(m))
	})
}

func (e *env) approve(who *ledgertest.Identity, name, version string) (string, error) {
	return e.Call(who, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return e.M.ApproveModel(ctx, name, version)
	})
}

func (e *env) revoke(who *ledgertest.Identity, name, version, reason string) (string, error) {
	return e.Call(who, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return e.M.RevokeModel(ctx, name, version, reason)
	})
}

func (e *env) get(name, version string) wire.ModelRecord {
	out := e.Must(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return e.M.GetModel(ctx, name, version)
	})
	return harness.Decode[wire.ModelRecord](e.T, out)
}

func TestRegisterModel(t *testing.T) {
	tests := []struct {
		name      string
		who       *ledgertest.Identity
		edit      func(m *wire.ModelRecord)
		noMembers bool
		wantErr   any
		wantField string
	}{
		{"author", harness.Org1Author, func(m *wire.ModelRecord) {}, false, nil, ""},
		{"admin may register", harness.Org1Admin, func(m *wire.ModelRecord) {}, false, nil, ""},
		{"no training data or metrics", harness.Org2Author, func(m *wire.ModelRecord) { m.TrainingData, m.Metrics = nil, nil }, false, nil, ""},
		{"gateway", harness.Org1Gateway, func(m *wire.ModelRecord) {}, false, new(*access.DeniedError), ""},
		{"analyst", harness.Org1Analyst, func(m *wire.ModelRecord) {}, false, new(*access.DeniedError), ""},
		{"auditor", harness.Org1Auditor, func(m *wire.ModelRecord) {}, false, new(*access.DeniedError), ""},
		{"no role", harness.Org1Plain, func(m *wire.ModelRecord) {}, false, new(*access.DeniedError), ""},
		{"non-member org", ledgertest.Role("Org3MSP", "a3", "author"), func(m *wire.ModelRecord) {}, false, new(*access.DeniedError), ""},
		{"membership not initialised", harness.Org1Author, func(m *wire.ModelRecord) {}, true, new(*state.NotFoundError), ""},
		{"uppercase sha256", harness.Org1Author, func(m *wire.ModelRecord) { m.SHA256 = strings.ToUpper(m.SHA256) }, false, new(*wire.ValidationError), "sha256"},
		{"short sha256", harness.Org1Author, func(m *wire.ModelRecord) { m.SHA256 = "abc" }, false, new(*wire.ValidationError), "sha256"},
		{"missing features hash", harness.Org1Author, func(m *wire.ModelRecord) { m.FeaturesSHA256 = "" }, false, new(*wire.ValidationError), "featuresSha256"},
		{"name with space", harness.Org1Author, func(m *wire.ModelRecord) { m.Name = "nsl kdd" }, false, new(*wire.ValidationError), "name"},
		{"empty name", harness.Org1Author, func(m *wire.ModelRecord) { m.Name = "" }, false, new(*wire.ValidationError), "name"},
		{"long name", harness.Org1Author, func(m *wire.ModelRecord) { m.Name = strings.Repeat("n", wire.MaxModelNameLen+1) }, false, new(*wire.ValidationError), "name"},
		{"version with NUL", harness.Org1Author, func(m *wire.ModelRecord) { m.Version = "1.0\x00" }, false, new(*wire.ValidationError), "version"},
		{"long version", harness.Org1Author, func(m *wire.ModelRecord) { m.Version = strings.Repeat("1", wire.MaxModelVersionLen+1) }, false, new(*wire.ValidationError), "version"},
		{"bad training hash", harness.Org1Author, func(m *wire.ModelRecord) { m.TrainingData[0].SHA256 = "x" }, false, new(*wire.ValidationError), "trainingData[0].sha256"},
		{"training path empty", harness.Org1Author, func(m *wire.ModelRecord) { m.TrainingData[0].Path = "" }, false, new(*wire.ValidationError), "trainingData[0].path"},
		{"training path twice", harness.Org1Author, func(m *wire.ModelRecord) { m.TrainingData = append(m.TrainingData, m.TrainingData[0]) }, false, new(*wire.ValidationError), "trainingData[1].path"},
		{"too many training files", harness.Org1Author, func(m *wire.ModelRecord) {
			m.TrainingData = nil
			for i := range wire.MaxTrainingFiles + 1 {
				m.TrainingData = append(m.TrainingData, wire.DataFile{Path: fmt.Sprint("f", i), SHA256: fixture.Hash(fmt.Sprint(i))})
			}
		}, false, new(*wire.ValidationError), "trainingData"},
		{"too many metrics", harness.Org1Author, func(m *wire.ModelRecord) {
			for i := range wire.MaxModelMetrics {
				m.Metrics[fmt.Sprint("m", i)] = float64(i)
			}
		}, false, new(*wire.ValidationError), "metrics"},
		{"metric name with space", harness.Org1Author, func(m *wire.ModelRecord) { m.Metrics["macro f1"] = 0.5 }, false, new(*wire.ValidationError), "metrics"},
		{"quorum above members", harness.Org1Author, func(m *wire.ModelRecord) { m.Quorum = 3 }, false, new(*wire.ValidationError), "quorum"},
		{"negative quorum", harness.Org1Author, func(m *wire.ModelRecord) { m.Quorum = -1 }, false, new(*wire.ValidationError), "quorum"},
		{"chaincode-set state", harness.Org1Author, func(m *wire.ModelRecord) { m.State = wire.ModelApproved }, false, new(*wire.ValidationError), "state"},
		{"chaincode-set approvals", harness.Org1Author, func(m *wire.ModelRecord) { m.Approvals = []wire.Approval{{MSP: "Org1MSP"}} }, false, new(*wire.ValidationError), "state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, !tt.noMembers)
			m := valid("nsl-kdd-flow", "1.0.0")
			tt.edit(&m)
			out, err := e.register(tt.who, m)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("RegisterModel() = %v", err)
				}
				got := harness.Decode[wire.ModelRecord](t, out)
				if got.State != wire.ModelRegistered || got.Owner != tt.who.MSP || got.Quorum != 2 || got.RegisteredTx == "" || got.RegisteredBy == nil {
					t.Fatalf("stored model = %+v", got)
				}
				return
			}
			if !errors.As(err, tt.wantErr) {
				t.Fatalf("RegisterModel() = %v, want %T", err, tt.wantErr)
			}
			if tt.wantField != "" {
				var ve *wire.ValidationError
				errors.As(err, &ve)
				if ve.Field != tt.wantField {
					t.Fatalf("error on %q (%v), want %q", ve.Field, err, tt.wantField)
				}
			}
			if e.L.CountKeys(keys.Model) != 0 {
				t.Fatal("refused registration was stored")
			}
		})
	}
}

func TestRegisterModelRefusesMalformedJSON(t *testing.T) {
	e := newEnv(t, true)
	for name, arg := range map[string]string{
		"unknown field": `{"name":"m","version":"1","sha256":"` + fixture.Hash("a") + `","featuresSha256":"` + fixture.Hash("b") + `","threshold":0.5}`,
		"trailing data": fixture.JSON(valid("m", "1")) + "{}",
		"metric string": `{"name":"m","version":"1","sha256":"` + fixture.Hash("a") + `","featuresSha256":"` + fixture.Hash("b") + `","metrics":{"a":"x"}}`,
		"not JSON":      "nope",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.Call(harness.Org1Author, func(ctx contractapi.TransactionContextInterface) (string, error) {
				return e.M.RegisterModel(ctx, arg)
			})
			var ve *wire.ValidationError
			if !errors.As(err, &ve) || ve.Field != "model" {
				t.Fatalf("RegisterModel(%s) = %v, want a validation error on model", name, err)
			}
		})
	}
}

func TestModelLifecycle(t *testing.T) {
	e := newEnv(t, true)
	m := valid("nsl-kdd-flow", "1.0.0")
	if _, err := e.register(harness.Org1Author, m); err != nil {
		t.Fatal(err)
	}

	// Replaying the identical registration (by anyone allowed) writes
	// nothing; other content under the same version conflicts.
	for _, who := range []*ledgertest.Identity{harness.Org1Author, harness.Org2Author} {
		tx := e.L.Begin(who)
		out, err := e.M.RegisterModel(tx.Ctx(), fixture.JSON(m))
		if err != nil || len(tx.Written()) != 0 {
			t.Fatalf("replayed registration as %s = %v, wrote %d", who.Subject, err, len(tx.Written()))
		}
		if got := harness.Decode[wire.ModelRecord](t, out); got.Owner != "Org1MSP" {
			t.Fatalf("replay returned owner %s", got.Owner)
		}
		tx.Discard()
	}
	changed := m
	changed.SHA256 = fixture.Hash("other bytes")
	var ce *state.ConflictError
	if _, err := e.register(harness.Org1Author, changed); !errors.As(err, &ce) {
		t.Fatalf("changed 1.0.0 = %v, want *state.ConflictError", err)
	}

	steps := []struct {
		name      string
		who       *ledgertest.Identity
		version   string
		wantErr   any
		wantState string
	}{
		{"author cannot approve", harness.Org1Author, "1.0.0", new(*access.DeniedError), ""},
		{"gateway cannot approve", harness.Org1Gateway, "1.0.0", new(*access.DeniedError), ""},
		{"non-member admin", harness.Org3Admin, "1.0.0", new(*access.DeniedError), ""},
		{"missing version", harness.Org1Admin, "9.9.9", new(*state.NotFoundError), ""},
		{"invalid version", harness.Org1Admin, "a b", new(*wire.ValidationError), ""},
		{"first approval", harness.Org1Admin, "1.0.0", nil, wire.ModelRegistered},
		{"same org again is a no-op", harness.Org1Admin, "1.0.0", nil, wire.ModelRegistered},
		{"quorum reached", harness.Org2Admin, "1.0.0", nil, wire.ModelApproved},
		{"approving an approved model is a no-op", harness.Org2Admin, "1.0.0", nil, wire.ModelApproved},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			out, err := e.approve(s.who, "nsl-kdd-flow", s.version)
			if s.wantErr != nil {
				if !errors.As(err, s.wantErr) {
					t.Fatalf("ApproveModel() = %v, want %T", err, s.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := harness.Decode[wire.ModelRecord](t, out); got.State != s.wantState {
				t.Fatalf("state = %s, want %s", got.State, s.wantState)
			}
		})
	}
	got := e.get("nsl-kdd-flow", "1.0.0")
	if !got.Serves() || len(got.Approvals) != 2 || got.ApprovedTx == "" || got.ApprovedTx != got.Approvals[1].TxID {
		t.Fatalf("approved record = %+v", got)
	}

	// Revocation: a reason is required; any member admin may (no quorum);
	// an author of another organisation may not; it is final.
	var de *access.DeniedError
	var ve *wire.ValidationError
	if _, err := e.revoke(harness.Org2Author, "nsl-kdd-flow", "1.0.0", "not ours"); !errors.As(err, &de) {
		t.Fatalf("revoke by another org's author = %v, want denied", err)
	}
	if _, err := e.revoke(harness.Org3Admin, "nsl-kdd-flow", "1.0.0", "outsider"); !errors.As(err, &de) {
		t.Fatalf("revoke by a non-member admin = %v, want denied", err)
	}
	if _, err := e.revoke(harness.Org1Analyst, "nsl-kdd-flow", "1.0.0", "analyst"); !errors.As(err, &de) {
		t.Fatalf("revoke by an analyst = %v, want denied", err)
	}
	if _, err := e.revoke(harness.Org2Admin, "nsl-kdd-flow", "1.0.0", ""); !errors.As(err, &ve) {
		t.Fatalf("revoke without reason = %v, want validation error", err)
	}
	if _, err := e.revoke(harness.Org2Admin, "nsl-kdd-flow", "1.0.0", "false positives on backups"); err != nil {
		t.Fatalf("emergency revoke by Org2's admin = %v", err)
	}
	tx := e.L.Begin(harness.Org1Admin)
	if _, err := e.M.RevokeModel(tx.Ctx(), "nsl-kdd-flow", "1.0.0", "again"); err != nil || len(tx.Written()) != 0 {
		t.Fatalf("revoking a revoked model = %v, wrote %d, want a no-op", err, len(tx.Written()))
	}
	tx.Discard()
	if got := e.get("nsl-kdd-flow", "1.0.0"); got.State != wire.ModelRevoked || got.Serves() ||
		got.RevokeReason != "false positives on backups" || got.RevokedBy == nil || got.RevokedBy.MSP != "Org2MSP" {
		t.Fatalf("revoked record = %+v", got)
	}
	if _, err := e.approve(harness.Org2Admin, "nsl-kdd-flow", "1.0.0"); err != nil {
		t.Fatalf("re-approval by an org that approved = %v, want a no-op", err)
	}
	if _, err := e.register(harness.Org1Author, m); err != nil {
		t.Fatalf("replaying a revoked registration = %v, want the revoked record", err)
	}
	if got := e.get("nsl-kdd-flow", "1.0.0"); got.State != wire.ModelRevoked {
		t.Fatalf("replayed registration revived the model: %s", got.State)
	}

	// History: registration, two approvals, revocation, newest first.
	out := e.Must(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return e.M.GetModelHistory(ctx, "nsl-kdd-flow", "1.0.0", 10, "")
	})
	hist := harness.Decode[wire.Page[wire.HistoryEntry[wire.ModelRecord]]](t, out)
	var states []string
	for _, h := range hist.Records {
		states = append(states, h.Value.State)
	}
	if got := strings.Join(states, ","); got != "revoked,approved,registered,registered" {
		t.Fatalf("history = %s", got)
	}
}

func TestApproveRevokedRefused(t *testing.T) {
	e := newEnv(t, true)
	if _, err := e.register(harness.Org1Author, valid("m", "1")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.revoke(harness.Org1Author, "m", "1", "withdrawn by its author"); err != nil {
		t.Fatalf("author of the owning org withdrawing its model = %v", err)
	}
	var se *state.StateError
	if _, err := e.approve(harness.Org2Admin, "m", "1"); !errors.As(err, &se) {
		t.Fatalf("approving a revoked model = %v, want *state.StateError", err)
	}
}

// TestQuorumConfigurable: a registrant's quorum below the floor (a
// majority of the members: 2 of 2) is raised to it, so one approval does
// not approve a model served for every member; replays still match.
func TestQuorumConfigurable(t *testing.T) {
	e := newEnv(t, true)
	m := valid("m", "1")
	m.Quorum = 1
	out, err := e.register(harness.Org1Author, m)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := harness.Decode[wire.ModelRecord](t, out).Quorum, 2; got != want {
		t.Fatalf("quorum 1 registered as %d, want the floor %d", got, want)
	}
	out, err = e.approve(harness.Org1Admin, "m", "1")
	if err != nil {
		t.Fatal(err)
	}
	if got := harness.Decode[wire.ModelRecord](t, out); got.State != wire.ModelRegistered {
		t.Fatalf("after one approval with quorum 1: %s (quorum %d), want registered", got.State, got.Quorum)
	}
	out, err = e.approve(harness.Org2Admin, "m", "1")
	if err != nil {
		t.Fatal(err)
	}
	if got := harness.Decode[wire.ModelRecord](t, out); got.State != wire.ModelApproved {
		t.Fatalf("after both members approved: %s, want approved", got.State)
	}
	// Replays with the asked quorum or without one (0 = default) still match.
	for _, q := range []int{1, 0} {
		m.Quorum = q
		if _, err := e.register(harness.Org1Author, m); err != nil {
			t.Fatalf("replay with quorum %d = %v", q, err)
		}
	}
}

func TestListModels(t *testing.T) {
	e := newEnv(t, true)
	for _, m := range []wire.ModelRecord{valid("a", "1.0.0"), valid("a", "1.1.0"), valid("b", "1.0.0")} {
		if _, err := e.register(harness.Org1Author, m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.register(harness.Org2Author, valid("c", "2")); err != nil {
		t.Fatal(err)
	}
	for _, admin := range []*ledgertest.Identity{harness.Org1Admin, harness.Org2Admin} {
		if _, err := e.approve(admin, "a", "1.1.0"); err != nil {
			t.Fatal(err)
		}
	}
	list := func(filter string, pageSize int32) []string {
		var got []string
		bookmark := ""
		for range 100 {
			out := e.Must(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
				return e.M.ListModels(ctx, filter, pageSize, bookmark)
			})
			page := harness.Decode[wire.Page[wire.ModelRecord]](t, out)
			for _, m := range page.Records {
				got = append(got, m.Name+"@"+m.Version)
			}
			if page.Bookmark == "" {
				return got
			}
			bookmark = page.Bookmark
		}
		t.Fatal("ListModels never ended")
		return nil
	}
	tests := []struct {
		filter   string
		pageSize int32
		want     string
	}{
		{"", 1, "a@1.0.0,a@1.1.0,b@1.0.0,c@2"},
		{"", 1000, "a@1.0.0,a@1.1.0,b@1.0.0,c@2"},
		{`{"name":"a"}`, 1, "a@1.0.0,a@1.1.0"},
		{`{"state":"approved"}`, 2, "a@1.1.0"},
		{`{"owner":"Org2MSP"}`, 3, "c@2"},
		{`{"name":"zzz"}`, 5, ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.filter, tt.pageSize), func(t *testing.T) {
			if got := strings.Join(list(tt.filter, tt.pageSize), ","); got != tt.want {
				t.Errorf("ListModels(%s) = %s, want %s", tt.filter, got, tt.want)
			}
		})
	}
	var ve *wire.ValidationError
	for _, bad := range []struct {
		filter   string
		pageSize int32
	}{{`{"nme":"a"}`, 5}, {"", 0}, {"", wire.MaxPageSize + 1}} {
		_, err := e.Call(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
			return e.M.ListModels(ctx, bad.filter, bad.pageSize, "")
		})
		if !errors.As(err, &ve) {
			t.Errorf("ListModels(%q, %d) = %v, want validation error", bad.filter, bad.pageSize, err)
		}
	}
	var de *access.DeniedError
	if _, err := e.Call(harness.Org1Plain, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return e.M.ListModels(ctx, "", 5, "")
	}); !errors.As(err, &de) {
		t.Errorf("ListModels without a role = %v, want denied", err)
	}
}
