package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/intel"
	"github.com/ledgerguard/ledgerguard/gateway/stix"
	"github.com/ledgerguard/ledgerguard/gateway/taxii"
	"github.com/ledgerguard/ledgerguard/test/python"
)

// taxiiRun runs test/python/taxii_check.py (the OASIS taxii2-client) and
// decodes its JSON answer.
func taxiiRun(t *testing.T, args ...string) map[string]any {
	t.Helper()
	out := pyenv.Run(t, "python", append([]string{pyenv.Script("taxii_check.py")}, args...)...)
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("taxii_check.py %v: %s: %v", args, out, err)
	}
	return m
}

// TestTAXIIPostToLedger posts real Unit 42 indicators with the OASIS
// taxii2-client to a TAXII server sharing as Org1 (author identity) on the
// real network, then checks the ledger: Org2's gateway identity reads
// every value of the shared collection's indicators (GREEN, in the
// intelShared private collection), while an indicator posted to the amber
// collection (AMBER+STRICT) is readable by Org1 only. Org2's TAXII server
// is then fed from Org2's own ledger reads (standing in for the intel
// sync, in ledger order of the shares) and walked with taxii2-client;
// stix2-validator checks every object it serves.
func TestTAXIIPostToLedger(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	raw, err := os.ReadFile(filepath.Join(dataDir(t), "threat-intel-stix", "unit42_2024-02-08-Pikabot.json"))
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct{ Objects []json.RawMessage }
	if err := json.Unmarshal(raw, &bundle); err != nil {
		t.Fatal(err)
	}
	org1 := intelLedger(t, "org1", "author")
	gw2 := intelLedger(t, "org2", "gateway")
	key := intelKey(t)
	creds := []gateway.Credential{{Name: "e2e", Username: "e2e", Token: "e2e-taxii-token-not-secret", Scopes: []gateway.Scope{gateway.ScopeIntel, gateway.ScopeIntelShare}}}
	quiet := slog.New(slog.DiscardHandler)

	c1 := intel.NewCatalog()
	s1, err := taxii.New(taxii.Config{}, taxii.Deps{Source: c1, Publisher: &taxii.LedgerPublisher{Ledger: org1, Key: key, Sharer: "Org1MSP"}, Credentials: creds, Org: "Org1MSP", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	srv1 := httptest.NewServer(s1)
	defer srv1.Close()
	coll := func(base string, g intel.Group) string {
		return base + "/taxii2/ledgerguard/collections/" + taxii.CollectionID(g) + "/"
	}

	// The ledger ids (and types) the shares must produce, computed
	// independently of the server.
	types := map[string]string{}
	ids := func(objs []json.RawMessage, tlp string) []string {
		imp, err := stix.ParseObjects(objs, stix.ImportOptions{Sharer: "Org1MSP", TLP: tlp})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, in := range imp.Inputs {
			canon, err := wire.CanonicalIndicator(in.Type, in.Value)
			if err != nil {
				t.Fatal(err)
			}
			id := wire.IndicatorID("Org1MSP", wire.IndicatorHash(key.Secret, in.Type, canon))
			types[id] = in.Type
			out = append(out, id)
		}
		return out
	}
	sharedIDs := ids(bundle.Objects, wire.TLPGreen)
	if len(sharedIDs) != 10 {
		t.Fatalf("the Pikabot playbook yields %d indicators, want 10 (3 file hashes, 7 URLs)", len(sharedIDs))
	}

	dir := t.TempDir()
	writeEnvelope := func(name string, objs []json.RawMessage) string {
		b, err := json.Marshal(map[string]any{"objects": objs})
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	st := taxiiRun(t, "post", coll(srv1.URL, intel.GroupShared), "e2e", creds[0].Token, writeEnvelope("shared.json", bundle.Objects))
	if st["status"] != "complete" || st["success_count"] != float64(10) || st["failure_count"] != float64(0) {
		t.Fatalf("POST to the shared collection: status %v", st)
	}
	run := fmt.Sprint(time.Now().UnixNano())
	amberDomain := "amber-" + run + ".taxii.example"
	amberObj := json.RawMessage(`{"type":"indicator","spec_version":"2.1","id":"indicator--0b9a4bd5-3c33-4c4e-9e61-` + fmt.Sprintf("%012d", time.Now().UnixNano()%1e12) + `","created":"2026-12-05T00:00:00.000Z","modified":"2026-12-05T00:00:00.000Z","name":"amber ` + run + `","pattern":"[domain-name:value = '` + amberDomain + `']","pattern_type":"stix","valid_from":"2026-12-05T00:00:00Z"}`)
	amberIDs := ids([]json.RawMessage{amberObj}, wire.TLPAmberStrict)
	st = taxiiRun(t, "post", coll(srv1.URL, intel.GroupAmber), "e2e", creds[0].Token, writeEnvelope("amber.json", []json.RawMessage{amberObj}))
	if st["status"] != "complete" || st["success_count"] != float64(1) {
		t.Fatalf("POST to the amber collection: status %v", st)
	}

	// Org2 reads every shared value; records say Org1 shared them GREEN.
	var org2Reads []wire.Indicator
	for _, id := range sharedIDs {
		ind := readEventually(ctx, t, gw2, id, func(ind wire.Indicator, err error) bool { return err == nil && ind.Value != "" })
		if ind.SharedBy != "Org1MSP" || ind.TLP != wire.TLPGreen || ind.Type != types[id] {
			t.Errorf("Org2 reads %s: shared by %s, TLP %s, type %s; want Org1MSP, GREEN, %s", id, ind.SharedBy, ind.TLP, ind.Type, types[id])
		}
		org2Reads = append(org2Reads, ind)
	}
	// AMBER+STRICT: Org1 reads the value, Org2 cannot even see the record.
	got := readEventually(ctx, t, org1, amberIDs[0], func(ind wire.Indicator, err error) bool { return err == nil && ind.Value != "" })
	if got.Value != amberDomain || got.TLP != wire.TLPAmberStrict || !slices.Equal(got.Recipients, []string{"Org1MSP"}) {
		t.Errorf("Org1 reads the amber post as %+v; want %s, AMBER+STRICT, recipients [Org1MSP]", got, amberDomain)
	}
	if _, err := gw2.Indicator(ctx, amberIDs[0]); !rejectedWith(err, wire.CodeNotFound) {
		t.Errorf("Org2 reads Org1's AMBER+STRICT indicator: %v, want NOT_FOUND", err)
	}

	// Org2's TAXII server over what Org2 read, walked by taxii2-client.
	c2 := intel.NewCatalog()
	for i, ind := range org2Reads {
		o, err := taxii.CatalogObject(ind)
		if err != nil {
			t.Fatal(err)
		}
		o.Pos, o.DateAdded = intel.Position{Block: 1, Index: uint32(i)}, ind.SharedAt.Time
		if err := c2.Add(intel.GroupShared, o); err != nil {
			t.Fatal(err)
		}
	}
	s2, err := taxii.New(taxii.Config{}, taxii.Deps{Source: c2, Credentials: creds, Org: "Org2MSP", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	srv2 := httptest.NewServer(s2)
	defer srv2.Close()
	served := filepath.Join(dir, "served.json")
	w := taxiiRun(t, "walk", coll(srv2.URL, intel.GroupShared), "e2e", creds[0].Token, "3", served)
	if n := len(w["ids"].([]any)); n != 10 || w["pages"] != float64(4) {
		t.Errorf("Org2 walks %d objects in %v pages, want 10 in 4", n, w["pages"])
	}
	pyenv.Run(t, "stix2_validator", "--version", "2.1", "--no-cache", served)
}
