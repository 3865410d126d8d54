package alerts_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/access"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/fixture"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/harness"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/keys"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/ledgertest"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/state"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// setup anchors one 100-event batch per org and returns them.
func setup(t *testing.T) (*harness.H, wire.Batch, wire.Batch) {
	h := harness.New(t)
	h.InitMembers()
	b1 := h.Anchor(harness.Org1Gateway, fixture.Batch("Org1MSP", "gw-1", 0, 100))
	b2 := h.Anchor(harness.Org2Gateway, fixture.Batch("Org2MSP", "gw-1", 0, 100))
	return h, b1, b2
}

func strip(b wire.Batch) wire.Batch {
	b.AnchoredAt, b.TxID, b.Submitter = wire.Time{}, "", nil
	return b
}

func TestRaiseAlertsRules(t *testing.T) {
	h, b1, b2 := setup(t)
	b1, b2 = strip(b1), strip(b2)
	ok := fixture.Alert(b1, 5, "high", "T1110", "web-01")
	other := fixture.Alert(b2, 5, "high", "T1110", "web-01")
	unanchored := fixture.Batch("Org1MSP", "gw-1", 100, 10)
	otherGW := fixture.Batch("Org1MSP", "gw-9", 0, 10)
	h.Anchor(harness.GatewayOf("Org1MSP", "gw-9"), otherGW)
	tests := []struct {
		name    string
		who     *ledgertest.Identity
		alerts  func() string
		wantErr any
	}{
		{"auditor", harness.Org1Auditor, func() string { return fixture.JSON([]wire.Alert{ok}) }, new(*access.DeniedError)},
		{"analyst", harness.Org1Analyst, func() string { return fixture.JSON([]wire.Alert{ok}) }, new(*access.DeniedError)},
		{"admin", harness.Org1Admin, func() string { return fixture.JSON([]wire.Alert{ok}) }, new(*access.DeniedError)},
		{"other org's alert", harness.Org1Gateway, func() string { return fixture.JSON([]wire.Alert{ok, other}) }, new(*access.DeniedError)},
		{"bound to other gateway", ledgertest.BoundGateway("Org1MSP", "g", "gw-2"), func() string { return fixture.JSON([]wire.Alert{ok}) }, new(*access.DeniedError)},
		{"unbound gateway", ledgertest.Gateway("Org1MSP", "g"), func() string { return fixture.JSON([]wire.Alert{ok}) }, new(*access.DeniedError)},
		{"empty", harness.Org1Gateway, func() string { return `[]` }, new(*wire.ValidationError)},
		{"not an array", harness.Org1Gateway, func() string { return fixture.JSON(ok) }, new(*wire.ValidationError)},
		{"duplicate in call", harness.Org1Gateway, func() string { return fixture.JSON([]wire.Alert{ok, ok}) }, new(*wire.ValidationError)},
		{"wrong id", harness.Org1Gateway, func() string { a := ok; a.ID = fixture.Hash("x"); return fixture.JSON([]wire.Alert{a}) }, new(*wire.ValidationError)},
		{"batch not anchored", harness.Org1Gateway, func() string {
			return fixture.JSON([]wire.Alert{fixture.Alert(unanchored, 105, "high", "T1110", "x")})
		}, new(*state.NotFoundError)},
		{"batch of another gateway", harness.Org1Gateway, func() string {
			a := fixture.Alert(otherGW, 5, "high", "T1110", "x")
			a.GatewayID = "gw-1"
			a.ID = wire.AlertID(a.MSP, a.GatewayID, a.EventHash, a.Detector.ID, a.Detector.Version)
			return fixture.JSON([]wire.Alert{a})
		}, new(*wire.ValidationError)},
		{"model not in batch", harness.Org1Gateway, func() string {
			a := ok
			a.Detector.SHA256 = fixture.Hash("tampered model")
			return fixture.JSON([]wire.Alert{a})
		}, new(*wire.ValidationError)},
		{"intel match citing an id that is not its indicator's", harness.Org1Gateway, func() string {
			a := intelMatch(ok, "Org2MSP")
			a.Fields[wire.AlertFieldIntelSharedBy] = "Org9MSP"
			return fixture.JSON([]wire.Alert{a})
		}, new(*wire.ValidationError)},
		{"event time outside batch", harness.Org1Gateway, func() string {
			a := ok
			a.EventTime = wire.NewTime(fixture.Base.Add(time.Hour))
			return fixture.JSON([]wire.Alert{a})
		}, new(*wire.ValidationError)},
		{"too many", harness.Org1Gateway, func() string {
			list := make([]wire.Alert, wire.MaxAlertsPerTx+1)
			return fixture.JSON(list)
		}, new(*wire.ValidationError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.Call(tt.who, func(ctx contractapi.TransactionContextInterface) (string, error) {
				return h.Alerts.RaiseAlerts(ctx, tt.alerts())
			})
			if !errors.As(err, tt.wantErr) {
				t.Fatalf("RaiseAlerts() = %v, want %T", err, tt.wantErr)
			}
			if n := h.L.CountKeys(keys.AlertSet); n != 0 {
				t.Fatalf("refused call left %d alerts", n)
			}
		})
	}
}

// intelMatch turns a into an intel-match alert citing an indicator shared
// by sharer: a detector the batch does not list.
func intelMatch(a wire.Alert, sharer string) wire.Alert {
	hash := fixture.Hash("indicator " + sharer)
	a.Detector = wire.Model{ID: wire.DetectorIntelMatch, Version: wire.IndicatorID(sharer, hash), SHA256: hash}
	a.Fields = map[string]string{wire.AlertFieldIntelSharedBy: sharer, wire.AlertFieldIntelType: wire.IndicatorDomain}
	a.ID = wire.AlertID(a.MSP, a.GatewayID, a.EventHash, a.Detector.ID, a.Detector.Version)
	return a
}

// putIndicator writes the public record of the indicator a cites, as the
// intel contract would have.
func putIndicator(t *testing.T, h *harness.H, a wire.Alert, tlp string, recipients ...string) {
	t.Helper()
	ind := wire.Indicator{ID: a.Detector.Version, Hash: a.Detector.SHA256, Type: wire.IndicatorDomain, TLP: tlp,
		Recipients: recipients, SharedBy: a.Fields[wire.AlertFieldIntelSharedBy]}
	if err := h.L.Submit(harness.Org1Admin, func(ctx contractapi.TransactionContextInterface) error {
		k, err := keys.Key(keys.Indicator, ind.ID)
		if err != nil {
			return err
		}
		return ctx.GetStub().PutState(k, []byte(fixture.JSON(ind)))
	}); err != nil {
		t.Fatal(err)
	}
}

func TestRaiseAlertsIntelMatch(t *testing.T) {
	h, b1, _ := setup(t)
	base := fixture.Alert(strip(b1), 5, "high", "T1071", "web-01")
	green := intelMatch(base, "Org2MSP")
	amberOther := intelMatch(fixture.Alert(strip(b1), 6, "high", "T1071", "web-01"), "Org2MSP")
	amberOther.Detector.SHA256 = fixture.Hash("amber")
	amberOther.Detector.Version = wire.IndicatorID("Org2MSP", amberOther.Detector.SHA256)
	amberOther.ID = wire.AlertID(amberOther.MSP, amberOther.GatewayID, amberOther.EventHash, amberOther.Detector.ID, amberOther.Detector.Version)
	unknown := intelMatch(fixture.Alert(strip(b1), 7, "high", "T1071", "web-01"), "Org3MSP")
	putIndicator(t, h, green, wire.TLPGreen)
	putIndicator(t, h, amberOther, wire.TLPAmber, "Org2MSP")
	tests := []struct {
		name    string
		alert   wire.Alert
		wantErr any
	}{
		{"indicator not on the ledger", unknown, new(*state.NotFoundError)},
		{"AMBER indicator the alert's organisation may not see", amberOther, new(*state.NotFoundError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.Call(harness.Org1Gateway, func(ctx contractapi.TransactionContextInterface) (string, error) {
				return h.Alerts.RaiseAlerts(ctx, fixture.JSON([]wire.Alert{tt.alert}))
			})
			if !errors.As(err, tt.wantErr) {
				t.Fatalf("RaiseAlerts() = %v, want %T", err, tt.wantErr)
			}
		})
	}
	out, err := h.Call(harness.Org1Gateway, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Alerts.RaiseAlerts(ctx, fixture.JSON([]wire.Alert{green}))
	})
	if err != nil {
		t.Fatalf("RaiseAlerts(intel match) = %v", err)
	}
	if !strings.Contains(out, `"created":1`) {
		t.Fatalf("RaiseAlerts(intel match) = %s, want one created", out)
	}
}

// TestRaiseAlertsOneKeyPerBatch checks the throughput rule: with no policy
// matching, a transaction writes exactly one key per batch it has new
// alerts for, however many alerts it carries, and emits no event; a replay
// writes nothing and reports every id as existing; a partial replay writes
// one new set holding only the new alerts.
func TestRaiseAlertsOneKeyPerBatch(t *testing.T) {
	h := harness.New(t)
	h.InitMembers()
	b1 := strip(h.Anchor(harness.Org1Gateway, fixture.Batch("Org1MSP", "gw-1", 0, 5000)))
	b2 := strip(h.Anchor(harness.Org1Gateway, fixture.Batch("Org1MSP", "gw-1", 5000, 100)))
	h.Activate(fixture.Policy("never", 1, `alert.severity == "critical" && alert.score > 2.0`))
	mk := func(b wire.Batch, from, to uint64) []wire.Alert {
		var list []wire.Alert
		for seq := from; seq < to; seq++ {
			list = append(list, fixture.Alert(b, seq, "high", "T1110", fmt.Sprintf("host-%d", seq)))
		}
		return list
	}
	raise := func(list []wire.Alert, wantKeys int) wire.RaiseResult {
		t.Helper()
		events := len(h.L.Events())
		tx := h.L.Begin(harness.Org1Gateway)
		out, err := h.Alerts.RaiseAlerts(tx.Ctx(), fixture.JSON(list))
		if err != nil {
			t.Fatal(err)
		}
		if got := len(tx.Written()); got != wantKeys {
			t.Fatalf("wrote %d keys for %d alerts, want %d", got, len(list), wantKeys)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if len(h.L.Events()) != events {
			t.Fatal("an event was emitted although no response was created")
		}
		return harness.Decode[wire.RaiseResult](t, out)
	}
	from := uint64(0)
	for _, n := range []uint64{1, 100, 2000} {
		res := raise(mk(b1, from, from+n), 1)
		from += n
		if res.Created != int(n) || len(res.Existing) != 0 || len(res.Responses) != 0 {
			t.Fatalf("%d alerts: result created %d, existing %d, responses %d", n, res.Created, len(res.Existing), len(res.Responses))
		}
	}
	// Replays: all existing, nothing written.
	if res := raise(mk(b1, 0, 2000), 0); res.Created != 0 || len(res.Existing) != 2000 {
		t.Fatalf("replay result = created %d, existing %d", res.Created, len(res.Existing))
	}
	// Partial replay across two batches: one new set per batch with new
	// alerts, holding only those.
	mixed := append(mk(b1, 2091, 2111), mk(b2, 5000, 5030)...)
	if res := raise(mixed, 2); res.Created != 40 || len(res.Existing) != 10 {
		t.Fatalf("partial replay result = created %d, existing %d", res.Created, len(res.Existing))
	}
	if got := h.L.CountKeys(keys.AlertSet); got != 5 {
		t.Fatalf("%d alert sets, want 5", got)
	}
	key, _ := keys.Key(keys.AlertSet, "Org1MSP", "gw-1", b1.ID, keys.SetSeq(3))
	raw, ok := h.L.Value(key)
	if !ok {
		t.Fatalf("set %d of batch 1 missing", 3)
	}
	if raw[0] == '{' {
		t.Fatalf("a set of 10 alerts was stored as plain JSON (%d bytes), want compressed (wire.EncodeStoredAlertSet)", len(raw))
	}
	var set wire.AlertSet
	if err := wire.DecodeStoredAlertSet(raw, &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Alerts) != 10 || set.Seq != 3 || set.RaisedTx == "" || set.RaisedBy.MSP != "Org1MSP" {
		t.Fatalf("set = seq %d, %d alerts, raised %s by %+v", set.Seq, len(set.Alerts), set.RaisedTx, set.RaisedBy)
	}
	for i := range set.Alerts {
		a := set.Alerts[i]
		if i > 0 && a.ID <= set.Alerts[i-1].ID {
			t.Fatal("set alerts are not sorted by id")
		}
		if a.Status != "" || a.RaisedTx != "" || a.RaisedBy != nil {
			t.Fatalf("set alert carries chaincode fields: %+v", a)
		}
	}
	// An alert of a compressed set reads back whole.
	want := set.Recorded(0)
	got := harness.Decode[wire.Alert](t, h.Must(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Alerts.GetAlert(ctx, b1.ID, want.ID)
	}))
	if got.ID != want.ID || got.BatchID != b1.ID || got.EventHash != want.EventHash || got.Detector != want.Detector || got.RaisedTx != set.RaisedTx {
		t.Fatalf("GetAlert of a compressed set's alert = %+v, want %+v", got, want)
	}
}

// TestRaiseAlertsInTransientMap: with an empty argument the alerts come
// from the transient map (so the block carries each alert once, in its
// set), are recorded as the argument form records them, and a replay in
// either form finds them; with neither form the call is refused.
func TestRaiseAlertsInTransientMap(t *testing.T) {
	h, b1, _ := setup(t)
	b1 = strip(b1)
	list := []wire.Alert{fixture.Alert(b1, 1, "high", "T1110", "a"), fixture.Alert(b1, 2, "low", "T1110", "b")}
	raise := func(arg string, tm map[string][]byte) (wire.RaiseResult, *ledgertest.Tx, error) {
		t.Helper()
		tx := h.L.Begin(harness.Org1Gateway)
		tx.SetTransient(tm)
		out, err := h.Alerts.RaiseAlerts(tx.Ctx(), arg)
		if err != nil {
			return wire.RaiseResult{}, tx, err
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		return harness.Decode[wire.RaiseResult](t, out), tx, nil
	}
	var ve *wire.ValidationError
	if _, _, err := raise("", nil); !errors.As(err, &ve) {
		t.Fatalf("no alerts at all: %v, want *wire.ValidationError", err)
	}
	if _, _, err := raise("", map[string][]byte{wire.TransientAlerts: []byte("[{")}); !errors.As(err, &ve) {
		t.Fatalf("malformed transient alerts: %v, want *wire.ValidationError", err)
	}
	if _, _, err := raise("", map[string][]byte{wire.TransientAlertsDeflate: []byte("[{}]")}); !errors.As(err, &ve) {
		t.Fatalf("compressed transient alerts that do not inflate: %v, want *wire.ValidationError", err)
	}
	tm := map[string][]byte{wire.TransientAlerts: []byte(fixture.JSON(list))}
	z, err := wire.CompressTransientAlerts(tm[wire.TransientAlerts])
	if err != nil {
		t.Fatal(err)
	}
	res, tx, err := raise("", tm)
	if err != nil || res.Created != 2 || len(tx.Written()) != 1 {
		t.Fatalf("transient form: %+v, %v, wrote %d keys; want 2 created in one set", res, err, len(tx.Written()))
	}
	for _, a := range list {
		got, err := h.Alerts.GetAlert(h.L.Begin(harness.Org1Gateway).Ctx(), a.BatchID, a.ID)
		if err != nil {
			t.Fatalf("GetAlert(%s): %v", a.ID, err)
		}
		if r := harness.Decode[wire.Alert](t, got); r.EventHash != a.EventHash || r.Severity != a.Severity || r.Status != wire.AlertOpen {
			t.Errorf("GetAlert(%s) = %+v, want the alert raised, open", a.ID, r)
		}
	}
	for name, form := range map[string]func() (wire.RaiseResult, *ledgertest.Tx, error){
		"argument":  func() (wire.RaiseResult, *ledgertest.Tx, error) { return raise(fixture.JSON(list), nil) },
		"transient": func() (wire.RaiseResult, *ledgertest.Tx, error) { return raise("", tm) },
		"compressed transient": func() (wire.RaiseResult, *ledgertest.Tx, error) {
			return raise("", map[string][]byte{wire.TransientAlertsDeflate: z})
		},
		// The compressed form is read first: the plain one is not looked at.
		"both transient": func() (wire.RaiseResult, *ledgertest.Tx, error) {
			return raise("", map[string][]byte{wire.TransientAlertsDeflate: z, wire.TransientAlerts: []byte("[{")})
		},
	} {
		if res, tx, err := form(); err != nil || res.Created != 0 || len(res.Existing) != 2 || len(tx.Written()) != 0 {
			t.Errorf("replay in the %s form: %+v, %v, wrote %d keys; want 2 existing, nothing written", name, res, err, len(tx.Written()))
		}
	}
}

// TestAlertSetsOfEitherFormRead: a set stores its alerts without msp,
// gatewayId, batchId and detector sha256 (the set carries them once), and
// alerts of sets written before that form (with them in every alert)
// read, list and replay exactly like new ones.
func TestAlertSetsOfEitherFormRead(t *testing.T) {
	h, b1, _ := setup(t)
	b1 = strip(b1)
	fresh, old := fixture.Alert(b1, 1, "high", "T1110", "a"), fixture.Alert(b1, 2, "low", "T1110", "b")
	if res, err := h.Raise(harness.Org1Gateway, fresh); err != nil || res.Created != 1 {
		t.Fatalf("raise: %+v, %v", res, err)
	}
	key0, _ := keys.Key(keys.AlertSet, "Org1MSP", "gw-1", b1.ID, keys.SetSeq(0))
	raw, _ := h.L.Value(key0)
	stored := harness.Decode[struct {
		Alerts []map[string]any
		Models []wire.Model
	}](t, string(raw))
	for _, f := range []string{"msp", "gatewayId", "batchId"} {
		if _, ok := stored.Alerts[0][f]; len(stored.Alerts) != 1 || ok {
			t.Fatalf("stored set alerts %v, want one alert without %s", stored.Alerts, f)
		}
	}
	if _, ok := stored.Alerts[0]["detector"].(map[string]any)["sha256"]; ok || len(stored.Models) != 1 || stored.Models[0] != fresh.Detector {
		t.Fatalf("stored detector %v, models %v; want the sha256 in the set's models only", stored.Alerts[0]["detector"], stored.Models)
	}
	// A set of the earlier form, as an earlier chaincode wrote it.
	set := wire.AlertSet{MSP: "Org1MSP", GatewayID: "gw-1", BatchID: b1.ID, Seq: 1, RaisedAt: wire.NewTime(h.L.Now()),
		RaisedTx: strings.Repeat("e", 64), RaisedBy: wire.Actor{MSP: "Org1MSP", Subject: "CN=gw"}, Alerts: []wire.Alert{old}}
	key1, _ := keys.Key(keys.AlertSet, "Org1MSP", "gw-1", b1.ID, keys.SetSeq(1))
	tx := h.L.Begin(harness.Org1Gateway)
	if err := tx.Ctx().GetStub().PutState(key1, []byte(fixture.JSON(set))); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if raw, _ := h.L.Value(key1); !strings.Contains(string(raw), `"batchId":"`+b1.ID+`","eventTime"`) {
		t.Fatalf("the earlier-form set was not written with per-alert fields: %s", raw)
	}
	for _, a := range []wire.Alert{fresh, old} {
		out := h.Must(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
			return h.Alerts.GetAlert(ctx, a.BatchID, a.ID)
		})
		got := harness.Decode[wire.Alert](t, out)
		if got.MSP != a.MSP || got.GatewayID != a.GatewayID || got.BatchID != a.BatchID || got.Detector != a.Detector || got.EventHash != a.EventHash || got.Status != wire.AlertOpen {
			t.Errorf("GetAlert(%s) = %+v, want the alert as raised, open", a.ID, got)
		}
	}
	out := h.Must(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Alerts.ListAlerts(ctx, `{"gatewayId":"gw-1","asset":"b"}`, 10, "")
	})
	if page := harness.Decode[wire.Page[wire.Alert]](t, out); len(page.Records) != 1 || page.Records[0].ID != old.ID || page.Records[0].BatchID != b1.ID {
		t.Errorf("ListAlerts = %+v, want the earlier-form alert with its batch", page.Records)
	}
	if res, err := h.Raise(harness.Org1Gateway, fresh, old); err != nil || res.Created != 0 || len(res.Existing) != 2 {
		t.Errorf("replay of both: %+v, %v; want both existing", res, err)
	}
}

// TestRaiseAlertsSetLimit checks that a batch holds at most
// MaxAlertSetsPerBatch sets, and that a full batch still accepts replays.
func TestRaiseAlertsSetLimit(t *testing.T) {
	h, b1, _ := setup(t)
	b1 = strip(b1)
	for i := 0; i < wire.MaxAlertSetsPerBatch; i++ {
		if _, err := h.Raise(harness.Org1Gateway, fixture.Alert(b1, uint64(i), "low", "T1110", "x")); err != nil {
			t.Fatalf("set %d: %v", i, err)
		}
	}
	var se *state.StateError
	if _, err := h.Raise(harness.Org1Gateway, fixture.Alert(b1, 99, "low", "T1110", "x")); !errors.As(err, &se) {
		t.Fatalf("raise into a full batch = %v, want *state.StateError", err)
	}
	if res, err := h.Raise(harness.Org1Gateway, fixture.Alert(b1, 3, "low", "T1110", "x")); err != nil || len(res.Existing) != 1 {
		t.Fatalf("replay into a full batch = %+v, %v", res, err)
	}
}

// TestRaiseAlertsConcurrency checks the MVCC rules: RaiseAlerts for two
// different batches endorsed against the same state both commit, while two
// for the same batch in one block conflict (the second sees a phantom in
// its range read of the batch's sets), and a status change does not
// conflict with a later set of its alert's batch.
func TestRaiseAlertsConcurrency(t *testing.T) {
	h, b1, _ := setup(t)
	b1 = strip(b1)
	b3 := strip(h.Anchor(harness.GatewayOf("Org1MSP", "gw-3"), fixture.Batch("Org1MSP", "gw-3", 0, 100)))
	first := fixture.Alert(b1, 0, "high", "T1110", "a")
	if _, err := h.Raise(harness.Org1Gateway, first); err != nil {
		t.Fatal(err)
	}
	begin := func(who *ledgertest.Identity, fn func(ctx contractapi.TransactionContextInterface) (string, error)) *ledgertest.Tx {
		t.Helper()
		tx := h.L.Begin(who)
		if _, err := fn(tx.Ctx()); err != nil {
			t.Fatal(err)
		}
		return tx
	}
	raiseTx := func(a wire.Alert) *ledgertest.Tx {
		return begin(harness.GatewayOf(a.MSP, a.GatewayID), func(ctx contractapi.TransactionContextInterface) (string, error) {
			return h.Alerts.RaiseAlerts(ctx, fixture.JSON([]wire.Alert{a}))
		})
	}
	// Different batches (and gateways): no conflict.
	tx1, tx2 := raiseTx(fixture.Alert(b1, 1, "high", "T1110", "a")), raiseTx(fixture.Alert(b3, 1, "high", "T1110", "a"))
	if err := tx1.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := tx2.Commit(); err != nil {
		t.Fatalf("RaiseAlerts for another batch conflicted: %v", err)
	}
	// Same batch: the second is a phantom.
	tx1, tx2 = raiseTx(fixture.Alert(b1, 2, "high", "T1110", "a")), raiseTx(fixture.Alert(b1, 3, "high", "T1110", "a"))
	update := begin(harness.Org1Analyst, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Alerts.UpdateAlertStatus(ctx, b1.ID, first.ID, wire.AlertAcknowledged, "on it")
	})
	if err := tx1.Commit(); err != nil {
		t.Fatal(err)
	}
	var ce *ledgertest.ConflictError
	if err := tx2.Commit(); !errors.As(err, &ce) || ce.Reason != "phantom" {
		t.Fatalf("second RaiseAlerts for the same batch = %v, want a phantom conflict", err)
	}
	if err := update.Commit(); err != nil {
		t.Fatalf("status change conflicted with a new set of its batch: %v", err)
	}
	// The retry of the invalidated transaction succeeds.
	if res, err := h.Raise(harness.Org1Gateway, fixture.Alert(b1, 3, "high", "T1110", "a")); err != nil || res.Created != 1 {
		t.Fatalf("retry = %+v, %v", res, err)
	}
}

func TestRaiseAlertsRecords(t *testing.T) {
	h, b1, b2 := setup(t)
	a := fixture.Alert(strip(b1), 7, "critical", "T1110.001", "web-01")
	if _, err := h.Raise(harness.Org1Gateway, a); err != nil {
		t.Fatal(err)
	}
	out := h.Must(harness.Org2Admin, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Alerts.GetAlert(ctx, a.BatchID, a.ID)
	})
	got := harness.Decode[wire.Alert](t, out)
	if got.Status != wire.AlertOpen || got.RaisedBy.MSP != "Org1MSP" || got.RaisedTx == "" || got.RaisedAt.IsZero() ||
		got.Fields["user"] != "alice" || got.LastChange != nil {
		t.Fatalf("stored alert = %+v", got)
	}
	for _, tt := range []struct {
		name, batch, alert string
		want               any
	}{
		{"unknown alert", a.BatchID, fixture.Hash("nope"), new(*state.NotFoundError)},
		{"unknown batch", fixture.Hash("nope"), a.ID, new(*state.NotFoundError)},
		{"other batch", b2.ID, a.ID, new(*state.NotFoundError)},
		{"bad alert id", a.BatchID, "x", new(*wire.ValidationError)},
		{"bad batch id", "", a.ID, new(*wire.ValidationError)},
	} {
		if _, err := h.Call(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
			return h.Alerts.GetAlert(ctx, tt.batch, tt.alert)
		}); !errors.As(err, tt.want) {
			t.Errorf("GetAlert(%s) = %v, want %T", tt.name, err, tt.want)
		}
	}
	if _, err := h.Call(harness.Org1Plain, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Alerts.GetAlert(ctx, a.BatchID, a.ID)
	}); !errors.As(err, new(*access.DeniedError)) {
		t.Errorf("GetAlert by an identity without a role = %v", err)
	}
}

func TestUpdateAlertStatus(t *testing.T) {
	h, b1, _ := setup(t)
	a := fixture.Alert(strip(b1), 7, "high", "T1110", "web-01")
	if _, err := h.Raise(harness.Org1Gateway, a); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		who     *ledgertest.Identity
		status  string
		reason  string
		wantErr any
		writes  int
	}{
		{"gateway cannot triage", harness.Org1Gateway, "acknowledged", "x", new(*access.DeniedError), 0},
		{"other org's analyst", harness.Org2Analyst, "acknowledged", "x", new(*access.DeniedError), 0},
		{"reason required", harness.Org1Analyst, "acknowledged", "", new(*wire.ValidationError), 0},
		{"unknown status", harness.Org1Analyst, "closed", "x", new(*wire.ValidationError), 0},
		{"acknowledge", harness.Org1Analyst, "acknowledged", "looking", nil, 1},
		{"replay is a no-op", harness.Org1Analyst, "acknowledged", "looking", nil, 0},
		{"reopen an open alert", harness.Org1Analyst, "open", "x", new(*state.StateError), 0},
		{"false positive by admin", harness.Org1Admin, "false-positive", "scanner of the red team", nil, 1},
		{"cannot resolve a closed alert", harness.Org1Analyst, "resolved", "x", new(*state.StateError), 0},
		{"reopen", harness.Org1Analyst, "open", "red team says real", nil, 1},
		{"resolve", harness.Org1Analyst, "resolved", "host reimaged", nil, 1},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			tx := h.L.Begin(s.who)
			out, err := h.Alerts.UpdateAlertStatus(tx.Ctx(), a.BatchID, a.ID, s.status, s.reason)
			if s.wantErr != nil {
				tx.Discard()
				if !errors.As(err, s.wantErr) {
					t.Fatalf("UpdateAlertStatus() = %v, want %T", err, s.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("UpdateAlertStatus() = %v", err)
			}
			if len(tx.Written()) != s.writes {
				t.Fatalf("wrote %d keys, want %d", len(tx.Written()), s.writes)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			got := harness.Decode[wire.Alert](t, out)
			if got.Status != s.status || got.LastChange.Reason != s.reason || got.LastChange.By.MSP != "Org1MSP" ||
				got.LastChange.BatchID != a.BatchID || got.RaisedTx == "" {
				t.Fatalf("alert = %+v", got)
			}
		})
	}

	// The audit trail: raise + 4 changes, newest first, in pages of 2.
	var trail []string
	bookmark := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("history pagination does not end")
		}
		out := h.Must(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
			return h.Alerts.GetAlertHistory(ctx, a.BatchID, a.ID, 2, bookmark)
		})
		page := harness.Decode[wire.Page[wire.HistoryEntry[wire.Alert]]](t, out)
		if len(page.Records) > 2 {
			t.Fatalf("page of %d records, pageSize 2", len(page.Records))
		}
		for _, e := range page.Records {
			if e.Value.ID != a.ID || e.Value.RaisedTx == "" {
				t.Fatalf("history entry = %+v", e.Value)
			}
			if e.Value.Status == wire.AlertOpen && e.Value.LastChange == nil && e.TxID != e.Value.RaisedTx {
				t.Fatalf("creation entry has tx %s, alert raised in %s", e.TxID, e.Value.RaisedTx)
			}
			trail = append(trail, e.Value.Status)
		}
		if bookmark = page.Bookmark; bookmark == "" {
			break
		}
	}
	want := "resolved,open,false-positive,acknowledged,open"
	if got := strings.Join(trail, ","); got != want {
		t.Fatalf("history = %s, want %s", got, want)
	}
	var ve *wire.ValidationError
	if _, err := h.Call(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Alerts.GetAlertHistory(ctx, a.BatchID, a.ID, 2, "no-such-tx")
	}); !errors.As(err, &ve) {
		t.Fatalf("history with a foreign bookmark = %v", err)
	}
	// Every page size gives the same trail.
	for size := int32(1); size <= 6; size++ {
		var got []string
		bookmark := ""
		for pages := 0; ; pages++ {
			if pages > 6 {
				t.Fatalf("pageSize %d: pagination does not end", size)
			}
			out := h.Must(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
				return h.Alerts.GetAlertHistory(ctx, a.BatchID, a.ID, size, bookmark)
			})
			page := harness.Decode[wire.Page[wire.HistoryEntry[wire.Alert]]](t, out)
			for _, e := range page.Records {
				got = append(got, e.Value.Status)
			}
			if bookmark = page.Bookmark; bookmark == "" {
				break
			}
		}
		if strings.Join(got, ",") != want {
			t.Errorf("pageSize %d: history = %v, want %s", size, got, want)
		}
	}
	// A fresh alert's history is its creation alone.
	fresh := fixture.Alert(strip(b1), 8, "high", "T1110", "web-02")
	if _, err := h.Raise(harness.Org1Gateway, fresh); err != nil {
		t.Fatal(err)
	}
	out := h.Must(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Alerts.GetAlertHistory(ctx, fresh.BatchID, fresh.ID, 1, "")
	})
	if page := harness.Decode[wire.Page[wire.HistoryEntry[wire.Alert]]](t, out); len(page.Records) != 1 || page.Bookmark != "" ||
		page.Records[0].TxID != page.Records[0].Value.RaisedTx || page.Records[0].Value.Status != wire.AlertOpen {
		t.Fatalf("fresh history = %+v", page)
	}
}

func TestListAlerts(t *testing.T) {
	h, b1, b2 := setup(t)
	b1, b2 = strip(b1), strip(b2)
	var list1, list2 []wire.Alert
	sev := []string{"low", "medium", "high", "critical"}
	for seq := uint64(0); seq < 20; seq++ {
		list1 = append(list1, fixture.Alert(b1, seq, sev[seq%4], "T1110", fmt.Sprintf("h%d", seq%3)))
		list2 = append(list2, fixture.Alert(b2, seq, "low", "TA0007", "db"))
	}
	// Org1's alerts one per transaction (20 sets: more than one scan
	// page), Org2's in one set (pages end inside it).
	for _, a := range list1 {
		if _, err := h.Raise(harness.Org1Gateway, a); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.Raise(harness.Org2Gateway, list2...); err != nil {
		t.Fatal(err)
	}
	for _, seq := range []int{0, 3, 6} { // assets h0, h0, h0
		h.Must(harness.Org1Analyst, func(ctx contractapi.TransactionContextInterface) (string, error) {
			return h.Alerts.UpdateAlertStatus(ctx, b1.ID, list1[seq].ID, wire.AlertAcknowledged, "looking")
		})
	}
	tests := []struct {
		filter   string
		pageSize int32
		want     int
	}{
		{"", 7, 40},
		{`{"msp":"Org2MSP"}`, 1000, 20},
		{`{"msp":"Org1MSP","minSeverity":"high"}`, 6, 10},
		{`{"asset":"h0","status":"open"}`, 3, 4},
		{`{"status":"acknowledged"}`, 1, 3},
		{`{"msp":"Org1MSP","gatewayId":"gw-1","batchId":"` + b1.ID + `","status":"acknowledged"}`, 2, 3},
		{`{"msp":"Org2MSP","gatewayId":"gw-1","batchId":"` + b1.ID + `"}`, 10, 0},
		{`{"since":"2020-01-01T00:00:00Z","minSeverity":"critical"}`, 2, 5},
		{`{"category":"TA0007","gatewayId":"gw-1"}`, 40, 20},
		{`{"until":"2020-01-01T00:00:00Z"}`, 40, 0},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			got := 0
			bookmark := ""
			for pages := 0; ; pages++ {
				if pages > 50 {
					t.Fatal("pagination does not end")
				}
				out := h.Must(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
					return h.Alerts.ListAlerts(ctx, tt.filter, tt.pageSize, bookmark)
				})
				page := harness.Decode[wire.Page[wire.Alert]](t, out)
				if int32(len(page.Records)) > tt.pageSize || int32(len(page.Records)) > page.Fetched {
					t.Fatalf("page holds %d of %d fetched, pageSize %d", len(page.Records), page.Fetched, tt.pageSize)
				}
				for _, a := range page.Records {
					if a.RaisedTx == "" || a.Status == "" || (a.Status == wire.AlertAcknowledged) != (a.LastChange != nil) {
						t.Fatalf("listed alert = %+v", a)
					}
				}
				got += len(page.Records)
				if bookmark = page.Bookmark; bookmark == "" {
					break
				}
			}
			if got != tt.want {
				t.Errorf("listed %d alerts, want %d", got, tt.want)
			}
		})
	}
	var ve *wire.ValidationError
	for _, bm := range []string{"junk", "\x00lg.aset\x00Org2MSP\x00", "\x00lg.aset\x00Org1MSP\x00x"} {
		if _, err := h.Call(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
			return h.Alerts.ListAlerts(ctx, `{"msp":"Org1MSP"}`, 10, bm)
		}); !errors.As(err, &ve) {
			t.Errorf("ListAlerts(bookmark %q) = %v, want *wire.ValidationError", bm, err)
		}
	}
	for _, f := range []string{`{"minSeverity":"huge"}`, `{"bogus":1}`, `{"status":"closed"}`} {
		if _, err := h.Call(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
			return h.Alerts.ListAlerts(ctx, f, 10, "")
		}); !errors.As(err, &ve) {
			t.Errorf("ListAlerts(%s) = %v, want *wire.ValidationError", f, err)
		}
	}
}

func TestRaiseAlertsFailClosed(t *testing.T) {
	boom := errors.New("peer unavailable")
	cases := []struct {
		op     ledgertest.Op
		substr string
	}{
		{ledgertest.OpScan, keys.AlertSet}, {ledgertest.OpGet, keys.Batch}, {ledgertest.OpPut, keys.AlertSet}, {ledgertest.OpGet, keys.Response},
		{ledgertest.OpScan, keys.ActivePolicy}, {ledgertest.OpEvent, ""}, {ledgertest.OpPut, keys.Response},
		{ledgertest.OpScan, keys.RateMark},
	}
	for _, c := range cases {
		t.Run(string(c.op)+" "+c.substr, func(t *testing.T) {
			h, b1, _ := setup(t)
			p := fixture.Policy("iso", 1, `alert.severityLevel >= 3`)
			p.Limit = &wire.RateLimit{Max: 5, WindowSeconds: 60}
			h.Activate(p)
			h.L.Fail(c.op, c.substr, boom)
			_, err := h.Raise(harness.Org1Gateway, fixture.Alert(strip(b1), 1, "high", "T1110", "web-01"))
			if !errors.Is(err, boom) {
				t.Fatalf("RaiseAlerts() = %v, want the injected fault", err)
			}
			if h.L.CountKeys(keys.AlertSet) != 0 || h.L.CountKeys(keys.Response) != 0 {
				t.Fatal("failed transaction committed state")
			}
		})
	}
}

// FuzzRaiseAlerts submits arbitrary JSON as a gateway against a ledger
// with an anchored batch and an active policy: no panic, and a refused
// call writes nothing.
func FuzzRaiseAlerts(f *testing.F) {
	b := fixture.Batch("Org1MSP", "gw-1", 0, 100)
	valid := []byte(fixture.JSON([]wire.Alert{fixture.Alert(b, 1, "high", "T1110", "web-01")}))
	f.Add(valid)
	f.Add(append(valid, ' '))      // the same alerts in the other forms (by length mod 4)
	f.Add(append(valid, ' ', ' ')) // (one of odd and even length, one of 1 and 3 mod 4)
	f.Add(append(valid, ' ', ' ', ' '))
	f.Add([]byte(fixture.JSON([]wire.Alert{fixture.Alert(b, 1, "low", "T1110", ""), fixture.Alert(b, 2, "critical", "TA0001", "{{alert.asset}}")})))
	f.Add([]byte(`[{"id":"","fields":{"x":"\u0000"}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		h := harness.New(t)
		h.InitMembers()
		h.Anchor(harness.Org1Gateway, b)
		h.Activate(fixture.Policy("iso", 1, `alert.severityLevel >= 3 && alert.fields.user == "alice"`))
		// Odd lengths travel in the transient map, compressed as the
		// gateway sends them when the length is 3 mod 4; every form must
		// behave alike.
		arg, tm := string(data), map[string][]byte(nil)
		switch len(data) % 4 {
		case 1:
			arg, tm = "", map[string][]byte{wire.TransientAlerts: data}
		case 3:
			z, err := wire.CompressTransientAlerts(data)
			if err != nil {
				t.Fatal(err)
			}
			arg, tm = "", map[string][]byte{wire.TransientAlertsDeflate: z}
		}
		tx := h.L.Begin(harness.Org1Gateway)
		tx.SetTransient(tm)
		_, err := h.Alerts.RaiseAlerts(tx.Ctx(), arg)
		if err == nil {
			err = tx.Commit()
		}
		if err != nil {
			if h.L.CountKeys(keys.AlertSet)+h.L.CountKeys(keys.Response) != 0 {
				t.Fatalf("refused input wrote state: %v", err)
			}
			return
		}
		// Accepted: every alert reads back as sent (the stored set leaves
		// out what it carries once; Recorded must put it all back).
		var sent []wire.Alert
		if err := json.Unmarshal(data, &sent); err != nil {
			t.Fatalf("accepted input does not decode: %v", err)
		}
		for _, a := range sent {
			out, err := h.Call(harness.Org1Gateway, func(ctx contractapi.TransactionContextInterface) (string, error) {
				return h.Alerts.GetAlert(ctx, a.BatchID, a.ID)
			})
			if err != nil {
				t.Fatalf("GetAlert(%s): %v", a.ID, err)
			}
			got := harness.Decode[wire.Alert](t, out)
			got.Status, got.RaisedAt, got.RaisedTx, got.RaisedBy = "", wire.Time{}, "", nil
			if g, w := fixture.JSON(got), fixture.JSON(a); g != w {
				t.Fatalf("alert read back as %s, sent %s", g, w)
			}
		}
	})
}

// TestRaiseAlertsGatewayBinding checks that alerts are raised only by the
// identity bound to their gateway: its own alerts pass, one alert of
// another gateway in the call refuses the whole call, and an identity
// bound to no gateway is refused.
func TestRaiseAlertsGatewayBinding(t *testing.T) {
	h, b1, _ := setup(t)
	b1 = strip(b1)
	b9 := strip(h.Anchor(harness.GatewayOf("Org1MSP", "gw-9"), fixture.Batch("Org1MSP", "gw-9", 0, 10)))
	own := fixture.Alert(b1, 1, "high", "T1110", "a")
	other := fixture.Alert(b9, 1, "high", "T1110", "a")
	tests := []struct {
		name    string
		who     *ledgertest.Identity
		alerts  []wire.Alert
		wantErr bool
	}{
		{"unbound gateway", ledgertest.Gateway("Org1MSP", "g"), []wire.Alert{own}, true},
		{"own alert and another gateway's", harness.GatewayOf("Org1MSP", "gw-1"), []wire.Alert{own, other}, true},
		{"another gateway's alert", harness.GatewayOf("Org1MSP", "gw-1"), []wire.Alert{other}, true},
		{"own alert", harness.GatewayOf("Org1MSP", "gw-1"), []wire.Alert{own}, false},
		{"the other gateway's own alert", harness.GatewayOf("Org1MSP", "gw-9"), []wire.Alert{other}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.L.CountKeys(keys.AlertSet)
			res, err := h.Raise(tt.who, tt.alerts...)
			if tt.wantErr {
				var de *access.DeniedError
				if !errors.As(err, &de) {
					t.Fatalf("RaiseAlerts() = %v, want *access.DeniedError", err)
				}
				if got := h.L.CountKeys(keys.AlertSet); got != before {
					t.Fatalf("refused call wrote alert sets: %d, want %d", got, before)
				}
				return
			}
			if err != nil || res.Created != len(tt.alerts) {
				t.Fatalf("RaiseAlerts() = %+v, %v; want %d created", res, err, len(tt.alerts))
			}
		})
	}
}

// TestRaiseAlertsRefusesAnUnreadableSet: a transaction whose set's JSON
// would exceed wire.MaxWrittenAlertSetJSON (valid alerts whose text JSON
// escapes six-fold) is refused as invalid and writes nothing, so no set is
// ever stored that its readers (replays, GetAlert, ListAlerts) cannot
// decode; the same batch then takes alerts of ordinary size.
func TestRaiseAlertsRefusesAnUnreadableSet(t *testing.T) {
	h, _, _ := setup(t)
	b1 := strip(h.Anchor(harness.Org1Gateway, fixture.Batch("Org1MSP", "gw-1", 100, 200)))
	v := strings.Repeat("<", wire.MaxFieldValueLen)
	var list []wire.Alert
	for i := range 200 {
		a := fixture.Alert(b1, 100+uint64(i), "low", "T1110", "x")
		a.Fields = make(map[string]string, wire.MaxAlertFields)
		for k := range wire.MaxAlertFields {
			a.Fields[fmt.Sprintf("f%02d", k)] = v
		}
		list = append(list, a)
	}
	// Sent unescaped (as any JSON encoder may), the input is within
	// wire.MaxInputBytes while the set's JSON escapes every '<'.
	var arg bytes.Buffer
	enc := json.NewEncoder(&arg)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(list); err != nil {
		t.Fatal(err)
	}
	if arg.Len() > wire.MaxInputBytes {
		t.Fatalf("input of %d bytes: the test needs one within wire.MaxInputBytes", arg.Len())
	}
	_, err := h.Call(harness.Org1Gateway, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Alerts.RaiseAlerts(ctx, arg.String())
	})
	var ve *wire.ValidationError
	if !errors.As(err, &ve) || !strings.Contains(ve.Reason, "alert set") {
		t.Fatalf("raise of an oversized set = %v, want the set-size *wire.ValidationError", err)
	}
	if res, err := h.Raise(harness.Org1Gateway, fixture.Alert(b1, 100, "low", "T1110", "x")); err != nil || res.Created != 1 {
		t.Fatalf("raise after the refusal = %+v, %v; want one created (nothing of the refused one stored)", res, err)
	}
}

// TestRaiseAlertsMixedSetForms: one batch holding a plain-JSON set (small)
// and a compressed one (over 2 KiB) reads as one: replays of either set's
// alerts are recognised, GetAlert finds alerts in both, and ListAlerts
// pages through both.
func TestRaiseAlertsMixedSetForms(t *testing.T) {
	h, b1, _ := setup(t)
	b1 = strip(b1)
	small := fixture.Alert(b1, 0, "low", "T1110", "mixed")
	if res, err := h.Raise(harness.Org1Gateway, small); err != nil || res.Created != 1 {
		t.Fatalf("raise one: %+v, %v", res, err)
	}
	var many []wire.Alert
	for i := 1; i <= 20; i++ {
		many = append(many, fixture.Alert(b1, uint64(i), "low", "T1110", "mixed"))
	}
	if res, err := h.Raise(harness.Org1Gateway, many...); err != nil || res.Created != 20 {
		t.Fatalf("raise twenty: %+v, %v", res, err)
	}
	for seq, wantCompressed := range []bool{false, true} {
		key, _ := keys.Key(keys.AlertSet, "Org1MSP", "gw-1", b1.ID, keys.SetSeq(seq))
		raw, _ := h.L.Value(key)
		if got := len(raw) > 0 && raw[0] == 0; got != wantCompressed {
			t.Fatalf("set %d compressed = %v, want %v", seq, got, wantCompressed)
		}
	}
	all := append([]wire.Alert{small}, many...)
	if res, err := h.Raise(harness.Org1Gateway, all...); err != nil || res.Created != 0 || len(res.Existing) != 21 {
		t.Fatalf("replay of both sets: created %d, existing %d, %v; want 21 existing", res.Created, len(res.Existing), err)
	}
	for _, a := range []wire.Alert{small, many[19]} {
		out := h.Must(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
			return h.Alerts.GetAlert(ctx, a.BatchID, a.ID)
		})
		if got := harness.Decode[wire.Alert](t, out); got.ID != a.ID || got.EventHash != a.EventHash {
			t.Errorf("GetAlert(%s) = %+v", a.ID, got)
		}
	}
	seen, bookmark := 0, ""
	for range 10 {
		out := h.Must(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
			return h.Alerts.ListAlerts(ctx, `{"gatewayId":"gw-1","asset":"mixed"}`, 8, bookmark)
		})
		page := harness.Decode[wire.Page[wire.Alert]](t, out)
		seen += len(page.Records)
		if bookmark = page.Bookmark; bookmark == "" {
			break
		}
	}
	if seen != 21 {
		t.Errorf("ListAlerts paged through %d alerts, want 21", seen)
	}
}
