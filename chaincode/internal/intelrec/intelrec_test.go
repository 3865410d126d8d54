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
			c, ok := toCompact(s)
			if !ok {
				t.Fatalf("toCompact refuses %+v", tt.ind)
			}
			if want, _ := json.Marshal(c); !bytes.Equal(b, want) {
				t.Errorf("Encode:\n got %s\nwant %s (json.Marshal of the compact struct)", b, want)
			}
			if !bytes.HasPrefix(b, compactMark) {
				t.Errorf("stored form %s does not start with %s", b, compactMark)
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
			// half its wire JSON, any other smaller.
			max := len(wireJSON) - 1
			if i == 0 {
				max = len(wireJSON) / 2
			}
			if len(b) > max {
				t.Errorf("stored form is %d bytes, the wire JSON %d: want at most %d", len(b), len(wireJSON), max)
			}
		})
	}
}

// TestDecodeWireForm: records written before the compact form (wire JSON
// and the second form) read back unchanged, through Decode and through
// Record as state.List decodes them.
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
		st, _ := toStored(&ind)
		f2 := st.appendJSON(nil)
		if got, err := Decode(f2); err != nil || !reflect.DeepEqual(*got, ind) {
			t.Errorf("Decode(form 2 %s) = %+v, %v; want %+v", f2, got, err, ind)
		}
		s, _ := Encode(&ind)
		var rs Record
		if err := json.Unmarshal(s, &rs); err != nil || !reflect.DeepEqual(rs.Indicator, ind) {
			t.Errorf("Record from the stored form = %+v, %v; want %+v", rs.Indicator, err, ind)
		}
	}
}

// TestCompactBytes pins the compact form of a record as shares write it,
// byte for byte: every endorser must write exactly these bytes.
func TestCompactBytes(t *testing.T) {
	ind := record(nil)
	got, err := Encode(&ind)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"H":"obLD1OX2obLD1OX2obLD1OX2obLD1OX2obLD1OX2obI","k":"k1","t":"domain","c":80,"l":"GREEN",` +
		`"f":1796460940240373350,"u":1796464540240373350,"q":["T1071","T1566.001"],"s":"Dx4tPEtaDx4tPEtaDx4tPA",` +
		`"v":"mZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZk","b":"Org1MSP","a":1796460940240373350,` +
		`"x":"Dx4tPEtaDx4tPEtaDx4tPEtaDx4tPEtaDx4tPEtaDx4","n":"12"}`
	if string(got) != want {
		t.Errorf("Encode:\n got %s\nwant %s", got, want)
	}
	if len(got) > 350 {
		t.Errorf("compact form is %d bytes, want at most 350", len(got))
	}
}

// TestCompactFallback: a record whose hashes or times the compact form
// cannot carry exactly is stored in the second form, and reads back
// unchanged either way; STIX ids of every shape round-trip.
func TestCompactFallback(t *testing.T) {
	tests := []struct {
		name    string
		ind     wire.Indicator
		compact bool
	}{
		{"uppercase sharedTx", record(func(i *wire.Indicator) { i.SharedTx = strings.ToUpper(tx) }), false},
		{"odd-length valueHash", record(func(i *wire.Indicator) { i.ValueHash = "abc" }), false},
		{"revokedTx not hex", record(func(i *wire.Indicator) {
			i.Status, i.RevokedAt, i.RevokedTx = wire.IndicatorRevoked, i.SharedAt, "not-hex"
		}), false},
		{"validFrom before 1678", record(func(i *wire.Indicator) { i.ValidFrom = wire.NewTime(time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)) }), false},
		{"validUntil after 2262", record(func(i *wire.Indicator) { i.ValidUntil = wire.NewTime(time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)) }), false},
		{"validFrom zero", record(func(i *wire.Indicator) { i.ValidFrom = wire.Time{} }), false},
		{"sharedAt the Unix epoch", record(func(i *wire.Indicator) { i.SharedAt = wire.NewTime(time.Unix(0, 0)) }), false},
		{"validFrom before the epoch", record(func(i *wire.Indicator) { i.ValidFrom = wire.NewTime(time.Unix(-5, 7)) }), true},
		{"STIX id of hex", record(func(i *wire.Indicator) { i.StixID = "indicator--0f1e2d3c4b5a0f1e2d3c4b5a0f1e2d3c" }), true},
		{"STIX id with uppercase UUID", record(func(i *wire.Indicator) { i.StixID = "indicator--0F1E2D3C-4B5A-0F1E-2D3C-4B5A0F1E2D3C" }), true},
		{"STIX id of another type", record(func(i *wire.Indicator) { i.StixID = "malware--0f1e2d3c-4b5a-0f1e-2d3c-4b5a0f1e2d3c" }), true},
		{"STIX id prefix alone", record(func(i *wire.Indicator) { i.StixID = "indicator--" }), true},
		{"no STIX id", record(func(i *wire.Indicator) { i.StixID = "" }), true},
		{"no valueHash", record(func(i *wire.Indicator) { i.ValueHash = "" }), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Encode(&tt.ind)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if got := bytes.HasPrefix(b, compactMark); got != tt.compact {
				t.Errorf("Encode wrote %s: compact %v, want %v", b, got, tt.compact)
			}
			if !tt.compact && !bytes.HasPrefix(b, storedMark) {
				t.Errorf("Encode wrote %s, want the second form", b)
			}
			got, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode(%s): %v", b, err)
			}
			if !reflect.DeepEqual(*got, tt.ind) {
				t.Errorf("Decode(Encode(x)):\n got %+v\nwant %+v", *got, tt.ind)
			}
		})
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
	for _, b := range []string{`{"h":"","b":"Org1MSP"}`, `{"h":"ab"}`, `{"h":1}`, `{"id":`, `[]`, ``,
		`{"H":"","b":"Org1MSP","f":1}`, `{"H":"qw","f":1}`, `{"H":"q","b":"Org1MSP","f":1}`, `{"H":"qw==","b":"Org1MSP","f":1}`,
		`{"H":"qx","b":"Org1MSP","f":1}`, `{"H":"qw","b":"Org1MSP","f":"2026-12-05T08:55:40Z"}`,
		`{"H":"qw","b":"Org1MSP","f":1,"s":"qw","sf":"indicator--x"}`, `{"H":"qw","b":"Org1MSP","f":1,"s":"qw"}`,
		`{"H":"qw","b":"Org1MSP","f":1,"x":"a+b/"}`, `{"H":"qw","b":"Org1MSP","f":1,"sh":"!"}`} {
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
	st, _ := toStored(&ind)
	f.Add(st.appendJSON(nil))
	f.Add([]byte(`{"H":"qw","b":"y","f":-1,"sh":"AB","st":"revoked","ra":5,"rx":"qw","n":"1"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Decode(data)
		if err != nil || !bytes.HasPrefix(data, storedMark) && !bytes.HasPrefix(data, compactMark) {
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

// FuzzCompactAppendJSON: the hand-written encoder of the compact form
// writes exactly what json.Marshal writes for its struct, whatever its
// strings and numbers hold.
func FuzzCompactAppendJSON(f *testing.F) {
	f.Add("k1", "Dx4tPEtaDx4tPEtaDx4tPA", "T1071", "Org1MSP", "v.tx.1", 80, int64(1796460940240373350))
	f.Add("", "<script>&\"\\\n\u2028é\xff", "", "", "", -1, int64(-5))
	f.Fuzz(func(t *testing.T, key, stix, tech, msp, vk string, conf int, at int64) {
		c := compact{Hash: stix, KeyID: key, Type: wire.IndicatorURL, Confidence: conf, TLP: wire.TLPAmber, Recipients: []string{msp, stix},
			ValidFrom: at, ValidUntil: -at, Techniques: []string{tech}, KillChainPhase: tech, StixUUID: stix, StixHex: key, StixFull: vk,
			ValueHash: vk, SharedBy: msp, SharedAt: at + 1, SharedTx: key, Status: stix, RevokedAt: at ^ 3, RevokedTx: vk,
			PurgedAt: at, PurgedTx: tech, Pack: tech, ValueKey: vk}
		want, err := json.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.appendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("appendJSON:\n got %s\nwant %s", got, want)
		}
	})
}
