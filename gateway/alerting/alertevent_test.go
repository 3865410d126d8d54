package alerting

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/detect"
	"github.com/ledgerguard/ledgerguard/gateway/pseudonym"
)

// partialOf returns ev's partial leaf as the store hands it out, and
// whether its header was read so.
func partialOf(t testing.TB, ev gateway.Event) (gateway.Leaf, bool) {
	c, err := ev.Canonical()
	if err != nil {
		return gateway.Leaf{}, false
	}
	h, ok := gateway.ReadHeader(c, nil)
	if !ok {
		return gateway.Leaf{}, false
	}
	return gateway.HeaderLeaf(h, c, [32]byte{1}, decodeJSON), true
}

// sameAlert checks that alert builds the same alert from alertEvent as
// from the whole event, for a verdict with and without redaction, with
// and without a pseudonym vault.
func sameAlert(t *testing.T, a, vaulted *Alerter, leaf *gateway.Leaf) {
	t.Helper()
	got, err := alertEvent(leaf)
	if err != nil {
		t.Fatal(err)
	}
	full, err := leaf.Full()
	if err != nil {
		t.Fatal(err)
	}
	b := gateway.Batch{ID: strings.Repeat("0", 64)}
	for _, r := range []detect.Result{
		{Model: "m", Version: "1", Score: 0.9, Flagged: true, Label: "x", Fields: map[string]string{"k": "v"}},
		{Model: wire.DetectorIntelMatch, Version: "ind", Score: 0.7, Flagged: true, Redact: []string{"source.ip", "user.name"}},
	} {
		for _, al := range []*Alerter{a, vaulted} {
			want, werr := al.alert(b, full, leaf.LeafHash, r)
			have, herr := al.alert(b, got, leaf.LeafHash, r)
			if (werr == nil) != (herr == nil) || !reflect.DeepEqual(have, want) {
				t.Fatalf("alert from alertEvent %+v, %v\nfrom the whole event %+v, %v\n(canonical %s)", have, herr, want, werr, leaf.Canonical)
			}
		}
	}
}

func testAlerters(t testing.TB) (*Alerter, *Alerter) {
	dir := t.TempDir()
	v, err := pseudonym.OpenVault(dir+"/vault", []byte("0123456789abcdef0123"))
	if err != nil {
		t.Fatal(err)
	}
	return &Alerter{cfg: Config{MSP: "Org1MSP", GatewayID: "gw"}}, &Alerter{cfg: Config{MSP: "Org1MSP", GatewayID: "gw", Vault: v}}
}

// TestAlertEventMatchesFull: the alert built from the fields alertEvent
// reads from the bytes equals the alert built from the whole event, for
// every kind of value, and values it does not read so make it decode.
func TestAlertEventMatchesFull(t *testing.T) {
	a, vaulted := testAlerters(t)
	t0 := time.Date(2026, 12, 5, 1, 2, 3, 4, time.UTC)
	for _, tc := range []struct {
		name    string
		fields  map[string]any
		decodes bool
	}{
		{"none", nil, false},
		{"strings", map[string]any{"user.name": "root", "source.ip": "10.0.0.7", "destination.ip": "203.0.113.9", "host.name": "h1", "other": []any{"x"}}, false},
		{"number, bool, null", map[string]any{"destination.port": json.Number("22"), "host.ip": true, "user.name": nil, "source.ip": json.Number("-1.5e3")}, false},
		{"empty strings fall back to the host", map[string]any{"host.name": "", "destination.ip": ""}, false},
		{"non-ASCII", map[string]any{"user.name": "jürgen"}, false},
		{"escaped", map[string]any{"user.name": "a<b>"}, true},
		{"object", map[string]any{"host.ip": map[string]any{"v": "1"}}, true},
		{"array", map[string]any{"source.ip": []any{"1.2.3.4"}}, true},
		{"escaped unread field", map[string]any{"message": "a<b>", "user.name": "u"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := gateway.Event{ID: strings.Repeat("ab", 32), Seq: 3, Time: t0, Received: t0, Source: "s", Sourcetype: "linux:auth", Host: "sensor", Class: gateway.ClassAuth, Fields: tc.fields}
			leaf, ok := partialOf(t, ev)
			if !ok {
				t.Fatal("header not read")
			}
			decodes := 0
			leaf = gateway.HeaderLeaf(leaf.Event, leaf.Canonical, leaf.LeafHash, func(c []byte, seq uint64) (gateway.Event, error) {
				decodes++
				return decodeJSON(c, seq)
			})
			if _, err := alertEvent(&leaf); err != nil {
				t.Fatal(err)
			}
			if (decodes > 0) != tc.decodes {
				t.Errorf("decoded the whole event %d times, want decoded %v", decodes, tc.decodes)
			}
			sameAlert(t, a, vaulted, &leaf)
		})
	}
}

// FuzzAlertEvent: for any event fields, the alert built from alertEvent
// equals the alert built from the whole event.
func FuzzAlertEvent(f *testing.F) {
	f.Add([]byte(`{"user.name":"bad","source.ip":"10.1.2.3","destination.port":443,"host.ip":null,"host.name":"x"}`), "h")
	f.Add([]byte(`{"user.name":"\u00e9\u2028","source.ip":["a"],"destination.ip":{"x":1},"host.name":true}`), "")
	f.Add([]byte(`{"destination.port":-0.0e+1,"user.name":"\ud800"}`), "host")
	a, vaulted := testAlerters(f)
	f.Fuzz(func(t *testing.T, fieldsText []byte, host string) {
		var fields map[string]any
		d := json.NewDecoder(bytes.NewReader(fieldsText))
		d.UseNumber()
		if d.Decode(&fields) != nil {
			return
		}
		ev := gateway.Event{ID: strings.Repeat("cd", 32), Seq: 9, Time: time.Unix(5, 0).UTC(), Source: "s", Sourcetype: "t", Host: host, Class: gateway.ClassFlow, Fields: fields}
		leaf, ok := partialOf(t, ev)
		if !ok {
			return
		}
		sameAlert(t, a, vaulted, &leaf)
	})
}
