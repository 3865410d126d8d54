package fabric

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
)

// raiseEndorsement is what one RaiseAlerts proposal carried.
type raiseEndorsement struct {
	arg       string
	transient string // the transient map's wire.TransientAlerts, "" when absent
}

// TestRaiseAlertsFallsBackToTheArgumentForm: RaiseAlerts sends the alerts
// in the transient map with an empty argument; a chaincode older than
// that form refuses the empty argument (wire.CodeInvalid) and RaiseAlerts
// then sends them as the argument. Other refusals are not retried in the
// other form.
func TestRaiseAlertsFallsBackToTheArgumentForm(t *testing.T) {
	alerts := []wire.Alert{{ID: "a1", MSP: "Org1MSP", GatewayID: "gw-1", Severity: wire.SeverityHigh}}
	js, err := json.Marshal(alerts)
	if err != nil {
		t.Fatal(err)
	}
	list := string(js)
	tests := []struct {
		name string
		// chaincode answers a proposal from its argument.
		chaincode func(arg string) error
		want      []raiseEndorsement
		wantCode  wire.Code // "" success
	}{
		{"current chaincode: one endorsement, alerts in the transient map",
			func(string) error { return nil },
			[]raiseEndorsement{{"", list}}, ""},
		{"older chaincode: the empty argument refused, the argument form accepted",
			func(a string) error {
				if a == "" {
					return refused(t, wire.CodeInvalid, "alerts: malformed JSON: EOF")
				}
				return nil
			},
			[]raiseEndorsement{{"", list}, {list, ""}}, ""},
		{"invalid alerts are refused in both forms",
			func(string) error { return refused(t, wire.CodeInvalid, "alerts[0].severity: unknown") },
			[]raiseEndorsement{{"", list}, {list, ""}}, wire.CodeInvalid},
		{"the gateway will not send transient data outside its org: the argument form accepted",
			func(a string) error {
				if a == "" {
					return peerError(t, codes.FailedPrecondition, "no endorsers found in the gateway's organization; retry specifying endorsing organization(s) to protect transient data")
				}
				return nil
			},
			[]raiseEndorsement{{"", list}, {list, ""}}, ""},
		{"another refusal is not retried",
			func(string) error { return refused(t, wire.CodeDenied, "not this org's gateway") },
			[]raiseEndorsement{{"", list}}, wire.CodeDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				mu  sync.Mutex
				got []raiseEndorsement
			)
			f := &fakePeer{result: []byte(`{"created":1}`), endorse: func(args []string, tm map[string][]byte) error {
				mu.Lock()
				defer mu.Unlock()
				if len(args) != 1 {
					t.Errorf("RaiseAlerts proposal with %d arguments, want 1", len(args))
					return nil
				}
				got = append(got, raiseEndorsement{args[0], string(tm[wire.TransientAlerts])})
				return tt.chaincode(args[0])
			}}
			l := newFakeLedger(t, f)
			res, err := l.RaiseAlerts(context.Background(), alerts)
			var rej *gateway.LedgerRejectedError
			switch {
			case tt.wantCode == "" && err != nil:
				t.Fatalf("RaiseAlerts: %v", err)
			case tt.wantCode == "" && res.Created != 1:
				t.Errorf("result %+v, want the chaincode's (created 1)", res)
			case tt.wantCode != "" && !errors.As(err, &rej):
				t.Fatalf("RaiseAlerts: %v (%T), want *gateway.LedgerRejectedError", err, err)
			case tt.wantCode != "" && (rej.Code != tt.wantCode || rej.Stage != gateway.StageEndorse):
				t.Errorf("refused with %s at %s, want %s at %s", rej.Code, rej.Stage, tt.wantCode, gateway.StageEndorse)
			}
			mu.Lock()
			defer mu.Unlock()
			checkEndorsements(t, got, tt.want)
		})
	}
}

// TestRaiseAlertsKeepsTheArgumentForm: after a fallback RaiseAlerts sends
// the argument form straight away until argFormRetry has passed, so a
// gateway ahead of its chaincode does not pay a refused endorsement per
// transaction; then it tries the transient form again.
func TestRaiseAlertsKeepsTheArgumentForm(t *testing.T) {
	alerts := []wire.Alert{{ID: "a1", MSP: "Org1MSP", GatewayID: "gw-1", Severity: wire.SeverityHigh}}
	var (
		mu    sync.Mutex
		forms []string // "transient" or "argument", one per endorsement
	)
	f := &fakePeer{result: []byte(`{"created":1}`), endorse: func(args []string, tm map[string][]byte) error {
		mu.Lock()
		defer mu.Unlock()
		if args[0] == "" {
			forms = append(forms, "transient")
			return refused(t, wire.CodeInvalid, "alerts: malformed JSON: EOF")
		}
		forms = append(forms, "argument")
		return nil
	}}
	l := newFakeLedger(t, f)
	for range 3 {
		if _, err := l.RaiseAlerts(context.Background(), alerts); err != nil {
			t.Fatalf("RaiseAlerts: %v", err)
		}
	}
	l.argFormUntil.Store(time.Now().Add(-time.Second).UnixNano()) // argFormRetry has passed
	if _, err := l.RaiseAlerts(context.Background(), alerts); err != nil {
		t.Fatalf("RaiseAlerts: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	got := strings.Join(forms, ",")
	want := "transient,argument,argument,argument,transient,argument"
	if got != want {
		t.Errorf("endorsements %s, want %s", got, want)
	}
}
