package alerts_test

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/internal/fixture"
	"github.com/ledgerguard/ledgerguard/chaincode/internal/harness"
	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// BenchmarkRaiseAlerts1000 measures the chaincode's own CPU for one
// 1000-alert transaction (the first set of a fresh batch, as a gateway
// raises a batch's alerts) against 16 active policies (the in-memory stub
// costs nothing per key, unlike the peer): the part of the ≥ 20,000
// alerts/s budget the contract itself spends.
func BenchmarkRaiseAlerts1000(b *testing.B) { benchRaise(b, 16) }

// BenchmarkRaiseAlerts1000NoPolicies is BenchmarkRaiseAlerts1000 with no
// active policy: decode, validate, the replay check and the set's encoding.
func BenchmarkRaiseAlerts1000NoPolicies(b *testing.B) { benchRaise(b, 0) }

// BenchmarkRaiseAlerts1000Dedup is BenchmarkRaiseAlerts1000 with a dedup
// rule over a stream where 90 % of detections repeat (100 entities per
// transaction, ten detections each): it also reports the keys a
// transaction writes (one set plus one dedup record per entity).
func BenchmarkRaiseAlerts1000Dedup(b *testing.B) { benchRaiseWith(b, 16, 10) }

func benchRaise(b *testing.B, policies int) { benchRaiseWith(b, policies, 0) }

// BenchmarkRaiseAlertsTransient measures one 1000-alert RaiseAlerts as
// the gateway sends it under scripts/bench.sh ingest: the alerts in the
// transient map, no policy or hygiene rule in force, alerts shaped like
// the nsl-kdd-flow model's (a float32-derived score, no asset, principal
// or fields). It reports the contract's CPU per alert (ns/alert) and
// allocations per alert; the stub costs nothing per key, so this is the
// contract's own share of the chaincode process's CPU.
func BenchmarkRaiseAlertsTransient(b *testing.B) { benchTransient(b, 0, 1000, bareAlert, false) }

// BenchmarkRaiseAlertsTransientKDD is BenchmarkRaiseAlertsTransient with
// alerts shaped like those scripts/bench.sh ingest raises from its NSL-KDD
// rows (sampled from its ledger): an asset, the nsl-kdd models' four
// fields (class, label, sourcetype and the top features), a full float64
// score and a mix of severities and categories: about 670 bytes of JSON
// each against the bare alerts' 510, three times the allocations, and
// what the chaincode spends per alert in that bench.
func BenchmarkRaiseAlertsTransientKDD(b *testing.B) { benchTransient(b, 0, 1000, kddAlert, false) }

// BenchmarkRaiseAlertsTransientKDDDeflate is BenchmarkRaiseAlertsTransientKDD
// with the alerts compressed in wire.TransientAlertsDeflate, as the gateway
// sends them: the chaincode inflates them first. It also reports the
// transient bytes per alert (the plain benchmark's for comparison).
func BenchmarkRaiseAlertsTransientKDDDeflate(b *testing.B) {
	benchTransient(b, 0, 1000, kddAlert, true)
}

// BenchmarkRaiseAlertsTransientKDDDeflate2000 is
// BenchmarkRaiseAlertsTransientKDDDeflate with wire.MaxAlertsPerTx alerts,
// the transaction size of scripts/bench.sh ingest's large batches.
func BenchmarkRaiseAlertsTransientKDDDeflate2000(b *testing.B) {
	benchTransient(b, 0, wire.MaxAlertsPerTx, kddAlert, true)
}

// BenchmarkRaiseAlertsTransientSecondSet is BenchmarkRaiseAlertsTransient
// for a batch's second transaction (200 alerts after a first set of 1000,
// untimed), as when a batch flags more alerts than one transaction holds:
// it adds the idempotency check's read of the batch's first set.
func BenchmarkRaiseAlertsTransientSecondSet(b *testing.B) {
	benchTransient(b, 1000, 200, bareAlert, false)
}

// bareAlert is alert j of a transaction shaped like the nsl-kdd-flow
// model's as the first version of this benchmark had them: no asset,
// principal or fields.
func bareAlert(batch wire.Batch, seq uint64, j int) wire.Alert {
	a := fixture.Alert(batch, seq, "info", "anomaly", "")
	a.Principal, a.Fields = "", nil
	a.Score = float64(float32(0.1) + float32(j)*0.000731)
	return a
}

// kddShapes are the severity, category, label and top features of alerts
// read from the ledger after scripts/bench.sh ingest.
var kddShapes = []struct{ sev, cat, label, top string }{
	{"medium", "T1046", "Probe", "service.smtp:+2.9,src_bytes:-2.9,dst_host_same_srv_rate:-1.7"},
	{"critical", "T1046", "Probe", "service.private:+8.3,dst_host_same_src_port_rate:+3.4,count:+2.9"},
	{"critical", "T1498", "DoS", "service.ecr_i:+19.3,wrong_fragment:+13.9,protocol_type.icmp:+7.2"},
	{"high", "T1046", "Probe", "service.private:+8.3,count:+3.2,srv_count:+2.9"},
	{"medium", "anomaly", "anomaly", "dst_host_diff_srv_rate:+5.8,dst_host_rerror_rate:+3.6,service.smtp:+2.9"},
	{"low", "anomaly", "anomaly", "flag.RSTR:+20.0,service.private:+7.9,same_srv_rate:-6.6"},
	{"medium", "T1498", "DoS", "src_bytes:+3.3,service.http:+0.9,dst_host_count:+0.8"},
}

// kddAlert is alert j of a transaction shaped like those of
// scripts/bench.sh ingest (see BenchmarkRaiseAlertsTransientKDD).
func kddAlert(batch wire.Batch, seq uint64, j int) wire.Alert {
	sh := kddShapes[j%len(kddShapes)]
	a := fixture.Alert(batch, seq, sh.sev, sh.cat, fmt.Sprintf("sensor-%02d", j%15))
	a.Principal = ""
	a.Fields = map[string]string{"class": "flow", "label": sh.label, "sourcetype": "nsl-kdd", "top_features": sh.top}
	a.Score = 0.2 + float64(j)*0.000731234567891
	return a
}

// benchTransient raises, per iteration, first alerts of a fresh batch
// untimed, then n more of the same batch timed, each alert made by shape,
// in the transient map (compressed, wire.TransientAlertsDeflate, with
// deflate).
func benchTransient(b *testing.B, first, n int, shape func(wire.Batch, uint64, int) wire.Alert, deflate bool) {
	var transientBytes int
	b.StopTimer()
	h := harness.New(b)
	h.InitMembers()
	seq := uint64(0)
	var allocs uint64
	var cpu time.Duration
	var ms runtime.MemStats
	raise := func(batch wire.Batch, n int, timed bool) {
		list := make([]wire.Alert, n)
		for j := range list {
			list[j] = shape(batch, seq, j)
			seq++
		}
		tx := h.L.Begin(harness.Org1Gateway)
		tm := transientAlerts(b, list, deflate)
		for _, v := range tm {
			transientBytes += len(v)
		}
		tx.SetTransient(tm)
		runtime.ReadMemStats(&ms)
		before := ms.Mallocs
		cpu0 := cpuTime(b)
		if timed {
			b.StartTimer()
		}
		if _, err := h.Alerts.RaiseAlerts(tx.Ctx(), ""); err != nil {
			b.Fatal(err)
		}
		if timed {
			b.StopTimer()
			cpu += cpuTime(b) - cpu0
			runtime.ReadMemStats(&ms)
			allocs += ms.Mallocs - before
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < b.N; i++ {
		batch := h.Anchor(harness.Org1Gateway, fixture.Batch("Org1MSP", "gw-1", seq, uint64(first+n)))
		batch.AnchoredAt, batch.TxID, batch.Submitter = wire.Time{}, "", nil
		if first > 0 {
			raise(batch, first, false)
		}
		raise(batch, n, true)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/alert")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*n), "cpu-ns/alert")
	b.ReportMetric(float64(allocs)/float64(b.N*n), "allocs/alert")
	b.ReportMetric(float64(transientBytes)/float64(b.N*(first+n)), "transient-bytes/alert")
}

// transientAlerts returns the transient map carrying list as the gateway
// sends it: compressed in wire.TransientAlertsDeflate, or (deflate false)
// plain in wire.TransientAlerts.
func transientAlerts(tb testing.TB, list []wire.Alert, deflate bool) map[string][]byte {
	tb.Helper()
	js := []byte(fixture.JSON(list))
	if !deflate {
		return map[string][]byte{wire.TransientAlerts: js}
	}
	z, err := wire.CompressTransientAlerts(js)
	if err != nil {
		tb.Fatal(err)
	}
	return map[string][]byte{wire.TransientAlertsDeflate: z}
}

// cpuTime is the process's CPU time so far (user and system, every
// thread: the garbage collector's work included): on a shared machine it
// moves far less than wall time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchRaiseWith raises 1000 alerts per transaction; repeat > 0 turns on a
// dedup rule and gives each run of repeat alerts one new entity.
func benchRaiseWith(b *testing.B, policies, repeat int) {
	h := harness.New(b)
	h.InitMembers()
	if repeat > 0 {
		h.ActivateRule(fixture.DedupRule("dedup", 1, "true", 3600))
	}
	keys := 0
	for i := 0; i < policies; i++ {
		p := fixture.Policy(fmt.Sprintf("p%02d", i), 1, fmt.Sprintf(`alert.severityLevel >= 4 && alert.score > 0.%d && alert.fields.user == "bob"`, i))
		p.Limit = &wire.RateLimit{Max: 10, WindowSeconds: 60}
		h.Activate(p)
	}
	seq := uint64(0)
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		batch := h.Anchor(harness.Org1Gateway, fixture.Batch("Org1MSP", "gw-1", seq, 1000))
		batch.AnchoredAt, batch.TxID, batch.Submitter = wire.Time{}, "", nil
		list := make([]wire.Alert, 1000)
		for j := range list {
			asset := fmt.Sprintf("host-%d", seq%50)
			if repeat > 0 {
				asset = fmt.Sprintf("host-%d", seq/uint64(repeat))
			}
			list[j] = fixture.Alert(batch, seq, "high", "T1110", asset)
			seq++
		}
		arg := fixture.JSON(list)
		tx := h.L.Begin(harness.Org1Gateway)
		cpu0 := cpuTime(b)
		b.StartTimer()
		if _, err := h.Alerts.RaiseAlerts(tx.Ctx(), arg); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += cpuTime(b) - cpu0
		keys += len(tx.Written())
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "alerts/s")
	b.ReportMetric(float64(keys)/float64(b.N), "keys/tx")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*1000), "cpu-ns/alert")
}
