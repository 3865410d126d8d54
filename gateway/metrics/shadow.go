package metrics

import "github.com/prometheus/client_golang/prometheus"

// ShadowModel is one shadow model's counts (gateway/shadow), labelled by
// name, version and the served version it is compared with.
type ShadowModel struct {
	Name, Version, ServedVersion string
	Active                       bool
	Events, Agreements           uint64
	WouldBeAlerts, ServedAlerts  uint64
	ScoreDrift                   float64
}

// ShadowModels registers, read at each scrape from shadow:
//
//	shadow_active{model,version,served_version}              1 while in shadow, 0 after
//	shadow_events_total{model,version,served_version}        events both versions scored
//	shadow_agreements_total{model,version,served_version}    of which both flagged or both passed
//	shadow_would_be_alerts_total{model,version,served_version} events the shadow flagged (no alert raised)
//	shadow_served_alerts_total{model,version,served_version}  events the served version flagged
//	shadow_score_drift{model,version,served_version}         mean |shadow score − served score|
//
// Series exist only for shadow models, a handful at most.
func (m *Metrics) ShadowModels(shadow func() []ShadowModel) error {
	labels := []string{"model", "version", "served_version"}
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(ns, "", name), help, labels, nil)
	}
	return m.reg.Register(&shadowCollector{shadow: shadow,
		active:     d("shadow_active", "1 while the model version runs in shadow (scored beside the served version, never alerting), 0 once it left."),
		events:     d("shadow_events_total", "Events both the shadow and the served version scored."),
		agreements: d("shadow_agreements_total", "Events on which the shadow and the served version agreed (both flagged or both passed)."),
		would:      d("shadow_would_be_alerts_total", "Events the shadow version flagged (alerts it would have raised)."),
		served:     d("shadow_served_alerts_total", "Events the served version flagged, of those the shadow also scored."),
		drift:      d("shadow_score_drift", "Mean absolute difference between the shadow and the served version's scores."),
	})
}

type shadowCollector struct {
	shadow                                           func() []ShadowModel
	active, events, agreements, would, served, drift *prometheus.Desc
}

func (c *shadowCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.active, c.events, c.agreements, c.would, c.served, c.drift} {
		ch <- d
	}
}

func (c *shadowCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.shadow() {
		l := []string{s.Name, s.Version, s.ServedVersion}
		active := 0.0
		if s.Active {
			active = 1
		}
		ch <- prometheus.MustNewConstMetric(c.active, prometheus.GaugeValue, active, l...)
		ch <- prometheus.MustNewConstMetric(c.events, prometheus.CounterValue, float64(s.Events), l...)
		ch <- prometheus.MustNewConstMetric(c.agreements, prometheus.CounterValue, float64(s.Agreements), l...)
		ch <- prometheus.MustNewConstMetric(c.would, prometheus.CounterValue, float64(s.WouldBeAlerts), l...)
		ch <- prometheus.MustNewConstMetric(c.served, prometheus.CounterValue, float64(s.ServedAlerts), l...)
		ch <- prometheus.MustNewConstMetric(c.drift, prometheus.GaugeValue, s.ScoreDrift, l...)
	}
}

// ModelDrift is one model version's input drift (gateway/shadow's Drift).
type ModelDrift struct {
	Name, Version string
	Events        uint64
	Drift         float64
}

// ModelDrift registers ledgerguard_model_input_drift{model,version}: at
// each scrape, the mean over features of |live mean − training mean| /
// training scale, for every model version whose manifest carries
// training statistics.
func (m *Metrics) ModelDrift(drift func() []ModelDrift) error {
	return m.reg.Register(&driftCollector{drift: drift, desc: prometheus.NewDesc(prometheus.BuildFQName(ns, "", "model_input_drift"),
		"Input drift per model version: mean over features of |live feature mean - training mean| / training scale.",
		[]string{"model", "version"}, nil)})
}

type driftCollector struct {
	drift func() []ModelDrift
	desc  *prometheus.Desc
}

func (c *driftCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *driftCollector) Collect(ch chan<- prometheus.Metric) {
	for _, d := range c.drift() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, d.Drift, d.Name, d.Version)
	}
}
