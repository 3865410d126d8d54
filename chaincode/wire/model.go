package wire

import (
	"math"
	"sort"
	"strconv"
	"strings"
)

// Limits on a model registration. They bound the record so ListModels
// pages stay small and a registration is cheap to validate and compare.
const (
	MaxModelNameLen     = 64
	MaxModelVersionLen  = 32
	MaxTrainingFiles    = 64
	MaxModelMetrics     = 64
	MaxMetricNameLen    = 96
	maxDataPathLen      = 256
	maxModelDescription = 1024
)

// Model registration states. A registration is registered, becomes
// approved when a quorum of member organisations approved it, and may be
// revoked at any time; revoked is final for that (name, version).
const (
	ModelRegistered = "registered"
	ModelApproved   = "approved"
	ModelRevoked    = "revoked"
)

// DataFile names one training data file by path (as the manifest's
// training section lists it, relative to the data directory) and the
// lowercase hex SHA-256 of its bytes.
type DataFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// ModelRecord is the provenance of one model version on the ledger: what
// the model file hashes to, what its feature spec hashes to, what it was
// trained on and what it measured, and who registered, approved or revoked
// it. The registrant fills Name through Quorum; the chaincode raises a
// Quorum below a majority of the current members (0 included) to that
// majority, because a model is served for every member, and sets the rest.
//
// FeaturesSHA256 is the SHA-256 of the manifest's feature spec encoded as
// canonical JSON (encoding/json of the gateway's features.Spec), so a
// manifest whose features were edited no longer matches its registration.
// Metrics are flat names of [A-Za-z0-9._:@/+-] (e.g.
// "test.nsl-kdd.KDDTest+.accuracy", '+' because dataset splits use it) to
// finite numbers; encoding/json sorts the keys, so the bytes are canonical.
type ModelRecord struct {
	Name           string             `json:"name"`
	Version        string             `json:"version"`
	SHA256         string             `json:"sha256"`
	FeaturesSHA256 string             `json:"featuresSha256"`
	TrainingData   []DataFile         `json:"trainingData,omitempty"`
	Metrics        map[string]float64 `json:"metrics,omitempty"`
	Description    string             `json:"description,omitempty"`
	Quorum         int                `json:"quorum,omitempty"`

	Owner        string     `json:"owner,omitempty"`
	State        string     `json:"state,omitempty"`
	RegisteredBy *Actor     `json:"registeredBy,omitempty"`
	RegisteredAt Time       `json:"registeredAt,omitzero"`
	RegisteredTx string     `json:"registeredTx,omitempty"`
	Approvals    []Approval `json:"approvals,omitempty"`
	ApprovedAt   Time       `json:"approvedAt,omitzero"`
	ApprovedTx   string     `json:"approvedTx,omitempty"`
	RevokedAt    Time       `json:"revokedAt,omitzero"`
	RevokedTx    string     `json:"revokedTx,omitempty"`
	RevokedBy    *Actor     `json:"revokedBy,omitempty"`
	RevokeReason string     `json:"revokeReason,omitempty"`
}

// ValidateModelName checks a model name and version as the ledger keys
// them: tokens of [A-Za-z0-9._:@/-], at most MaxModelNameLen and
// MaxModelVersionLen bytes.
func ValidateModelName(name, version string) error {
	if err := checkToken("name", name, MaxModelNameLen); err != nil {
		return err
	}
	return checkToken("version", version, MaxModelVersionLen)
}

// Validate checks a registration as submitted: name and version tokens,
// both hashes lowercase hex SHA-256, at most MaxTrainingFiles training
// files with distinct paths and valid hashes, at most MaxModelMetrics
// metrics with names of [A-Za-z0-9._:@/+-] and finite values, a non-negative quorum, and
// no chaincode-set field. It does not check the quorum against the
// consortium's size (the chaincode does).
func (m *ModelRecord) Validate() error {
	if err := ValidateModelName(m.Name, m.Version); err != nil {
		return err
	}
	if err := checkHash("sha256", m.SHA256); err != nil {
		return err
	}
	if err := checkHash("featuresSha256", m.FeaturesSHA256); err != nil {
		return err
	}
	if len(m.TrainingData) > MaxTrainingFiles {
		return invalid("trainingData", "%d files exceeds the limit of %d", len(m.TrainingData), MaxTrainingFiles)
	}
	seen := make(map[string]bool, len(m.TrainingData))
	for i, f := range m.TrainingData {
		field := "trainingData[" + strconv.Itoa(i) + "]"
		if err := checkText(field+".path", f.Path, maxDataPathLen, true); err != nil {
			return err
		}
		if seen[f.Path] {
			return invalid(field+".path", "%q is listed twice", truncate(f.Path, 80))
		}
		seen[f.Path] = true
		if err := checkHash(field+".sha256", f.SHA256); err != nil {
			return err
		}
	}
	if len(m.Metrics) > MaxModelMetrics {
		return invalid("metrics", "%d metrics exceeds the limit of %d", len(m.Metrics), MaxModelMetrics)
	}
	names := make([]string, 0, len(m.Metrics))
	for k := range m.Metrics {
		names = append(names, k)
	}
	sort.Strings(names) // report the first bad metric deterministically
	for _, k := range names {
		if !isToken(strings.ReplaceAll(k, "+", "_"), MaxMetricNameLen) {
			return invalid("metrics", "name %q must be 1..%d characters of [A-Za-z0-9._:@/+-]", truncate(k, 80), MaxMetricNameLen)
		}
		if v := m.Metrics[k]; math.IsNaN(v) || math.IsInf(v, 0) {
			return invalid("metrics."+k, "must be a finite number")
		}
	}
	if err := checkText("description", m.Description, maxModelDescription, false); err != nil {
		return err
	}
	if m.Quorum < 0 {
		return invalid("quorum", "%d must not be negative (0 = majority of members)", m.Quorum)
	}
	if m.Owner != "" || m.State != "" || m.RegisteredBy != nil || !m.RegisteredAt.IsZero() || m.RegisteredTx != "" ||
		len(m.Approvals) > 0 || !m.ApprovedAt.IsZero() || m.ApprovedTx != "" ||
		!m.RevokedAt.IsZero() || m.RevokedTx != "" || m.RevokedBy != nil || m.RevokeReason != "" {
		return invalid("state", "owner, state, registration, approval and revocation fields are set by the chaincode and must be omitted")
	}
	return nil
}

// SameRegistration reports whether q registers exactly what m does (the
// fields a registrant writes, with a zero quorum matching any), so a
// replayed registration can be recognised.
func (m *ModelRecord) SameRegistration(q *ModelRecord) bool {
	if m.Name != q.Name || m.Version != q.Version || m.SHA256 != q.SHA256 || m.FeaturesSHA256 != q.FeaturesSHA256 ||
		m.Description != q.Description || len(m.TrainingData) != len(q.TrainingData) || len(m.Metrics) != len(q.Metrics) {
		return false
	}
	if m.Quorum != 0 && q.Quorum != 0 && m.Quorum != q.Quorum {
		return false
	}
	for i := range m.TrainingData {
		if m.TrainingData[i] != q.TrainingData[i] {
			return false
		}
	}
	for k, v := range m.Metrics {
		if w, ok := q.Metrics[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Serves reports whether a gateway in strict mode may serve this model:
// it is approved and not revoked.
func (m *ModelRecord) Serves() bool { return m.State == ModelApproved }

// ModelFilter selects registrations in ListModels; empty fields match
// everything. With Name set only that model's versions are scanned.
type ModelFilter struct {
	Name  string `json:"name,omitempty"`
	State string `json:"state,omitempty"`
	Owner string `json:"owner,omitempty"`
}

// Match reports whether a registration passes the filter.
func (f *ModelFilter) Match(m *ModelRecord) bool {
	return (f.Name == "" || m.Name == f.Name) && (f.State == "" || m.State == f.State) && (f.Owner == "" || m.Owner == f.Owner)
}
