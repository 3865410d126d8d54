package intelrec

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/state"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

const (
	hash = "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2"
	tx   = "0f1e2d3c4b5a0f1e2d3c4b5a0f1e2d3c4b5a0f1e2d3c4b5a0f1e2d3c4b5a0f1e"
)

// record returns a record as ShareIndicators writes it, changed by edit.
func record(edit func(*wire.Indicator)) wire.Indicator {
	at := wire.NewTime(time.Date(2026, 12, 5, 8, 55, 40, 240373350, time.UTC))
	ind := wire.Indicator{
		ID: wire.IndicatorID("Org1MSP", hash), Hash: hash, KeyID: "k1", Type: wire.IndicatorDomain, Confidence: 80,
		TLP: wire.TLPGreen, ValidFrom: at, ValidUntil: wire.NewTime(at.Add(time.Hour)), Techniques: []string{"T1071", "T1566.001"},
		StixID: "indicator--0f1e2d3c-4b5a-0f1e-2d3c-4b5a0f1e2d3c", ValueHash: strings.Repeat("9", 64),
		SharedBy: "Org1MSP", SharedAt: at, SharedTx: tx, Status: wire.IndicatorActive, ValueKey: "v." + tx + ".12",
	}
	if edit != nil {
		edit(&ind)
	}
	return ind
}

func TestRoundTrip(t *testing.T) {
	later := wire.NewTime(time.Date(2027, 1, 2, 3, 4, 5, 6, time.UTC))
	tests := []struct {
		name string
		ind  wire.Indicator
	}{
		{"active GREEN in a pack of its share", record(nil)},
		{"CLEAR without validUntil or techniques", record(func(i *wire.Indicator) {
			i.TLP, i.ValidUntil, i.Techniques, i.KillChainPhase = wire.TLPClear, wire.Time{}, nil, "exploitation"
		})},
		{"AMBER with recipients, value under its id", record(func(i *wire.Indicator) {
			i.TLP, i.Recipients, i.ValueKey = wire.TLPAmber, []string{"Org1MSP", "Org2MSP"}, ""
		})},
		{"repacked by a purge", record(func(i *wire.Indicator) { i.ValueKey = "v." + strings.Repeat("e", 64) + ".r.3" })},
		{"revoked", record(func(i *wire.Indicator) {
			i.Status, i.RevokedAt, i.RevokedTx = wire.IndicatorRevoked, later, strings.Repeat("c", 64)
		})},
		{"purged", record(func(i *wire.Indicator) {
			i.Status, i.PurgedAt, i.PurgedTx = wire.IndicatorPurged, later, strings.Repeat("d", 64)
		})},
		{"pack key naming the share's tx alone", record(func(i *wire.Indicator) { i.ValueKey = "v." + tx + "." })},
		{"no share tx", record(func(i *wire.Indicator) { i.SharedTx, i.SharedAt = "", wire.Time{} })},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Encode(&tt.ind)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			s, _ := toStored(&tt.ind)
			if want, _ := json.Marshal(s); !bytes.Equal(b, want) {
				t.Errorf("Encode:\n got %s\nwant %s (json.Marshal of the stored struct)", b, want)
			}
			if !bytes.HasPrefix(b, storedMark) {
				t.Errorf("stored form %s does not start with %s", b, storedMark)
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode(%s): %v", b, err)
			}
			if !reflect.DeepEqual(*got, tt.ind) {
				t.Errorf("Decode(Encode(x)):\n got %+v\nwant %+v", *got, tt.ind)
			}
			wireJSON, _ := json.Marshal(tt.ind)
			// The record as shares write it (the first case) is at most
			// two thirds of its wire JSON, any other smaller.
			max := len(wireJSON) - 1
			if i == 0 {
				max = len(wireJSON) * 2 / 3
			}
			if len(b) > max {
				t.Errorf("stored form is %d bytes, the wire JSON %d: want at most %d", len(b), len(wireJSON), max)
			}
		})
	}
}

// TestDecodeWireForm: records written before the stored form (wire JSON)
// read back unchanged, through Decode and through Record as state.List
// decodes them.
func TestDecodeWireForm(t *testing.T) {
	for _, ind := range []wire.Indicator{record(nil), record(func(i *wire.Indicator) {
		i.TLP, i.Recipients, i.ValueKey, i.Status = wire.TLPAmberStrict, []string{"Org1MSP"}, "", wire.IndicatorRevoked
	})} {
		b, err := json.Marshal(ind)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(b)
		if err != nil || !reflect.DeepEqual(*got, ind) {
			t.Errorf("Decode(wire JSON) = %+v, %v; want %+v", got, err, ind)
		}
		var r Record
		if err := json.Unmarshal(b, &r); err != nil || !reflect.DeepEqual(r.Indicator, ind) {
			t.Errorf("Record from wire JSON = %+v, %v; want %+v", r.Indicator, err, ind)
		}
		s, _ := Encode(&ind)
		var rs Record
		if err := json.Unmarshal(s, &rs); err != nil || !reflect.DeepEqual(rs.Indicator, ind) {
			t.Errorf("Record from the stored form = %+v, %v; want %+v", rs.Indicator, err, ind)
		}
	}
}

func TestEncodeRefuses(t *testing.T) {
	tests := []struct {
		name string
		ind  wire.Indicator
	}{
		{"id of another sharer", record(func(i *wire.Indicator) { i.ID = wire.IndicatorID("Org2MSP", hash) })},
		{"no sharer", record(func(i *wire.Indicator) { i.SharedBy = "" })},
		{"no hash", record(func(i *wire.Indicator) { i.Hash = "" })},
		{"no status", record(func(i *wire.Indicator) { i.Status = "" })},
	}
	for _, tt := range tests {
		_, err := Encode(&tt.ind)
		var ie *state.InconsistentError
		if !errors.As(err, &ie) {
			t.Errorf("%s: Encode error %v, want *state.InconsistentError", tt.name, err)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	for _, b := range []string{`{"h":"","b":"Org1MSP"}`, `{"h":"ab"}`, `{"h":1}`, `{"id":`, `[]`, ``} {
		if got, err := Decode([]byte(b)); err == nil {
			t.Errorf("Decode(%s) = %+v, want an error", b, got)
		}
	}
}

// FuzzDecode feeds arbitrary bytes to Decode (it reads what the peer
// hands back as a record): it must never panic, and whatever it accepts
// in the stored form encodes again to a record that decodes the same.
func FuzzDecode(f *testing.F) {
	ind := record(nil)
	b, _ := Encode(&ind)
	f.Add(b)
	w, _ := json.Marshal(ind)
	f.Add(w)
	f.Add([]byte(`{"h":"x","b":"y","st":"revoked","n":"1"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Decode(data)
		if err != nil || !bytes.HasPrefix(data, storedMark) {
			return
		}
		again, err := Encode(got)
		if err != nil {
			return // e.g. a status the stored form cannot have
		}
		back, err := Decode(again)
		if err != nil || !reflect.DeepEqual(back, got) {
			t.Fatalf("Decode(Encode(Decode(%q))) = %+v, %v; want %+v", data, back, err, got)
		}
	})
}

// FuzzAppendJSON: the hand-written encoder writes exactly what
// json.Marshal writes for the stored struct, whatever its strings hold.
func FuzzAppendJSON(f *testing.F) {
	f.Add("k1", "indicator--x", "T1071", "Org1MSP", "v.tx.1", 80)
	f.Add("", "<script>&\"\\\n\u2028é\xff", "", "", "", -1)
	f.Fuzz(func(t *testing.T, key, stix, tech, msp, vk string, conf int) {
		s := stored{Hash: hash, KeyID: key, Type: wire.IndicatorURL, Confidence: conf, TLP: wire.TLPAmber, Recipients: []string{msp, stix},
			ValidFrom: wire.NewTime(time.Unix(int64(conf), 0)), Techniques: []string{tech}, KillChainPhase: tech, StixID: stix,
			ValueHash: vk, SharedBy: msp, SharedTx: key, Status: stix, RevokedTx: vk, Pack: tech, ValueKey: vk}
		want, err := json.Marshal(&s)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.appendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("appendJSON:\n got %s\nwant %s", got, want)
		}
	})
}
