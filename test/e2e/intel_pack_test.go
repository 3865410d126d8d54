package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/intel"
)

// TestIntelValuePacks checks on the real network what the intel
// contract's value packs (several CLEAR/GREEN values under one private
// key) must keep: every indicator of a share reads back with its value;
// sharing one again with other content puts its value in a new pack and
// leaves the others; purging it removes every copy (the old pack is
// read, purged and written again without it in one transaction) and
// leaves its neighbours readable, on the ledger, and itself without a
// value; a purged indicator is not shared again.
func TestIntelValuePacks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run := fmt.Sprint(time.Now().UnixNano())
	org1 := intelLedger(t, "org1", "intel")
	org2 := intelLedger(t, "org2", "author")
	key := intelKey(t)
	now := time.Now().UTC()
	inputs := make([]intel.Input, 3)
	for i := range inputs {
		inputs[i] = intel.Input{Type: wire.IndicatorDomain, Value: fmt.Sprintf("pack%d-%s.example", i, run), Confidence: 60,
			TLP: wire.TLPGreen, ValidFrom: now.Add(-time.Hour), StixID: fmt.Sprintf("indicator--pack%d-%s", i, run)}
	}
	share, values, err := intel.Prepare("Org1MSP", key, inputs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := org1.Share(ctx, share, values, key); err != nil {
		t.Fatalf("share: %v", err)
	}
	first := make([]wire.Indicator, len(values))
	for i, v := range values {
		first[i] = readEventually(ctx, t, org2, v.ID, func(got wire.Indicator, err error) bool {
			return err == nil && got.Value == v.Value && got.ValueOnLedger
		})
		if first[i].ValueKey == "" || first[i].ValueKey != first[0].ValueKey {
			t.Errorf("indicator %d is in pack %q, want the share's one pack %q", i, first[i].ValueKey, first[0].ValueKey)
		}
	}

	// Indicator 0 again with another confidence: its value goes to a new
	// pack; 1 and 2 stay where they are (a CLEAR/GREEN share does not
	// read the record it replaces, so the first pack keeps a copy of 0).
	inputs[0].Confidence = 95
	again, againValues, err := intel.Prepare("Org1MSP", key, inputs[:1], nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := org1.Share(ctx, again, againValues, key); err != nil {
		t.Fatalf("share again: %v", err)
	}
	readEventually(ctx, t, org2, values[0].ID, func(got wire.Indicator, err error) bool {
		return err == nil && got.Confidence == 95 && got.Value == values[0].Value && got.ValueOnLedger && got.ValueKey != first[0].ValueKey
	})
	for i := 1; i < 3; i++ {
		readEventually(ctx, t, org2, values[i].ID, func(got wire.Indicator, err error) bool {
			return err == nil && got.Value == values[i].Value && got.ValueOnLedger && got.ValueKey == first[0].ValueKey
		})
	}

	// Purging 0 removes both its copies: its pack now, and the first pack
	// (found in its record's history), whose others, 1 and 2, move to a
	// new pack and stay readable, on the ledger.
	if _, err := org1.Purge(ctx, values[0].ID); err != nil {
		t.Fatalf("purge: %v", err)
	}
	purged := readEventually(ctx, t, org2, values[0].ID, func(got wire.Indicator, err error) bool {
		return err == nil && got.Status == wire.IndicatorPurged
	})
	if purged.Value != "" || purged.ValueOnLedger || purged.ValueHash != againValues[0].ValueHash() {
		t.Errorf("purged reads value %q, valueOnLedger %v, valueHash %s; want no value, hash %s kept", purged.Value, purged.ValueOnLedger, purged.ValueHash, againValues[0].ValueHash())
	}
	for i := 1; i < 3; i++ {
		readEventually(ctx, t, org2, values[i].ID, func(got wire.Indicator, err error) bool {
			return err == nil && got.Value == values[i].Value && got.ValueOnLedger && got.Status == wire.IndicatorActive && got.ValueKey != first[0].ValueKey
		})
	}
	// Sharing the purged value again is refused (its tombstone).
	if _, err := org1.Share(ctx, again, againValues, key); !rejectedWith(err, wire.CodeState) {
		t.Errorf("share the purged indicator again: %v, want STATE", err)
	}
}
