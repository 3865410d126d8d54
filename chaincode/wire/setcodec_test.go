package wire_test

import (
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	kflate "github.com/klauspost/compress/flate"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// bigSet returns a stored set of n alerts shaped like the ingest bench's.
func bigSet(n int) wire.AlertSet {
	m := wire.Model{ID: "nsl-kdd-flow", Version: "1.1.0", SHA256: strings.Repeat("a", 64)}
	set := wire.AlertSet{MSP: "Org1MSP", GatewayID: "gw-1", BatchID: strings.Repeat("b", 64), Seq: 2,
		RaisedTx: strings.Repeat("c", 64), RaisedBy: wire.Actor{MSP: "Org1MSP", Subject: "CN=gw"}}
	for i := range n {
		set.Add(wire.Alert{ID: fmt.Sprintf("%064x", i), MSP: "Org1MSP", GatewayID: "gw-1", BatchID: set.BatchID,
			EventHash: fmt.Sprintf("%064x", i*7919), Detector: m, Score: 0.75 + float64(i%100)/1000, Severity: wire.SeverityHigh,
			Category: "T1046", Asset: fmt.Sprintf("sensor-%02d", i%16),
			Fields: map[string]string{"class": "flow", "label": "Probe", "top_features": fmt.Sprintf("count:+%d.%d", i%9, i%7)}})
	}
	return set
}

// TestStoredAlertSet: a set is written as plain JSON while small and
// compressed once large, deterministically, and both forms (and the plain
// JSON sets earlier chaincodes wrote) read back as the same set.
func TestStoredAlertSet(t *testing.T) {
	tests := []struct {
		name           string
		alerts         int
		wantCompressed bool
	}{
		{"one alert: plain JSON", 1, false},
		{"four alerts: plain JSON", 4, false},
		{"a hundred alerts: compressed", 100, true},
		{"a transaction's worth: compressed", 1000, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := bigSet(tt.alerts)
			plain, err := json.Marshal(&set)
			if err != nil {
				t.Fatal(err)
			}
			got, err := wire.EncodeStoredAlertSet(&set)
			if err != nil {
				t.Fatal(err)
			}
			if compressed := got[0] == 0; compressed != tt.wantCompressed {
				t.Fatalf("compressed = %v (%d of %d JSON bytes), want %v", compressed, len(got), len(plain), tt.wantCompressed)
			}
			if tt.wantCompressed && len(got) > len(plain)/2 {
				t.Errorf("compressed to %d of %d bytes, want at most half", len(got), len(plain))
			}
			again, err := wire.EncodeStoredAlertSet(&set)
			if err != nil || !bytes.Equal(again, got) {
				t.Fatalf("second encoding differs (err %v): endorsers would disagree", err)
			}
			for _, value := range [][]byte{got, plain} {
				var back wire.AlertSet
				if err := wire.DecodeStoredAlertSet(value, &back); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(back, set) {
					t.Fatalf("read back %+v, want %+v", back, set)
				}
			}
		})
	}
}

// TestStoredAlertSetRefusesCorrupt: a compressed value that does not
// inflate, or inflates beyond the bound, is an error, never a partial set.
func TestStoredAlertSetRefusesCorrupt(t *testing.T) {
	set := bigSet(100)
	good, err := wire.EncodeStoredAlertSet(&set)
	if err != nil {
		t.Fatal(err)
	}
	var bomb bytes.Buffer
	bomb.WriteString(string(good[:6]))
	w, _ := flate.NewWriter(&bomb, flate.BestCompression)
	zeros := make([]byte, 1<<20)
	for range wire.MaxStoredAlertSetJSON>>20 + 1 {
		w.Write(zeros)
	}
	w.Close()
	tests := []struct {
		name  string
		value []byte
		want  string
	}{
		{"truncated", good[:len(good)/2], "inflating stored alert set"},
		{"garbage after the prefix", append(append([]byte{}, good[:6]...), 0xff, 0xfe, 0xfd), "inflating stored alert set"},
		{"inflates beyond the bound", bomb.Bytes(), "inflates beyond"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := wire.StoredAlertSetJSON(tt.value)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// FuzzStoredAlertSet: any value decodes or fails cleanly, and a set that
// decodes re-encodes to a value that reads back as the same set.
func FuzzStoredAlertSet(f *testing.F) {
	small, big := bigSet(1), bigSet(50)
	for _, s := range []*wire.AlertSet{&small, &big} {
		v, err := wire.EncodeStoredAlertSet(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(v)
	}
	f.Add([]byte("\x00lgdf1"))
	f.Fuzz(func(t *testing.T, value []byte) {
		var set wire.AlertSet
		if err := wire.DecodeStoredAlertSet(value, &set); err != nil {
			return
		}
		again, err := wire.EncodeStoredAlertSet(&set)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		var back wire.AlertSet
		if err := wire.DecodeStoredAlertSet(again, &back); err != nil {
			t.Fatalf("re-encoded set does not decode: %v", err)
		}
		a, _ := json.Marshal(&set)
		b, _ := json.Marshal(&back)
		if !bytes.Equal(a, b) {
			t.Fatalf("round trip changed the set:\n%s\n%s", a, b)
		}
	})
}

// TestStoredAlertSetGolden pins the compressed bytes of a set: endorsers
// must write the same value, so the encoding may change only with a
// deliberate format change (and then every member upgrades together).
// The compressor is vendored for this reason (see setcodec.go).
func TestStoredAlertSetGolden(t *testing.T) {
	set := bigSet(100)
	value, err := wire.EncodeStoredAlertSet(&set)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprintf("%x", sha256.Sum256(value)), "cca64930b0e0645c050958c01dedd4d366723e9811a97c16a694750641d84e24"; got != want {
		t.Errorf("sha256 of the stored value = %s, want %s (%d bytes)", got, want, len(value))
	}
}

// TestStoredAlertSetWriteLimit: a set too large to read back is refused
// when written (a *ValidationError), not stored: valid alerts whose text
// JSON escapes six-fold can add up to more than the read limit, and their
// compressed value would be small enough to pass every other limit.
func TestStoredAlertSetWriteLimit(t *testing.T) {
	set := bigSet(200)
	v := strings.Repeat("<", wire.MaxFieldValueLen)
	for i := range set.Alerts {
		f := make(map[string]string, wire.MaxAlertFields)
		for k := range wire.MaxAlertFields {
			f[fmt.Sprintf("f%02d", k)] = v
		}
		set.Alerts[i].Fields = f
	}
	_, err := wire.EncodeStoredAlertSet(&set)
	var ve *wire.ValidationError
	if !errors.As(err, &ve) || ve.Field != "alerts" {
		t.Fatalf("err = %v, want a *wire.ValidationError on alerts", err)
	}
	set.Alerts = set.Alerts[:20] // about 2 MB of JSON: written, and read back
	value, err := wire.EncodeStoredAlertSet(&set)
	if err != nil {
		t.Fatal(err)
	}
	var back wire.AlertSet
	if err := wire.DecodeStoredAlertSet(value, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Alerts) != 20 {
		t.Errorf("read back %d alerts, want 20", len(back.Alerts))
	}
}

// TestStoredAlertSetReusedWriters: a set compresses to the same bytes
// whatever the free list of compressors handed out, and those bytes are
// what a fresh writer writes. Endorsers reach a transaction with
// different histories of writer reuse, so a writer that kept state across
// Reset would split their results; this pins that it does not (also
// across an upgrade of the compressor).
func TestStoredAlertSetReusedWriters(t *testing.T) {
	fresh := func(t *testing.T, set *wire.AlertSet) []byte {
		t.Helper()
		data, err := json.Marshal(set)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		w, err := kflate.NewWriter(&buf, kflate.BestSpeed)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	sizes := []int{1000, 7, 300, 1, 1500, 120, 999, 40, 640, 2}
	var compressed int
	for round := range 3 {
		for _, n := range sizes {
			set := bigSet(n)
			set.Seq = round + 1
			got, err := wire.EncodeStoredAlertSet(&set)
			if err != nil {
				t.Fatal(err)
			}
			const prefix = "\x00lgdf1"
			if !bytes.HasPrefix(got, []byte(prefix)) {
				continue
			}
			compressed++
			if want := fresh(t, &set); !bytes.Equal(got[len(prefix):], want) {
				t.Fatalf("round %d, %d alerts: reused writer wrote %d bytes, a fresh one %d (sha256 %x vs %x)",
					round, n, len(got)-len(prefix), len(want), sha256.Sum256(got[len(prefix):]), sha256.Sum256(want))
			}
		}
	}
	if compressed < 20 {
		t.Fatalf("only %d sets compressed: the test no longer exercises reuse", compressed)
	}
}
