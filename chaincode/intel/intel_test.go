package intel_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/ledgerguard/ledgerguard/chaincode/intel"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/access"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/harness"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/keys"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/ledgertest"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/state"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

var (
	secret  = []byte("0123456789abcdef0123456789abcdef")
	keyJSON = mustJSON(wire.IntelKey{ID: "k1", Secret: hex.EncodeToString(secret)})

	org1Intel = ledgertest.Role("Org1MSP", "intel1", "intel")
	org2Intel = ledgertest.Role("Org2MSP", "intel2", "intel")
)

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

type env struct {
	*harness.H
	C *intel.Contract
}

func newEnv(t *testing.T) *env {
	e := &env{H: harness.New(t), C: intel.New()}
	e.InitMembers()
	e.L.SetCollection(wire.CollectionIntelShared, []string{"Org1MSP", "Org2MSP"}, true)
	return e
}

// call runs fn as who on the peer of peerMSP with a transient map and
// commits on success; it returns the transaction for inspection.
func (e *env) call(peerMSP string, who *ledgertest.Identity, transient map[string][]byte, fn func(ctx contractapi.TransactionContextInterface) (string, error)) (string, *ledgertest.Tx, error) {
	tx := e.L.BeginOn(peerMSP, who)
	tx.SetTransient(transient)
	out, err := fn(tx.Ctx())
	if err != nil {
		tx.Discard()
		return "", tx, err
	}
	return out, tx, tx.Commit()
}

// prepare builds one indicator as msp shares it, with its value.
func prepare(msp, typ, value, tlp string, recipients ...string) (wire.Indicator, wire.IndicatorValue) {
	canon, err := wire.CanonicalIndicator(typ, value)
	if err != nil {
		panic(err)
	}
	h := wire.IndicatorHash(secret, typ, canon)
	id := wire.IndicatorID(msp, h)
	sum := sha256.Sum256([]byte("salt" + value))
	v := wire.IndicatorValue{ID: id, Hash: h, Type: typ, Value: canon, Salt: hex.EncodeToString(sum[:]), Stix: `{"type":"indicator"}`}
	ind := wire.Indicator{ID: id, Hash: h, KeyID: "k1", Type: typ, Confidence: 80, TLP: tlp, Recipients: recipients,
		ValidFrom: wire.NewTime(time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)), Techniques: []string{"T1071.004"},
		KillChainPhase: "command-and-control", StixID: "indicator--" + id[:8], ValueHash: v.ValueHash()}
	return ind, v
}

func (e *env) share(peerMSP string, who *ledgertest.Identity, inds []wire.Indicator, values []wire.IndicatorValue) (string, *ledgertest.Tx, error) {
	tm := map[string][]byte{wire.TransientIntelKey: keyJSON}
	if values != nil {
		tm[wire.TransientIntelValues] = mustJSON(values)
	}
	return e.call(peerMSP, who, tm, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return e.C.ShareIndicators(ctx, string(mustJSON(wire.IndicatorShare{Indicators: inds})))
	})
}

func (e *env) store(peerMSP string, who *ledgertest.Identity, values []wire.IndicatorValue) (*ledgertest.Tx, error) {
	tm := map[string][]byte{wire.TransientIntelKey: keyJSON, wire.TransientIntelValues: mustJSON(values)}
	_, tx, err := e.call(peerMSP, who, tm, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return e.C.StoreIndicatorValues(ctx)
	})
	return tx, err
}

func (e *env) get(peerMSP string, who *ledgertest.Identity, id string) (wire.Indicator, error) {
	out, _, err := e.call(peerMSP, who, nil, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return e.C.GetIndicator(ctx, id)
	})
	if err != nil {
		return wire.Indicator{}, err
	}
	return harness.Decode[wire.Indicator](e.T, out), nil
}

func (e *env) list(who *ledgertest.Identity) []wire.Indicator {
	out, _, err := e.call(who.MSP, who, nil, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return e.C.ListIndicators(ctx, "", 100, "")
	})
	if err != nil {
		e.T.Fatalf("ListIndicators: %v", err)
	}
	return harness.Decode[wire.Page[wire.Indicator]](e.T, out).Records
}

// publicBytes returns every committed public value, concatenated.
func (e *env) publicBytes() []byte {
	var b []byte
	for _, v := range e.L.Snapshot() {
		b = append(b, v...)
	}
	for _, ev := range e.L.Events() {
		b = append(b, ev.Payload...)
	}
	return b
}

func TestShareClearReadableByEveryMember(t *testing.T) {
	e := newEnv(t)
	ind, v := prepare("Org1MSP", wire.IndicatorDomain, "Evil.Example.COM.", wire.TLPClear)
	if _, _, err := e.share("Org1MSP", org1Intel, []wire.Indicator{ind}, []wire.IndicatorValue{v}); err != nil {
		t.Fatalf("share: %v", err)
	}
	got, err := e.get("Org2MSP", harness.Org2Gateway, ind.ID)
	if err != nil {
		t.Fatalf("Org2 GetIndicator: %v", err)
	}
	if got.Value != "evil.example.com" || got.SharedBy != "Org1MSP" || got.Status != wire.IndicatorActive || !got.ValueOnLedger || got.Salt != v.Salt {
		t.Errorf("Org2 reads %+v, want value evil.example.com shared by Org1MSP, active, on ledger", got)
	}
	if bytes.Contains(e.publicBytes(), []byte("evil.example.com")) {
		t.Error("the value is in the public world state or a chaincode event")
	}
	evs := e.L.Events()
	if len(evs) == 0 || evs[len(evs)-1].Name != wire.EventIntelChanged {
		t.Fatalf("events %v, want IntelChanged last", evs)
	}
	var ev wire.IntelEvent
	if err := json.Unmarshal(evs[len(evs)-1].Payload, &ev); err != nil || ev.Kind != wire.IntelShared || ev.SharedBy != "Org1MSP" || len(ev.Indicators) != 1 ||
		!reflect.DeepEqual(ev.Indicators[0], wire.IndicatorRef{ID: ind.ID, TLP: wire.TLPClear}) {
		t.Errorf("event %s, want kind shared by Org1MSP naming %s by id and TLP only", evs[len(evs)-1].Payload, ind.ID)
	}
	if got.ValueKey == "" || !slices.Contains(packEntryHashes(t, e, "Org2MSP", got.ValueKey), ind.ValueHash) {
		t.Errorf("value pack %q of Org2's peer lacks an entry hashing to valueHash %s", got.ValueKey, ind.ValueHash)
	}
	if h, ok := e.L.PrivateHash(wire.CollectionIntelShared, got.ValueKey); !ok || h == nil {
		t.Errorf("no hashed private state for pack %q", got.ValueKey)
	}
	// A replay writes nothing.
	out, tx, err := e.share("Org1MSP", org1Intel, []wire.Indicator{ind}, []wire.IndicatorValue{v})
	if err != nil || len(tx.Written()) != 0 || len(tx.PrivateWritten()) != 0 {
		t.Errorf("replay: err %v, wrote %v and %v, want nothing", err, tx.Written(), tx.PrivateWritten())
	}
	if got, want := harness.Decode[wire.IndicatorShareResult](t, out), (wire.IndicatorShareResult{Unchanged: 1}); got != want {
		t.Errorf("replay result %+v, want %+v", got, want)
	}
}

func TestShareAmberStaysWithRecipients(t *testing.T) {
	e := newEnv(t)
	ind, v := prepare("Org1MSP", wire.IndicatorIPv4, "203.0.113.7", wire.TLPAmber, "Org1MSP")
	// Values of AMBER indicators never travel with ShareIndicators.
	var ve *wire.ValidationError
	if _, _, err := e.share("Org1MSP", org1Intel, []wire.Indicator{ind}, []wire.IndicatorValue{v}); !errors.As(err, &ve) {
		t.Fatalf("share with AMBER value in transient: %v, want *wire.ValidationError", err)
	}
	_, tx, err := e.share("Org1MSP", org1Intel, []wire.Indicator{ind}, nil)
	if err != nil {
		t.Fatalf("share: %v", err)
	}
	if len(tx.PrivateWritten()) != 0 {
		t.Errorf("ShareIndicators wrote private data %v for an AMBER indicator", tx.PrivateWritten())
	}
	// An AMBER reference keeps its sharer, which gateways older than
	// compact events need to read their own organisation's AMBER shares.
	if evs := e.L.Events(); len(evs) > 0 {
		var ev wire.IntelEvent
		if err := json.Unmarshal(evs[len(evs)-1].Payload, &ev); err != nil || len(ev.Indicators) != 1 || ev.Indicators[0].SharedBy != "Org1MSP" {
			t.Errorf("AMBER share event %s, want its reference naming sharer Org1MSP", evs[len(evs)-1].Payload)
		}
	} else {
		t.Error("the AMBER share emitted no event")
	}
	// Org2 may not store the values of Org1's indicator.
	var de *access.DeniedError
	if _, err := e.store("Org2MSP", org2Intel, []wire.IndicatorValue{v}); !errors.As(err, &de) {
		t.Errorf("Org2 stores Org1's values: %v, want *access.DeniedError", err)
	}
	tx, err = e.store("Org1MSP", org1Intel, []wire.IndicatorValue{v})
	if err != nil {
		t.Fatalf("store: %v", err)
	}
	if w, p := tx.Written(), tx.PrivateWritten(); len(w) != 0 || !slices.Equal(p, []string{wire.ImplicitCollection("Org1MSP")}) {
		t.Errorf("StoreIndicatorValues wrote public %v and private %v, want only %s", w, p, wire.ImplicitCollection("Org1MSP"))
	}
	got, err := e.get("Org1MSP", org1Intel, ind.ID)
	if err != nil || got.Value != "203.0.113.7" || !got.ValueOnLedger {
		t.Errorf("Org1 reads %+v, %v; want its value", got, err)
	}
	var nf *state.NotFoundError
	if _, err := e.get("Org2MSP", harness.Org2Gateway, ind.ID); !errors.As(err, &nf) {
		t.Errorf("Org2 GetIndicator of Org1-only AMBER: %v, want *state.NotFoundError", err)
	}
	if got := e.list(harness.Org2Gateway); len(got) != 0 {
		t.Errorf("Org2 lists %d indicators, want none", len(got))
	}
	if got := e.list(org1Intel); len(got) != 1 || got[0].Value != "203.0.113.7" {
		t.Errorf("Org1 lists %+v, want its indicator with value", got)
	}
	for _, coll := range []string{wire.CollectionIntelShared, wire.ImplicitCollection("Org1MSP"), wire.ImplicitCollection("Org2MSP")} {
		if keys := e.L.PrivateKeys("Org2MSP", coll); len(keys) != 0 {
			t.Errorf("Org2's peer holds %v in %s", keys, coll)
		}
	}
	if bytes.Contains(e.publicBytes(), []byte("203.0.113.7")) {
		t.Error("the AMBER value is in the public world state or an event")
	}
	var se *wire.ValidationError
	if _, err := e.store("Org1MSP", org1Intel, []wire.IndicatorValue{{ID: ind.ID, Hash: ind.Hash, Type: ind.Type, Value: "203.0.113.8", Salt: v.Salt}}); !errors.As(err, &se) {
		t.Errorf("store a value whose keyed hash differs: %v, want *wire.ValidationError", err)
	}
}

func TestShareRefusals(t *testing.T) {
	other, _ := prepare("Org2MSP", wire.IndicatorDomain, "x.example", wire.TLPGreen)
	tests := []struct {
		name    string
		who     *ledgertest.Identity
		edit    func(ind *wire.Indicator, v *wire.IndicatorValue)
		values  bool
		wantErr any
	}{
		{"intel role", org1Intel, func(*wire.Indicator, *wire.IndicatorValue) {}, true, nil},
		{"author", harness.Org1Author, func(*wire.Indicator, *wire.IndicatorValue) {}, true, nil},
		{"auditor denied", harness.Org1Auditor, func(*wire.Indicator, *wire.IndicatorValue) {}, true, new(*access.DeniedError)},
		{"gateway denied", harness.Org1Gateway, func(*wire.Indicator, *wire.IndicatorValue) {}, true, new(*access.DeniedError)},
		{"non-member", ledgertest.Role("Org3MSP", "i3", "intel"), func(*wire.Indicator, *wire.IndicatorValue) {}, true, new(*access.DeniedError)},
		{"RED", org1Intel, func(i *wire.Indicator, _ *wire.IndicatorValue) { i.TLP = wire.TLPRed }, true, new(*wire.ValidationError)},
		{"no values", org1Intel, func(*wire.Indicator, *wire.IndicatorValue) {}, false, new(*wire.ValidationError)},
		{"id of another sharer", org1Intel, func(i *wire.Indicator, v *wire.IndicatorValue) { i.ID, v.ID = other.ID, other.ID }, true, new(*wire.ValidationError)},
		{"sharedBy forged", org1Intel, func(i *wire.Indicator, _ *wire.IndicatorValue) { i.SharedBy = "Org2MSP" }, true, new(*wire.ValidationError)},
		{"value does not hash", org1Intel, func(_ *wire.Indicator, v *wire.IndicatorValue) { v.Value = "y.example" }, true, new(*wire.ValidationError)},
		{"value not canonical", org1Intel, func(_ *wire.Indicator, v *wire.IndicatorValue) { v.Value = "X.example" }, true, new(*wire.ValidationError)},
		{"valueHash wrong", org1Intel, func(i *wire.Indicator, _ *wire.IndicatorValue) { i.ValueHash = strings.Repeat("0", 64) }, true, new(*wire.ValidationError)},
		{"GREEN with recipients", org1Intel, func(i *wire.Indicator, _ *wire.IndicatorValue) { i.Recipients = []string{"Org1MSP"} }, true, new(*wire.ValidationError)},
		{"confidence 101", org1Intel, func(i *wire.Indicator, _ *wire.IndicatorValue) { i.Confidence = 101 }, true, new(*wire.ValidationError)},
		{"bad technique", org1Intel, func(i *wire.Indicator, _ *wire.IndicatorValue) { i.Techniques = []string{"T10"} }, true, new(*wire.ValidationError)},
		{"validUntil before validFrom", org1Intel, func(i *wire.Indicator, _ *wire.IndicatorValue) {
			i.ValidUntil = wire.NewTime(i.ValidFrom.Add(-time.Hour))
		}, true, new(*wire.ValidationError)},
		{"status set by sharer", org1Intel, func(i *wire.Indicator, _ *wire.IndicatorValue) { i.Status = wire.IndicatorActive }, true, new(*wire.ValidationError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ind, v := prepare(tt.who.MSP, wire.IndicatorDomain, "x.example", wire.TLPGreen)
			tt.edit(&ind, &v)
			var values []wire.IndicatorValue
			if tt.values {
				values = []wire.IndicatorValue{v}
			}
			_, _, err := e.share(tt.who.MSP, tt.who, []wire.Indicator{ind}, values)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("share: %v", err)
				}
				return
			}
			if !errors.As(err, tt.wantErr) {
				t.Fatalf("share: %v, want %T", err, tt.wantErr)
			}
			if n := e.L.CountKeys("lg.intel"); n != 0 {
				t.Errorf("%d indicators stored after a refusal", n)
			}
		})
	}
}

func TestAmberRecipients(t *testing.T) {
	tests := []struct {
		name       string
		tlp        string
		recipients []string
		wantErr    bool
	}{
		{"AMBER to both", wire.TLPAmber, []string{"Org2MSP", "Org1MSP"}, false},
		{"AMBER without the sharer", wire.TLPAmber, []string{"Org2MSP"}, true},
		{"AMBER to a non-member", wire.TLPAmber, []string{"Org1MSP", "Org9MSP"}, true},
		{"AMBER to nobody", wire.TLPAmber, nil, true},
		{"AMBER+STRICT defaults to the sharer", wire.TLPAmberStrict, nil, false},
		{"AMBER+STRICT to two", wire.TLPAmberStrict, []string{"Org1MSP", "Org2MSP"}, true},
		{"AMBER twice the same", wire.TLPAmber, []string{"Org1MSP", "Org1MSP"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ind, _ := prepare("Org1MSP", wire.IndicatorSHA256, strings.Repeat("ab", 32), tt.tlp, tt.recipients...)
			_, _, err := e.share("Org1MSP", org1Intel, []wire.Indicator{ind}, nil)
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Fatalf("share: %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestRevokeAndPurge(t *testing.T) {
	e := newEnv(t)
	ind, v := prepare("Org1MSP", wire.IndicatorURL, "http://evil.example/x", wire.TLPGreen)
	if _, _, err := e.share("Org1MSP", org1Intel, []wire.Indicator{ind}, []wire.IndicatorValue{v}); err != nil {
		t.Fatalf("share: %v", err)
	}
	revoke := func(who *ledgertest.Identity, reason string) error {
		_, _, err := e.call(who.MSP, who, nil, func(ctx contractapi.TransactionContextInterface) (string, error) {
			return e.C.RevokeIndicator(ctx, ind.ID, reason)
		})
		return err
	}
	purge := func(who *ledgertest.Identity) error {
		_, _, err := e.call(who.MSP, who, nil, func(ctx contractapi.TransactionContextInterface) (string, error) {
			return e.C.PurgeIndicator(ctx, ind.ID)
		})
		return err
	}
	var de *access.DeniedError
	if err := revoke(org2Intel, "not ours"); !errors.As(err, &de) {
		t.Errorf("revoke by a non-sharer: %v, want *access.DeniedError", err)
	}
	if err := purge(harness.Org2Admin); !errors.As(err, &de) {
		t.Errorf("purge by a non-sharer: %v, want *access.DeniedError", err)
	}
	var ve *wire.ValidationError
	if err := revoke(org1Intel, ""); !errors.As(err, &ve) {
		t.Errorf("revoke without reason: %v, want *wire.ValidationError", err)
	}
	if err := revoke(org1Intel, "false positive"); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if got, _ := e.get("Org2MSP", org2Intel, ind.ID); got.Status != wire.IndicatorRevoked {
		t.Errorf("status %q after revoke, want revoked", got.Status)
	}
	rec, _ := e.get("Org1MSP", org1Intel, ind.ID)
	before := packEntryHashes(t, e, "Org1MSP", rec.ValueKey)
	if err := purge(org1Intel); err != nil {
		t.Fatalf("purge: %v", err)
	}
	for _, msp := range []string{"Org1MSP", "Org2MSP"} {
		if holder := privateHolding(e, msp, wire.CollectionIntelShared, v.Value); holder != "" {
			t.Errorf("%s's peer still holds the value under %q after purge", msp, holder)
		}
	}
	got, err := e.get("Org1MSP", org1Intel, ind.ID)
	if err != nil || got.Status != wire.IndicatorPurged || got.Value != "" || got.Hash != ind.Hash || got.ValueOnLedger {
		t.Fatalf("after purge %+v, %v; want purged record without value, keyed hash kept", got, err)
	}
	if sum := sha256.Sum256(v.Bytes()); got.ValueHash != hex.EncodeToString(sum[:]) || !slices.Equal(before, []string{got.ValueHash}) {
		t.Errorf("valueHash %s, want sha256 of the original record %x (= the pack entry's hash before purge %v)", got.ValueHash, sum, before)
	}
	var se *state.StateError
	if _, _, err := e.share("Org1MSP", org1Intel, []wire.Indicator{ind}, []wire.IndicatorValue{v}); !errors.As(err, &se) {
		t.Errorf("share a purged indicator again: %v, want *state.StateError", err)
	}
}

func TestPurgeAmberFromEveryRecipient(t *testing.T) {
	e := newEnv(t)
	ind, v := prepare("Org1MSP", wire.IndicatorEmail, "Phish@Evil.Example", wire.TLPAmber, "Org1MSP", "Org2MSP")
	if _, _, err := e.share("Org1MSP", org1Intel, []wire.Indicator{ind}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store("Org1MSP", org1Intel, []wire.IndicatorValue{v}); err != nil {
		t.Fatal(err)
	}
	if got, err := e.get("Org2MSP", org2Intel, ind.ID); err != nil || got.Value != v.Value {
		t.Fatalf("recipient Org2 reads %+v, %v", got, err)
	}
	if _, _, err := e.call("Org1MSP", org1Intel, nil, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return e.C.PurgeIndicator(ctx, ind.ID)
	}); err != nil {
		t.Fatal(err)
	}
	for _, msp := range []string{"Org1MSP", "Org2MSP"} {
		if _, ok := e.L.PrivateValue(msp, wire.ImplicitCollection(msp), ind.ID); ok {
			t.Errorf("%s still holds the value", msp)
		}
	}
}

func TestSightings(t *testing.T) {
	e := newEnv(t)
	clear, cv := prepare("Org1MSP", wire.IndicatorDomain, "c2.example", wire.TLPClear)
	amber, _ := prepare("Org1MSP", wire.IndicatorDomain, "a.example", wire.TLPAmberStrict)
	if _, _, err := e.share("Org1MSP", org1Intel, []wire.Indicator{clear, amber}, []wire.IndicatorValue{cv}); err != nil {
		t.Fatal(err)
	}
	seen := wire.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	report := func(who *ledgertest.Identity, s ...wire.Sighting) error {
		_, _, err := e.call(who.MSP, who, nil, func(ctx contractapi.TransactionContextInterface) (string, error) {
			return e.C.ReportSightings(ctx, string(mustJSON(wire.SightingReport{Sightings: s})))
		})
		return err
	}
	if err := report(harness.Org2Gateway, wire.Sighting{IndicatorID: clear.ID, Count: 3, FirstSeen: seen, LastSeen: seen}); err != nil {
		t.Fatalf("report: %v", err)
	}
	var nf *state.NotFoundError
	if err := report(harness.Org2Gateway, wire.Sighting{IndicatorID: amber.ID, Count: 1, FirstSeen: seen, LastSeen: seen}); !errors.As(err, &nf) {
		t.Errorf("Org2 reports a sighting of an indicator it cannot see: %v, want *state.NotFoundError", err)
	}
	var ve *wire.ValidationError
	if err := report(harness.Org2Gateway, wire.Sighting{IndicatorID: clear.ID, Count: 0, FirstSeen: seen, LastSeen: seen}); !errors.As(err, &ve) {
		t.Errorf("count 0: %v, want *wire.ValidationError", err)
	}
	var de *access.DeniedError
	if err := report(harness.Org1Auditor, wire.Sighting{IndicatorID: clear.ID, Count: 1, FirstSeen: seen, LastSeen: seen}); !errors.As(err, &de) {
		t.Errorf("auditor reports: %v, want *access.DeniedError", err)
	}
	out, _, err := e.call("Org1MSP", harness.Org1Auditor, nil, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return e.C.GetSightings(ctx, clear.ID, 10, "")
	})
	if err != nil {
		t.Fatal(err)
	}
	page := harness.Decode[wire.Page[wire.Sighting]](t, out)
	if len(page.Records) != 1 || page.Records[0].ReportedBy != "Org2MSP" || page.Records[0].Count != 3 {
		t.Errorf("Org1 sees sightings %+v, want Org2's count 3", page.Records)
	}
}

func TestExpiry(t *testing.T) {
	e := newEnv(t)
	ind, v := prepare("Org1MSP", wire.IndicatorJA3, strings.Repeat("a1", 16), wire.TLPGreen)
	ind.ValidUntil = wire.NewTime(e.L.Now().Add(time.Hour))
	ind.ValidFrom = wire.NewTime(e.L.Now().Add(-time.Hour))
	if _, _, err := e.share("Org1MSP", org1Intel, []wire.Indicator{ind}, []wire.IndicatorValue{v}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		at   time.Duration
		want string
	}{{30 * time.Minute, wire.IndicatorActive}, {time.Hour, wire.IndicatorExpired}, {2 * time.Hour, wire.IndicatorExpired}}
	start := e.L.Now()
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.at), func(t *testing.T) {
			e.L.SetTime(start.Add(tt.at))
			got, err := e.get("Org1MSP", org1Intel, ind.ID)
			if err != nil || got.Status != tt.want {
				t.Errorf("status %q, %v; want %q", got.Status, err, tt.want)
			}
		})
	}
}

// packEntryHashes returns the SHA-256 of every entry of value pack key as
// the peer of msp holds it.
func packEntryHashes(t *testing.T, e *env, msp, key string) []string {
	t.Helper()
	data, ok := e.L.PrivateValue(msp, wire.CollectionIntelShared, key)
	if !ok {
		t.Fatalf("%s's peer holds no pack %q", msp, key)
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		t.Fatalf("pack %q: %v", key, err)
	}
	var out []string
	for _, r := range raws {
		sum := sha256.Sum256(r)
		out = append(out, hex.EncodeToString(sum[:]))
	}
	return out
}

// privateHolding returns a key of coll on msp's peer whose value contains
// value, or "".
func privateHolding(e *env, msp, coll, value string) string {
	for _, k := range e.L.PrivateKeys(msp, coll) {
		if b, _ := e.L.PrivateValue(msp, coll, k); bytes.Contains(b, []byte(value)) {
			return k
		}
	}
	return ""
}

// shareN shares n GREEN domains as Org1 and returns them with values.
func shareN(t *testing.T, e *env, tag string, n int) ([]wire.Indicator, []wire.IndicatorValue) {
	t.Helper()
	inds := make([]wire.Indicator, n)
	vals := make([]wire.IndicatorValue, n)
	for i := range inds {
		inds[i], vals[i] = prepare("Org1MSP", wire.IndicatorDomain, fmt.Sprintf("%s%d.pack.example", tag, i), wire.TLPGreen)
	}
	if _, _, err := e.share("Org1MSP", org1Intel, inds, vals); err != nil {
		t.Fatalf("share: %v", err)
	}
	return inds, vals
}

func TestSharePacksValues(t *testing.T) {
	for _, n := range []int{1, 31, 32, 33, 70} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			e := newEnv(t)
			writes := e.L.PrivateWrites(wire.CollectionIntelShared)
			inds, vals := shareN(t, e, "p", n)
			if got, want := e.L.PrivateWrites(wire.CollectionIntelShared)-writes, (n+31)/32; got != want {
				t.Errorf("%d values took %d private writes, want %d (packs of 32)", n, got, want)
			}
			for i, ind := range inds {
				got, err := e.get("Org2MSP", org2Intel, ind.ID)
				if err != nil || got.Value != vals[i].Value || got.Salt != vals[i].Salt || !got.ValueOnLedger {
					t.Fatalf("indicator %d reads %+v, %v; want its value, on ledger", i, got, err)
				}
			}
			for _, got := range e.list(org2Intel) {
				if got.Value == "" || !got.ValueOnLedger {
					t.Errorf("ListIndicators gives %s without its value", got.ID)
				}
			}
		})
	}
}

func TestPurgeKeepsPackNeighbours(t *testing.T) {
	e := newEnv(t)
	inds, vals := shareN(t, e, "n", 3)
	if _, _, err := e.call("Org1MSP", org1Intel, nil, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return e.C.PurgeIndicator(ctx, inds[1].ID)
	}); err != nil {
		t.Fatalf("purge: %v", err)
	}
	for _, msp := range []string{"Org1MSP", "Org2MSP"} {
		if holder := privateHolding(e, msp, wire.CollectionIntelShared, vals[1].Value); holder != "" {
			t.Errorf("%s's peer still holds the purged value under %q", msp, holder)
		}
	}
	for _, i := range []int{0, 2} {
		got, err := e.get("Org2MSP", org2Intel, inds[i].ID)
		if err != nil || got.Value != vals[i].Value || !got.ValueOnLedger || got.Status != wire.IndicatorActive {
			t.Errorf("neighbour %d after purge reads %+v, %v; want its value, active, on ledger", i, got, err)
		}
	}
	if got, _ := e.get("Org2MSP", org2Intel, inds[1].ID); got.Status != wire.IndicatorPurged || got.Value != "" || got.ValueOnLedger || got.ValueHash != vals[1].ValueHash() {
		t.Errorf("purged reads %+v; want purged, no value, valueHash kept", got)
	}
}

// TestReshareThenPurgeRemovesEveryCopy: a CLEAR/GREEN share writes its
// records without reading the ones they replace, so an earlier copy of a
// value may stay in its old pack (same collection, same readers) until a
// purge, which finds every pack through the record's history.
func TestReshareThenPurgeRemovesEveryCopy(t *testing.T) {
	e := newEnv(t)
	inds, vals := shareN(t, e, "r", 2)
	changed := inds[0]
	changed.Confidence = 40
	if _, _, err := e.share("Org1MSP", org1Intel, []wire.Indicator{changed}, vals[:1]); err != nil {
		t.Fatalf("share again with other content: %v", err)
	}
	again, againVals := shareN(t, e, "w", 3)
	for i := range again {
		again[i].Confidence = 10
	}
	if _, _, err := e.share("Org1MSP", org1Intel, again, againVals); err != nil {
		t.Fatalf("share a whole pack again: %v", err)
	}
	for i := range again {
		got, err := e.get("Org2MSP", org2Intel, again[i].ID)
		if err != nil || got.Value != againVals[i].Value || !got.ValueOnLedger || got.Confidence != 10 {
			t.Errorf("re-shared %d reads %+v, %v; want its value, confidence 10", i, got, err)
		}
	}
	for i, want := range []int{40, inds[1].Confidence} {
		got, err := e.get("Org2MSP", org2Intel, inds[i].ID)
		if err != nil || got.Value != vals[i].Value || !got.ValueOnLedger || got.Confidence != want {
			t.Errorf("indicator %d reads %+v, %v; want its value, on ledger, confidence %d", i, got, err, want)
		}
	}
	for _, id := range []string{inds[0].ID, again[1].ID} {
		if _, _, err := e.call("Org1MSP", org1Intel, nil, func(ctx contractapi.TransactionContextInterface) (string, error) {
			return e.C.PurgeIndicator(ctx, id)
		}); err != nil {
			t.Fatalf("purge: %v", err)
		}
	}
	for _, msp := range []string{"Org1MSP", "Org2MSP"} {
		for _, v := range []string{vals[0].Value, againVals[1].Value} {
			if got := keysHolding(e, msp, v); len(got) != 0 {
				t.Errorf("%s's peer still holds purged %s under %v", msp, v, got)
			}
		}
	}
	for _, c := range []struct {
		id, value string
	}{{inds[1].ID, vals[1].Value}, {again[0].ID, againVals[0].Value}, {again[2].ID, againVals[2].Value}} {
		if got, _ := e.get("Org2MSP", org2Intel, c.id); got.Value != c.value || !got.ValueOnLedger || got.Status != wire.IndicatorActive {
			t.Errorf("neighbour %s reads %+v after the re-shares and purges; want its value", c.value, got)
		}
	}
}

// TestGreenBecomingAmberLeavesTheSharedCollection: an AMBER share still
// reads the record it replaces, so a value once shared GREEN leaves the
// collection of every member at once.
func TestGreenBecomingAmberLeavesTheSharedCollection(t *testing.T) {
	e := newEnv(t)
	inds, vals := shareN(t, e, "g", 2)
	amber := inds[0]
	amber.TLP, amber.Recipients = wire.TLPAmberStrict, []string{"Org1MSP"}
	if _, _, err := e.share("Org1MSP", org1Intel, []wire.Indicator{amber}, nil); err != nil {
		t.Fatalf("share as AMBER+STRICT: %v", err)
	}
	if holder := privateHolding(e, "Org2MSP", wire.CollectionIntelShared, vals[0].Value); holder != "" {
		t.Errorf("Org2's peer still holds the now AMBER value under %q", holder)
	}
	if got, _ := e.get("Org2MSP", org2Intel, inds[1].ID); got.Value != vals[1].Value || !got.ValueOnLedger {
		t.Errorf("the pack neighbour reads %+v; want its value", got)
	}
}

// TestGreenResharedThenAmberLeavesEveryPack: a GREEN re-share does not
// read the record it replaces, so the value's earlier copy stays in its
// first pack; when the indicator becomes AMBER every pack the record's
// history names must give the value up, not only the current one.
func TestGreenResharedThenAmberLeavesEveryPack(t *testing.T) {
	e := newEnv(t)
	inds, vals := shareN(t, e, "gg", 2) // pack P1: both values
	again := inds[0]
	again.Confidence = 40
	if _, _, err := e.share("Org1MSP", org1Intel, []wire.Indicator{again}, vals[:1]); err != nil {
		t.Fatalf("share GREEN again: %v", err) // pack P2: the value again
	}
	if got := keysHolding(e, "Org2MSP", vals[0].Value); len(got) != 2 {
		t.Fatalf("set-up: Org2's peer holds the value under %v, want two packs", got)
	}
	amber := inds[0]
	amber.TLP, amber.Recipients = wire.TLPAmberStrict, []string{"Org1MSP"}
	if _, _, err := e.share("Org1MSP", org1Intel, []wire.Indicator{amber}, nil); err != nil {
		t.Fatalf("share as AMBER+STRICT: %v", err)
	}
	for _, msp := range []string{"Org1MSP", "Org2MSP"} {
		if got := keysHolding(e, msp, vals[0].Value); len(got) != 0 {
			t.Errorf("%s's peer still holds the now AMBER value in intelShared under %v", msp, got)
		}
	}
	if got, err := e.get("Org2MSP", org2Intel, inds[1].ID); err != nil || got.Value != vals[1].Value || !got.ValueOnLedger {
		t.Errorf("the first pack's neighbour reads %+v, %v; want its value, on ledger", got, err)
	}
	// The history still names the packs emptied above (purged): a later
	// AMBER share and a purge pass over them.
	amber.Confidence = 20
	if _, _, err := e.share("Org1MSP", org1Intel, []wire.Indicator{amber}, nil); err != nil {
		t.Fatalf("share AMBER+STRICT again: %v", err)
	}
	if _, _, err := e.call("Org1MSP", org1Intel, nil, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return e.C.PurgeIndicator(ctx, inds[0].ID)
	}); err != nil {
		t.Fatalf("purge: %v", err)
	}
	if got, err := e.get("Org2MSP", org2Intel, inds[1].ID); err != nil || got.Value != vals[1].Value || !got.ValueOnLedger {
		t.Errorf("after the purge the neighbour reads %+v, %v; want its value, on ledger", got, err)
	}
}

// TestAmberShareWithPackNeighbourResharedGreen: one share makes X AMBER
// and shares X's pack neighbour Y GREEN again; rewriting X's old pack
// must not overwrite the record the share just wrote for Y.
func TestAmberShareWithPackNeighbourResharedGreen(t *testing.T) {
	e := newEnv(t)
	inds, vals := shareN(t, e, "an", 2) // one pack: X and Y
	amber := inds[0]
	amber.TLP, amber.Recipients = wire.TLPAmberStrict, []string{"Org1MSP"}
	y := inds[1]
	y.Confidence = 15
	if _, _, err := e.share("Org1MSP", org1Intel, []wire.Indicator{amber, y}, vals[1:]); err != nil {
		t.Fatalf("share X AMBER+STRICT with Y GREEN: %v", err)
	}
	got, err := e.get("Org2MSP", org2Intel, y.ID)
	if err != nil || got.Confidence != 15 || got.Value != vals[1].Value || !got.ValueOnLedger {
		t.Errorf("Y reads %+v, %v; want confidence 15 with its value, on ledger", got, err)
	}
	if got := keysHolding(e, "Org2MSP", vals[0].Value); len(got) != 0 {
		t.Errorf("Org2's peer still holds X's now AMBER value under %v", got)
	}
}

// TestAmberBecomingGreenThenPurge: the purge of a GREEN record also
// purges the implicit collections an earlier AMBER version of it named.
func TestAmberBecomingGreenThenPurge(t *testing.T) {
	e := newEnv(t)
	ind, v := prepare("Org1MSP", wire.IndicatorDomain, "was-amber.example", wire.TLPAmber, "Org1MSP", "Org2MSP")
	if _, _, err := e.share("Org1MSP", org1Intel, []wire.Indicator{ind}, nil); err != nil {
		t.Fatalf("share AMBER: %v", err)
	}
	if _, err := e.store("Org1MSP", org1Intel, []wire.IndicatorValue{v}); err != nil {
		t.Fatalf("store AMBER value: %v", err)
	}
	green := ind
	green.TLP, green.Recipients = wire.TLPGreen, nil
	if _, _, err := e.share("Org1MSP", org1Intel, []wire.Indicator{green}, []wire.IndicatorValue{v}); err != nil {
		t.Fatalf("share GREEN: %v", err)
	}
	if _, _, err := e.call("Org1MSP", org1Intel, nil, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return e.C.PurgeIndicator(ctx, ind.ID)
	}); err != nil {
		t.Fatalf("purge: %v", err)
	}
	for _, msp := range []string{"Org1MSP", "Org2MSP"} {
		for _, coll := range []string{wire.CollectionIntelShared, wire.ImplicitCollection(msp)} {
			if holder := privateHolding(e, msp, coll, v.Value); holder != "" {
				t.Errorf("%s's peer still holds the purged value in %s under %q", msp, coll, holder)
			}
		}
	}
}

// TestGreenShareReadsNoRecord: a CLEAR/GREEN share costs one shim round
// trip per indicator (its write), not two: it never reads an indicator
// record. Every such read fails here, and the share must not notice.
func TestGreenShareReadsNoRecord(t *testing.T) {
	e := newEnv(t)
	shareN(t, e, "x", 3)
	prefix, err := keys.Key(keys.Indicator)
	if err != nil {
		t.Fatal(err)
	}
	e.L.Fail(ledgertest.OpGet, prefix, errors.New("an indicator record was read"))
	inds, vals := shareN(t, e, "x", 3) // the same values again, new salts
	changed := inds[0]
	changed.Confidence = 5
	if _, _, err := e.share("Org1MSP", org1Intel, []wire.Indicator{changed}, vals[:1]); err != nil {
		t.Errorf("share: %v", err)
	}
	e.L.ClearFaults()
	if got, _ := e.get("Org2MSP", org2Intel, inds[0].ID); got.Confidence != 5 || got.Value != vals[0].Value {
		t.Errorf("reads %+v; want confidence 5 with its value", got)
	}
}

// TestPurgeByAnEarlierVersionIsRefusedAfterPurgingAgain: a ledger whose
// purges predate tombstones (lg.ipurged) is brought up to date by purging
// again, after which a share of the value is refused.
func TestPurgeByAnEarlierVersionIsRefusedAfterPurgingAgain(t *testing.T) {
	e := newEnv(t)
	ind, v := prepare("Org1MSP", wire.IndicatorDomain, "old-purge.example", wire.TLPGreen)
	old := ind
	old.SharedBy, old.Status, old.PurgedTx = "Org1MSP", wire.IndicatorPurged, "earlier"
	k, err := keys.Key(keys.Indicator, ind.ID)
	if err != nil {
		t.Fatal(err)
	}
	tx := e.L.BeginOn("Org1MSP", org1Intel)
	if err := tx.Ctx().GetStub().PutState(k, mustJSON(old)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.call("Org1MSP", org1Intel, nil, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return e.C.PurgeIndicator(ctx, ind.ID)
	}); err != nil {
		t.Fatalf("purge again: %v", err)
	}
	tomb, err := keys.Key(keys.Purged, "Org1MSP", ind.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := e.L.Value(tomb); !ok || string(b) != "earlier" {
		t.Errorf("tombstone %q, %v; want the earlier purge's transaction", b, ok)
	}
	var se *state.StateError
	if _, _, err := e.share("Org1MSP", org1Intel, []wire.Indicator{ind}, []wire.IndicatorValue{v}); !errors.As(err, &se) {
		t.Errorf("share the purged indicator again: %v, want *state.StateError", err)
	}
}

// keysHolding returns the keys of intelShared on msp's peer whose value
// contains value.
func keysHolding(e *env, msp, value string) []string {
	var out []string
	for _, k := range e.L.PrivateKeys(msp, wire.CollectionIntelShared) {
		if b, _ := e.L.PrivateValue(msp, wire.CollectionIntelShared, k); bytes.Contains(b, []byte(value)) {
			out = append(out, k)
		}
	}
	return out
}

// TestUnpackedValueLeavesOnReshareAndPurge: a record written before value
// packs (its value under the indicator's own id, no valueKey) shared
// again, then purged: the purge finds the copy under the id too.
func TestUnpackedValueLeavesOnReshareAndPurge(t *testing.T) {
	e := newEnv(t)
	ind, v := prepare("Org1MSP", wire.IndicatorDomain, "legacy.example", wire.TLPGreen)
	old := ind
	old.SharedBy, old.Status = "Org1MSP", wire.IndicatorActive
	k, err := keys.Key(keys.Indicator, ind.ID)
	if err != nil {
		t.Fatal(err)
	}
	tx := e.L.BeginOn("Org1MSP", org1Intel)
	if err := tx.Ctx().GetStub().PutState(k, mustJSON(old)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Ctx().GetStub().PutPrivateData(wire.CollectionIntelShared, ind.ID, v.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := keysHolding(e, "Org2MSP", v.Value); !slices.Equal(got, []string{ind.ID}) {
		t.Fatalf("set-up: Org2's peer holds the value under %v, want [%s]", got, ind.ID)
	}
	changed := ind
	changed.Confidence = 40
	if _, _, err := e.share("Org1MSP", org1Intel, []wire.Indicator{changed}, []wire.IndicatorValue{v}); err != nil {
		t.Fatalf("share again: %v", err)
	}
	got, err := e.get("Org2MSP", org2Intel, ind.ID)
	if err != nil || got.ValueKey == "" || got.Value != v.Value {
		t.Fatalf("after the re-share reads %+v, %v; want the value from a pack", got, err)
	}
	if _, _, err := e.call("Org1MSP", org1Intel, nil, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return e.C.PurgeIndicator(ctx, ind.ID)
	}); err != nil {
		t.Fatalf("purge: %v", err)
	}
	for _, msp := range []string{"Org1MSP", "Org2MSP"} {
		if got := keysHolding(e, msp, v.Value); len(got) != 0 {
			t.Errorf("after the purge %s's peer still holds the value under %v", msp, got)
		}
	}
}

// TestShareInTransientMap: with an empty argument the share comes from
// the transient map (so the block carries its records once, as written);
// without either it is refused.
func TestShareInTransientMap(t *testing.T) {
	e := newEnv(t)
	ind, v := prepare("Org1MSP", wire.IndicatorDomain, "transient.example", wire.TLPGreen)
	call := func(share []byte) (string, *ledgertest.Tx, error) {
		tm := map[string][]byte{wire.TransientIntelKey: keyJSON, wire.TransientIntelValues: mustJSON([]wire.IndicatorValue{v})}
		if share != nil {
			tm[wire.TransientIntelShare] = share
		}
		return e.call("Org1MSP", org1Intel, tm, func(ctx contractapi.TransactionContextInterface) (string, error) {
			return e.C.ShareIndicators(ctx, "")
		})
	}
	var ve *wire.ValidationError
	if _, _, err := call(nil); !errors.As(err, &ve) {
		t.Errorf("no share at all: %v, want *wire.ValidationError", err)
	}
	share := mustJSON(wire.IndicatorShare{Indicators: []wire.Indicator{ind}})
	out, _, err := call(share)
	if err != nil {
		t.Fatalf("share in the transient map: %v", err)
	}
	if got, want := harness.Decode[wire.IndicatorShareResult](t, out), (wire.IndicatorShareResult{Shared: 1}); got != want {
		t.Errorf("result %+v, want %+v", got, want)
	}
	if got, err := e.get("Org2MSP", org2Intel, ind.ID); err != nil || got.Value != v.Value || got.SharedBy != "Org1MSP" {
		t.Errorf("Org2 reads %+v, %v; want the value shared by Org1MSP", got, err)
	}
	out, tx, err := call(share)
	if err != nil || len(tx.Written()) != 0 || harness.Decode[wire.IndicatorShareResult](t, out).Unchanged != 1 {
		t.Errorf("replay: %s, %v, wrote %v; want unchanged, nothing written", out, err, tx.Written())
	}
}

// TestGetIndicators: one call returns the indicators asked for that exist
// and the caller may see, in the order asked, filled as GetIndicator
// fills them; unknown ones and AMBER ones for others are left out.
func TestGetIndicators(t *testing.T) {
	e := newEnv(t)
	inds, vals := shareN(t, e, "b", 40)
	amber, _ := prepare("Org1MSP", wire.IndicatorDomain, "only-org1.example", wire.TLPAmberStrict, "Org1MSP")
	if _, _, err := e.share("Org1MSP", org1Intel, []wire.Indicator{amber}, nil); err != nil {
		t.Fatalf("share AMBER: %v", err)
	}
	unknown := strings.Repeat("0", 64)
	ids := []string{inds[39].ID, unknown, amber.ID, inds[0].ID, inds[33].ID}
	out, _, err := e.call("Org2MSP", org2Intel, nil, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return e.C.GetIndicators(ctx, string(mustJSON(ids)))
	})
	if err != nil {
		t.Fatalf("GetIndicators: %v", err)
	}
	got := harness.Decode[[]wire.Indicator](t, out)
	want := []int{39, 0, 33}
	if len(got) != len(want) {
		t.Fatalf("got %d indicators, want %d (%v)", len(got), len(want), want)
	}
	for k, i := range want {
		if got[k].ID != inds[i].ID || got[k].Value != vals[i].Value || !got[k].ValueOnLedger || got[k].Status != wire.IndicatorActive {
			t.Errorf("result %d is %+v; want indicator %d with its value, on ledger", k, got[k], i)
		}
	}
	var ve *wire.ValidationError
	if _, _, err := e.call("Org2MSP", org2Intel, nil, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return e.C.GetIndicators(ctx, `["not-an-id"]`)
	}); !errors.As(err, &ve) {
		t.Errorf("a malformed id: %v, want *wire.ValidationError", err)
	}
}

// TestRecordsOfEarlierVersions: a ledger written by the chaincode before
// records had a stored form of their own (wire JSON records naming a
// value pack) keeps working: its records are listed and read with their
// values next to new ones, revoked (then stored in the new form), made
// AMBER (the value leaves the old pack) and purged (every copy goes).
func TestRecordsOfEarlierVersions(t *testing.T) {
	e := newEnv(t)
	const oldTx = "0d1d2d3d4d5d6d7d8d9dadbdcdddedfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfd"
	a, va := prepare("Org1MSP", wire.IndicatorDomain, "old-a.example", wire.TLPGreen)
	b, vb := prepare("Org1MSP", wire.IndicatorURL, "http://old-b.example/x", wire.TLPClear)
	tx := e.L.BeginOn("Org1MSP", org1Intel)
	for _, ind := range []wire.Indicator{a, b} {
		old := ind
		old.SharedBy, old.SharedAt, old.SharedTx = "Org1MSP", wire.NewTime(time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)), oldTx
		old.Status, old.ValueKey = wire.IndicatorActive, "v."+oldTx+".0"
		k, err := keys.Key(keys.Indicator, ind.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Ctx().GetStub().PutState(k, mustJSON(old)); err != nil {
			t.Fatal(err)
		}
	}
	pack := "[" + string(va.Bytes()) + "," + string(vb.Bytes()) + "]"
	if err := tx.Ctx().GetStub().PutPrivateData(wire.CollectionIntelShared, "v."+oldTx+".0", []byte(pack)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	c, vc := prepare("Org1MSP", wire.IndicatorDomain, "new-c.example", wire.TLPGreen)
	if _, _, err := e.share("Org1MSP", org1Intel, []wire.Indicator{c}, []wire.IndicatorValue{vc}); err != nil {
		t.Fatalf("share a new indicator: %v", err)
	}
	stored := func(id string) []byte {
		k, _ := keys.Key(keys.Indicator, id)
		v, _ := e.L.Value(k)
		return v
	}
	if s := stored(c.ID); !bytes.HasPrefix(s, []byte(`{"H":`)) || bytes.Contains(s, []byte(c.ID)) {
		t.Errorf("the new record is stored as %s; want the compact stored form, without its id", s)
	}
	want := map[string]string{a.ID: va.Value, b.ID: vb.Value, c.ID: vc.Value}
	got := e.list(org2Intel)
	if len(got) != 3 {
		t.Fatalf("Org2 lists %d indicators, want 3", len(got))
	}
	for _, ind := range got {
		if ind.Value != want[ind.ID] || !ind.ValueOnLedger || ind.Status != wire.IndicatorActive || ind.SharedBy != "Org1MSP" || ind.Hash == "" {
			t.Errorf("Org2 lists %+v; want value %q on the ledger, active, shared by Org1MSP", ind, want[ind.ID])
		}
	}
	if _, _, err := e.call("Org1MSP", org1Intel, nil, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return e.C.RevokeIndicator(ctx, a.ID, "false positive")
	}); err != nil {
		t.Fatalf("revoke a record of the earlier version: %v", err)
	}
	if got, err := e.get("Org2MSP", org2Intel, a.ID); err != nil || got.Status != wire.IndicatorRevoked || got.Value != va.Value || got.SharedTx != oldTx {
		t.Errorf("after the revoke Org2 reads %+v, %v; want it revoked, value and sharing tx kept", got, err)
	}
	if s := stored(a.ID); !bytes.HasPrefix(s, []byte(`{"H":`)) {
		t.Errorf("the revoked record is stored as %s; want the compact stored form", s)
	}
	amber := b
	amber.TLP, amber.Recipients = wire.TLPAmberStrict, []string{"Org1MSP"}
	if _, _, err := e.share("Org1MSP", org1Intel, []wire.Indicator{amber}, nil); err != nil {
		t.Fatalf("share the earlier version's CLEAR record as AMBER+STRICT: %v", err)
	}
	if got := keysHolding(e, "Org2MSP", vb.Value); len(got) != 0 {
		t.Errorf("Org2's peer still holds the now AMBER value under %v", got)
	}
	if _, err := e.get("Org2MSP", org2Intel, b.ID); !state.IsNotFound(err) {
		t.Errorf("Org2 reads the AMBER+STRICT record: %v, want not found", err)
	}
	if _, _, err := e.call("Org1MSP", org1Intel, nil, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return e.C.PurgeIndicator(ctx, a.ID)
	}); err != nil {
		t.Fatalf("purge: %v", err)
	}
	for _, msp := range []string{"Org1MSP", "Org2MSP"} {
		if got := keysHolding(e, msp, va.Value); len(got) != 0 {
			t.Errorf("after the purge %s's peer still holds the value under %v", msp, got)
		}
	}
	if got, err := e.get("Org1MSP", org1Intel, a.ID); err != nil || got.Status != wire.IndicatorPurged || got.ValueHash != a.ValueHash {
		t.Errorf("after the purge Org1 reads %+v, %v; want purged with its valueHash", got, err)
	}
}

// TestShareSlimRecords: a share may leave out what the ledger derives
// (wire.IndicatorShare): the records it stores are those of the full
// form; a CLEAR/GREEN record whose value is missing or another's, and an
// AMBER record without type or valueHash, are refused.
func TestShareSlimRecords(t *testing.T) {
	e := newEnv(t)
	slim := func(ind wire.Indicator) wire.Indicator {
		ind.ID, ind.SharedBy = "", ""
		if !wire.IsAmber(ind.TLP) {
			ind.Type, ind.ValueHash = "", ""
		}
		return ind
	}
	a, va := prepare("Org1MSP", wire.IndicatorDomain, "slim-a.example", wire.TLPGreen)
	b, vb := prepare("Org1MSP", wire.IndicatorSHA256, strings.Repeat("ab", 32), wire.TLPClear)
	amber, _ := prepare("Org1MSP", wire.IndicatorDomain, "slim-amber.example", wire.TLPAmber, "Org1MSP", "Org2MSP")
	if _, _, err := e.share("Org1MSP", org1Intel, []wire.Indicator{slim(a), slim(b), slim(amber)}, []wire.IndicatorValue{va, vb}); err != nil {
		t.Fatalf("slim share: %v", err)
	}
	for _, want := range []wire.Indicator{a, b, amber} {
		got, err := e.get("Org1MSP", org1Intel, want.ID)
		if err != nil || got.Type != want.Type || got.ValueHash != want.ValueHash || got.SharedBy != "Org1MSP" || got.Hash != want.Hash {
			t.Errorf("reads %+v, %v; want type %s, valueHash %s, shared by Org1MSP", got, err, want.Type, want.ValueHash)
		}
	}
	c, vc := prepare("Org1MSP", wire.IndicatorDomain, "slim-c.example", wire.TLPGreen)
	d, _ := prepare("Org1MSP", wire.IndicatorDomain, "slim-d.example", wire.TLPGreen)
	noType := slim(amber)
	noType.Type = ""
	tests := []struct {
		name   string
		inds   []wire.Indicator
		values []wire.IndicatorValue
	}{
		{"GREEN without its value", []wire.Indicator{slim(c)}, []wire.IndicatorValue{va}},
		{"GREEN with another record's value", []wire.Indicator{slim(d)}, []wire.IndicatorValue{func() wire.IndicatorValue { v := vc; v.ID = d.ID; return v }()}},
		{"AMBER without type", []wire.Indicator{noType}, nil},
	}
	for _, tt := range tests {
		var ve *wire.ValidationError
		if _, _, err := e.share("Org1MSP", org1Intel, tt.inds, tt.values); !errors.As(err, &ve) {
			t.Errorf("%s: %v, want *wire.ValidationError", tt.name, err)
		}
	}
}
