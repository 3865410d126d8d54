package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/intel"
	"github.com/ledgerguard/ledgerguard/gateway/stix"
)

// fakeIntel stands in for the ledger's intel client: it records shares,
// revocations and purges, and pages through canned indicators.
type fakeIntel struct {
	shares    []wire.IndicatorShare
	values    [][]wire.IndicatorValue
	keys      []intel.Key
	shareErr  error
	shareRes  intel.ShareResult
	records   []wire.Indicator
	pages     int // ListIndicators calls
	sightings []wire.Sighting
	calls     []string
}

func (f *fakeIntel) Share(_ context.Context, s wire.IndicatorShare, v []wire.IndicatorValue, k intel.Key) (intel.ShareResult, error) {
	f.shares, f.values, f.keys = append(f.shares, s), append(f.values, v), append(f.keys, k)
	if f.shareErr != nil {
		return f.shareRes, f.shareErr
	}
	return intel.ShareResult{SharedTx: "tx-share", SharedTxs: []string{"tx-share"}}, nil
}

func (f *fakeIntel) Revoke(_ context.Context, id, reason string) (string, error) {
	f.calls = append(f.calls, "revoke "+id+" "+reason)
	return "tx-revoke", nil
}

func (f *fakeIntel) Purge(_ context.Context, id string) (string, error) {
	f.calls = append(f.calls, "purge "+id)
	return "tx-purge", nil
}

func (f *fakeIntel) ReportSightings(context.Context, []wire.Sighting) (string, error) {
	return "", errors.New("not used by the CLI")
}

func (f *fakeIntel) Indicator(_ context.Context, id string) (wire.Indicator, error) {
	for _, r := range f.records {
		if r.ID == id {
			return r, nil
		}
	}
	return wire.Indicator{}, &gateway.LedgerRejectedError{Op: wire.TxGetIndicator, Code: wire.CodeNotFound, Reason: "indicator " + id + " not found"}
}

func (f *fakeIntel) Indicators(ctx context.Context, q intel.ListQuery) (wire.Page[wire.Indicator], error) {
	return f.ListIndicators(ctx, wire.IndicatorFilter{}, q.PageSize, q.Since)
}

// ListIndicators pages through the records matching the filter, pageSize
// at a time, the bookmark being the next index.
func (f *fakeIntel) ListIndicators(_ context.Context, flt wire.IndicatorFilter, pageSize int32, bookmark string) (wire.Page[wire.Indicator], error) {
	f.pages++
	var match []wire.Indicator
	for _, r := range f.records {
		if flt.Match(&r) {
			match = append(match, r)
		}
	}
	start := 0
	if bookmark != "" {
		start = int(bookmark[0] - 'a')
	}
	end := min(start+int(pageSize), len(match))
	page := wire.Page[wire.Indicator]{Records: match[start:end]}
	if end < len(match) {
		page.Bookmark = string(rune('a' + end))
	}
	return page, nil
}

func (f *fakeIntel) Sightings(context.Context, string, int32, string) (wire.Page[wire.Sighting], error) {
	return wire.Page[wire.Sighting]{Records: f.sightings}, nil
}

func (f *fakeIntel) Close() error { return nil }

// runIntelCLI runs the root command with fake as the ledger and Org1MSP as
// the profile's organisation; it returns stdout, stderr and the error.
func runIntelCLI(t *testing.T, fake *fakeIntel, args ...string) (string, string, error) {
	t.Helper()
	savedDial, savedSharer := dialIntel, intelSharer
	dialIntel = func(context.Context, *ledgerFlags) (intelCalls, error) {
		if fake == nil {
			return nil, errors.New("this command must not reach the ledger")
		}
		return fake, nil
	}
	intelSharer = func(*ledgerFlags) (string, error) { return "Org1MSP", nil }
	t.Cleanup(func() { dialIntel, intelSharer = savedDial, savedSharer })
	root := newRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// unit42 returns the path of a Unit 42 bundle of the shared data set.
func unit42(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(defaultDataDir(), "threat-intel-stix", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("STIX data set not found (set %s): %v", envDataDir, err)
	}
	return p
}

func keyFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "intel.key")
	if err := os.WriteFile(p, []byte("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestIntelImportSharesABundle(t *testing.T) {
	fake := &fakeIntel{}
	out, _, err := runIntelCLI(t, fake, "intel", "import", unit42(t, "unit42_2024-02-08-Pikabot.json"),
		"--tlp", "green", "--key-id", "k1", "--key-file", keyFile(t), "--json")
	if err != nil {
		t.Fatal(err)
	}
	if len(fake.shares) != 1 || len(fake.shares[0].Indicators) != 10 || len(fake.values[0]) != 10 {
		t.Fatalf("shares %d, want one of 10 indicators", len(fake.shares))
	}
	if k := fake.keys[0]; k.ID != "k1" || len(k.Secret) != 32 {
		t.Fatalf("key %q of %d bytes, want k1 of 32", k.ID, len(k.Secret))
	}
	for i, ind := range fake.shares[0].Indicators {
		v := fake.values[0][i]
		if ind.SharedBy != "Org1MSP" || ind.TLP != wire.TLPGreen || ind.KeyID != "k1" || v.ID != ind.ID ||
			ind.Hash != wire.IndicatorHash(fake.keys[0].Secret, v.Type, v.Value) || ind.Value != "" {
			t.Fatalf("indicator %d: %+v / %+v", i, ind, v)
		}
	}
	var res importResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	if res.SharedTx != "tx-share" || len(res.Indicators) != 10 || res.Indicators[0].ID != fake.shares[0].Indicators[0].ID {
		t.Fatalf("result %+v", res)
	}
}

func TestIntelImportRefusesWholeBundle(t *testing.T) {
	hive := unit42(t, "unit42_hive-ransomware.json")
	fake := &fakeIntel{}
	_, _, err := runIntelCLI(t, fake, "intel", "import", hive, "--tlp", "GREEN", "--key-id", "k1", "--key-file", keyFile(t))
	var oe *stix.ObjectError
	if exitCode(err) != 1 || !errors.As(err, &oe) || !errors.Is(err, stix.ErrUnsupported) ||
		!strings.Contains(err.Error(), "indicator--57f722bc-d7ab-4537-a846-e79bf33a039c") {
		t.Fatalf("got %v (exit %d), want exit 1 naming indicator--57f722bc-…", err, exitCode(err))
	}
	if len(fake.shares) != 0 {
		t.Fatal("a refused bundle was partly shared")
	}

	out, stderr, err := runIntelCLI(t, fake, "intel", "import", hive, "--tlp", "AMBER", "--recipients", "Org2MSP",
		"--skip-unshareable", "--key-id", "k1", "--key-file", keyFile(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(fake.shares) != 1 || len(fake.shares[0].Indicators) != 4 {
		t.Fatalf("with --skip-unshareable: %d shares", len(fake.shares))
	}
	for _, ind := range fake.shares[0].Indicators {
		if ind.TLP != wire.TLPAmber || !slices.Equal(ind.Recipients, []string{"Org1MSP", "Org2MSP"}) {
			t.Fatalf("indicator %s: TLP %s recipients %v, want AMBER to Org1MSP,Org2MSP", ind.ID, ind.TLP, ind.Recipients)
		}
	}
	if !strings.Contains(out, "shared 4 indicators") || strings.Count(stderr, "skipped indicator--") != 3 {
		t.Fatalf("stdout %q\nstderr %q", out, stderr)
	}
}

func TestIntelImportBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := unit42(t, "unit42_2024-02-08-Pikabot.json")
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, bytes.Repeat([]byte(" "), stix.DefaultMaxBundleBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	red := write("red.json", `{"type":"bundle","id":"bundle--22222222-2222-4222-8222-222222222222","objects":[{"type":"indicator","spec_version":"2.1","id":"indicator--11111111-1111-4111-8111-111111111111","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[domain-name:value = 'a.example']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","object_marking_refs":["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"]}]}`)
	key := keyFile(t)
	tests := []struct {
		name string
		args []string
		exit int
		says string
	}{
		{"not JSON", []string{write("bad.json", "{not json"), "--tlp", "GREEN"}, 1, "bundle: not a JSON STIX bundle"},
		{"TLP:RED object", []string{red, "--tlp", "GREEN"}, 1, "indicator--11111111-1111-4111-8111-111111111111"},
		{"oversized", []string{big, "--tlp", "GREEN"}, 1, "exceeds"},
		{"missing file", []string{filepath.Join(dir, "none.json"), "--tlp", "GREEN"}, 1, "none.json"},
		{"unmarked without --tlp", []string{good}, 1, "no TLP marking"},
		{"--tlp RED", []string{good, "--tlp", "RED"}, 2, "never shared"},
		{"--tlp unknown", []string{good, "--tlp", "blue"}, 2, "blue"},
		{"--confidence 0", []string{good, "--tlp", "GREEN", "--confidence", "0"}, 2, "--confidence"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeIntel{}
			args := append([]string{"intel", "import"}, tt.args...)
			args = append(args, "--key-id", "k1", "--key-file", key)
			_, _, err := runIntelCLI(t, fake, args...)
			if exitCode(err) != tt.exit || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("got %v (exit %d), want exit %d saying %q", err, exitCode(err), tt.exit, tt.says)
			}
			if len(fake.shares) != 0 {
				t.Fatal("bad input was shared")
			}
		})
	}
	// Without a key nothing is hashed: a usage error.
	if _, _, err := runIntelCLI(t, nil, "intel", "import", good, "--tlp", "GREEN"); exitCode(err) != 2 {
		t.Fatalf("import without a key: %v (exit %d), want exit 2", err, exitCode(err))
	}
}

func TestIntelImportDryRunNeedsNoLedger(t *testing.T) {
	out, _, err := runIntelCLI(t, nil, "intel", "import", unit42(t, "unit42_IcedID_Unit42_Intel.json"), "--tlp", "GREEN", "--skip-unshareable", "--dry-run")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "dry run: 44 indicators from 311 objects would be shared by Org1MSP (6 skipped)") || !strings.Contains(out, "waafefuvuko.com") {
		t.Fatalf("dry run printed:\n%s", out)
	}
}

func TestIntelImportReportsUnstoredValues(t *testing.T) {
	fake := &fakeIntel{shareRes: intel.ShareResult{SharedTx: "tx-share", SharedTxs: []string{"tx-share"}},
		shareErr: &gateway.LedgerUnavailableError{Op: wire.TxStoreIndicatorValues, Stage: gateway.StageEndorse, Err: errors.New("peer down")}}
	_, _, err := runIntelCLI(t, fake, "intel", "import", unit42(t, "unit42_2024-02-08-Pikabot.json"),
		"--tlp", "AMBER", "--key-id", "k1", "--key-file", keyFile(t))
	if exitCode(err) != 1 || !strings.Contains(err.Error(), "run the same import again") || !errors.Is(err, gateway.ErrLedgerUnavailable) {
		t.Fatalf("got %v, want exit 1 telling to import again", err)
	}
}

// ledgerRecords shares the Pikabot bundle through Prepare and returns the
// records as the ledger would read them back to the sharer, plus an AMBER
// record of another organisation whose value this one cannot read.
func ledgerRecords(t *testing.T) []wire.Indicator {
	t.Helper()
	b, err := os.ReadFile(unit42(t, "unit42_2024-02-08-Pikabot.json"))
	if err != nil {
		t.Fatal(err)
	}
	imp, err := stix.Parse(b, stix.ImportOptions{TLP: wire.TLPGreen})
	if err != nil {
		t.Fatal(err)
	}
	share, values, err := intel.Prepare("Org1MSP", intel.Key{ID: "k1", Secret: []byte("0123456789abcdef")}, imp.Inputs, nil)
	if err != nil {
		t.Fatal(err)
	}
	recs := share.Indicators
	for i := range recs {
		recs[i].Value, recs[i].Stix, recs[i].Status = values[i].Value, values[i].Stix, wire.IndicatorActive
		recs[i].SharedAt, recs[i].SharedTx = wire.NewTime(time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC)), "tx-share"
	}
	recs[3].Status, recs[3].RevokedAt, recs[3].RevokedTx = wire.IndicatorRevoked, wire.NewTime(time.Date(2026, 12, 5, 2, 0, 0, 0, time.UTC)), "tx-revoke"
	return append(recs, wire.Indicator{ID: hex64('f'), Hash: hex64('e'), Type: wire.IndicatorIPv4, TLP: wire.TLPAmber,
		Recipients: []string{"Org2MSP"}, SharedBy: "Org2MSP", ValidFrom: wire.NewTime(time.Now()), Status: wire.IndicatorActive})
}

func TestIntelExport(t *testing.T) {
	fake := &fakeIntel{records: ledgerRecords(t)}
	out := filepath.Join(t.TempDir(), "export.json")
	_, stderr, err := runIntelCLI(t, fake, "intel", "export", "--out", out, "--page-size", "3")
	if err != nil {
		t.Fatal(err)
	}
	if fake.pages != 4 {
		t.Fatalf("%d ListIndicators pages, want 4 (11 records, 3 a page)", fake.pages)
	}
	if !strings.Contains(stderr, "exported 9 indicators (2 left out") {
		t.Fatalf("stderr %q", stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	imp, err := stix.Parse(b, stix.ImportOptions{})
	if err != nil || len(imp.Inputs) != 9 {
		t.Fatalf("exported bundle re-imports to %v, %v", imp, err)
	}

	// --include-revoked writes the revoked one too; --type filters.
	stdout, _, err := runIntelCLI(t, fake, "intel", "export", "--include-revoked", "--type", "url")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(stdout, `"type": "indicator"`); n != 7 || !strings.Contains(stdout, `"revoked": true`) {
		t.Fatalf("url export holds %d indicators (want 7, one revoked):\n%s", n, stdout)
	}
	if _, _, err := runIntelCLI(t, fake, "intel", "export", "--type", "nope"); exitCode(err) != 2 {
		t.Fatalf("--type nope: %v, want exit 2", err)
	}
}

func TestIntelListShowRevokePurgeSightings(t *testing.T) {
	recs := ledgerRecords(t)
	fake := &fakeIntel{records: recs, sightings: []wire.Sighting{{IndicatorID: recs[0].ID, Count: 3,
		FirstSeen: at("2026-12-05T01:00:00Z"), LastSeen: at("2026-12-05T01:05:00Z"), ReportedBy: "Org2MSP", ReportedAt: at("2026-12-05T01:06:00Z"), ReportedTx: "tx-s"}}}

	out, _, err := runIntelCLI(t, fake, "intel", "list", "--tlp", "amber")
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.Contains(lines[1], "AMBER (Org2MSP)") || !strings.Contains(lines[1], "ipv4") {
		t.Fatalf("list --tlp amber:\n%s", out)
	}
	out, _, err = runIntelCLI(t, fake, "intel", "list", "--json", "--limit", "4", "--page-size", "3")
	if err != nil {
		t.Fatal(err)
	}
	var listed []wire.Indicator
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) != 4 {
		t.Fatalf("list --json --limit 4: %d records, %v", len(listed), err)
	}

	out, _, err = runIntelCLI(t, fake, "intel", "show", recs[0].ID)
	if err != nil || !strings.Contains(out, recs[0].Value) || !strings.Contains(out, recs[0].StixID) {
		t.Fatalf("show: %v\n%s", err, out)
	}
	out, _, err = runIntelCLI(t, fake, "intel", "show", hex64('f'))
	if err != nil || !strings.Contains(out, "not readable by this organisation") {
		t.Fatalf("show of an unreadable indicator: %v\n%s", err, out)
	}
	if _, _, err := runIntelCLI(t, fake, "intel", "show", hex64('0')); exitCode(err) != 1 {
		t.Fatalf("show of an unknown id: %v, want exit 1", err)
	}

	if _, _, err := runIntelCLI(t, fake, "intel", "revoke", recs[0].ID); exitCode(err) != 2 {
		t.Fatalf("revoke without --reason: %v, want exit 2", err)
	}
	out, _, err = runIntelCLI(t, fake, "intel", "revoke", recs[0].ID, "--reason", "false positive")
	if err != nil || out != "revoked "+recs[0].ID+" in tx tx-revoke\n" {
		t.Fatalf("revoke: %v %q", err, out)
	}
	out, _, err = runIntelCLI(t, fake, "intel", "purge", recs[0].ID, "--json")
	if err != nil || !strings.Contains(out, `"txId": "tx-purge"`) {
		t.Fatalf("purge: %v %q", err, out)
	}
	if want := []string{"revoke " + recs[0].ID + " false positive", "purge " + recs[0].ID}; !slices.Equal(fake.calls, want) {
		t.Fatalf("calls %v, want %v", fake.calls, want)
	}

	out, _, err = runIntelCLI(t, fake, "intel", "sightings", recs[0].ID)
	if err != nil || !strings.Contains(out, "Org2MSP") || !strings.Contains(out, "tx-s") {
		t.Fatalf("sightings: %v\n%s", err, out)
	}
}
