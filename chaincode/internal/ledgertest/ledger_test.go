package ledgertest

import (
	"errors"
	"testing"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"
)

func mustPut(t *testing.T, tx *Tx, k, v string) {
	t.Helper()
	if err := tx.PutState(k, []byte(v)); err != nil {
		t.Fatal(err)
	}
}

func TestNoReadYourWrites(t *testing.T) {
	l := New()
	tx := l.Begin(Plain("Org1MSP", "u"))
	mustPut(t, tx, "k", "v")
	if got, _ := tx.GetState("k"); got != nil {
		t.Fatalf("read own write %q; Fabric returns the committed value", got)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if v, ok := l.Value("k"); !ok || string(v) != "v" {
		t.Fatalf("committed value = %q, %v", v, ok)
	}
}

func TestMVCCConflict(t *testing.T) {
	l := New()
	id := Plain("Org1MSP", "u")
	a, b := l.Begin(id), l.Begin(id)
	_, _ = a.GetState("k")
	_, _ = b.GetState("k")
	mustPut(t, a, "k", "a")
	mustPut(t, b, "k", "b")
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	var ce *ConflictError
	if err := b.Commit(); !errors.As(err, &ce) || ce.Reason != "mvcc" {
		t.Fatalf("second commit = %v, want mvcc conflict", err)
	}
}

func TestPhantomRead(t *testing.T) {
	l := New()
	id := Plain("Org1MSP", "u")
	k1, _ := l.Begin(id).CreateCompositeKey("t", []string{"a", "1"})
	k2, _ := l.Begin(id).CreateCompositeKey("t", []string{"a", "2"})
	a, b := l.Begin(id), l.Begin(id)
	for _, tx := range []*Tx{a, b} {
		it, err := tx.GetStateByPartialCompositeKey("t", []string{"a"})
		if err != nil {
			t.Fatal(err)
		}
		for it.HasNext() {
			_, _ = it.Next()
		}
		_ = it.Close()
	}
	mustPut(t, a, k1, "x")
	mustPut(t, b, k2, "y")
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	var ce *ConflictError
	if err := b.Commit(); !errors.As(err, &ce) || ce.Reason != "phantom" {
		t.Fatalf("second commit = %v, want phantom conflict", err)
	}
}

func TestPaginationAndBookmarks(t *testing.T) {
	l := New()
	id := Plain("Org1MSP", "u")
	w := l.Begin(id)
	for _, s := range []string{"1", "2", "3", "4", "5"} {
		k, _ := w.CreateCompositeKey("t", []string{s})
		mustPut(t, w, k, s)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	var got []string
	bookmark := ""
	pages := 0
	for {
		tx := l.Begin(id)
		it, meta, err := tx.GetStateByPartialCompositeKeyWithPagination("t", nil, 2, bookmark)
		if err != nil {
			t.Fatal(err)
		}
		for it.HasNext() {
			kv, _ := it.Next()
			got = append(got, string(kv.Value))
		}
		pages++
		bookmark = meta.Bookmark
		if bookmark == "" {
			break
		}
	}
	if pages != 3 || len(got) != 5 || got[0] != "1" || got[4] != "5" {
		t.Fatalf("pages = %d, got = %v", pages, got)
	}
	// A paginated query refuses later writes, and a write refuses paginated queries.
	tx := l.Begin(id)
	if _, _, err := tx.GetStateByPartialCompositeKeyWithPagination("t", nil, 2, ""); err != nil {
		t.Fatal(err)
	}
	if err := tx.PutState("x", []byte("y")); err == nil {
		t.Error("write after a paginated query was accepted")
	}
	tx = l.Begin(id)
	mustPut(t, tx, "x", "y")
	if _, _, err := tx.GetStateByPartialCompositeKeyWithPagination("t", nil, 2, ""); err == nil {
		t.Error("paginated query after a write was accepted")
	}
}

func TestHistoryNewestFirst(t *testing.T) {
	l := New()
	id := Plain("Org1MSP", "u")
	var txs []string
	for _, v := range []string{"a", "b", ""} {
		tx := l.Begin(id)
		if v == "" {
			_ = tx.DelState("k")
		} else {
			mustPut(t, tx, "k", v)
		}
		txs = append(txs, tx.GetTxID())
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	it, _ := l.Begin(id).GetHistoryForKey("k")
	var order []string
	for it.HasNext() {
		m, _ := it.Next()
		order = append(order, m.TxId)
		if m.TxId == txs[2] && !m.IsDelete {
			t.Error("delete not marked")
		}
	}
	if len(order) != 3 || order[0] != txs[2] || order[2] != txs[0] {
		t.Fatalf("history order = %v, want newest first %v", order, txs)
	}
}

func TestIdentityParsesWithCid(t *testing.T) {
	tx := New().Begin(BoundGateway("Org2MSP", "gw-user", "gw-7"))
	ci, err := cid.New(tx)
	if err != nil {
		t.Fatal(err)
	}
	msp, _ := ci.GetMSPID()
	role, found, _ := ci.GetAttributeValue("ledgerguard.role")
	gw, _, _ := ci.GetAttributeValue("ledgerguard.gateway")
	if msp != "Org2MSP" || !found || role != "gateway" || gw != "gw-7" {
		t.Fatalf("cid read msp=%s role=%s(%v) gateway=%s", msp, role, found, gw)
	}
	if ok, _ := ci.HasOUValue("client"); !ok {
		t.Error("OU client not found")
	}
}

func TestOneEventPerTx(t *testing.T) {
	l := New()
	tx := l.Begin(Plain("Org1MSP", "u"))
	if err := tx.SetEvent("A", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := tx.SetEvent("B", []byte("2")); err == nil {
		t.Fatal("second SetEvent accepted")
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if ev := l.Events(); len(ev) != 1 || ev[0].Name != "A" {
		t.Fatalf("events = %+v", ev)
	}
}
