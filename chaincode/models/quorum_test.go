package models_test

import (
	"testing"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/fixture"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/harness"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/keys"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/ledgertest"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// TestModelFloorFollowsMembership: a model registered with two members
// needs a majority of the members current at each approval.
func TestModelFloorFollowsMembership(t *testing.T) {
	e := newEnv(t, true)
	m := valid("m", "1")
	m.Quorum = 1
	if _, err := e.register(harness.Org1Author, m); err != nil {
		t.Fatal(err)
	}
	key, err := keys.Key(keys.Members)
	if err != nil {
		t.Fatal(err)
	}
	tx := e.L.Begin(harness.Org1Admin)
	if err := tx.PutState(key, []byte(fixture.JSON(wire.Members{MSPs: []string{"Org1MSP", "Org2MSP", "Org3MSP", "Org4MSP"}}))); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, admin := range []*ledgertest.Identity{harness.Org1Admin, harness.Org2Admin, harness.Org3Admin} {
		out, err := e.approve(admin, "m", "1")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, harness.Decode[wire.ModelRecord](t, out).State)
	}
	want := []string{wire.ModelRegistered, wire.ModelRegistered, wire.ModelApproved}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("states after approvals = %v, want %v", got, want)
		}
	}
}
