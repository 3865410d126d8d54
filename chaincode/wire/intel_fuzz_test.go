package wire_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// FuzzIndicatorShare feeds arbitrary JSON to the ShareIndicators argument
// decoder and every record's validator: they must never panic, and a
// record that validates must re-encode to a form that decodes and
// validates to the same bytes.
func FuzzIndicatorShare(f *testing.F) {
	f.Add([]byte(`{"indicators":[{"id":"` + hexOf('a') + `","hash":"` + hexOf('b') + `","keyId":"k1","type":"domain","confidence":80,"tlp":"AMBER","recipients":["Org1MSP"],"validFrom":"2026-01-01T00:00:00Z","techniques":["T1071.004"],"stixId":"indicator--1","valueHash":"` + hexOf('c') + `"}]}`))
	f.Add([]byte(`{"indicators":[{"tlp":"RED"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := wire.Decode[wire.IndicatorShare](data, "share")
		if err != nil {
			return
		}
		for _, ind := range s.Indicators {
			if err := ind.Validate("indicator"); err != nil {
				continue
			}
			canon, err := json.Marshal(ind)
			if err != nil {
				t.Fatalf("encode valid indicator: %v", err)
			}
			again, err := wire.Decode[wire.Indicator](canon, "indicator")
			if err != nil {
				t.Fatalf("decode canonical indicator: %v", err)
			}
			if err := again.Validate("indicator"); err != nil {
				t.Fatalf("canonical indicator no longer validates: %v", err)
			}
			if out, _ := json.Marshal(again); !bytes.Equal(out, canon) {
				t.Fatalf("canonical form not stable:\n%s\n%s", canon, out)
			}
		}
	})
}

// FuzzSightingReport does the same for the ReportSightings argument.
func FuzzSightingReport(f *testing.F) {
	f.Add([]byte(`{"sightings":[{"indicatorId":"` + hexOf('a') + `","count":3,"firstSeen":"2026-01-01T00:00:00Z","lastSeen":"2026-01-01T00:01:00+01:00"}]}`))
	f.Add([]byte(`{"sightings":[{"count":-1}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := wire.Decode[wire.SightingReport](data, "report")
		if err != nil {
			return
		}
		for _, s := range r.Sightings {
			if err := s.Validate("sighting"); err != nil {
				continue
			}
			canon, _ := json.Marshal(s)
			again, err := wire.Decode[wire.Sighting](canon, "sighting")
			if err != nil || again.Validate("sighting") != nil {
				t.Fatalf("canonical sighting %s no longer decodes and validates: %v", canon, err)
			}
		}
	})
}

func hexOf(c byte) string { return string(bytes.Repeat([]byte{c}, 64)) }
