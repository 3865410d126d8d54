package wire

import (
	"sort"
	"syscall"
	"testing"
	"time"
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
	var cpu0 time.Duration
	start := func() { cpu0 = processCPU(b) }
	perAlert := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/alert")
		b.ReportMetric(float64((processCPU(b)-cpu0).Nanoseconds())/float64(b.N*n), "cpu-ns/alert")
	}
	b.Run("inflate", func(b *testing.B) {
		for start(); b.Loop(); {
			if _, err := InflateTransientAlerts(z); err != nil {
				b.Fatal(err)
			}
		}
		perAlert(b)
	})
	b.Run("decode", func(b *testing.B) {
		for start(); b.Loop(); {
			if _, err := DecodeAlerts(js, "alerts"); err != nil {
				b.Fatal(err)
			}
		}
		perAlert(b)
	})
	b.Run("validate", func(b *testing.B) {
		for start(); b.Loop(); {
			for i := range list {
				if err := list[i].Validate(""); err != nil {
					b.Fatal(err)
				}
			}
		}
		perAlert(b)
	})
	b.Run("marshal", func(b *testing.B) {
		for start(); b.Loop(); {
			if _, err := MarshalAlertSet(&set); err != nil {
				b.Fatal(err)
			}
		}
		perAlert(b)
	})
	b.Run("encode", func(b *testing.B) {
		for start(); b.Loop(); {
			if _, err := EncodeStoredAlertSet(&set); err != nil {
				b.Fatal(err)
			}
		}
		perAlert(b)
	})
}

// processCPU is the process's CPU time so far (user and system, every
// thread, the garbage collector's included): on a shared machine it moves
// far less than wall time.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
