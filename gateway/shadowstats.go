package gateway

// ShadowStats is what one shadow model did on live traffic: a model
// version registered on the ledger but not yet approved, scored beside the
// served version of the same name without raising alerts. Agreement and
// drift compare the two on the events both scored.
type ShadowStats struct {
	Model         string `json:"model"`
	Version       string `json:"version"`
	SHA256        string `json:"sha256"`
	ServedVersion string `json:"served_version"`
	Events        uint64 `json:"events"`
	Agreements    uint64 `json:"agreements"`
	WouldBeAlerts uint64 `json:"would_be_alerts"`
	ServedAlerts  uint64 `json:"served_alerts"`
	OnlyShadow    uint64 `json:"only_shadow_flagged"`
	OnlyServed    uint64 `json:"only_served_flagged"`
	Errors        uint64 `json:"errors"`
	// Agreement is Agreements/Events (both flag or both pass); 0 before
	// any event.
	Agreement float64 `json:"agreement"`
	// ScoreDrift is the mean |shadow score − served score|.
	ScoreDrift float64 `json:"score_drift"`
	// Active is false once the version left shadow (approved and served,
	// revoked, or removed); its counts stay for the report.
	Active bool `json:"active"`
}

// DriftStats is how far one model's live inputs moved from its training
// distribution: the mean of each feature over the events it scored,
// compared with the training mean in units of the training scale
// (z = |live mean − train mean| / scale). Drift is the mean z over the
// features, MaxFeature the feature with the largest z. Models whose
// manifest carries no training statistics report HasStats false.
type DriftStats struct {
	Model      string  `json:"model"`
	Version    string  `json:"version"`
	Events     uint64  `json:"events"`
	HasStats   bool    `json:"has_stats"`
	Drift      float64 `json:"drift"`
	MaxFeature string  `json:"max_feature,omitempty"`
	MaxZ       float64 `json:"max_z"`
}
