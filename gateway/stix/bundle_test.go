package stix

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/intel"
)

var unit42Bundles = []string{"unit42_2024-02-08-Pikabot.json", "unit42_IcedID_Unit42_Intel.json", "unit42_hive-ransomware.json"}

// readBundle reads a bundle of the shared data set
// ($LEDGERGUARD_DATA_DIR/threat-intel-stix, default ../shared/data).
func readBundle(t testing.TB, name string) []byte {
	t.Helper()
	d := os.Getenv("LEDGERGUARD_DATA_DIR")
	if d == "" {
		d = filepath.Join(repoRoot(t), "..", "shared", "data")
	}
	b, err := os.ReadFile(filepath.Join(d, "threat-intel-stix", name))
	if err != nil {
		t.Skipf("STIX data set not found (set LEDGERGUARD_DATA_DIR): %v", err)
	}
	return b
}

func TestParseUnit42(t *testing.T) {
	tests := []struct {
		file             string
		strictKind       error  // what a strict import refuses the bundle with (nil: accepted)
		strictObject     string // and the object it names
		inputs           int    // with SkipUnshareable
		skipped          int
		objects, indObjs int
	}{
		{"unit42_2024-02-08-Pikabot.json", nil, "", 10, 0, 10, 10},
		// A scheme-less URL (invalid), a file:name pattern (unsupported)
		// and four hashes listed twice.
		{"unit42_IcedID_Unit42_Intel.json", ErrMalformed, "indicator--0a9b0128-5c3e-4b0d-a507-033d8a025bc1", 44, 6, 311, 50},
		// Three process:command_line patterns.
		{"unit42_hive-ransomware.json", ErrUnsupported, "indicator--57f722bc-d7ab-4537-a846-e79bf33a039c", 4, 3, 130, 7},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b := readBundle(t, tt.file)
			strict, err := Parse(b, ImportOptions{TLP: wire.TLPGreen})
			if tt.strictKind == nil {
				if err != nil {
					t.Fatalf("strict import: %v", err)
				}
				if len(strict.Inputs) != tt.inputs {
					t.Fatalf("strict import: %d inputs, want %d", len(strict.Inputs), tt.inputs)
				}
			} else {
				var oe *ObjectError
				if !errors.As(err, &oe) || !errors.Is(err, tt.strictKind) || oe.ID != tt.strictObject {
					t.Fatalf("strict import: got %v, want %v naming %s", err, tt.strictKind, tt.strictObject)
				}
				if strict != nil {
					t.Fatal("a refused import returned inputs")
				}
			}
			imp, err := Parse(b, ImportOptions{TLP: wire.TLPGreen, SkipUnshareable: true})
			if err != nil {
				t.Fatalf("import skipping unshareable: %v", err)
			}
			if len(imp.Inputs) != tt.inputs || len(imp.Skipped) != tt.skipped || imp.Objects != tt.objects || imp.IndicatorObjects != tt.indObjs {
				t.Fatalf("got %d inputs, %d skipped, %d objects, %d indicator objects; want %d, %d, %d, %d",
					len(imp.Inputs), len(imp.Skipped), imp.Objects, imp.IndicatorObjects, tt.inputs, tt.skipped, tt.objects, tt.indObjs)
			}
			for _, in := range imp.Inputs {
				if canon, err := wire.CanonicalIndicator(in.Type, in.Value); err != nil || canon != in.Value {
					t.Fatalf("input %s %q is not canonical (%q, %v)", in.Type, in.Value, canon, err)
				}
				if in.TLP != wire.TLPGreen || in.Confidence != DefaultConfidence || in.ValidFrom.IsZero() || !validID(in.StixID, "indicator") {
					t.Fatalf("input %+v lacks TLP, confidence, validity or STIX id", in)
				}
				var obj map[string]any
				if err := json.Unmarshal([]byte(in.Stix), &obj); err != nil || obj["id"] != in.StixID {
					t.Fatalf("input %s: Stix is not its object: %v", in.StixID, err)
				}
			}
			key := intel.Key{ID: "k1", Secret: []byte("0123456789abcdef")}
			if _, _, err := intel.Prepare("Org1MSP", key, imp.Inputs, nil); err != nil {
				t.Fatalf("Prepare refused the import: %v", err)
			}
		})
	}
}

// TestParseUnit42Attack checks ATT&CK ids and phases against what the
// bundles relate: IcedID relates indicators to attack patterns with
// "indicates", Hive with "uses".
func TestParseUnit42Attack(t *testing.T) {
	tests := []struct {
		file, stixID, techniques, phase string
	}{
		{"unit42_IcedID_Unit42_Intel.json", "indicator--030baea3-d2f3-40c8-a7c1-6c29c3db0ef7", "T1105", "command-and-control"},
		{"unit42_IcedID_Unit42_Intel.json", "indicator--0715a95b-e946-4d49-a5ca-bde02d84ee5b", "T1071.001", "command-and-control"},
		{"unit42_hive-ransomware.json", "indicator--13b409fb-4a69-4a15-acd8-cb5d0d414b5f", "T1486", "impact"},
		{"unit42_2024-02-08-Pikabot.json", "indicator--1cfd37c5-1f3d-4c6a-8d6f-9eb93f283f2e", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.stixID, func(t *testing.T) {
			imp, err := Parse(readBundle(t, tt.file), ImportOptions{TLP: wire.TLPGreen, SkipUnshareable: true})
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(imp.Inputs, func(in intel.Input) bool { return in.StixID == tt.stixID })
			if i < 0 {
				t.Fatalf("%s not imported", tt.stixID)
			}
			if got := strings.Join(imp.Inputs[i].Techniques, ","); got != tt.techniques || imp.Inputs[i].KillChainPhase != tt.phase {
				t.Fatalf("got techniques %q phase %q, want %q %q", got, imp.Inputs[i].KillChainPhase, tt.techniques, tt.phase)
			}
		})
	}
}

// Synthetic bundles.

const (
	uuidA = "11111111-1111-4111-8111-111111111111"
	uuidB = "22222222-2222-4222-8222-222222222222"
	uuidC = "33333333-3333-4333-8333-333333333333"
	uuidM = "44444444-4444-4444-8444-444444444444"
	uuidP = "55555555-5555-4555-8555-555555555555"
	uuidR = "66666666-6666-4666-8666-666666666666"
)

// obj builds a STIX object: fields over a 2.1 indicator's defaults, a
// field set to nil removed.
func obj(fields map[string]any) map[string]any {
	o := map[string]any{
		"type": "indicator", "spec_version": "2.1", "id": "indicator--" + uuidA,
		"created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
		"pattern": "[domain-name:value = 'evil.example']", "pattern_type": "stix",
		"valid_from": "2026-01-01T00:00:00Z",
	}
	for k, v := range fields {
		if v == nil {
			delete(o, k)
		} else {
			o[k] = v
		}
	}
	return o
}

func bundleOf(objs ...map[string]any) []byte {
	b, err := json.Marshal(map[string]any{"type": "bundle", "id": "bundle--" + uuidB, "objects": objs})
	if err != nil {
		panic(err)
	}
	return b
}

func TestParseRefusals(t *testing.T) {
	tlp2Red := "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
	many := make([]map[string]any, 0, MaxIndicators+1)
	for i := range MaxIndicators + 1 {
		many = append(many, obj(map[string]any{"id": fmt.Sprintf("indicator--%08x-1111-4111-8111-111111111111", i),
			"pattern": fmt.Sprintf("[ipv4-addr:value = '10.%d.%d.1']", i/256, i%256)}))
	}
	big := obj(map[string]any{"description": strings.Repeat("x", wire.MaxStixObjectBytes)})
	tests := []struct {
		name   string
		data   []byte
		opts   ImportOptions
		kind   error
		object string // "" for the bundle itself
	}{
		{"not JSON", []byte("{"), ImportOptions{TLP: "GREEN"}, ErrMalformed, ""},
		{"not a bundle", []byte(`{"type":"report","id":"bundle--` + uuidB + `","objects":[]}`), ImportOptions{TLP: "GREEN"}, ErrMalformed, ""},
		{"bad bundle id", []byte(`{"type":"bundle","id":"bundle--x","objects":[]}`), ImportOptions{TLP: "GREEN"}, ErrMalformed, ""},
		{"oversized", bundleOf(obj(nil)), ImportOptions{TLP: "GREEN", MaxBytes: 100}, ErrTooLarge, ""},
		{"too many indicators", bundleOf(many...), ImportOptions{TLP: "GREEN"}, ErrTooLarge, ""},
		{"object too large", bundleOf(big), ImportOptions{TLP: "GREEN"}, ErrTooLarge, "indicator--" + uuidA},
		{"RED option", bundleOf(obj(nil)), ImportOptions{TLP: "RED"}, ErrMalformed, ""},
		{"RED marking", bundleOf(obj(map[string]any{"object_marking_refs": []string{tlp2Red}})), ImportOptions{TLP: "GREEN"}, ErrRefused, "indicator--" + uuidA},
		{"RED skipped is still refused without the flag", bundleOf(obj(nil), obj(map[string]any{"id": "indicator--" + uuidC, "object_marking_refs": []string{tlp2Red}})), ImportOptions{TLP: "GREEN"}, ErrRefused, "indicator--" + uuidC},
		{"unmarked without a TLP", bundleOf(obj(nil)), ImportOptions{}, ErrMalformed, "indicator--" + uuidA},
		{"AND", bundleOf(obj(map[string]any{"pattern": "[domain-name:value = 'a.example'] AND [url:value = 'http://a.example/']"})), ImportOptions{TLP: "GREEN"}, ErrUnsupported, "indicator--" + uuidA},
		{"FOLLOWEDBY", bundleOf(obj(map[string]any{"pattern": "[domain-name:value = 'a.example'] FOLLOWEDBY [url:value = 'http://a.example/']"})), ImportOptions{TLP: "GREEN"}, ErrUnsupported, "indicator--" + uuidA},
		{"qualifier", bundleOf(obj(map[string]any{"pattern": "[domain-name:value = 'a.example'] WITHIN 5 SECONDS"})), ImportOptions{TLP: "GREEN"}, ErrUnsupported, "indicator--" + uuidA},
		{"syntax", bundleOf(obj(map[string]any{"pattern": "[domain-name:value = 'a.example'"})), ImportOptions{TLP: "GREEN"}, ErrMalformed, "indicator--" + uuidA},
		{"empty IN", bundleOf(obj(map[string]any{"pattern": "[domain-name:value IN ()]"})), ImportOptions{TLP: "GREEN"}, ErrUnsupported, "indicator--" + uuidA},
		{"sigma", bundleOf(obj(map[string]any{"pattern_type": "sigma"})), ImportOptions{TLP: "GREEN"}, ErrUnsupported, "indicator--" + uuidA},
		{"2.1 without pattern_type", bundleOf(obj(map[string]any{"pattern_type": nil})), ImportOptions{TLP: "GREEN"}, ErrMalformed, "indicator--" + uuidA},
		{"no pattern", bundleOf(obj(map[string]any{"pattern": nil})), ImportOptions{TLP: "GREEN"}, ErrMalformed, "indicator--" + uuidA},
		{"no valid_from", bundleOf(obj(map[string]any{"valid_from": nil})), ImportOptions{TLP: "GREEN"}, ErrMalformed, "indicator--" + uuidA},
		{"local time", bundleOf(obj(map[string]any{"valid_from": "2026-01-01T00:00:00+01:00"})), ImportOptions{TLP: "GREEN"}, ErrMalformed, "indicator--" + uuidA},
		{"valid_until before valid_from", bundleOf(obj(map[string]any{"valid_until": "2025-01-01T00:00:00Z"})), ImportOptions{TLP: "GREEN"}, ErrMalformed, "indicator--" + uuidA},
		{"confidence 101", bundleOf(obj(map[string]any{"confidence": 101})), ImportOptions{TLP: "GREEN"}, ErrMalformed, "indicator--" + uuidA},
		{"invalid value", bundleOf(obj(map[string]any{"pattern": "[ipv4-addr:value = '300.1.1.1']"})), ImportOptions{TLP: "GREEN"}, ErrMalformed, "indicator--" + uuidA},
		{"bad object id", bundleOf(obj(map[string]any{"id": "indicator--nope"})), ImportOptions{TLP: "GREEN"}, ErrMalformed, "indicator--nope"},
		{"unknown spec_version", bundleOf(obj(map[string]any{"spec_version": "3.0"})), ImportOptions{TLP: "GREEN"}, ErrMalformed, "indicator--" + uuidA},
		{"no created", bundleOf(obj(map[string]any{"created": nil})), ImportOptions{TLP: "GREEN"}, ErrMalformed, "indicator--" + uuidA},
		{"AMBER without sharer", bundleOf(obj(nil)), ImportOptions{TLP: "AMBER"}, ErrMalformed, "indicator--" + uuidA},
		{"bad marking ref", bundleOf(obj(map[string]any{"object_marking_refs": []string{"tlp:green"}})), ImportOptions{TLP: "GREEN"}, ErrMalformed, "indicator--" + uuidA},
		{"relationship without refs", bundleOf(obj(nil), map[string]any{"type": "relationship", "id": "relationship--" + uuidR, "relationship_type": "indicates"}), ImportOptions{TLP: "GREEN"}, ErrMalformed, "relationship--" + uuidR},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imp, err := Parse(tt.data, tt.opts)
			var oe *ObjectError
			if !errors.As(err, &oe) || !errors.Is(err, tt.kind) {
				t.Fatalf("got %v (%T), want an *ObjectError of kind %v", err, err, tt.kind)
			}
			if imp != nil {
				t.Fatal("a refused import returned inputs")
			}
			if oe.ID != tt.object || (tt.object == "" && !strings.HasPrefix(err.Error(), "bundle: ") && oe.Index != -1) {
				t.Fatalf("error names %q (index %d), want %q: %v", oe.ID, oe.Index, tt.object, err)
			}
			if tt.object != "" && !strings.Contains(err.Error(), tt.object) {
				t.Fatalf("message %q does not name %s", err, tt.object)
			}
		})
	}
}

func TestParseSkipUnshareable(t *testing.T) {
	red := "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed" // TLP 1.0 RED
	data := bundleOf(
		obj(nil),
		obj(map[string]any{"id": "indicator--" + uuidB, "pattern": "[file:name = 'a.exe']"}),
		obj(map[string]any{"id": "indicator--" + uuidC, "object_marking_refs": []string{red}, "pattern": "[domain-name:value = 'red.example']"}),
		obj(map[string]any{"id": "indicator--" + uuidP, "pattern": "[ipv4-addr:value = '300.1.1.1']"}),
		obj(map[string]any{"id": "indicator--" + uuidR, "revoked": true}),
	)
	imp, err := Parse(data, ImportOptions{TLP: "GREEN", SkipUnshareable: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(imp.Inputs) != 1 || imp.Inputs[0].Value != "evil.example" {
		t.Fatalf("inputs %+v, want only evil.example", imp.Inputs)
	}
	var skipped []string
	for _, s := range imp.Skipped {
		skipped = append(skipped, s.ID)
	}
	want := []string{"indicator--" + uuidB, "indicator--" + uuidC, "indicator--" + uuidP, "indicator--" + uuidR}
	if !slices.Equal(skipped, want) {
		t.Fatalf("skipped %v, want %v", skipped, want)
	}
	// A malformed object is refused even when skipping.
	_, err = Parse(bundleOf(obj(nil), obj(map[string]any{"id": "indicator--" + uuidB, "valid_from": nil})), ImportOptions{TLP: "GREEN", SkipUnshareable: true})
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("malformed object with SkipUnshareable: %v, want ErrMalformed", err)
	}
}

func TestParseTLP(t *testing.T) {
	const (
		tlp1White = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"
		tlp1Amber = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
		tlp2Green = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
		tlp2AS    = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
		statement = "marking-definition--" + uuidM
	)
	custom := map[string]any{"type": "marking-definition", "id": statement, "created": "2026-01-01T00:00:00.000Z",
		"definition_type": "tlp", "definition": map[string]any{"tlp": "amber"}}
	customStatement := map[string]any{"type": "marking-definition", "id": statement, "created": "2026-01-01T00:00:00.000Z",
		"definition_type": "statement", "definition": map[string]any{"statement": "Copyright"}}
	tests := []struct {
		name       string
		markings   []string
		granular   []string
		extra      []map[string]any
		opt        string
		want       string
		recipients []string
	}{
		{"TLP 1.0 WHITE is CLEAR", []string{tlp1White}, nil, nil, "", wire.TLPClear, nil},
		{"TLP 2.0 GREEN", []string{tlp2Green}, nil, nil, "", wire.TLPGreen, nil},
		{"TLP 1.0 AMBER", []string{tlp1Amber}, nil, nil, "", wire.TLPAmber, []string{"Org1MSP", "Org2MSP"}},
		{"AMBER+STRICT keeps to the sharer", []string{tlp2AS}, nil, nil, "", wire.TLPAmberStrict, []string{"Org1MSP"}},
		{"unmarked takes the option", nil, nil, nil, "green", wire.TLPGreen, nil},
		{"option never loosens a marking", []string{tlp1Amber}, nil, nil, "CLEAR", wire.TLPAmber, []string{"Org1MSP", "Org2MSP"}},
		{"option tightens a marking", []string{tlp1White}, nil, nil, "TLP:AMBER", wire.TLPAmber, []string{"Org1MSP", "Org2MSP"}},
		{"strictest of several", []string{tlp1White, tlp2AS}, nil, nil, "", wire.TLPAmberStrict, []string{"Org1MSP"}},
		{"granular marking counts", []string{tlp2Green}, []string{tlp1Amber}, nil, "", wire.TLPAmber, []string{"Org1MSP", "Org2MSP"}},
		{"bundle-defined TLP marking", []string{statement}, nil, []map[string]any{custom}, "", wire.TLPAmber, []string{"Org1MSP", "Org2MSP"}},
		{"a statement marking is no TLP", []string{statement}, nil, []map[string]any{customStatement}, "GREEN", wire.TLPGreen, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fields := map[string]any{}
			if tt.markings != nil {
				fields["object_marking_refs"] = tt.markings
			}
			if tt.granular != nil {
				var gm []map[string]any
				for _, g := range tt.granular {
					gm = append(gm, map[string]any{"marking_ref": g, "selectors": []string{"description"}})
				}
				fields["granular_markings"] = gm
			}
			objs := append(append([]map[string]any{}, tt.extra...), obj(fields))
			imp, err := Parse(bundleOf(objs...), ImportOptions{TLP: tt.opt, Sharer: "Org1MSP", Recipients: []string{"Org2MSP", "Org1MSP"}})
			if err != nil {
				t.Fatal(err)
			}
			if got := imp.Inputs[0]; got.TLP != tt.want || !slices.Equal(got.Recipients, tt.recipients) {
				t.Fatalf("got TLP %s recipients %v, want %s %v", got.TLP, got.Recipients, tt.want, tt.recipients)
			}
		})
	}
}

func TestParseIndicatorProperties(t *testing.T) {
	ap := map[string]any{"type": "attack-pattern", "spec_version": "2.1", "id": "attack-pattern--" + uuidP,
		"created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "name": "Exfiltration",
		"external_references": []map[string]any{{"source_name": "mitre-attack", "external_id": "T1041"}, {"source_name": "capec", "external_id": "CAPEC-1"}},
		"kill_chain_phases":   []map[string]any{{"kill_chain_name": "mitre-attack", "phase_name": "exfiltration"}}}
	rel := map[string]any{"type": "relationship", "spec_version": "2.1", "id": "relationship--" + uuidR,
		"created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "relationship_type": "indicates",
		"source_ref": "indicator--" + uuidA, "target_ref": "attack-pattern--" + uuidP}
	ind := obj(map[string]any{
		"pattern":             "[domain-name:value = 'A.Example.'] OR [ipv4-addr:value = '198.51.100.0/24']",
		"confidence":          85,
		"valid_until":         "2026-02-01T00:00:00Z",
		"external_references": []map[string]any{{"source_name": "mitre-attack", "external_id": "T1071.004"}, {"source_name": "mitre-attack", "external_id": "TA0011"}},
	})
	older := obj(map[string]any{"pattern": "[domain-name:value = 'old.example']", "modified": "2025-12-01T00:00:00.000Z"})
	imp, err := Parse(bundleOf(older, ap, ind, rel), ImportOptions{TLP: "GREEN"})
	if err != nil {
		t.Fatal(err)
	}
	if len(imp.Inputs) != 2 || imp.IndicatorObjects != 1 {
		t.Fatalf("got %d inputs from %d indicator objects, want 2 from 1 (the latest version only)", len(imp.Inputs), imp.IndicatorObjects)
	}
	wantFrom, wantUntil := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	for i, want := range []struct{ typ, value string }{{wire.IndicatorDomain, "a.example"}, {wire.IndicatorCIDR, "198.51.100.0/24"}} {
		in := imp.Inputs[i]
		if in.Type != want.typ || in.Value != want.value || in.Confidence != 85 || !in.ValidFrom.Equal(wantFrom) || !in.ValidUntil.Equal(wantUntil) {
			t.Fatalf("input %d = %+v, want %s %s, confidence 85, validity", i, in, want.typ, want.value)
		}
		if got := strings.Join(in.Techniques, ","); got != "T1041,T1071.004" || in.KillChainPhase != "exfiltration" {
			t.Fatalf("input %d: techniques %q phase %q", i, got, in.KillChainPhase)
		}
		if in.StixID == "indicator--"+uuidA || !validID(in.StixID, "indicator") {
			t.Fatalf("input %d of an OR pattern has STIX id %s, want its own derived id", i, in.StixID)
		}
	}
	if imp.Inputs[0].StixID == imp.Inputs[1].StixID {
		t.Fatal("the two values of one object share a STIX id")
	}
	again, _ := Parse(bundleOf(older, ap, ind, rel), ImportOptions{TLP: "GREEN"})
	if again.Inputs[0].StixID != imp.Inputs[0].StixID {
		t.Fatal("derived STIX ids differ between imports")
	}
}

func TestParseMergesDuplicateValues(t *testing.T) {
	amber := "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
	a := obj(map[string]any{"external_references": []map[string]any{{"source_name": "mitre-attack", "external_id": "T1001"}}})
	b := obj(map[string]any{"id": "indicator--" + uuidB, "pattern": "[domain-name:value = 'EVIL.example']", "object_marking_refs": []string{amber},
		"external_references": []map[string]any{{"source_name": "mitre-attack", "external_id": "T1002"}}})
	imp, err := Parse(bundleOf(a, b), ImportOptions{TLP: "GREEN", Sharer: "Org1MSP"})
	if err != nil {
		t.Fatal(err)
	}
	if len(imp.Inputs) != 1 || len(imp.Skipped) != 1 || imp.Skipped[0].ID != "indicator--"+uuidB {
		t.Fatalf("inputs %+v skipped %+v", imp.Inputs, imp.Skipped)
	}
	in := imp.Inputs[0]
	if in.TLP != wire.TLPAmber || !slices.Equal(in.Recipients, []string{"Org1MSP"}) || strings.Join(in.Techniques, ",") != "T1001,T1002" {
		t.Fatalf("merged input %+v, want AMBER to Org1MSP with T1001,T1002", in)
	}
}

func TestParseSTIX20(t *testing.T) {
	// STIX 2.0: the bundle has spec_version, objects do not, indicators
	// have labels and no pattern_type.
	data := []byte(`{"type":"bundle","id":"bundle--` + uuidB + `","spec_version":"2.0","objects":[
	 {"type":"marking-definition","id":"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da","created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","definition":{"tlp":"green"}},
	 {"type":"indicator","id":"indicator--` + uuidA + `","created":"2020-01-01T00:00:00.000Z","modified":"2020-01-01T00:00:00.000Z",
	  "labels":["malicious-activity"],"pattern":"[url:value = 'HTTP://Evil.Example:80/a%7eb']","valid_from":"2020-01-01T00:00:00Z",
	  "object_marking_refs":["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]}]}`)
	imp, err := Parse(data, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(imp.Inputs) != 1 || imp.Inputs[0].Value != "http://evil.example/a~b" || imp.Inputs[0].TLP != wire.TLPGreen {
		t.Fatalf("inputs %+v", imp.Inputs)
	}
}

func TestParseTLPOption(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"clear", wire.TLPClear, true}, {"TLP:WHITE", wire.TLPClear, true}, {" green ", wire.TLPGreen, true},
		{"amber+strict", wire.TLPAmberStrict, true}, {"RED", wire.TLPRed, true}, {"blue", "", false}, {"", "", false},
	}
	for _, tt := range tests {
		got, err := ParseTLP(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("ParseTLP(%q) = %q, %v; want %q ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// FuzzParse: import never panics, refuses only with *ObjectError, and
// everything it accepts is canonical and accepted by intel.Prepare.
func FuzzParse(f *testing.F) {
	f.Add(bundleOf(obj(nil)))
	f.Add(bundleOf(obj(map[string]any{"pattern": "[ipv4-addr:value = '10.0.0.1'] OR [url:value IN ('http://a.example/', 'x')]", "confidence": 3})))
	f.Add(bundleOf(obj(map[string]any{"object_marking_refs": []string{"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"}})))
	f.Add([]byte(`{"type":"bundle","id":"bundle--` + uuidB + `","spec_version":"2.0","objects":[{"type":"indicator","id":"indicator--` + uuidA + `","created":"2020-01-01T00:00:00Z","modified":"2020-01-01T00:00:00Z","pattern":"[file:hashes.MD5 = '00000000000000000000000000000000']","valid_from":"2020-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{"type":"bundle"}`))
	key := intel.Key{ID: "k1", Secret: []byte("0123456789abcdef")}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, skip := range []bool{false, true} {
			imp, err := Parse(data, ImportOptions{TLP: "GREEN", Sharer: "Org1MSP", Recipients: []string{"Org2MSP"}, SkipUnshareable: skip})
			if err != nil {
				var oe *ObjectError
				if !errors.As(err, &oe) || imp != nil {
					t.Fatalf("error %T %v (import %v)", err, err, imp)
				}
				continue
			}
			if len(imp.Inputs) > MaxIndicators {
				t.Fatalf("%d inputs exceed the limit", len(imp.Inputs))
			}
			for _, in := range imp.Inputs {
				if canon, err := wire.CanonicalIndicator(in.Type, in.Value); err != nil || canon != in.Value {
					t.Fatalf("input %s %q not canonical: %q %v", in.Type, in.Value, canon, err)
				}
				if in.TLP == wire.TLPRed || len(in.Stix) > wire.MaxStixObjectBytes {
					t.Fatalf("input %+v should have been refused", in)
				}
			}
			if _, _, err := intel.Prepare("Org1MSP", key, imp.Inputs, nil); err != nil {
				t.Fatalf("Prepare refused an accepted import: %v", err)
			}
		}
	})
}
