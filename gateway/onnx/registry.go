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
type Registry struct {
	root string
	opts []Option

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
	s := r.cur.Load()
	var out []detect.Result
	for _, e := range s.models {
		res, err := e.model.Detect(ctx, events)
		if errors.Is(err, ErrClosed) {
			// Replaced between our load and the call: use its successor.
			if m, ok := r.Get(e.name); ok && m != e.model {
				res, err = m.Detect(ctx, events)
			}
		}
		if err != nil {
			return nil, err
		}
		out = append(out, res...)
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
		dir, ok := latestVersion(filepath.Join(r.root, n.Name()))
		if !ok {
			continue
		}
		fp, err := fingerprint(dir)
		prev := byName[n.Name()]
		if err == nil && prev != nil && prev.fingerprint == fp {
			next.models = append(next.models, prev)
			continue
		}
		var m *Model
		if err == nil {
			m, err = Open(dir, r.opts...)
		}
		if err != nil {
			errs = append(errs, err)
			if prev != nil {
				next.models = append(next.models, prev)
			}
			continue
		}
		next.models = append(next.models, &entry{name: n.Name(), fingerprint: fp, model: m})
		if prev != nil {
			retired = append(retired, prev.model)
		}
	}
	for _, e := range old.models {
		if !slices.ContainsFunc(next.models, func(x *entry) bool { return x.name == e.name }) {
			retired = append(retired, e.model)
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

// latestVersion returns the highest-versioned subdirectory of dir holding a
// manifest.
func latestVersion(dir string) (string, bool) {
	vs, err := os.ReadDir(dir)
	if err != nil {
		return "", false
	}
	var cands []string
	for _, v := range vs {
		if v.IsDir() {
			if _, err := os.Stat(filepath.Join(dir, v.Name(), ManifestFile)); err == nil {
				cands = append(cands, v.Name())
			}
		}
	}
	if len(cands) == 0 {
		return "", false
	}
	slices.SortFunc(cands, compareVersions)
	return filepath.Join(dir, cands[len(cands)-1]), true
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
// manifest's bytes (which carry the model's sha256) plus the model file's
// size and modification time, so a model file swapped without a manifest
// change is also noticed (and then refused by the sha256 check).
func fingerprint(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return "", &ModelError{dir, ErrManifest, err}
	}
	h := sha256.New()
	h.Write(b)
	if st, err := os.Stat(filepath.Join(dir, ModelFile)); err == nil {
		fmt.Fprintf(h, "|%d|%d", st.Size(), st.ModTime().UnixNano())
	}
	return fmt.Sprintf("%s|%x", dir, h.Sum(nil)), nil
}
