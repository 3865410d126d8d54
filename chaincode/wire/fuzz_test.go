package wire_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/fixture"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// FuzzBatch feeds arbitrary JSON to the batch decoder and validator: they
// must never panic, and a batch that validates must re-encode to a
// canonical form that decodes and validates to the same bytes.
func FuzzBatch(f *testing.F) {
	f.Add([]byte(fixture.JSON(fixture.Batch("Org1MSP", "gw-1", 0, 3))))
	f.Add([]byte(`{"id":"","classCounts":{"a":1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := wire.Decode[wire.Batch](data, "batch")
		if err != nil {
			return
		}
		if err := b.Validate(); err != nil {
			return
		}
		canon, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("encode valid batch: %v", err)
		}
		again, err := wire.Decode[wire.Batch](canon, "batch")
		if err != nil {
			t.Fatalf("decode canonical batch: %v", err)
		}
		if err := again.Validate(); err != nil {
			t.Fatalf("canonical batch no longer validates: %v", err)
		}
		if out, _ := json.Marshal(again); !bytes.Equal(out, canon) {
			t.Fatalf("canonical form not stable:\n%s\n%s", canon, out)
		}
	})
}

// FuzzAlerts does the same for a RaiseAlerts argument (an array of alerts).
func FuzzAlerts(f *testing.F) {
	b := fixture.Batch("Org1MSP", "gw-1", 0, 10)
	f.Add([]byte(fixture.JSON([]wire.Alert{fixture.Alert(b, 1, "high", "T1110", "web-01"), fixture.Alert(b, 2, "low", "TA0007", "db-01")})))
	f.Add([]byte(`[{"fields":{"a":"{{alert.asset}}"}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		list, err := wire.Decode[[]wire.Alert](data, "alerts")
		if err != nil {
			return
		}
		for i := range list {
			if err := list[i].Validate("a"); err != nil {
				continue
			}
			canon, err := json.Marshal(list[i])
			if err != nil {
				t.Fatalf("encode valid alert: %v", err)
			}
			again, err := wire.Decode[wire.Alert](canon, "alert")
			if err != nil {
				t.Fatalf("decode canonical alert: %v", err)
			}
			if err := again.Validate("a"); err != nil {
				t.Fatalf("canonical alert no longer validates: %v", err)
			}
			// Templates resolve without panicking on any valid alert.
			_ = wire.ResolveTemplate("{{alert.fields.user}} {{alert.score}} {{alert.asset}}", &again)
		}
	})
}
