package events_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/access"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/fixture"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/harness"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/keys"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/ledgertest"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/state"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

func anchor(h *harness.H, id *ledgertest.Identity, batchJSON string) (string, error) {
	return h.Call(id, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Events.AnchorBatch(ctx, batchJSON)
	})
}

func TestAnchorBatch(t *testing.T) {
	first := fixture.Batch("Org1MSP", "gw-1", 0, 5)
	tests := []struct {
		name    string
		who     *ledgertest.Identity
		batch   func() string
		wantErr any
	}{
		{"first batch", harness.Org1Gateway, func() string { return fixture.JSON(first) }, nil},
		{"bound gateway, own id", ledgertest.BoundGateway("Org1MSP", "gwb", "gw-1"), func() string { return fixture.JSON(first) }, nil},
		{"bound gateway, other id", ledgertest.BoundGateway("Org1MSP", "gwb", "gw-2"), func() string { return fixture.JSON(first) }, new(*access.DeniedError)},
		{"unbound gateway", ledgertest.Gateway("Org1MSP", "gwu"), func() string { return fixture.JSON(first) }, new(*access.DeniedError)},
		{"other org's batch", harness.Org2Gateway, func() string { return fixture.JSON(first) }, new(*access.DeniedError)},
		{"auditor", harness.Org1Auditor, func() string { return fixture.JSON(first) }, new(*access.DeniedError)},
		{"admin is not a gateway", harness.Org1Admin, func() string { return fixture.JSON(first) }, new(*access.DeniedError)},
		{"first batch not at size 0", harness.Org1Gateway, func() string { return fixture.JSON(fixture.Batch("Org1MSP", "gw-1", 5, 5)) }, new(*state.ConflictError)},
		{"wrong id", harness.Org1Gateway, func() string { b := first; b.ID = fixture.Hash("x"); return fixture.JSON(b) }, new(*wire.ValidationError)},
		{"unknown field", harness.Org1Gateway, func() string { return `{"id":"x","treeSize":3}` }, new(*wire.ValidationError)},
		{"chaincode field set", harness.Org1Gateway, func() string { b := first; b.TxID = "forged"; return fixture.JSON(b) }, new(*wire.ValidationError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := harness.New(t)
			out, err := anchor(h, tt.who, tt.batch())
			if tt.wantErr != nil {
				if !errors.As(err, tt.wantErr) {
					t.Fatalf("AnchorBatch() = %v, want %T", err, tt.wantErr)
				}
				if n := h.L.CountKeys(keys.GatewayBatch) + h.L.CountKeys(keys.Checkpoint); n != 0 {
					t.Fatalf("refused batch wrote %d keys", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("AnchorBatch() = %v", err)
			}
			got := harness.Decode[wire.Batch](t, out)
			if got.ID != first.ID || got.TxID == "" || got.AnchoredAt.IsZero() || got.Submitter.MSP != "Org1MSP" {
				t.Fatalf("stored batch = %+v", got)
			}
		})
	}
}

func TestAnchorBatchLogRules(t *testing.T) {
	h := harness.New(t)
	b1 := h.Anchor(harness.Org1Gateway, fixture.Batch("Org1MSP", "gw-1", 0, 5))
	tests := []struct {
		name    string
		batch   wire.Batch
		wantErr bool
	}{
		{"gap in tree", fixture.Batch("Org1MSP", "gw-1", 6, 5), true},
		{"overlap", fixture.Batch("Org1MSP", "gw-1", 4, 5), true},
		{"sequence gap", func() wire.Batch {
			b := fixture.Batch("Org1MSP", "gw-1", 5, 5)
			b.FirstSeq, b.LastSeq = 7, 11
			return b
		}(), true},
		{"extends", fixture.Batch("Org1MSP", "gw-1", 5, 5), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := anchor(h, harness.Org1Gateway, fixture.JSON(tt.batch))
			var ce *state.ConflictError
			if tt.wantErr != errors.As(err, &ce) {
				t.Fatalf("AnchorBatch() = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
	// Replaying the first batch after the log moved on returns the stored
	// record and writes nothing.
	tx := h.L.Begin(harness.Org1Gateway)
	out, err := h.Events.AnchorBatch(tx.Ctx(), fixture.JSON(fixture.Batch("Org1MSP", "gw-1", 0, 5)))
	if err != nil {
		t.Fatalf("replay = %v", err)
	}
	if len(tx.Written()) != 0 {
		t.Fatalf("replay wrote %v", tx.Written())
	}
	if got := harness.Decode[wire.Batch](t, out); got.TxID != b1.TxID {
		t.Fatalf("replay returned tx %s, want the original %s", got.TxID, b1.TxID)
	}
}

// TestConcurrentGateways shows two gateways (of one org or of two) anchoring
// in the same block touch disjoint keys and both commit, while two batches
// of one gateway in one block conflict (the log is sequential).
func TestConcurrentGateways(t *testing.T) {
	h := harness.New(t)
	a := h.L.Begin(harness.Org1Gateway)
	b := h.L.Begin(harness.GatewayOf("Org1MSP", "gw-2"))
	c := h.L.Begin(harness.Org2Gateway)
	if _, err := h.Events.AnchorBatch(a.Ctx(), fixture.JSON(fixture.Batch("Org1MSP", "gw-1", 0, 3))); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Events.AnchorBatch(b.Ctx(), fixture.JSON(fixture.Batch("Org1MSP", "gw-2", 0, 3))); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Events.AnchorBatch(c.Ctx(), fixture.JSON(fixture.Batch("Org2MSP", "gw-1", 0, 3))); err != nil {
		t.Fatal(err)
	}
	for _, tx := range []*ledgertest.Tx{a, b, c} {
		if err := tx.Commit(); err != nil {
			t.Fatalf("concurrent anchors of different gateways conflict: %v", err)
		}
	}
	d := h.L.Begin(harness.Org1Gateway)
	e := h.L.Begin(harness.Org1Gateway)
	if _, err := h.Events.AnchorBatch(d.Ctx(), fixture.JSON(fixture.Batch("Org1MSP", "gw-1", 3, 3))); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Events.AnchorBatch(e.Ctx(), fixture.JSON(fixture.Batch("Org1MSP", "gw-1", 3, 4))); err != nil {
		t.Fatal(err)
	}
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	var ce *ledgertest.ConflictError
	if err := e.Commit(); !errors.As(err, &ce) {
		t.Fatalf("second batch of one gateway in one block = %v, want MVCC conflict", err)
	}
}

func TestQueries(t *testing.T) {
	h := harness.New(t)
	var ids []string
	for i := uint64(0); i < 7; i++ {
		ids = append(ids, h.Anchor(harness.Org1Gateway, fixture.Batch("Org1MSP", "gw-1", i*10, 10)).ID)
	}
	h.Anchor(harness.GatewayOf("Org1MSP", "gw-2"), fixture.Batch("Org1MSP", "gw-2", 0, 10))
	h.Anchor(harness.Org2Gateway, fixture.Batch("Org2MSP", "gw-1", 0, 10))

	read := func(id *ledgertest.Identity, fn func(ctx contractapi.TransactionContextInterface) (string, error)) (string, error) {
		tx := h.L.Begin(id)
		defer tx.Discard()
		return fn(tx.Ctx())
	}
	out, err := read(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Events.GetBatch(ctx, ids[3])
	})
	if err != nil || harness.Decode[wire.Batch](t, out).TreeSizeAfter != 40 {
		t.Fatalf("GetBatch = %s, %v", out, err)
	}
	var nf *state.NotFoundError
	if _, err := read(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Events.GetBatch(ctx, fixture.Hash("none"))
	}); !errors.As(err, &nf) {
		t.Fatalf("GetBatch(missing) = %v", err)
	}
	var de *access.DeniedError
	if _, err := read(harness.Org1Plain, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Events.GetBatch(ctx, ids[0])
	}); !errors.As(err, &de) {
		t.Fatalf("GetBatch as role-less = %v, want denied", err)
	}

	out, err = read(harness.Org2Admin, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Events.LatestCheckpoint(ctx, "Org1MSP", "gw-1")
	})
	if ck := harness.Decode[wire.Checkpoint](t, out); err != nil || ck.TreeSize != 70 || ck.LastSeq != 69 || ck.BatchID != ids[6] {
		t.Fatalf("LatestCheckpoint = %s, %v", out, err)
	}

	tests := []struct {
		msp, gw, from, to string
		pageSize          int32
		want              []uint64 // tree sizes after, over all pages
	}{
		{"Org1MSP", "gw-1", "", "", 3, []uint64{10, 20, 30, 40, 50, 60, 70}},
		{"", "gw-1", "", "", 1000, []uint64{10, 20, 30, 40, 50, 60, 70}},
		{"Org1MSP", "", "", "", 4, []uint64{10, 20, 30, 40, 50, 60, 70, 10}},
		// Events of batch k span Base+10k .. Base+10k+9 s.
		{"Org1MSP", "gw-1", fixture.Base.Add(25e9).Format("2006-01-02T15:04:05Z07:00"), fixture.Base.Add(45e9).Format("2006-01-02T15:04:05Z07:00"), 2, []uint64{30, 40, 50}},
		{"Org2MSP", "gw-1", "", "", 5, []uint64{10}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("list %s/%s %s..%s by %d", tt.msp, tt.gw, tt.from, tt.to, tt.pageSize), func(t *testing.T) {
			var got []uint64
			bookmark := ""
			for pages := 0; ; pages++ {
				if pages > 20 {
					t.Fatal("pagination does not end")
				}
				out, err := read(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
					return h.Events.ListBatches(ctx, tt.msp, tt.gw, tt.from, tt.to, tt.pageSize, bookmark)
				})
				if err != nil {
					t.Fatal(err)
				}
				page := harness.Decode[wire.Page[wire.Batch]](t, out)
				if int32(len(page.Records)) > tt.pageSize || page.Fetched > tt.pageSize {
					t.Fatalf("page of %d records (fetched %d) exceeds %d", len(page.Records), page.Fetched, tt.pageSize)
				}
				for _, b := range page.Records {
					got = append(got, b.TreeSizeAfter)
				}
				if bookmark = page.Bookmark; bookmark == "" {
					break
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	bad := []struct {
		name     string
		from     string
		pageSize int32
		bookmark string
	}{
		{"page too big", "", 1001, ""},
		{"page zero", "", 0, ""},
		{"bad time", "yesterday", 10, ""},
		{"foreign bookmark", "", 10, "\x00lg.alert\x00x\x00"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := read(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
				return h.Events.ListBatches(ctx, "Org1MSP", "gw-1", tt.from, "", tt.pageSize, tt.bookmark)
			})
			var ve *wire.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("ListBatches = %v, want *wire.ValidationError", err)
			}
		})
	}
}

// TestFailClosed injects a failure into each world-state operation
// AnchorBatch performs and checks the call fails and writes nothing.
func TestFailClosed(t *testing.T) {
	boom := errors.New("peer unavailable")
	for _, op := range []ledgertest.Op{ledgertest.OpGet, ledgertest.OpPut, ledgertest.OpTimestamp} {
		t.Run(string(op), func(t *testing.T) {
			h := harness.New(t)
			h.L.Fail(op, "", boom)
			_, err := anchor(h, harness.Org1Gateway, fixture.JSON(fixture.Batch("Org1MSP", "gw-1", 0, 5)))
			var le *state.LedgerError
			if !errors.As(err, &le) || !errors.Is(err, boom) {
				t.Fatalf("AnchorBatch() = %v, want *state.LedgerError wrapping the fault", err)
			}
			if n := h.L.CountKeys(keys.Checkpoint); n != 0 {
				t.Fatal("failed anchor committed")
			}
		})
	}
	// A checkpoint read failing must not read as "no checkpoint" (which
	// would let a gateway restart its log at size 0).
	h := harness.New(t)
	h.Anchor(harness.Org1Gateway, fixture.Batch("Org1MSP", "gw-1", 0, 5))
	h.L.Fail(ledgertest.OpGet, keys.Checkpoint, boom)
	if _, err := anchor(h, harness.Org1Gateway, fixture.JSON(fixture.Batch("Org1MSP", "gw-1", 5, 5))); !errors.Is(err, boom) {
		t.Fatalf("anchor with unreadable checkpoint = %v", err)
	}
}

// FuzzAnchorBatch submits arbitrary JSON as a gateway: the contract must
// never panic, and whatever it refuses must leave the ledger unchanged.
func FuzzAnchorBatch(f *testing.F) {
	f.Add([]byte(fixture.JSON(fixture.Batch("Org1MSP", "gw-1", 0, 3))))
	f.Add([]byte(fixture.JSON(fixture.Batch("Org2MSP", "gw-1", 0, 3))))
	f.Add([]byte(`{"msp":"Org1MSP","gatewayId":"gw-1","treeSizeBefore":0,"treeSizeAfter":18446744073709551615}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		h := harness.New(t)
		_, err := anchor(h, harness.Org1Gateway, string(data))
		if err != nil && h.L.CountKeys(keys.Checkpoint)+h.L.CountKeys(keys.Batch) != 0 {
			t.Fatalf("refused input wrote state: %v", err)
		}
	})
}
