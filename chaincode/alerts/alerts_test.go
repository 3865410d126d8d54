package alerts_test

import (
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
	h.Anchor(harness.Org1Gateway, otherGW)
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
			if n := h.L.CountKeys(keys.Alert); n != 0 {
				t.Fatalf("refused call left %d alerts", n)
			}
		})
	}
}

// TestRaiseAlertsOneKeyPerAlert checks the throughput rule: with no policy
// matching, a transaction of n alerts writes exactly n keys and emits no
// event; replaying it writes nothing and reports every id as existing.
func TestRaiseAlertsOneKeyPerAlert(t *testing.T) {
	h, b1, _ := setup(t)
	b1 = strip(b1)
	h.Activate(fixture.Policy("never", 1, `alert.severity == "critical" && alert.score > 2.0`))
	var list []wire.Alert
	for seq := uint64(0); seq < 100; seq++ {
		list = append(list, fixture.Alert(b1, seq, "high", "T1110", fmt.Sprintf("host-%d", seq)))
	}
	events := len(h.L.Events())
	tx := h.L.Begin(harness.Org1Gateway)
	out, err := h.Alerts.RaiseAlerts(tx.Ctx(), fixture.JSON(list))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(tx.Written()); got != len(list) {
		t.Fatalf("wrote %d keys for %d alerts", got, len(list))
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	res := harness.Decode[wire.RaiseResult](t, out)
	if res.Created != 100 || len(res.Existing) != 0 || len(res.Responses) != 0 {
		t.Fatalf("result = %+v", res)
	}
	if len(h.L.Events()) != events {
		t.Fatal("an event was emitted although no response was created")
	}

	tx = h.L.Begin(harness.Org1Gateway)
	out, err = h.Alerts.RaiseAlerts(tx.Ctx(), fixture.JSON(list))
	if err != nil {
		t.Fatal(err)
	}
	if len(tx.Written()) != 0 || tx.Event() != nil {
		t.Fatalf("replay wrote %d keys, event %v", len(tx.Written()), tx.Event())
	}
	tx.Discard()
	if res := harness.Decode[wire.RaiseResult](t, out); res.Created != 0 || len(res.Existing) != 100 {
		t.Fatalf("replay result = created %d, existing %d", res.Created, len(res.Existing))
	}
}

func TestRaiseAlertsRecords(t *testing.T) {
	h, b1, _ := setup(t)
	a := fixture.Alert(strip(b1), 7, "critical", "T1110.001", "web-01")
	if _, err := h.Raise(harness.Org1Gateway, a); err != nil {
		t.Fatal(err)
	}
	out := h.Must(harness.Org2Admin, func(ctx contractapi.TransactionContextInterface) (string, error) { return h.Alerts.GetAlert(ctx, a.ID) })
	got := harness.Decode[wire.Alert](t, out)
	if got.Status != wire.AlertOpen || got.RaisedBy.MSP != "Org1MSP" || got.RaisedTx == "" || got.Fields["user"] != "alice" {
		t.Fatalf("stored alert = %+v", got)
	}
	var nf *state.NotFoundError
	if _, err := h.Call(harness.Org1Auditor, func(ctx contractapi.TransactionContextInterface) (string, error) {
		return h.Alerts.GetAlert(ctx, fixture.Hash("nope"))
	}); !errors.As(err, &nf) {
		t.Fatalf("GetAlert(missing) = %v", err)
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
			out, err := h.Alerts.UpdateAlertStatus(tx.Ctx(), a.ID, s.status, s.reason)
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
			if got.Status != s.status || got.LastChange.Reason != s.reason || got.LastChange.By.MSP != "Org1MSP" {
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
			return h.Alerts.GetAlertHistory(ctx, a.ID, 2, bookmark)
		})
		page := harness.Decode[wire.Page[wire.HistoryEntry[wire.Alert]]](t, out)
		for _, e := range page.Records {
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
		return h.Alerts.GetAlertHistory(ctx, a.ID, 2, "no-such-tx")
	}); !errors.As(err, &ve) {
		t.Fatalf("history with a foreign bookmark = %v", err)
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
	if _, err := h.Raise(harness.Org1Gateway, list1...); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Raise(harness.Org2Gateway, list2...); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		filter   string
		pageSize int32
		want     int
	}{
		{"", 7, 40},
		{`{"msp":"Org2MSP"}`, 1000, 20},
		{`{"msp":"Org1MSP","minSeverity":"high"}`, 6, 10},
		{`{"asset":"h0","status":"open"}`, 3, 7},
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
				if page.Fetched > tt.pageSize || int32(len(page.Records)) > page.Fetched {
					t.Fatalf("page holds %d of %d fetched, pageSize %d", len(page.Records), page.Fetched, tt.pageSize)
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
		{ledgertest.OpGet, keys.Alert}, {ledgertest.OpGet, keys.Batch}, {ledgertest.OpPut, keys.Alert},
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
			if h.L.CountKeys(keys.Alert) != 0 || h.L.CountKeys(keys.Response) != 0 {
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
	f.Add([]byte(fixture.JSON([]wire.Alert{fixture.Alert(b, 1, "high", "T1110", "web-01")})))
	f.Add([]byte(fixture.JSON([]wire.Alert{fixture.Alert(b, 1, "low", "T1110", ""), fixture.Alert(b, 2, "critical", "TA0001", "{{alert.asset}}")})))
	f.Add([]byte(`[{"id":"","fields":{"x":"\u0000"}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		h := harness.New(t)
		h.InitMembers()
		h.Anchor(harness.Org1Gateway, b)
		h.Activate(fixture.Policy("iso", 1, `alert.severityLevel >= 3 && alert.fields.user == "alice"`))
		_, err := h.Call(harness.Org1Gateway, func(ctx contractapi.TransactionContextInterface) (string, error) {
			return h.Alerts.RaiseAlerts(ctx, string(data))
		})
		if err != nil && h.L.CountKeys(keys.Alert)+h.L.CountKeys(keys.Response) != 0 {
			t.Fatalf("refused input wrote state: %v", err)
		}
	})
}
