package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/fabric"
	"github.com/ledgerguard/ledgerguard/gateway/intel"
)

// intelLedger connects as an identity of org to the ledger's intel client.
func intelLedger(t *testing.T, org, identity string) *fabric.Ledger {
	t.Helper()
	return fabric.NewLedger(dial(t, org, identity), channelName, chaincodeName)
}

// intelKey returns a fresh consortium key for one test run.
func intelKey(t *testing.T) intel.Key {
	t.Helper()
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	return intel.Key{ID: "e2e-" + fmt.Sprint(time.Now().UnixNano()), Secret: secret}
}

// shareOne prepares and shares one indicator as l's organisation.
func shareOne(ctx context.Context, t *testing.T, l *fabric.Ledger, msp string, key intel.Key, in intel.Input) (wire.Indicator, wire.IndicatorValue, intel.ShareResult) {
	t.Helper()
	share, values, err := intel.Prepare(msp, key, []intel.Input{in}, nil)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	res, err := l.Share(ctx, share, values, key)
	if err != nil {
		t.Fatalf("share %s %s as %s: %v", in.TLP, in.Type, msp, err)
	}
	return share.Indicators[0], values[0], res
}

// readEventually reads indicator id through l until ok accepts it (the
// reading peer may commit the block a moment after the sharer's).
func readEventually(ctx context.Context, t *testing.T, l *fabric.Ledger, id string, ok func(wire.Indicator, error) bool) wire.Indicator {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ind, err := l.Indicator(ctx, id)
		if ok(ind, err) {
			return ind
		}
		if time.Now().After(deadline) {
			t.Fatalf("indicator %s: last read %+v, %v", id, ind, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func rejectedWith(err error, code wire.Code) bool {
	var rej *gateway.LedgerRejectedError
	return errors.As(err, &rej) && rej.Code == code
}

// TestIntelLedger drives the intel contract on the real network through
// the gateway's ledger client: a CLEAR indicator Org1 shares is readable
// by Org2; an AMBER indicator for Org1 alone is invisible to Org2 (no
// record, no value, nothing in its peer's files) and no block file of any
// node holds a shared value; revocation by a non-sharer is refused;
// sightings reach the sharer; a purge removes the value while the keyed
// hash and the value hash stay and verify.
func TestIntelLedger(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	run := fmt.Sprint(time.Now().UnixNano())
	org1 := intelLedger(t, "org1", "intel") // the role that may only share, revoke, purge and read
	org2 := intelLedger(t, "org2", "author")
	gw2 := intelLedger(t, "org2", "gateway")
	key := intelKey(t)
	now := time.Now().UTC()

	clearDomain := "c2-" + run + ".clear.example"
	clear, clearValue, _ := shareOne(ctx, t, org1, "Org1MSP", key, intel.Input{
		Type: wire.IndicatorDomain, Value: strings.ToUpper(clearDomain) + ".", Confidence: 90, TLP: wire.TLPClear,
		ValidFrom: now.Add(-time.Hour), ValidUntil: now.Add(24 * time.Hour), Techniques: []string{"T1071.004"},
		StixID: "indicator--" + run, Stix: `{"type":"indicator","name":"clear ` + run + `"}`,
	})
	amberIP := fmt.Sprintf("198.18.%d.%d", time.Now().UnixNano()%250+1, time.Now().UnixNano()/1000%250+1)
	amberMarker := "amber-marker-" + run
	amber, _, amberRes := shareOne(ctx, t, org1, "Org1MSP", key, intel.Input{
		Type: wire.IndicatorIPv4, Value: amberIP, Confidence: 70, TLP: wire.TLPAmber, Recipients: []string{"Org1MSP"},
		ValidFrom: now.Add(-time.Hour), StixID: "indicator--amber-" + run, Stix: `{"type":"indicator","name":"` + amberMarker + `"}`,
	})
	if len(amberRes.ValueTxs) != 1 {
		t.Fatalf("AMBER share made value transactions %v, want one StoreIndicatorValues", amberRes.ValueTxs)
	}

	t.Run("CLEAR readable by Org2", func(t *testing.T) {
		got := readEventually(ctx, t, gw2, clear.ID, func(ind wire.Indicator, err error) bool { return err == nil && ind.Value != "" })
		if got.Value != clearDomain || got.SharedBy != "Org1MSP" || got.Status != wire.IndicatorActive || !got.ValueOnLedger || got.Stix == "" {
			t.Errorf("Org2 reads %+v; want value %s shared by Org1MSP, active, value on ledger, with STIX", got, clearDomain)
		}
	})

	t.Run("AMBER for Org1 only", func(t *testing.T) {
		got := readEventually(ctx, t, org1, amber.ID, func(ind wire.Indicator, err error) bool { return err == nil && ind.Value != "" })
		if got.Value != amberIP || !got.ValueOnLedger {
			t.Errorf("Org1 reads %+v; want its value %s", got, amberIP)
		}
		if _, err := org2.Indicator(ctx, amber.ID); !rejectedWith(err, wire.CodeNotFound) {
			t.Errorf("Org2 reads Org1's AMBER indicator: %v, want NOT_FOUND", err)
		}
		for bookmark, first := "", true; first || bookmark != ""; first = false {
			page, err := org2.ListIndicators(ctx, wire.IndicatorFilter{SharedBy: "Org1MSP", Type: wire.IndicatorIPv4}, 1000, bookmark)
			if err != nil {
				t.Fatalf("Org2 lists: %v", err)
			}
			for _, ind := range page.Records {
				if ind.ID == amber.ID {
					t.Fatalf("Org2's list holds Org1's AMBER indicator %s", amber.ID)
				}
			}
			bookmark = page.Bookmark
		}
		// Org2's peer holds the AMBER value nowhere on disk; Org1's
		// peer does (the control that makes the check meaningful).
		if !dirContains(t, filepath.Join(env.runDir, "peer0.org1", "data"), amberMarker) {
			t.Fatalf("control failed: Org1's peer files do not hold the AMBER STIX marker %s", amberMarker)
		}
		if dirContains(t, filepath.Join(env.runDir, "peer0.org2", "data"), amberMarker) {
			t.Errorf("Org2's peer files hold the AMBER STIX marker %s", amberMarker)
		}
	})

	t.Run("AMBER for both organisations", func(t *testing.T) {
		sha := fmt.Sprintf("%064x", time.Now().UnixNano())
		ind, _, res := shareOne(ctx, t, org1, "Org1MSP", key, intel.Input{
			Type: wire.IndicatorSHA256, Value: sha, Confidence: 60, TLP: wire.TLPAmber, Recipients: []string{"Org2MSP", "Org1MSP"},
			ValidFrom: now.Add(-time.Hour), StixID: "indicator--amber2-" + run,
		})
		if len(res.ValueTxs) != 1 {
			t.Fatalf("value transactions %v, want one endorsed by both recipients", res.ValueTxs)
		}
		for _, l := range []*fabric.Ledger{org1, gw2} {
			got := readEventually(ctx, t, l, ind.ID, func(got wire.Indicator, err error) bool { return err == nil && got.Value != "" })
			if got.Value != sha || !got.ValueOnLedger || strings.Join(got.Recipients, ",") != "Org1MSP,Org2MSP" {
				t.Errorf("recipient reads %+v; want value %s, recipients Org1MSP,Org2MSP", got, sha)
			}
		}
	})

	t.Run("blocks hold no plaintext", func(t *testing.T) {
		blocks := blockFiles(t)
		if len(blocks) < 5 {
			t.Fatalf("found %d block files under %s, want the orderers' and peers'", len(blocks), env.runDir)
		}
		var all []byte
		for _, f := range blocks {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
			for _, secret := range []string{clearDomain, amberIP, amberMarker, clearValue.Salt} {
				if bytes.Contains(b, []byte(secret)) {
					t.Errorf("block file %s holds %q", f, secret)
				}
			}
		}
		// The control: blocks do hold the public record (its hashes in
		// hex, or in base64url as the compact stored form spells them).
		if !holdsHash(all, amber.Hash) || !holdsHash(all, clear.ValueHash) {
			t.Errorf("control failed: block files lack the keyed hash %s or value hash %s", amber.Hash, clear.ValueHash)
		}
	})

	t.Run("sighting reaches the sharer", func(t *testing.T) {
		seen := wire.NewTime(time.Now().UTC())
		if _, err := gw2.ReportSightings(ctx, []wire.Sighting{{IndicatorID: clear.ID, Count: 4, FirstSeen: seen, LastSeen: seen}}); err != nil {
			t.Fatalf("Org2 reports: %v", err)
		}
		if _, err := gw2.ReportSightings(ctx, []wire.Sighting{{IndicatorID: amber.ID, Count: 1, FirstSeen: seen, LastSeen: seen}}); !rejectedWith(err, wire.CodeNotFound) {
			t.Errorf("Org2 reports a sighting of an AMBER indicator it cannot see: %v, want NOT_FOUND", err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			page, err := org1.Sightings(ctx, clear.ID, 100, "")
			if err == nil && len(page.Records) == 1 && page.Records[0].ReportedBy == "Org2MSP" && page.Records[0].Count == 4 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Org1 sees sightings %+v, %v; want Org2's count 4", page.Records, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	t.Run("revoke only by the sharer", func(t *testing.T) {
		if _, err := org2.Revoke(ctx, clear.ID, "not ours to revoke"); !rejectedWith(err, wire.CodeDenied) {
			t.Errorf("Org2 revokes Org1's indicator: %v, want DENIED", err)
		}
		if _, err := org1.Revoke(ctx, clear.ID, "e2e: false positive"); err != nil {
			t.Fatalf("Org1 revokes: %v", err)
		}
		readEventually(ctx, t, org2, clear.ID, func(ind wire.Indicator, err error) bool {
			return err == nil && ind.Status == wire.IndicatorRevoked
		})
	})

	t.Run("purge removes the value, hashes stay and verify", func(t *testing.T) {
		purgeDomain := "purge-" + run + ".example"
		ind, v, _ := shareOne(ctx, t, org1, "Org1MSP", key, intel.Input{
			Type: wire.IndicatorDomain, Value: purgeDomain, Confidence: 50, TLP: wire.TLPGreen, ValidFrom: now.Add(-time.Hour),
			StixID: "indicator--purge-" + run,
		})
		before := readEventually(ctx, t, org2, ind.ID, func(got wire.Indicator, err error) bool { return err == nil && got.Value != "" })
		// What a reader holds before the purge reproduces the hash Fabric
		// keeps for the private write (GetPrivateDataHash, valueOnLedger).
		kept := wire.IndicatorValue{ID: before.ID, Hash: before.Hash, Type: before.Type, Value: before.Value, Salt: before.Salt, Stix: before.Stix}
		if !before.ValueOnLedger || kept.ValueHash() != before.ValueHash || before.ValueHash != v.ValueHash() {
			t.Fatalf("before purge: valueOnLedger %v, record hash %s, valueHash %s, sharer's %s", before.ValueOnLedger, kept.ValueHash(), before.ValueHash, v.ValueHash())
		}
		if _, err := org2.Purge(ctx, ind.ID); !rejectedWith(err, wire.CodeDenied) {
			t.Errorf("Org2 purges Org1's indicator: %v, want DENIED", err)
		}
		if _, err := org1.Purge(ctx, ind.ID); err != nil {
			t.Fatalf("purge: %v", err)
		}
		for _, l := range []*fabric.Ledger{org1, org2} {
			after := readEventually(ctx, t, l, ind.ID, func(got wire.Indicator, err error) bool { return err == nil && got.Status == wire.IndicatorPurged })
			if after.Value != "" || after.Salt != "" || after.ValueOnLedger {
				t.Errorf("after purge a reader gets value %q, salt %q, valueOnLedger %v; want none", after.Value, after.Salt, after.ValueOnLedger)
			}
			if after.Hash != ind.Hash || after.ValueHash != kept.ValueHash() || after.Hash != wire.IndicatorHash(key.Secret, wire.IndicatorDomain, purgeDomain) {
				t.Errorf("after purge hash %s valueHash %s; want keyed hash %s and value hash %s kept", after.Hash, after.ValueHash, ind.Hash, kept.ValueHash())
			}
		}
	})
}

// dirContains reports whether any regular file under dir holds s.
func dirContains(t *testing.T, dir, s string) bool {
	t.Helper()
	found := false
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || found || !d.Type().IsRegular() {
			return nil // files may vanish while the peer compacts
		}
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, []byte(s)) {
			found = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// blockFiles lists every block file of the test network's orderers and
// peers.
func blockFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(env.runDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.Type().IsRegular() && strings.HasPrefix(d.Name(), "blockfile_") && strings.Contains(path, string(filepath.Separator)+"chains"+string(filepath.Separator)) {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// holdsHash reports whether b holds the hex hash h as hex or as base64url
// without padding (chaincode/internal/intelrec's compact form).
func holdsHash(b []byte, h string) bool {
	raw, err := hex.DecodeString(h)
	if err != nil {
		return bytes.Contains(b, []byte(h))
	}
	return bytes.Contains(b, []byte(h)) || bytes.Contains(b, []byte(base64.RawURLEncoding.EncodeToString(raw)))
}
