package wire

import (
	"sort"
	"testing"
)

// BenchmarkAlertStages measures, per alert of a wire.MaxAlertsPerTx-alert
// transaction shaped like scripts/bench.sh ingest's (kddAlertsJSON), each
// stage of RaiseAlerts' per-alert work on its own: inflating the
// transient value, decoding the alerts, validating them and encoding the
// stored set. It uses the exported API only, so that the same file runs
// against an older checkout for a same-run comparison.
func BenchmarkAlertStages(b *testing.B) {
	const n = MaxAlertsPerTx
	js := kddAlertsJSON(b, n)
	z, err := CompressTransientAlerts(js)
	if err != nil {
		b.Fatal(err)
	}
	list, err := DecodeAlerts(js, "alerts")
	if err != nil {
		b.Fatal(err)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	set := AlertSet{MSP: list[0].MSP, GatewayID: list[0].GatewayID, BatchID: list[0].BatchID, RaisedTx: "tx"}
	for _, a := range list {
		set.Add(a)
	}
	perAlert := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/alert")
	}
	b.Run("inflate", func(b *testing.B) {
		for b.Loop() {
			if _, err := InflateTransientAlerts(z); err != nil {
				b.Fatal(err)
			}
		}
		perAlert(b)
	})
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			if _, err := DecodeAlerts(js, "alerts"); err != nil {
				b.Fatal(err)
			}
		}
		perAlert(b)
	})
	b.Run("validate", func(b *testing.B) {
		for b.Loop() {
			for i := range list {
				if err := list[i].Validate(""); err != nil {
					b.Fatal(err)
				}
			}
		}
		perAlert(b)
	})
	b.Run("marshal", func(b *testing.B) {
		for b.Loop() {
			if _, err := MarshalAlertSet(&set); err != nil {
				b.Fatal(err)
			}
		}
		perAlert(b)
	})
	b.Run("encode", func(b *testing.B) {
		for b.Loop() {
			if _, err := EncodeStoredAlertSet(&set); err != nil {
				b.Fatal(err)
			}
		}
		perAlert(b)
	})
}
