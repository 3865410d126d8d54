package onnx

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/detect"
)

// Registry serves the models under a root directory laid out as
// root/<name>/<version>/{model.onnx,manifest.json}: for each name, the
// highest version (compared numerically part by part, "1.10.0" > "1.9.0")
// whose directory loads. It implements detect.Detector over all of them.
//
// Reload re-reads the tree and swaps in exactly the models whose files
// changed; Watch calls Reload on a timer. A swap is atomic (one pointer
// store): a Detect call sees one consistent set of models, and a replaced
// model is closed only after the calls using it return. A model that fails
// to load leaves the previous version serving and is reported by Reload.
//
// With WithAllow, each name serves the highest version the filter accepts
// (a refused version is skipped, so an approved older version keeps
// serving while a newer one awaits approval), the filter is asked again
// for every served model at every Reload, and a name with no accepted
// version is unloaded. Refusals are reported by Reload as *ModelError of
// kind ErrNotAllowed; a refused model is never opened.
type Registry struct {
	root  string
	opts  []Option
	allow func(*Manifest) error

	reload sync.Mutex // serialises Reload
	cur    atomic.Pointer[snapshot]
}

type snapshot struct {
	models []*entry // sorted by name
}

type entry struct {
	name        string
	fingerprint string
	model       *Model
}

// NewRegistry loads the models under root. It fails if root is unreadable;
// individual models that fail to load are returned as a joined error
// alongside a usable Registry.
func NewRegistry(ctx context.Context, root string, opts ...Option) (*Registry, error) {
	r := &Registry{root: root, opts: opts}
	var o options
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	r.allow = o.allow
	r.cur.Store(&snapshot{})
	if _, err := os.ReadDir(root); err != nil {
		return nil, fmt.Errorf("onnx: model registry %s: %w", root, err)
	}
	return r, r.Reload(ctx)
}

// Models returns the models currently served, sorted by name.
func (r *Registry) Models() []*Model {
	s := r.cur.Load()
	out := make([]*Model, len(s.models))
	for i, e := range s.models {
		out[i] = e.model
	}
	return out
}

// Get returns the model currently served under name.
func (r *Registry) Get(name string) (*Model, bool) {
	for _, e := range r.cur.Load().models {
		if e.name == name {
			return e.model, true
		}
	}
	return nil, false
}

// Detect runs every served model over events and returns their results
// concatenated in model-name order.
func (r *Registry) Detect(ctx context.Context, events []gateway.Event) ([]detect.Result, error) {
	return r.each(func(m *Model, out []detect.Result) ([]detect.Result, error) {
		res, err := m.Detect(ctx, events)
		return append(out, res...), err
	})
}

// DetectLeaves is Detect on the leaves' events, each model reading its
// features from the canonical bytes (Model.DetectLeaves). Models with the
// same feature spec and applies_to (the same shareKey) share one
// extraction: the first extracts the rows, the others score those rows
// (the same rows each would extract, so the same results; extraction was
// half or more of a flow model's cost per event, and the committed
// classifiers and their anomaly models read the same fields). Every
// model appends its results to one slice, which the first model of a
// shared group grows for the whole group.
//
// Partial leaves (gateway.HeaderLeaf) that a model with windows applies
// to are decoded whole once here for all such models (the committed
// auth models both have windows), rather than once by each.
func (r *Registry) DetectLeaves(ctx context.Context, leaves []gateway.Leaf) ([]detect.Result, error) {
	leaves, err := wholeForWindows(leaves, r.Models())
	if err != nil {
		return nil, err
	}
	in := input{leaves: leaves}
	shared := map[string]*extraction{}
	defer func() {
		for _, ex := range shared {
			ex.release()
		}
	}()
	var group map[string]int // models per shareKey, counted once a key is met
	return r.each(func(m *Model, out []detect.Result) ([]detect.Result, error) {
		if m.shareKey == "" {
			res, ex, err := m.detectFrom(ctx, in, nil, out, 1)
			ex.release()
			return res, err
		}
		if ex, ok := shared[m.shareKey]; ok {
			res, _, err := m.detectFrom(ctx, in, ex, out, 1)
			return res, err
		}
		if group == nil {
			group = map[string]int{}
			for _, e := range r.cur.Load().models {
				if e.model.shareKey != "" {
					group[e.model.shareKey]++
				}
			}
		}
		res, ex, err := m.detectFrom(ctx, in, nil, out, group[m.shareKey])
		if err != nil {
			ex.release()
			return res, err
		}
		if ex != nil {
			shared[m.shareKey] = ex
		}
		return res, nil
	})
}

// wholeForWindows returns leaves with each partial leaf that a model of
// models with windows applies to by class and sourcetype replaced by the
// whole leaf (Leaf.Full), or leaves itself when there is none: such a
// model reads those events decoded (features.Engine.ExtractLeaf). The
// leaves given are not modified.
func wholeForWindows(leaves []gateway.Leaf, models []*Model) ([]gateway.Leaf, error) {
	var windowed []*Manifest
	for _, m := range models {
		if m.engine.Stateful() {
			windowed = append(windowed, m.manifest)
		}
	}
	if len(windowed) == 0 {
		return leaves, nil
	}
	out, copied := leaves, false
	for i := range leaves {
		l := &leaves[i]
		if !l.Partial() || !slices.ContainsFunc(windowed, func(man *Manifest) bool { return man.appliesKind(&l.Event) }) {
			continue
		}
		ev, err := l.Full()
		if err != nil {
			return nil, err
		}
		if !copied {
			out, copied = slices.Clone(leaves), true
		}
		out[i] = gateway.Leaf{Event: ev, Canonical: l.Canonical, LeafHash: l.LeafHash}
	}
	return out, nil
}

// A Registry hands leaves on to its models.
var _ detect.LeafDetector = (*Registry)(nil)

// each asks every served model, in order, to append its results to
// the results so far (ask returns them, with its own appended unless it
// fails).
func (r *Registry) each(ask func(m *Model, out []detect.Result) ([]detect.Result, error)) ([]detect.Result, error) {
	s := r.cur.Load()
	var out []detect.Result
	for _, e := range s.models {
		res, err := ask(e.model, out)
		if errors.Is(err, ErrClosed) {
			m, ok := r.Get(e.name)
			switch {
			case !ok:
				continue // unloaded between our load and the call: no longer served
			case m != e.model:
				res, err = ask(m, out) // replaced: use its successor
			}
		}
		if err != nil {
			return nil, err
		}
		out = res
	}
	return out, nil
}

// Reload rescans the root and swaps in changed models. The returned error
// joins every model that failed to load (those keep their previous
// version, if any).
func (r *Registry) Reload(ctx context.Context) error {
	r.reload.Lock()
	defer r.reload.Unlock()
	names, err := os.ReadDir(r.root)
	if err != nil {
		return fmt.Errorf("onnx: model registry %s: %w", r.root, err)
	}
	old := r.cur.Load()
	byName := map[string]*entry{}
	for _, e := range old.models {
		byName[e.name] = e
	}
	var errs []error
	next := &snapshot{}
	var retired []*Model
	for _, n := range names {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !n.IsDir() || strings.HasPrefix(n.Name(), ".") {
			continue
		}
		prev := byName[n.Name()]
		e, failed := r.pick(n.Name(), prev)
		errs = append(errs, failed...)
		if e == nil {
			continue
		}
		next.models = append(next.models, e)
		if prev != nil && e != prev {
			retired = append(retired, prev.model)
		}
	}
	for _, e := range old.models {
		if !slices.ContainsFunc(next.models, func(x *entry) bool { return x.name == e.name }) {
			retired = append(retired, e.model) // removed from disk, or no version allowed any more
		}
	}
	r.cur.Store(next)
	for _, m := range retired {
		m.Close() // waits for in-flight calls on the old version
	}
	return errors.Join(errs...)
}

// Watch calls Reload every interval until ctx ends, passing each error to
// report (which may be nil). Polling rather than inotify: model changes
// are rare, a few stat calls per interval cost nothing, and it works on
// every file system (including bind mounts and NFS, where inotify does
// not), with no extra dependency.
func (r *Registry) Watch(ctx context.Context, interval time.Duration, report func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.Reload(ctx); err != nil && report != nil {
				report(err)
			}
		}
	}
}

// Close closes every model. The Registry must not be used afterwards.
func (r *Registry) Close() error {
	r.reload.Lock()
	defer r.reload.Unlock()
	s := r.cur.Swap(&snapshot{})
	var errs []error
	for _, e := range s.models {
		errs = append(errs, e.model.Close())
	}
	return errors.Join(errs...)
}

// pick chooses what serves under name: the highest version the allow
// filter accepts, prev when that version is unchanged, or prev when that
// version fails to load (if prev is still allowed). It returns nil when
// nothing may serve, and every refusal and load failure met on the way.
func (r *Registry) pick(name string, prev *entry) (*entry, []error) {
	var errs []error
	prevAllowed := func() bool {
		return prev != nil && r.check(prev.model.Dir(), prev.model.Manifest()) == nil
	}
	for _, dir := range versions(filepath.Join(r.root, name)) {
		fp, err := fingerprint(dir)
		if err == nil && prev != nil && prev.fingerprint == fp {
			if err := r.check(dir, prev.model.Manifest()); err != nil {
				errs = append(errs, err)
				continue
			}
			return prev, errs
		}
		if err == nil && r.allow != nil {
			// Ask before opening, from the manifest alone, so a refused
			// model costs no session; Open asks again on the verified one.
			var mf *Manifest
			if mf, err = ReadManifestFile(filepath.Join(dir, ManifestFile)); err == nil {
				if err := r.check(dir, mf); err != nil {
					errs = append(errs, err)
					continue
				}
			}
		}
		var m *Model
		if err == nil {
			m, err = Open(dir, r.opts...)
		}
		if err != nil {
			errs = append(errs, err)
			if errors.Is(err, ErrNotAllowed) {
				continue
			}
			if prevAllowed() {
				return prev, errs
			}
			return nil, errs
		}
		return &entry{name: name, fingerprint: fp, model: m}, errs
	}
	return nil, errs
}

// check asks the allow filter about the model in dir.
func (r *Registry) check(dir string, m *Manifest) error {
	if r.allow == nil {
		return nil
	}
	if err := r.allow(m); err != nil {
		return &ModelError{dir, ErrNotAllowed, err}
	}
	return nil
}

// versions returns the subdirectories of dir holding a manifest, highest
// version first.
func versions(dir string) []string {
	vs, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var cands []string
	for _, v := range vs {
		if v.IsDir() {
			if _, err := os.Stat(filepath.Join(dir, v.Name(), ManifestFile)); err == nil {
				cands = append(cands, v.Name())
			}
		}
	}
	slices.SortFunc(cands, func(a, b string) int { return compareVersions(b, a) })
	out := make([]string, len(cands))
	for i, c := range cands {
		out[i] = filepath.Join(dir, c)
	}
	return out
}

// latestVersion returns the highest-versioned subdirectory of dir holding a
// manifest.
func latestVersion(dir string) (string, bool) {
	vs := versions(dir)
	if len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// compareVersions compares dotted versions part by part, numerically where
// both parts are numbers ("v" prefix ignored).
func compareVersions(a, b string) int {
	pa := strings.Split(strings.TrimPrefix(a, "v"), ".")
	pb := strings.Split(strings.TrimPrefix(b, "v"), ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		na, ea := strconv.Atoi(pa[i])
		nb, eb := strconv.Atoi(pb[i])
		if ea == nil && eb == nil {
			if c := cmp.Compare(na, nb); c != 0 {
				return c
			}
			continue
		}
		if c := strings.Compare(pa[i], pb[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(pa), len(pb))
}

// fingerprint identifies a model directory's content cheaply: the
// manifest's bytes (which carry the graphs' sha256s) plus each graph
// file's (model.onnx, a cascade's screen: every *.onnx) size and
// modification time, so a graph swapped without a manifest change is also
// noticed (and then refused by the sha256 check).
func fingerprint(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return "", &ModelError{dir, ErrManifest, err}
	}
	h := sha256.New()
	h.Write(b)
	graphs, _ := filepath.Glob(filepath.Join(dir, "*.onnx")) // sorted; the only error is a bad pattern
	for _, g := range graphs {
		if st, err := os.Stat(g); err == nil {
			fmt.Fprintf(h, "|%s|%d|%d", filepath.Base(g), st.Size(), st.ModTime().UnixNano())
		}
	}
	return fmt.Sprintf("%s|%x", dir, h.Sum(nil)), nil
}

// LatestVersionDir returns the highest-versioned directory under
// modelDir (models/<name>) that holds a manifest, as the registry picks
// it, so tools choose the same base version the gateway would serve.
func LatestVersionDir(modelDir string) (string, bool) { return latestVersion(modelDir) }

// CompareVersions orders two model versions as the registry does
// (dotted, numeric parts compared as numbers): -1, 0 or +1.
func CompareVersions(a, b string) int { return compareVersions(a, b) }
