package onnx

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/features"
)

// ManifestFile and ModelFile are the file names in a model directory.
const (
	ManifestFile = "manifest.json"
	ModelFile    = "model.onnx"
)

// Sentinel errors a *ModelError wraps, for errors.Is.
var (
	// ErrManifest: manifest.json is unreadable or inconsistent.
	ErrManifest = errors.New("invalid manifest")
	// ErrChecksum: model.onnx does not hash to the manifest's sha256.
	ErrChecksum = errors.New("model sha256 mismatch")
	// ErrInputs: the ONNX graph's inputs differ from the manifest's (names,
	// element type, or shapes, including the feature vector width).
	ErrInputs = errors.New("model inputs do not match manifest")
	// ErrOutputs: the graph lacks the outputs the manifest names.
	ErrOutputs = errors.New("model outputs do not match manifest")
	// ErrSession: ONNX Runtime refused the model.
	ErrSession = errors.New("onnx session")
	// ErrNotAllowed: the WithAllow filter refused the model (in strict
	// mode: it is not approved on the ledger).
	ErrNotAllowed = errors.New("model not allowed")
)

// ModelError reports why a model directory cannot be served.
type ModelError struct {
	Dir  string
	Kind error // one of the sentinels above
	Err  error
}

func (e *ModelError) Error() string {
	return fmt.Sprintf("model %s: %v: %v", e.Dir, e.Kind, e.Err)
}

// Unwrap returns the sentinel kind and the cause.
func (e *ModelError) Unwrap() []error { return []error{e.Kind, e.Err} }

// Tensor describes one graph input or output. A shape entry of -1 is a
// dynamic (batch) dimension.
type Tensor struct {
	Name  string  `json:"name"`
	Shape []int64 `json:"shape"`
	Type  string  `json:"type"` // "float32" or "int64"
}

// ModelSpec describes model.onnx.
type ModelSpec struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	// Kind is "mlp", "linear", "tree_ensemble" or "autoencoder" (a dense
	// network like "mlp"); tree ensembles are run in chunks of at most
	// TreeChunk rows.
	Kind   string   `json:"kind"`
	Opset  int      `json:"opset,omitempty"`
	Inputs []Tensor `json:"inputs"`
	// Outputs lists the graph outputs; ScoreOutput names the class
	// probability tensor [N, len(Labels)] the gateway reads.
	Outputs     []Tensor `json:"outputs"`
	ScoreOutput string   `json:"score_output"`
	Size        int64    `json:"size,omitempty"`
}

// AppliesTo selects the events a model scores.
type AppliesTo struct {
	// Classes the model scores (at least one).
	Classes []gateway.Class `json:"classes"`
	// Sourcetypes, when not empty, further restricts to these sourcetypes.
	Sourcetypes []string `json:"sourcetypes,omitempty"`
	// RequireFields, when not empty, restricts to events that carry all of
	// these fields (e.g. a CIC flow model needs CICFlowMeter's fields).
	RequireFields []string `json:"require_fields,omitempty"`
}

// Category is the ATT&CK mapping of one label.
type Category struct {
	ID   string `json:"id"` // technique or tactic id: T1110, T1568.002, TA0043
	Name string `json:"name"`
}

// Manifest is a model directory's manifest.json: everything needed to
// serve, evaluate and audit the model.
type Manifest struct {
	Name        string    `json:"name"`
	Version     string    `json:"version"`
	Description string    `json:"description"`
	AppliesTo   AppliesTo `json:"applies_to"`
	Model       ModelSpec `json:"model"`
	// Features is the feature spec; its width must equal the input width.
	Features features.Spec `json:"features"`
	// Labels maps class index to label; Benign is the benign label (score
	// is 1 − P(Benign)).
	Labels []string `json:"labels"`
	Benign string   `json:"benign"`
	// Threshold flags events with score >= Threshold; chosen on a
	// validation split (see Training.Validation).
	Threshold  float64             `json:"threshold"`
	Categories map[string]Category `json:"categories"`
	// Datasets maps a mapping name to how raw rows of a dataset become
	// events.
	Datasets map[string]features.Mapping `json:"datasets"`
	Training Training                    `json:"training"`
	// Evaluation lists the test splits `ledgerguard models eval` runs.
	Evaluation []features.Split `json:"evaluation"`
	// Metrics holds what the training pipeline measured (validation) and
	// what the Go evaluation measured on the test splits.
	Metrics map[string]any `json:"metrics,omitempty"`

	// Detector is DetectorClassifier (the default when empty) or
	// DetectorAnomaly; an anomaly model needs Anomaly.
	Detector string `json:"detector,omitempty"`
	// Anomaly describes an anomaly model's benign training distribution.
	Anomaly *AnomalySpec `json:"anomaly,omitempty"`
	// Screen, when set, makes the model a cascade: a cheap screen graph
	// scores every row first, and only rows it is not confident about run
	// through Model (see ScreenSpec).
	Screen *ScreenSpec `json:"screen,omitempty"`
}

// ScreenSpec is a cascade's first stage (an early exit): a cheap graph
// over the same feature vector with the same labels as the model. The
// screen answers a row alone when its top probability is at least
// Threshold and the verdict its probabilities give is unambiguous
// (flagged exactly when its top class is not the benign label, under the
// manifest's threshold): the row keeps the screen's probabilities, turned
// into a verdict exactly as the full graph's would be (the manifest's
// threshold, labels and categories). Every other row is scored by the
// model graph, so the model answers exactly what its full graph answers
// on every row the screen is unsure of. The training pipeline picks
// Threshold on held-out training rows so that the rows the screen
// answers get the same verdict (flag and label) from it as from the full
// graph on nearly all of them (the model card states the agreement).
// Threshold is in (0.5, 1]: above one half no row has two top classes.
type ScreenSpec struct {
	ModelSpec
	Threshold float64 `json:"threshold"`
}

// Detector kinds of a manifest.
const (
	// DetectorClassifier: a supervised model of known attack classes.
	DetectorClassifier = "classifier"
	// DetectorAnomaly: a model trained on benign data only whose score
	// says how unlike that data an event is. Its alerts carry the category
	// CategoryAnomaly and the features that deviated most.
	DetectorAnomaly = "anomaly"
	// CategoryAnomaly is the alert category of every anomaly model's
	// alerts: no ATT&CK technique can be named for what no label covers.
	CategoryAnomaly = "anomaly"
)

// AnomalySpec is the benign training data's per-feature centre and scale
// (one entry per feature column), used to name the features that
// contributed most to an anomaly: those with the largest |x−mean|/scale.
type AnomalySpec struct {
	Mean  []float64 `json:"mean"`
	Scale []float64 `json:"scale"`
	// TopFeatures is how many features an alert names (default 3).
	TopFeatures int `json:"top_features,omitempty"`
}

// IsAnomaly reports whether the manifest describes an anomaly model.
func (m *Manifest) IsAnomaly() bool { return m.Detector == DetectorAnomaly }

// Training records how the model was made.
type Training struct {
	Algorithm  string             `json:"algorithm"`
	Library    []string           `json:"library,omitempty"`
	Seed       int                `json:"seed"`
	Train      features.Split     `json:"train"`
	Validation string             `json:"validation"`
	Files      []features.FileRef `json:"files,omitempty"`
	Command    string             `json:"command,omitempty"`
}

// LoadManifest reads and checks dir/manifest.json and dir/model.onnx's
// sha256, returning the manifest and the model bytes. It does not need the
// ONNX Runtime library. Every error is a *ModelError.
func LoadManifest(dir string) (*Manifest, []byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, nil, &ModelError{dir, ErrManifest, err}
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, nil, &ModelError{dir, ErrManifest, err}
	}
	if err := m.validate(); err != nil {
		return nil, nil, &ModelError{dir, ErrManifest, err}
	}
	data, err := readVerified(dir, m.Model.File, ModelFile, m.Model.SHA256)
	if err != nil {
		return nil, nil, err
	}
	if m.Screen != nil {
		// Checked here too, so that whoever verifies a model directory
		// (the registering CLI, the gateway) verifies every graph it runs.
		if _, err := readVerified(dir, m.Screen.File, "", m.Screen.SHA256); err != nil {
			return nil, nil, err
		}
	}
	return &m, data, nil
}

// LoadScreen returns the screen graph's bytes of a cascade whose manifest
// LoadManifest accepted, verified against the screen's sha256 again (the
// file may have changed since). Errors are *ModelError.
func LoadScreen(dir string, m *Manifest) ([]byte, error) {
	if m.Screen == nil {
		return nil, &ModelError{dir, ErrManifest, errors.New("the manifest has no screen")}
	}
	return readVerified(dir, m.Screen.File, "", m.Screen.SHA256)
}

// readVerified reads the graph file (def when file is empty) of the model
// directory and checks that it hashes to sum.
func readVerified(dir, file, def, sum string) ([]byte, error) {
	if file == "" {
		file = def
	}
	if filepath.Base(file) != file {
		return nil, &ModelError{dir, ErrManifest, fmt.Errorf("model file %q must be a plain name in the model directory", file)}
	}
	f, err := os.Open(filepath.Join(dir, file))
	if err != nil {
		return nil, &ModelError{dir, ErrManifest, err}
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, &ModelError{dir, ErrManifest, err}
	}
	got := sha256.Sum256(data)
	if h := hex.EncodeToString(got[:]); h != sum {
		return nil, &ModelError{dir, ErrChecksum, fmt.Errorf("%s hashes to %s, manifest says %s", file, h, sum)}
	}
	return data, nil
}

func (m *Manifest) validate() error {
	switch {
	case m.Name == "" || m.Version == "":
		return errors.New("name and version required")
	case len(m.Model.SHA256) != 64:
		return errors.New("model.sha256 must be 64 hex digits")
	case len(m.Model.Inputs) != 1:
		return fmt.Errorf("want exactly one model input (the feature vector), have %d", len(m.Model.Inputs))
	case m.Model.ScoreOutput == "":
		return errors.New("model.score_output required")
	case len(m.Labels) < 2:
		return errors.New("at least two labels required")
	case !slices.Contains(m.Labels, m.Benign):
		return fmt.Errorf("benign label %q not among labels", m.Benign)
	case m.Threshold <= 0 || m.Threshold > 1:
		return fmt.Errorf("threshold %v outside (0, 1]", m.Threshold)
	case len(m.AppliesTo.Classes) == 0:
		return errors.New("applies_to.classes required")
	}
	switch m.Model.Kind {
	case "mlp", "linear", "tree_ensemble", "autoencoder":
	default:
		return fmt.Errorf("unknown model kind %q", m.Model.Kind)
	}
	switch m.Detector {
	case "", DetectorClassifier:
	case DetectorAnomaly:
		if m.Anomaly == nil {
			return errors.New("an anomaly detector needs an anomaly section (mean, scale)")
		}
	default:
		return fmt.Errorf("unknown detector %q (want %q or %q)", m.Detector, DetectorClassifier, DetectorAnomaly)
	}
	for i, f := range m.AppliesTo.RequireFields {
		if f == "" {
			return errors.New("applies_to.require_fields: empty field name")
		}
		if slices.Contains(m.AppliesTo.RequireFields[:i], f) {
			return fmt.Errorf("applies_to.require_fields: %q listed twice", f)
		}
	}
	in := m.Model.Inputs[0]
	if len(in.Shape) != 2 || in.Type != "float32" {
		return fmt.Errorf("input %q must be float32 [batch, width], is %s %v", in.Name, in.Type, in.Shape)
	}
	if !slices.ContainsFunc(m.Model.Outputs, func(t Tensor) bool { return t.Name == m.Model.ScoreOutput }) {
		return fmt.Errorf("score output %q not among outputs", m.Model.ScoreOutput)
	}
	eng, err := features.Compile(m.Features)
	if err != nil {
		return err
	}
	if int64(eng.Width()) != in.Shape[1] {
		return fmt.Errorf("feature spec yields %d columns, input %q has width %d", eng.Width(), in.Name, in.Shape[1])
	}
	if err := m.validateScreen(in); err != nil {
		return err
	}
	if a := m.Anomaly; a != nil {
		if len(a.Mean) != eng.Width() || len(a.Scale) != eng.Width() {
			return fmt.Errorf("anomaly mean/scale have %d/%d entries, want one per feature (%d)", len(a.Mean), len(a.Scale), eng.Width())
		}
		for i, s := range a.Scale {
			if !(s > 0) {
				return fmt.Errorf("anomaly scale[%d] = %v must be positive", i, s)
			}
		}
		if a.TopFeatures < 0 {
			return fmt.Errorf("anomaly top_features %d must not be negative", a.TopFeatures)
		}
	}
	return nil
}

// validateScreen checks a cascade's screen against the model it screens
// for (in is the model's validated input).
func (m *Manifest) validateScreen(in Tensor) error {
	s := m.Screen
	if s == nil {
		return nil
	}
	modelFile := m.Model.File
	if modelFile == "" {
		modelFile = ModelFile
	}
	switch {
	case m.Anomaly != nil:
		// An anomaly detector's one-class score has no top class a screen
		// could be confident about, and a hybrid's anomaly part (the
		// autoencoder fused into its graph) exists to catch what no label
		// covers: a screen confidently calling such a row benign would
		// skip it. So the anomaly part must see every row, and models with
		// one are not screened.
		return errors.New("screen: a model with an anomaly part cannot be screened (the screen would skip it on the rows it answers)")
	case s.File == "" || s.File == modelFile:
		return fmt.Errorf("screen.file must name a graph other than the model's (%q)", modelFile)
	case len(s.SHA256) != 64:
		return errors.New("screen.sha256 must be 64 hex digits")
	case len(s.Inputs) != 1:
		return fmt.Errorf("screen: want exactly one input (the model's feature vector), have %d", len(s.Inputs))
	case s.Inputs[0].Type != in.Type || !slices.Equal(s.Inputs[0].Shape, in.Shape):
		return fmt.Errorf("screen input %q is %s %v, the model's is %s %v: a screen reads the same feature vector",
			s.Inputs[0].Name, s.Inputs[0].Type, s.Inputs[0].Shape, in.Type, in.Shape)
	case s.ScoreOutput == "":
		return errors.New("screen.score_output required")
	case !slices.ContainsFunc(s.Outputs, func(t Tensor) bool { return t.Name == s.ScoreOutput }):
		return fmt.Errorf("screen score output %q not among its outputs", s.ScoreOutput)
	case !(s.Threshold > 0.5 && s.Threshold <= 1):
		return fmt.Errorf("screen threshold %v outside (0.5, 1]: a confident row must have one top class", s.Threshold)
	}
	switch s.Kind {
	case "mlp", "linear", "tree_ensemble":
	default:
		return fmt.Errorf("unknown screen kind %q (want mlp, linear or tree_ensemble)", s.Kind)
	}
	return nil
}

// Engine compiles the manifest's feature spec (validated by LoadManifest).
func (m *Manifest) Engine() (*features.Engine, error) { return features.Compile(m.Features) }

// Applies reports whether the model scores ev.
func (m *Manifest) Applies(ev *gateway.Event) bool {
	if !m.appliesKind(ev) {
		return false
	}
	for _, f := range m.AppliesTo.RequireFields {
		if _, ok := ev.Fields[f]; !ok {
			return false
		}
	}
	return true
}

// appliesKind is Applies without require_fields: the event's class and
// sourcetype only (DetectLeaves reads the fields' presence from the
// canonical bytes, see features.Engine.Require).
func (m *Manifest) appliesKind(ev *gateway.Event) bool {
	if !slices.Contains(m.AppliesTo.Classes, ev.Class) {
		return false
	}
	return len(m.AppliesTo.Sourcetypes) == 0 || slices.Contains(m.AppliesTo.Sourcetypes, ev.Sourcetype)
}

// ReadManifestFile decodes a manifest and checks only its feature spec and
// dataset mappings, not the model: the training pipeline uses a draft
// manifest (no model yet) to have `ledgerguard features` write training
// matrices. Errors are *ModelError.
func ReadManifestFile(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &ModelError{path, ErrManifest, err}
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, &ModelError{path, ErrManifest, err}
	}
	if _, err := features.Compile(m.Features); err != nil {
		return nil, &ModelError{path, ErrManifest, err}
	}
	return &m, nil
}
