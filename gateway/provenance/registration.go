package provenance

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/features"
	"github.com/ledgerguard/ledgerguard/gateway/onnx"
)

// Registration builds the ledger registration of the model in dir from
// its manifest, after checking that model.onnx hashes to the manifest's
// sha256 (so what is registered is the file on disk): name, version,
// sha256, the feature spec's hash (ManifestFeaturesSHA256, the same
// function the gateway checks with), the training files with their
// hashes, and the manifest's metrics flattened to numbers.
func Registration(dir string) (wire.ModelRecord, error) {
	m, _, err := onnx.LoadManifest(dir)
	if err != nil {
		return wire.ModelRecord{}, err
	}
	fh, err := ManifestFeaturesSHA256(m)
	if err != nil {
		return wire.ModelRecord{}, err
	}
	r := wire.ModelRecord{Name: m.Name, Version: m.Version, SHA256: m.Model.SHA256, FeaturesSHA256: fh,
		Description: clipBytes(m.Description, 1024)}
	files := m.Training.Files
	if len(files) == 0 {
		files = m.Training.Train.Files
	}
	seen := map[string]bool{}
	for _, f := range files {
		if seen[f.Path] {
			continue
		}
		if f.SHA256 == "" {
			return wire.ModelRecord{}, fmt.Errorf("model %s: training file %s has no sha256 in the manifest's training section", dir, f.Path)
		}
		seen[f.Path] = true
		r.TrainingData = append(r.TrainingData, wire.DataFile{Path: f.Path, SHA256: f.SHA256})
	}
	slices.SortFunc(r.TrainingData, func(a, b wire.DataFile) int { return strings.Compare(a.Path, b.Path) })
	if r.Metrics, err = manifestMetrics(m.Metrics); err != nil {
		return wire.ModelRecord{}, fmt.Errorf("model %s: %w", dir, err)
	}
	if err := r.Validate(); err != nil {
		return wire.ModelRecord{}, fmt.Errorf("model %s: %w", dir, err)
	}
	return r, nil
}

// ManifestFeaturesSHA256 returns the featuresSha256 a registration
// records for a manifest and a strict gateway checks: FeaturesSHA256 of
// its feature spec, or for a cascade (a manifest with a screen) the
// SHA-256 of the canonical JSON of {"features": spec, "screen": screen},
// so that what the consortium approves pins the screen graph's sha256 and
// threshold too, not only model.onnx's: a cascade's verdicts depend on
// both graphs. A manifest without a screen hashes exactly as before.
func ManifestFeaturesSHA256(m *onnx.Manifest) (string, error) {
	if m.Screen == nil {
		return FeaturesSHA256(m.Features)
	}
	b, err := json.Marshal(struct {
		Features features.Spec    `json:"features"`
		Screen   *onnx.ScreenSpec `json:"screen"`
	}{m.Features, m.Screen})
	if err != nil {
		return "", fmt.Errorf("provenance: encode feature spec and screen: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// manifestMetrics flattens a manifest's metrics to the ledger's flat map:
// each entry of "test" (a list of evaluation results) contributes
// test.<dataset>.<split>.<metric>, any other object <section>.<metric>,
// keeping top-level numbers only (per-class tables stay in the manifest,
// which the registered sha256s pin anyway).
func manifestMetrics(m map[string]any) (map[string]float64, error) {
	out := map[string]float64{}
	add := func(prefix string, obj map[string]any) {
		for k, v := range obj {
			if f, ok := v.(float64); ok {
				out[prefix+"."+k] = f
			}
		}
	}
	for section, v := range m {
		switch v := v.(type) {
		case []any:
			for _, e := range v {
				obj, ok := e.(map[string]any)
				if !ok {
					continue
				}
				ds, _ := obj["dataset"].(string)
				sp, _ := obj["split"].(string)
				add(strings.Join([]string{section, ds, sp}, "."), obj)
			}
		case map[string]any:
			add(section, v)
		}
	}
	if len(out) > wire.MaxModelMetrics {
		return nil, fmt.Errorf("the manifest has %d numeric metrics, the ledger keeps at most %d", len(out), wire.MaxModelMetrics)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// clipBytes cuts s to at most n bytes without splitting a UTF-8 sequence.
func clipBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
