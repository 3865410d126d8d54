package taxii

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/intel"
)

// shareLedger records shares; the rest of intel.Ledger is not used by the
// publisher.
type shareLedger struct {
	intel.Ledger
	shares []wire.IndicatorShare
	values [][]wire.IndicatorValue
}

func (l *shareLedger) Share(_ context.Context, s wire.IndicatorShare, v []wire.IndicatorValue, _ intel.Key) (intel.ShareResult, error) {
	l.shares, l.values = append(l.shares, s), append(l.values, v)
	return intel.ShareResult{SharedTx: "tx1"}, nil
}

func rawObjects(t *testing.T, objs ...string) []json.RawMessage {
	t.Helper()
	out := make([]json.RawMessage, len(objs))
	for i, o := range objs {
		out[i] = json.RawMessage(o)
	}
	return out
}

const (
	domainIndicator = `{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-02T00:00:00.000Z","pattern":"[domain-name:value = 'Evil.Example.']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`
	andIndicator    = `{"type":"indicator","spec_version":"2.1","id":"indicator--1e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[domain-name:value = 'a.example' AND domain-name:value = 'b.example']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`
	identityObject  = `{"type":"identity","spec_version":"2.1","id":"identity--2e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"x","identity_class":"organization"}`
)

func TestLedgerPublisher(t *testing.T) {
	key := intel.Key{ID: "k1", Secret: []byte("0123456789abcdef0123")}
	tests := []struct {
		name    string
		group   intel.Group
		objs    []string
		wantTLP string
		wantErr gateway.Code
		wantObj string
	}{
		{"shared collection: unmarked is GREEN", intel.GroupShared, []string{domainIndicator, identityObject}, wire.TLPGreen, "", ""},
		{"amber collection: unmarked is AMBER+STRICT", intel.GroupAmber, []string{domainIndicator}, wire.TLPAmberStrict, "", ""},
		{"AND pattern refused, naming the object", intel.GroupShared, []string{domainIndicator, andIndicator}, "", gateway.CodeInvalid, "indicator--1e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"},
		{"no indicator", intel.GroupShared, []string{identityObject}, "", gateway.CodeInvalid, ""},
		{"not STIX", intel.GroupShared, []string{`{"type":7}`}, "", gateway.CodeInvalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &shareLedger{}
			p := &LedgerPublisher{Ledger: l, Key: key, Sharer: "Org1MSP"}
			res, err := p.Publish(context.Background(), tt.group, rawObjects(t, tt.objs...))
			if tt.wantErr != "" {
				if got := gateway.ErrorCode(err); got != tt.wantErr {
					t.Fatalf("error code: got %q (%v), want %q", got, err, tt.wantErr)
				}
				var ie *InvalidObjectError
				if tt.wantObj != "" && (!errors.As(err, &ie) || ie.ObjectID != tt.wantObj) {
					t.Errorf("error %v does not name %s", err, tt.wantObj)
				}
				if len(l.shares) != 0 {
					t.Errorf("shared %d batches after a refusal", len(l.shares))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(l.shares) != 1 || len(l.shares[0].Indicators) != 1 {
				t.Fatalf("shares: %+v", l.shares)
			}
			ind, val := l.shares[0].Indicators[0], l.values[0][0]
			if ind.TLP != tt.wantTLP || ind.SharedBy != "Org1MSP" || ind.Value != "" {
				t.Errorf("record: TLP %q sharedBy %q value %q; want TLP %q, Org1MSP, no value", ind.TLP, ind.SharedBy, ind.Value, tt.wantTLP)
			}
			if got, want := val.Value, "evil.example"; got != want {
				t.Errorf("canonical value: got %q, want %q", got, want)
			}
			if len(res.Shared) != 1 || res.Shared[0].ID != "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f" {
				t.Errorf("result: %+v", res)
			}
		})
	}
}

func TestCatalogObject(t *testing.T) {
	hash := wire.IndicatorHash([]byte("0123456789abcdef"), wire.IndicatorDomain, "evil.example")
	ind := wire.Indicator{ID: wire.IndicatorID("Org1MSP", hash), Hash: hash, Type: wire.IndicatorDomain, TLP: wire.TLPGreen, Confidence: 70,
		ValidFrom: wire.NewTime(mustTime(t, "2026-01-01T00:00:00Z")), SharedBy: "Org1MSP", Value: "evil.example", Stix: domainIndicator}
	o, err := CatalogObject(ind)
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ ID, Type, Modified, SpecVersion, Pattern string }
	if err := json.Unmarshal(o.Body, &body); err != nil {
		t.Fatal(err)
	}
	if o.ID != body.ID || o.Type != "indicator" || o.Version != body.Modified || o.SpecVersion != "2.1" {
		t.Errorf("object %+v does not describe its body %+v", o, body)
	}
	if got, want := body.Pattern, "[domain-name:value = 'evil.example']"; got != want {
		t.Errorf("pattern: got %q, want %q", got, want)
	}
	ind.Value = ""
	if _, err := CatalogObject(ind); err == nil {
		t.Error("an indicator without its value rendered")
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
