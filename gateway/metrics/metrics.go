// Package metrics holds the gateway's Prometheus metrics in one private
// registry, so every name is declared once, tests can create as many
// independent sets as they like, and /metrics exposes exactly the gateway's
// own series plus the Go runtime and process collectors. It uses
// github.com/prometheus/client_golang, the Prometheus project's own client:
// the de-facto standard exposition, with histograms and scrape-time gauges
// (GaugeFunc) that read state instead of being pushed on every event.
//
// Names (all prefixed ledgerguard_):
//
//	ingest_events_accepted_total{protocol}         events stored (fsynced)
//	ingest_requests_rejected_total{protocol,reason} requests or messages refused
//	store_events                                   durable tree size
//	anchored_events                                tree size anchored on the ledger
//	anchored_batches_total                         batches anchored since start
//	anchor_pending_batches                         sealed batches awaiting the ledger
//	anchor_lag_events                              stored but not yet anchored
//	anchor_lag_seconds                             age of the oldest unanchored event
//	anchor_batch_size_events                       histogram of anchored batch sizes
//	http_request_duration_seconds{route,method,code} histogram per gin route
//	ingest_phase_seconds{protocol,phase}           an ingest request's phases (read, parse, store, respond)
//	store_commit_seconds{phase}                    group commit phases (queued per request, prepare, segment, index, total)
//	store_commit_events                            events per group commit
//	store_leaves_read_total{source}                leaves read back in ranges (the alerter, the console), from memory (the recent-leaves ring) or the segment files
//	store_leaves_read_behind_events                histogram: how far behind the log's end each read began
//	go_sched_latencies_seconds, go_sched_pauses_*  the Go runtime's scheduler latency and stop-the-world pauses
//	syslog_connections                             open syslog connections
//	syslog_connections_refused_total{reason}       syslog connections closed on accept or at the TLS handshake
//	syslog_connections_evicted_total{reason}       idle syslog connections closed to make room
//	syslog_messages_dropped_total{reason}          syslog messages received and not stored
//	models_served{model,version,sha256}            1 per detection model served now
//	shadow_*{model,version,served_version}         shadow models (ShadowModels, shadow.go)
//	model_input_drift{model,version}               input drift against training statistics
//
// Labels name protocols, routes and reasons, never client addresses, so a
// flood from many addresses cannot grow the number of series; the address
// is in the log line that accompanies each refusal. Syslog refusals and
// drops are also in ingest_requests_rejected_total (with its coarser
// reasons, as the HTTP protocols report theirs).
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const ns = "ledgerguard"

// Metrics is the gateway's set of collectors. It is safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	// EventsAccepted counts events durably stored, by protocol.
	EventsAccepted *prometheus.CounterVec
	// RequestsRejected counts refused requests (HTTP) or messages (syslog),
	// by protocol and reason (an httpapi error code).
	RequestsRejected *prometheus.CounterVec
	// AnchoredBatches counts batches anchored since start.
	AnchoredBatches prometheus.Counter
	// BatchSize observes the number of events of each anchored batch.
	BatchSize prometheus.Histogram
	// RequestDuration observes HTTP handling time by gin route pattern.
	RequestDuration *prometheus.HistogramVec
	// IngestPhase observes the phases of an ingest request by protocol and
	// phase (read: the body; parse; store: until durable; respond).
	IngestPhase *prometheus.HistogramVec
	// StoreCommit observes the store's group commits by phase (queued:
	// per request, its wait for the group to start; prepare, segment,
	// index, total: per group).
	StoreCommit *prometheus.HistogramVec
	// StoreCommitEvents observes the events of each group commit.
	StoreCommitEvents prometheus.Histogram
	// LeavesRead counts the leaves the store's range reads returned, by
	// source (memory: its recent-leaves ring; files: the segment files).
	LeavesRead *prometheus.CounterVec
	// LeavesBehind observes, per range read, how many events were
	// appended after its first one: what the recent-leaves ring must hold
	// for the read to come from memory.
	LeavesBehind prometheus.Histogram
	// SyslogConnections is the number of open syslog connections.
	SyslogConnections prometheus.Gauge
	// SyslogRefused counts syslog connections refused, by reason
	// (syslogd.Reason*: not_allowed, handshake_failed, connection_limit,
	// source_limit).
	SyslogRefused *prometheus.CounterVec
	// SyslogEvicted counts idle syslog connections evicted for a new one,
	// by the limit the new one met (connection_limit, source_limit).
	SyslogEvicted *prometheus.CounterVec
	// SyslogDropped counts syslog messages received and not stored, by
	// reason (invalid, too_large, store_failed).
	SyslogDropped *prometheus.CounterVec
}

// New returns a fresh set registered in its own registry with the Go and
// process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		EventsAccepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "ingest_events_accepted_total",
			Help: "Events durably stored, by ingest protocol.",
		}, []string{"protocol"}),
		RequestsRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "ingest_requests_rejected_total",
			Help: "Ingest requests (syslog: messages or connections) refused, by protocol and reason.",
		}, []string{"protocol", "reason"}),
		AnchoredBatches: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Name: "anchored_batches_total",
			Help: "Batches anchored on the ledger since start.",
		}),
		BatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Name: "anchor_batch_size_events",
			Help:    "Events per anchored batch.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 10), // 1 .. 262144
		}),
		RequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "http_request_duration_seconds",
			Help:    "HTTP request handling time by route pattern, method and status code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method", "code"}),
		IngestPhase: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "ingest_phase_seconds",
			Help:    "Phases of an ingest request (read, parse, store until durable, respond), by protocol.",
			Buckets: latencyBuckets,
		}, []string{"protocol", "phase"}),
		StoreCommit: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Name: "store_commit_seconds",
			Help:    "Store group commits by phase: queued (per request, waiting for its group), prepare, segment (write and fsync), index (Pebble commit), total.",
			Buckets: latencyBuckets,
		}, []string{"phase"}),
		StoreCommitEvents: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Name: "store_commit_events",
			Help:    "Events per store group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 10), // 1 .. 262144
		}),
		LeavesRead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "store_leaves_read_total",
			Help: "Leaves read back from the store in ranges (the alerter, the console), by source: memory (the recent-leaves ring) or files (the segment files).",
		}, []string{"source"}),
		LeavesBehind: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Name: "store_leaves_read_behind_events",
			Help:    "Per range read from the store, the events appended after its first one when it began.",
			Buckets: prometheus.ExponentialBuckets(1024, 2, 10), // 1,024 .. 524,288
		}),
		SyslogConnections: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Name: "syslog_connections",
			Help: "Open syslog connections.",
		}),
		SyslogRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "syslog_connections_refused_total",
			Help: "Syslog connections closed on accept or at the TLS handshake, by reason.",
		}, []string{"reason"}),
		SyslogEvicted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "syslog_connections_evicted_total",
			Help: "Idle syslog connections closed to make room for a new one, by the limit the new one met.",
		}, []string{"reason"}),
		SyslogDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Name: "syslog_messages_dropped_total",
			Help: "Syslog messages received and not stored, by reason.",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.EventsAccepted, m.RequestsRejected, m.AnchoredBatches, m.BatchSize,
		m.RequestDuration, m.IngestPhase, m.StoreCommit, m.StoreCommitEvents, m.LeavesRead, m.LeavesBehind, m.SyslogConnections, m.SyslogRefused, m.SyslogEvicted, m.SyslogDropped,
		// The scheduler's latency (how long runnable goroutines waited for
		// a CPU) and its stop-the-world pauses: what separates CPU
		// contention and GC from slow I/O in a latency tail.
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.MetricsScheduler)), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// latencyBuckets are the request and commit phase buckets: 0.25 ms to
// 2 s, about 1.5 apart, fine enough to read a p99 of a few tens of ms.
var latencyBuckets = prometheus.ExponentialBucketsRange(0.00025, 2, 23)

// ObserveCommit records one store group commit.
func (m *Metrics) ObserveCommit(queued []time.Duration, events int, prepare, segment, index, total time.Duration) {
	q := m.StoreCommit.WithLabelValues("queued")
	for _, d := range queued {
		q.Observe(d.Seconds())
	}
	m.StoreCommit.WithLabelValues("prepare").Observe(prepare.Seconds())
	m.StoreCommit.WithLabelValues("segment").Observe(segment.Seconds())
	m.StoreCommit.WithLabelValues("index").Observe(index.Seconds())
	m.StoreCommit.WithLabelValues("total").Observe(total.Seconds())
	m.StoreCommitEvents.Observe(float64(events))
}

// ObserveLeavesRead records one range read from the store: n leaves, from
// memory or the files, begun behind events before the log's end.
func (m *Metrics) ObserveLeavesRead(n int, behind uint64, fromMemory bool) {
	source := "files"
	if fromMemory {
		source = "memory"
	}
	m.LeavesRead.WithLabelValues(source).Add(float64(n))
	m.LeavesBehind.Observe(float64(behind))
}

// GaugeFunc registers a gauge read at scrape time, named ledgerguard_<name>.
// It returns an error if the name is already registered.
func (m *Metrics) GaugeFunc(name, help string, f func() float64) error {
	return m.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: name, Help: help}, f))
}

// ServedModel labels one detection model in ledgerguard_models_served.
type ServedModel struct {
	Name, Version, SHA256 string
}

// ModelsServed registers ledgerguard_models_served{model,version,sha256}:
// at each scrape, 1 for every model served returns, so a model that is
// unloaded (e.g. revoked on the ledger in strict mode) disappears from the
// exposition. It returns an error if registered twice.
func (m *Metrics) ModelsServed(served func() []ServedModel) error {
	return m.reg.Register(&modelsCollector{served: served, desc: prometheus.NewDesc(
		prometheus.BuildFQName(ns, "", "models_served"),
		"Detection models served now (1 each), by name, version and model file sha256.",
		[]string{"model", "version", "sha256"}, nil)})
}

type modelsCollector struct {
	served func() []ServedModel
	desc   *prometheus.Desc
}

func (c *modelsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *modelsCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.served() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, 1, s.Name, s.Version, s.SHA256)
	}
}

// Accepted counts n events of protocol as stored.
func (m *Metrics) Accepted(protocol string, n int) {
	m.EventsAccepted.WithLabelValues(protocol).Add(float64(n))
}

// Rejected counts one refusal of protocol for reason.
func (m *Metrics) Rejected(protocol, reason string) {
	m.RequestsRejected.WithLabelValues(protocol, reason).Inc()
}

// ConnOpened and ConnClosed track open syslog connections.
func (m *Metrics) ConnOpened() { m.SyslogConnections.Inc() }

// ConnClosed is the counterpart of ConnOpened.
func (m *Metrics) ConnClosed() { m.SyslogConnections.Dec() }

// ConnRefused counts one syslog connection refused for reason.
func (m *Metrics) ConnRefused(reason string) { m.SyslogRefused.WithLabelValues(reason).Inc() }

// ConnEvicted counts one idle syslog connection evicted for reason.
func (m *Metrics) ConnEvicted(reason string) { m.SyslogEvicted.WithLabelValues(reason).Inc() }

// MessagesDropped counts n syslog messages dropped for reason.
func (m *Metrics) MessagesDropped(reason string, n int) {
	m.SyslogDropped.WithLabelValues(reason).Add(float64(n))
}

// Gatherer exposes the registry, for tests.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
