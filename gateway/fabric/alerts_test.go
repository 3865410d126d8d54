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
	// deflated is wire.TransientAlertsDeflate's value inflated, "" when
	// absent.
	deflated string
}

// endorsementOf records a RaiseAlerts proposal's argument and transient
// alerts (the compressed ones inflated).
func endorsementOf(t *testing.T, args []string, tm map[string][]byte) raiseEndorsement {
	e := raiseEndorsement{arg: args[0], transient: string(tm[wire.TransientAlerts])}
	if z, ok := tm[wire.TransientAlertsDeflate]; ok {
		js, err := wire.InflateTransientAlerts(z)
		if err != nil {
			t.Errorf("transient %s: %v", wire.TransientAlertsDeflate, err)
		}
		e.deflated = string(js)
	}
	return e
}

// form names the form of a RaiseAlerts proposal.
func (e raiseEndorsement) form() string {
	switch {
	case e.deflated != "":
		return "deflate"
	case e.transient != "":
		return "transient"
	default:
		return "argument"
	}
}

// TestRaiseAlertsFallsBackToTheArgumentForm: RaiseAlerts sends the alerts
// compressed in the transient map with an empty argument; a chaincode
// older than that form refuses it (wire.CodeInvalid) and RaiseAlerts then
// sends them plain in the transient map, and, refused again, as the
// argument. Other refusals are not retried in another form.
func TestRaiseAlertsFallsBackToTheArgumentForm(t *testing.T) {
	alerts := []wire.Alert{{ID: "a1", MSP: "Org1MSP", GatewayID: "gw-1", Severity: wire.SeverityHigh}}
	js, err := json.Marshal(alerts)
	if err != nil {
		t.Fatal(err)
	}
	list := string(js)
	tests := []struct {
		name string
		// chaincode answers a proposal from what it carried.
		chaincode func(raiseEndorsement) error
		want      []raiseEndorsement
		wantCode  wire.Code // "" success
	}{
		{"current chaincode: one endorsement, alerts compressed in the transient map",
			func(raiseEndorsement) error { return nil },
			[]raiseEndorsement{{"", "", list}}, ""},
		{"chaincode before compression: the compressed form refused, the plain transient form accepted",
			func(e raiseEndorsement) error {
				if e.form() == "deflate" {
					return refused(t, wire.CodeInvalid, "invalid alerts: are required, as the argument or in transient alerts.list")
				}
				return nil
			},
			[]raiseEndorsement{{"", "", list}, {"", list, ""}}, ""},
		{"older chaincode: the empty argument refused, the argument form accepted",
			func(e raiseEndorsement) error {
				if e.arg == "" {
					return refused(t, wire.CodeInvalid, "invalid alerts: malformed JSON: EOF")
				}
				return nil
			},
			[]raiseEndorsement{{"", "", list}, {"", list, ""}, {list, "", ""}}, ""},
		{"invalid alerts are refused once, not in every form",
			func(raiseEndorsement) error {
				return refused(t, wire.CodeInvalid, "invalid alerts[0].severity: unknown")
			},
			[]raiseEndorsement{{"", "", list}}, wire.CodeInvalid},
		{"too many alerts for the chaincode: refused once",
			func(raiseEndorsement) error {
				return refused(t, wire.CodeInvalid, "invalid alerts: must hold 1..2000 alerts, got 2001")
			},
			[]raiseEndorsement{{"", "", list}}, wire.CodeInvalid},
		{"the gateway will not send transient data outside its org: the argument form accepted",
			func(e raiseEndorsement) error {
				if e.arg == "" {
					return peerError(t, codes.FailedPrecondition, "no endorsers found in the gateway's organization; retry specifying endorsing organization(s) to protect transient data")
				}
				return nil
			},
			[]raiseEndorsement{{"", "", list}, {"", list, ""}, {list, "", ""}}, ""},
		{"another refusal is not retried",
			func(raiseEndorsement) error { return refused(t, wire.CodeDenied, "not this org's gateway") },
			[]raiseEndorsement{{"", "", list}}, wire.CodeDenied},
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
				e := endorsementOf(t, args, tm)
				got = append(got, e)
				return tt.chaincode(e)
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
// the form that was accepted straight away until argFormRetry has passed,
// so a gateway ahead of its chaincode does not pay refused endorsements
// per transaction; then it tries the newer forms again.
func TestRaiseAlertsKeepsTheArgumentForm(t *testing.T) {
	alerts := []wire.Alert{{ID: "a1", MSP: "Org1MSP", GatewayID: "gw-1", Severity: wire.SeverityHigh}}
	tests := []struct {
		name    string
		accepts string // the newest form the chaincode accepts
		want    string
	}{
		{"chaincode before the transient form", "argument",
			"deflate,transient,argument,argument,argument,transient,argument,deflate,transient,argument"},
		{"chaincode before compression", "transient",
			"deflate,transient,transient,transient,transient,deflate,transient"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				mu    sync.Mutex
				forms []string // one per endorsement
			)
			f := &fakePeer{result: []byte(`{"created":1}`), endorse: func(args []string, tm map[string][]byte) error {
				mu.Lock()
				defer mu.Unlock()
				form := endorsementOf(t, args, tm).form()
				forms = append(forms, form)
				if form == tt.accepts || form == "argument" {
					return nil
				}
				return refused(t, wire.CodeInvalid, "invalid alerts: malformed JSON: EOF")
			}}
			l := newFakeLedger(t, f)
			raise := func() {
				if _, err := l.RaiseAlerts(context.Background(), alerts); err != nil {
					t.Fatalf("RaiseAlerts: %v", err)
				}
			}
			for range 3 {
				raise()
			}
			l.argFormUntil.Store(time.Now().Add(-time.Second).UnixNano()) // argFormRetry has passed
			raise()
			l.argFormUntil.Store(time.Now().Add(-time.Second).UnixNano())
			l.plainFormUntil.Store(time.Now().Add(-time.Second).UnixNano()) // for both forms
			raise()
			mu.Lock()
			defer mu.Unlock()
			if got := strings.Join(forms, ","); got != tt.want {
				t.Errorf("endorsements %s, want %s", got, tt.want)
			}
		})
	}
}

// TestOlderFormRefusals pins the refusal texts argumentForm recognises to
// the ones the chaincode's wire package words: the plain transient form's
// chaincode finding no alerts, and the argument form's reading an empty
// argument. Another refusal of the alerts field is not one of them.
func TestOlderFormRefusals(t *testing.T) {
	_, decodeErr := wire.Decode[[]wire.Alert]([]byte(""), "alerts")
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"no alerts in a form it knows", &wire.ValidationError{Field: "alerts", Reason: "are required, as the argument or in transient " + wire.TransientAlerts}, true},
		{"the empty argument", decodeErr, true},
		{"too many alerts", &wire.ValidationError{Field: "alerts", Reason: "must hold 1..2000 alerts, got 2001"}, false},
		{"an invalid alert", &wire.ValidationError{Field: "alerts[0].severity", Reason: "unknown"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Fatal("no error to check")
			}
			if got := argumentForm(refused(t, wire.CodeInvalid, tt.err.Error())); got != tt.want {
				t.Errorf("argumentForm(%q) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
