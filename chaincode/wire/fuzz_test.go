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

// FuzzModel does the same for a RegisterModel argument: a registration
// that validates re-encodes to a stable canonical form that still
// validates and is the same registration.
func FuzzModel(f *testing.F) {
	f.Add([]byte(`{"name":"nsl-kdd-flow","version":"1.0.0","sha256":"` + fixture.Hash("m") + `","featuresSha256":"` + fixture.Hash("f") +
		`","trainingData":[{"path":"nsl-kdd/KDDTrain+_full.zip","sha256":"` + fixture.Hash("t") + `"}],"metrics":{"test.accuracy":0.83,"n":1e3}}`))
	f.Add([]byte(`{"name":"m","version":"1","sha256":"","metrics":{"a":-0}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := wire.Decode[wire.ModelRecord](data, "model")
		if err != nil {
			return
		}
		if err := m.Validate(); err != nil {
			return
		}
		canon, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("encode valid model: %v", err)
		}
		again, err := wire.Decode[wire.ModelRecord](canon, "model")
		if err != nil {
			t.Fatalf("decode canonical model: %v", err)
		}
		if err := again.Validate(); err != nil {
			t.Fatalf("canonical model no longer validates: %v", err)
		}
		if !m.SameRegistration(&again) || !again.SameRegistration(&m) {
			t.Fatalf("canonical model is another registration:\n%s", canon)
		}
		if out, _ := json.Marshal(again); !bytes.Equal(out, canon) {
			t.Fatalf("canonical form not stable:\n%s\n%s", canon, out)
		}
	})
}

// FuzzHygiene feeds arbitrary JSON to the hygiene rule and org caps
// decoders and validators: they must never panic, and a valid record must
// re-encode to a stable canonical form that still validates.
func FuzzHygiene(f *testing.F) {
	f.Add([]byte(fixture.JSON(fixture.DedupRule("d", 1, "true", 60))), false)
	f.Add([]byte(`{"id":"s","version":1,"kind":"suppress","condition":"true","reason":"r","expiresAt":"2026-01-01T00:00:00Z"}`), false)
	f.Add([]byte(`{"msp":"Org1MSP","caps":[{"action":"isolate_host","max":3,"windowSeconds":3600}]}`), true)
	f.Fuzz(func(t *testing.T, data []byte, caps bool) {
		if caps {
			roundTrip[wire.OrgCaps](t, data, "caps", (*wire.OrgCaps).Validate)
			return
		}
		roundTrip[wire.HygieneRule](t, data, "rule", (*wire.HygieneRule).Validate)
	})
}

func roundTrip[T any](t *testing.T, data []byte, what string, validate func(*T) error) {
	v, err := wire.Decode[T](data, what)
	if err != nil || validate(&v) != nil {
		return
	}
	canon, err := json.Marshal(&v)
	if err != nil {
		t.Fatalf("encode valid %s: %v", what, err)
	}
	again, err := wire.Decode[T](canon, what)
	if err != nil {
		t.Fatalf("decode canonical %s: %v", what, err)
	}
	if err := validate(&again); err != nil {
		t.Fatalf("canonical %s no longer validates: %v", what, err)
	}
	if out, _ := json.Marshal(&again); !bytes.Equal(out, canon) {
		t.Fatalf("canonical form not stable:\n%s\n%s", canon, out)
	}
}

// FuzzOutcomeRecords feeds arbitrary JSON to the RecordOutcomes argument's
// decoder and each record's validation: they must never panic, and a
// record that validates re-encodes to a form that decodes and validates
// to the same record.
func FuzzOutcomeRecords(f *testing.F) {
	f.Add([]byte(fixture.JSON([]wire.OutcomeRecord{{ResponseID: fixture.Hash("r"), Status: "succeeded", Detail: "open_incident: 201"}})))
	f.Add([]byte(`[{"responseId":"","status":"done","detail":"\u0000"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		list, err := wire.Decode[[]wire.OutcomeRecord](data, "outcomes")
		if err != nil {
			return
		}
		for i := range list {
			if err := list[i].Validate("outcomes[0]"); err != nil {
				continue
			}
			canon, err := json.Marshal(list[i])
			if err != nil {
				t.Fatalf("encode valid record: %v", err)
			}
			again, err := wire.Decode[wire.OutcomeRecord](canon, "outcome")
			if err != nil {
				t.Fatalf("decode canonical record: %v", err)
			}
			if err := again.Validate("outcomes[0]"); err != nil || again != list[i] {
				t.Fatalf("canonical record %+v differs or no longer validates: %v", again, err)
			}
		}
	})
}
