package taxii

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/intel"
	"github.com/ledgerguard/ledgerguard/test/python"
)

// dataDir is the shared real datasets: $LEDGERGUARD_DATA_DIR, else
// ../shared/data beside the repository.
func dataDir() string {
	if d := os.Getenv("LEDGERGUARD_DATA_DIR"); d != "" {
		return d
	}
	return filepath.Join(pyenv.Dir(), "..", "..", "..", "shared", "data")
}

// unit42Indicators reads the indicators of the Unit 42 playbooks (STIX
// 2.0) and lifts them to STIX 2.1 the way an export does (spec_version,
// pattern_type, indicator_types from labels), one slice per bundle.
func unit42Indicators(t *testing.T) [][]map[string]any {
	t.Helper()
	var out [][]map[string]any
	for _, f := range []string{"unit42_2024-02-08-Pikabot.json", "unit42_IcedID_Unit42_Intel.json", "unit42_hive-ransomware.json"} {
		b, err := os.ReadFile(filepath.Join(dataDir(), "threat-intel-stix", f))
		if err != nil {
			t.Skipf("datasets not found at %s (set LEDGERGUARD_DATA_DIR): %v", dataDir(), err)
		}
		var bundle struct{ Objects []map[string]any }
		if err := json.Unmarshal(b, &bundle); err != nil {
			t.Fatal(err)
		}
		var inds []map[string]any
		for _, o := range bundle.Objects {
			if o["type"] != "indicator" {
				continue
			}
			o["spec_version"] = "2.1"
			o["pattern_type"] = "stix"
			if l, ok := o["labels"]; ok {
				o["indicator_types"] = l
				delete(o, "labels")
			}
			inds = append(inds, o)
		}
		out = append(out, inds)
	}
	return out
}

func toObject(t *testing.T, o map[string]any, pos intel.Position, added time.Time) intel.Object {
	t.Helper()
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return intel.Object{ID: o["id"].(string), Type: "indicator", Version: o["modified"].(string), SpecVersion: "2.1", DateAdded: added, Pos: pos, Body: b}
}

// catalogPublisher commits a POSTed envelope's indicators into the
// catalog at the next block, as the ledger sync would once the share
// committed (the unit-test stand-in for intel.Ledger + the sync).
type catalogPublisher struct {
	t     *testing.T
	mu    sync.Mutex
	c     *intel.Catalog
	block uint64
	now   time.Time
}

func (p *catalogPublisher) Publish(_ context.Context, g intel.Group, objs []json.RawMessage) (PublishResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.block++
	var res PublishResult
	for i, raw := range objs {
		var o map[string]any
		if err := json.Unmarshal(raw, &o); err != nil {
			return PublishResult{}, &InvalidObjectError{Err: err}
		}
		if err := p.c.Add(g, toObject(p.t, o, intel.Position{Block: p.block, Index: uint32(i)}, p.now)); err != nil {
			return PublishResult{}, err
		}
		res.Shared = append(res.Shared, ObjectRef{ID: o["id"].(string), Version: o["modified"].(string)})
	}
	return res, nil
}

// TestOASISClient runs the OASIS taxii2-client against the server over
// HTTP: discovery, paging through a collection of real Unit 42 indicators
// with as_pages, added_after, posting an envelope; stix2-validator checks
// every object served.
func TestOASISClient(t *testing.T) {
	bundles := unit42Indicators(t)
	c := intel.NewCatalog()
	base := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var want []string
	// One bulk share per bundle: every indicator of a bundle has one date.
	for i, inds := range bundles {
		for j, o := range inds {
			if err := c.Add(intel.GroupShared, toObject(t, o, intel.Position{Block: uint64(10 + i), Tx: 2, Index: uint32(j)}, base.Add(time.Duration(i)*time.Hour))); err != nil {
				t.Fatal(err)
			}
			want = append(want, o["id"].(string))
		}
	}
	pub := &catalogPublisher{t: t, c: c, block: 100, now: base.Add(24 * time.Hour)}
	s, err := New(Config{}, Deps{Source: c, Publisher: pub, Org: "Org1MSP", Logger: slog.New(slog.DiscardHandler), Credentials: []gateway.Credential{
		{Name: "analyst", Username: "analyst", Token: "s3cret-token", Scopes: []gateway.Scope{gateway.ScopeIntel, gateway.ScopeIntelShare}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	script := pyenv.Script("taxii_check.py")
	run := func(args ...string) map[string]any {
		t.Helper()
		out := pyenv.Run(t, "python", append([]string{script}, args...)...)
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("%s: %v", out, err)
		}
		return m
	}
	user, pass := "analyst", "s3cret-token"

	d := run("discover", srv.URL+"/taxii2/", user, pass)
	roots := d["api_roots"].([]any)
	if len(roots) != 1 {
		t.Fatalf("api roots: %v", d)
	}
	colls := roots[0].(map[string]any)["collections"].([]any)
	var ids []string
	for _, x := range colls {
		ids = append(ids, x.(map[string]any)["id"].(string))
	}
	if got, want := ids, []string{CollectionID(intel.GroupShared), CollectionID(intel.GroupAmber)}; !slices.Equal(got, want) {
		t.Fatalf("collections: got %v, want %v", got, want)
	}
	sharedURL := srv.URL + root + "collections/" + CollectionID(intel.GroupShared) + "/"
	amberURL := srv.URL + root + "collections/" + CollectionID(intel.GroupAmber) + "/"

	t.Run("as_pages walks every object once, in ledger order", func(t *testing.T) {
		bundle := filepath.Join(t.TempDir(), "served.json")
		w := run("walk", sharedURL, user, pass, "10", bundle)
		if got, want := stringList(w["ids"]), want; !slices.Equal(got, want) {
			t.Fatalf("ids: got %d %v\nwant %d %v", len(got), got, len(want), want)
		}
		if got, want := int(w["pages"].(float64)), (len(want)+9)/10; got != want {
			t.Errorf("pages: got %d, want %d", got, want)
		}
		if got, want := w["first_page_date_added_first"], formatTime(base); got != want {
			t.Errorf("X-TAXII-Date-Added-First: got %v, want %v", got, want)
		}
		// stix2-validator on everything served (2.1 schemas).
		pyenv.Run(t, "stix2_validator", "--version", "2.1", "--no-cache", bundle)
	})
	t.Run("added_after is exclusive", func(t *testing.T) {
		// After the second bundle's date: only the third bundle.
		w := run("walk", sharedURL, user, pass, "3", filepath.Join(t.TempDir(), "b.json"), formatTime(base.Add(time.Hour)))
		third := want[len(bundles[0])+len(bundles[1]):]
		if got := stringList(w["ids"]); !slices.Equal(got, third) {
			t.Fatalf("ids: got %v, want %v", got, third)
		}
	})
	t.Run("post an envelope", func(t *testing.T) {
		env := map[string]any{"objects": []any{bundles[0][0], bundles[0][1]}}
		b, _ := json.Marshal(env)
		f := filepath.Join(t.TempDir(), "envelope.json")
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		st := run("post", amberURL, user, pass, f)
		if st["status"] != "complete" || st["success_count"].(float64) != 2 || st["failure_count"].(float64) != 0 {
			t.Fatalf("status: %v", st)
		}
		w := run("walk", amberURL, user, pass, "1", filepath.Join(t.TempDir(), "amber.json"))
		if got, want := stringList(w["ids"]), []string{bundles[0][0]["id"].(string), bundles[0][1]["id"].(string)}; !slices.Equal(got, want) {
			t.Fatalf("amber after post: got %v, want %v", got, want)
		}
	})
}

func stringList(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, fmt.Sprint(x))
	}
	return out
}
