package intel

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

func TestPackerKeysAndBytes(t *testing.T) {
	tests := []struct {
		n        int
		wantKeys int
	}{{1, 1}, {valuesPerPack, 1}, {valuesPerPack + 1, 2}, {3 * valuesPerPack, 3}}
	for _, tt := range tests {
		p := packer{prefix: "tx"}
		var vals []wire.IndicatorValue
		keys := map[string]bool{}
		for i := range tt.n {
			v := wire.IndicatorValue{ID: hex.EncodeToString([]byte{byte(i), byte(i >> 8)}), Value: "v"}
			vals = append(vals, v)
			keys[p.add(&v)] = true
		}
		p.close()
		if got := len(p.full); got != tt.wantKeys || len(keys) != tt.wantKeys {
			t.Errorf("%d values: %d packs, %d keys; want %d", tt.n, got, len(keys), tt.wantKeys)
		}
		i := 0
		for _, pk := range p.full {
			entries, err := decodePack(pk.data)
			if err != nil {
				t.Fatalf("%d values: pack %s: %v", tt.n, pk.key, err)
			}
			for _, e := range entries {
				if got, want := sha256.Sum256(e.raw), vals[i].ValueHash(); hex.EncodeToString(got[:]) != want || e.v.ID != vals[i].ID {
					t.Errorf("entry %d hashes to %x, want %s (its valueHash)", i, got, want)
				}
				i++
			}
		}
		if i != tt.n {
			t.Errorf("%d values: packs hold %d", tt.n, i)
		}
	}
}

// FuzzDecodePack feeds arbitrary bytes to the pack decoder (it reads what
// the peer hands back as a pack): it must never panic, and every entry it
// returns must be the bytes it decoded the entry from.
func FuzzDecodePack(f *testing.F) {
	v := wire.IndicatorValue{ID: "a", Hash: "b", Type: wire.IndicatorDomain, Value: "evil.example", Salt: "c"}
	f.Add([]byte("[" + string(v.Bytes()) + "," + string(v.Bytes()) + "]"))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"id":1}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := decodePack(data)
		if err != nil {
			return
		}
		for _, e := range entries {
			if !bytes.Contains(data, e.raw) {
				t.Fatalf("entry %q is not part of the pack", e.raw)
			}
			raws, _ := splitPack(data)
			if i := findEntry(raws, e.v.ID); i < 0 {
				t.Fatalf("findEntry(%q) finds nothing in a pack holding it", e.v.ID)
			}
		}
	})
}

func TestFindEntry(t *testing.T) {
	a := wire.IndicatorValue{ID: "aa", Value: "x"}
	b := wire.IndicatorValue{ID: "bb", Value: "y"}
	raws := []json.RawMessage{a.Bytes(), []byte(`{"value":"z","id":"cc"}`), b.Bytes()}
	tests := []struct {
		id   string
		want int
	}{{"aa", 0}, {"bb", 2}, {"cc", 1}, {"dd", -1}, {"a", -1}}
	for _, tt := range tests {
		if got := findEntry(raws, tt.id); got != tt.want {
			t.Errorf("findEntry(%q) = %d, want %d", tt.id, got, tt.want)
		}
	}
}
