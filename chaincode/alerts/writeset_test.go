package alerts_test

import (
	"crypto/sha256"
	"fmt"
	"sort"
	"testing"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/fixture"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/harness"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// raiseWriteSetGolden is the SHA-256 of what TestRaiseAlertsWriteSetGolden's
// transactions write and return, as main's code at c58394a wrote them
// (before the decode, validation and encoding fast paths): endorsers
// running either version must write the same bytes.
const raiseWriteSetGolden = "ad380313e12bfbc4e9831e81c6a8cf2ddf2d86a6535e9af5c6cef56fbed1636d"

// TestRaiseAlertsWriteSetGolden raises the ingest bench's alert shapes
// (kddAlert, bareAlert) in transactions of 1 to wire.MaxAlertsPerTx
// alerts, compressed and plain in the transient map, and pins every key
// and value written, and the results, to raiseWriteSetGolden.
func TestRaiseAlertsWriteSetGolden(t *testing.T) {
	h := harness.New(t)
	h.InitMembers()
	seq := uint64(0)
	all := sha256.New()
	for round, n := range []int{2000, 1, 7, 300, 1000} {
		for _, deflate := range []bool{true, false} {
			batch := h.Anchor(harness.Org1Gateway, fixture.Batch("Org1MSP", "gw-1", seq, uint64(n)))
			batch.AnchoredAt, batch.TxID, batch.Submitter = wire.Time{}, "", nil
			list := make([]wire.Alert, n)
			for j := range list {
				if round%2 == 0 {
					list[j] = kddAlert(batch, seq, j)
				} else {
					list[j] = bareAlert(batch, seq, j)
				}
				seq++
			}
			tx := h.L.Begin(harness.Org1Gateway)
			tx.SetTransient(transientAlerts(t, list, deflate))
			res, err := h.Alerts.RaiseAlerts(tx.Ctx(), "")
			if err != nil {
				t.Fatal(err)
			}
			keys := tx.Written()
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			sort.Strings(keys)
			for _, k := range keys {
				v, _ := h.L.Value(k)
				fmt.Fprintf(all, "%q=%x\n", k, v)
			}
			fmt.Fprintf(all, "res=%s\n", res)
		}
	}
	if got := fmt.Sprintf("%x", all.Sum(nil)); got != raiseWriteSetGolden {
		t.Fatalf("write sets digest to %s, want %s (main's)", got, raiseWriteSetGolden)
	}
}
