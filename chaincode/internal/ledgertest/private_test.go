package ledgertest

import (
	"crypto/sha256"
	"errors"
	"slices"
	"testing"
)

func TestPrivateDataStoresByMembership(t *testing.T) {
	l := New()
	l.SetCollection("shared", []string{"Org1MSP", "Org2MSP"}, true)
	org1, org2, org3 := Plain("Org1MSP", "a"), Plain("Org2MSP", "b"), Plain("Org3MSP", "c")
	tx := l.Begin(org1)
	if err := tx.PutPrivateData("shared", "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := tx.PutPrivateData("_implicit_org_Org1MSP", "k", []byte("only1")); err != nil {
		t.Fatal(err)
	}
	if got, _ := tx.GetPrivateData("shared", "k"); got != nil {
		t.Fatalf("read own private write %q; Fabric returns the committed value", got)
	}
	if err := tx.PutPrivateData("undeclared", "k", []byte("v")); err == nil {
		t.Error("write to an undeclared collection accepted")
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, peer string
		who        *Identity
		coll       string
		want       string
		wantErr    bool
	}{
		{"member reads shared", "Org2MSP", org2, "shared", "v", false},
		{"non-member client refused (memberOnlyRead)", "Org1MSP", org3, "shared", "", true},
		{"own implicit collection", "Org1MSP", org1, "_implicit_org_Org1MSP", "only1", false},
		{"other org's peer holds nothing", "Org2MSP", org2, "_implicit_org_Org1MSP", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx := l.BeginOn(tt.peer, tt.who)
			defer tx.Discard()
			got, err := tx.GetPrivateData(tt.coll, "k")
			if (err != nil) != tt.wantErr || string(got) != tt.want {
				t.Errorf("GetPrivateData = %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
	sum := sha256.Sum256([]byte("only1"))
	tx = l.BeginOn("Org2MSP", org2)
	if h, err := tx.GetPrivateDataHash("_implicit_org_Org1MSP", "k"); err != nil || !slices.Equal(h, sum[:]) {
		t.Errorf("hash on a non-member peer = %x, %v; want %x", h, err, sum)
	}
	tx.Discard()

	tx = l.Begin(org1)
	if err := tx.PurgePrivateData("_implicit_org_Org1MSP", "k"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, ok := l.PrivateValue("Org1MSP", "_implicit_org_Org1MSP", "k"); ok {
		t.Error("value still held after purge")
	}
	if _, ok := l.PrivateHash("_implicit_org_Org1MSP", "k"); ok {
		t.Error("hash still in the hashed state after purge")
	}
}

func TestPrivateMVCC(t *testing.T) {
	l := New()
	l.SetCollection("c", []string{"Org1MSP"}, false)
	id := Plain("Org1MSP", "u")
	a, b := l.Begin(id), l.Begin(id)
	_, _ = a.GetPrivateData("c", "k")
	_, _ = b.GetPrivateData("c", "k")
	_ = a.PutPrivateData("c", "k", []byte("a"))
	_ = b.PutPrivateData("c", "k", []byte("b"))
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	var ce *ConflictError
	if err := b.Commit(); !errors.As(err, &ce) {
		t.Fatalf("second commit = %v, want mvcc conflict", err)
	}
}

func TestTransient(t *testing.T) {
	tx := New().Begin(Plain("Org1MSP", "u"))
	tx.SetTransient(map[string][]byte{"k": []byte("v")})
	got, err := tx.GetTransient()
	if err != nil || string(got["k"]) != "v" {
		t.Fatalf("GetTransient = %v, %v", got, err)
	}
}
