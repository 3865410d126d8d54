package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// TestExportRoundTrips exports ledger indicators and imports the bundle
// again: every indicator comes back with the same STIX id, type, value,
// TLP, confidence, validity, techniques and phase.
func TestExportRoundTrips(t *testing.T) {
	inds := ledgerIndicators(t)
	var live []wire.Indicator
	for _, ind := range inds {
		if ind.Status != wire.IndicatorRevoked {
			live = append(live, ind)
		}
	}
	exp, err := ExportBundle(inds, false)
	if err != nil {
		t.Fatal(err)
	}
	if exp.Indicators != len(live) || len(exp.Skipped) != len(inds)-len(live) {
		t.Fatalf("exported %d, skipped %d; want %d and %d", exp.Indicators, len(exp.Skipped), len(live), len(inds)-len(live))
	}
	imp, err := Parse(exp.Bundle, ImportOptions{Sharer: "Org1MSP"}) // every object is marked: no TLP option needed
	if err != nil {
		t.Fatalf("re-import of the export: %v", err)
	}
	if len(imp.Inputs) != len(live) {
		t.Fatalf("re-imported %d indicators, want %d", len(imp.Inputs), len(live))
	}
	for i, in := range imp.Inputs {
		want := live[i]
		if in.StixID != IndicatorID(want) || in.Type != want.Type || in.Value != want.Value || in.TLP != want.TLP ||
			in.Confidence != want.Confidence || !in.ValidFrom.Equal(want.ValidFrom.Time) || !in.ValidUntil.Equal(want.ValidUntil.Time) ||
			!slices.Equal(in.Techniques, want.Techniques) || in.KillChainPhase != want.KillChainPhase {
			t.Fatalf("indicator %d came back as\n%+v\nwant\n%+v", i, in, want)
		}
	}
}

func TestIndicatorObject(t *testing.T) {
	now := time.Date(2026, 12, 5, 1, 2, 3, 456_000_000, time.UTC)
	ind := wire.Indicator{ID: "abc", Type: wire.IndicatorDomain, Value: "evil.example", Confidence: 70, TLP: wire.TLPAmber,
		ValidFrom: wire.NewTime(now), SharedBy: "Org2MSP", SharedAt: wire.NewTime(now), Techniques: []string{"T1071.004"}, KillChainPhase: "lockheed:delivery"}
	a, err := IndicatorObject(ind)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := IndicatorObject(ind)
	if !bytes.Equal(a.JSON, b.JSON) || a.ID != IndicatorID(ind) || !a.Version.Equal(now) {
		t.Fatalf("not deterministic or wrong id/version: %s %s %v", a.ID, IndicatorID(ind), a.Version)
	}
	var got map[string]any
	if err := json.Unmarshal(a.JSON, &got); err != nil {
		t.Fatal(err)
	}
	checks := map[string]any{
		"type": "indicator", "spec_version": "2.1", "pattern": "[domain-name:value = 'evil.example']", "pattern_type": "stix",
		"created": "2026-12-05T01:02:03.456Z", "modified": "2026-12-05T01:02:03.456Z", "valid_from": "2026-12-05T01:02:03.456Z",
		"created_by_ref": IdentityID("Org2MSP"), "confidence": float64(70),
	}
	for k, want := range checks {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	if refs, _ := got["object_marking_refs"].([]any); len(refs) != 1 || refs[0] != "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421" {
		t.Errorf("object_marking_refs = %v, want TLP 2.0 AMBER", got["object_marking_refs"])
	}
	if kc, _ := got["kill_chain_phases"].([]any); len(kc) != 1 || kc[0].(map[string]any)["kill_chain_name"] != "lockheed" {
		t.Errorf("kill_chain_phases = %v", got["kill_chain_phases"])
	}

	// Revoked: a newer version saying so.
	ind.Status, ind.RevokedAt = wire.IndicatorRevoked, wire.NewTime(now.Add(time.Hour))
	r, err := IndicatorObject(ind)
	if err != nil || r.ID != a.ID || !r.Version.Equal(now.Add(time.Hour)) || !bytes.Contains(r.JSON, []byte(`"revoked":true`)) {
		t.Fatalf("revoked object %s (%v): version %v", r.JSON, err, r.Version)
	}

	// No value here: nothing to write.
	ind.Value = ""
	if _, err := IndicatorObject(ind); !errors.Is(err, ErrNoValue) {
		t.Fatalf("indicator without value: %v, want ErrNoValue", err)
	}
}

func TestExportSkipsUnreadable(t *testing.T) {
	now := wire.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	inds := []wire.Indicator{
		{ID: "a", Type: wire.IndicatorIPv4, Value: "192.0.2.1", TLP: wire.TLPGreen, ValidFrom: now, SharedBy: "Org1MSP"},
		{ID: "b", Type: wire.IndicatorIPv4, TLP: wire.TLPAmber, ValidFrom: now, SharedBy: "Org2MSP"},
	}
	exp, err := ExportBundle(inds, false)
	if err != nil {
		t.Fatal(err)
	}
	if exp.Indicators != 1 || len(exp.Skipped) != 1 || exp.Skipped[0].ID != "b" {
		t.Fatalf("exported %d, skipped %+v", exp.Indicators, exp.Skipped)
	}
	var b struct {
		Objects []struct{ Type, ID string }
	}
	if err := json.Unmarshal(exp.Bundle, &b); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, o := range b.Objects {
		types = append(types, o.Type)
	}
	// Only the marking and identity the written indicator needs.
	if want := []string{"marking-definition", "identity", "indicator"}; !slices.Equal(types, want) {
		t.Fatalf("bundle objects %v, want %v", types, want)
	}
}

func TestExportWritesOneCopyOfAnObject(t *testing.T) {
	now := wire.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	stixID := "indicator--" + uuidA
	inds := []wire.Indicator{
		{ID: "k1-record", Type: wire.IndicatorIPv4, Value: "192.0.2.1", TLP: wire.TLPGreen, ValidFrom: now, SharedBy: "Org1MSP", StixID: stixID, KeyID: "k1"},
		{ID: "k2-record", Type: wire.IndicatorIPv4, Value: "192.0.2.1", TLP: wire.TLPGreen, ValidFrom: now, SharedBy: "Org1MSP", StixID: stixID, KeyID: "k2"},
	}
	exp, err := ExportBundle(inds, false)
	if err != nil {
		t.Fatal(err)
	}
	if exp.Indicators != 1 || len(exp.Skipped) != 1 || exp.Skipped[0].ID != "k2-record" {
		t.Fatalf("exported %d, skipped %+v; want one copy", exp.Indicators, exp.Skipped)
	}
	if n := bytes.Count(exp.Bundle, []byte(`"id": "`+stixID+`"`)); n != 1 {
		t.Fatalf("bundle holds %s %d times", stixID, n)
	}
}

func TestFormatTimestamp(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "2026-01-02T03:04:05.000Z"},
		{time.Date(2026, 1, 2, 3, 4, 5, 120_000_000, time.UTC), "2026-01-02T03:04:05.120Z"},
		{time.Date(2026, 1, 2, 3, 4, 5, 123_456_789, time.UTC), "2026-01-02T03:04:05.123456789Z"},
		{time.Date(2026, 1, 2, 4, 4, 5, 0, time.FixedZone("x", 3600)), "2026-01-02T03:04:05.000Z"},
	}
	for _, tt := range tests {
		if got := formatTimestamp(tt.in); got != tt.want {
			t.Errorf("formatTimestamp(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
