package wire_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// TestAlertSetAddRecorded: Add stores an alert without what the set
// carries (msp, gatewayId, batchId, and its detector's sha256 in the
// set's Models table) and Recorded returns it whole, for sets of this
// form and of the earlier one (every field in every alert, no table).
func TestAlertSetAddRecorded(t *testing.T) {
	mlp := wire.Model{ID: "mlp", Version: "1.0.0", SHA256: strings.Repeat("a", 64)}
	mlpOther := wire.Model{ID: "mlp", Version: "1.0.0", SHA256: strings.Repeat("b", 64)}
	tree := wire.Model{ID: "tree", Version: "2", SHA256: strings.Repeat("c", 64)}
	alert := func(id string, m wire.Model) wire.Alert {
		return wire.Alert{ID: id, MSP: "Org1MSP", GatewayID: "gw-1", BatchID: "b1", EventHash: id + "-ev", Detector: m, Severity: wire.SeverityHigh}
	}
	tests := []struct {
		name       string
		alerts     []wire.Alert
		wantModels []wire.Model
		wantSHA    []string // stored detector sha256 of each alert
	}{
		{"one model: in the table once, out of every alert",
			[]wire.Alert{alert("1", mlp), alert("2", mlp)}, []wire.Model{mlp}, []string{"", ""}},
		{"two models: table in the order first met",
			[]wire.Alert{alert("1", tree), alert("2", mlp), alert("3", tree)}, []wire.Model{tree, mlp}, []string{"", "", ""}},
		{"same id and version, another sha256: kept in the alert",
			[]wire.Alert{alert("1", mlp), alert("2", mlpOther)}, []wire.Model{mlp}, []string{"", mlpOther.SHA256}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := wire.AlertSet{MSP: "Org1MSP", GatewayID: "gw-1", BatchID: "b1"}
			for _, a := range tt.alerts {
				set.Add(a)
			}
			if got, want := set.Models, tt.wantModels; !reflect.DeepEqual(got, want) {
				t.Errorf("Models = %+v, want %+v", got, want)
			}
			for i, stored := range set.Alerts {
				if got, want := stored.Detector.SHA256, tt.wantSHA[i]; got != want {
					t.Errorf("stored alert %d detector sha256 %q, want %q", i, got, want)
				}
				if stored.MSP != "" || stored.GatewayID != "" || stored.BatchID != "" {
					t.Errorf("stored alert %d repeats the set's fields: %+v", i, stored)
				}
				got, want := set.Recorded(i), tt.alerts[i]
				want.Status, want.RaisedAt, want.RaisedTx, want.RaisedBy = wire.AlertOpen, set.RaisedAt, set.RaisedTx, &set.RaisedBy
				if !reflect.DeepEqual(got, want) {
					t.Errorf("Recorded(%d) = %+v, want %+v", i, got, want)
				}
			}
		})
	}
	t.Run("earlier form: every field in every alert, no table", func(t *testing.T) {
		a := alert("1", mlp)
		set := wire.AlertSet{MSP: "Org1MSP", GatewayID: "gw-1", BatchID: "b1", Alerts: []wire.Alert{a}}
		got, want := set.Recorded(0), a
		want.Status, want.RaisedBy = wire.AlertOpen, &set.RaisedBy
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Recorded(0) = %+v, want %+v", got, want)
		}
	})
}
