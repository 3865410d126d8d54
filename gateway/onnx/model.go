package onnx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/detect"
	"github.com/ledgerguard/ledgerguard/gateway/features"
)

// Option configures Open (and a Registry's models). Options return an
// error for invalid values.
type Option func(*options) error

type options struct {
	maxBatch int
	maxWait  time.Duration
	workers  int
	allow    func(*Manifest) error
	observe  FeatureObserver
}

// FeatureObserver sees the feature rows a model scores: rows vectors of
// the manifest's width, row-major in x (reused after the call returns).
// It runs on the scoring path, so it must be quick and safe for
// concurrent use.
type FeatureObserver func(m *Manifest, x []float32, rows int)

// WithFeatureObserver passes every scored feature matrix to f (e.g. to
// measure input drift against the training distribution) without
// extracting the features a second time. Default: none.
func WithFeatureObserver(f FeatureObserver) Option {
	return func(o *options) error { o.observe = f; return nil }
}

// WithMaxBatch bounds the rows per model call (default 1024).
func WithMaxBatch(n int) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("onnx: max batch %d must be positive", n)
		}
		o.maxBatch = n
		return nil
	}
}

// WithMaxWait bounds how long a request waits for its batch to fill
// (default 1ms; negative: never wait).
func WithMaxWait(d time.Duration) Option {
	return func(o *options) error { o.maxWait = d; return nil }
}

// WithWorkers sets the concurrent model calls per model (default 2).
func WithWorkers(n int) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("onnx: workers %d must be positive", n)
		}
		o.workers = n
		return nil
	}
}

// WithAllow makes Open refuse a model unless allow accepts its manifest,
// and makes a Registry serve, for each name, the highest version allow
// accepts (re-asking at every Reload, so a model allow stops accepting is
// unloaded by the next Reload). Open asks after verifying the model file
// against the manifest's sha256 and before starting a session, so the
// manifest allow sees describes exactly the bytes that would run. A
// refusal is a *ModelError of kind ErrNotAllowed wrapping allow's error.
// allow must be safe for concurrent use. Default: every model is allowed.
func WithAllow(allow func(*Manifest) error) Option {
	return func(o *options) error {
		if allow == nil {
			return fmt.Errorf("onnx: WithAllow needs a function")
		}
		o.allow = allow
		return nil
	}
}

// Model is one loaded, verified model ready to score events. It implements
// detect.Detector. Safe for concurrent use; Close waits for in-flight
// calls.
type Model struct {
	dir      string
	manifest *Manifest
	engine   *features.Engine
	sess     *session // the model graph (a cascade's full graph)
	casc     *cascade // nil unless the manifest has a screen
	batcher  *Batcher
	// screens batches a cascade's screen alone (nil without a screen):
	// score runs the screen chunk by chunk through it, then the full
	// graph once over the whole batch's unsure rows (cascade.rest).
	screens *Batcher
	observe FeatureObserver
	// shareKey is the model's feature spec and applies_to, encoded
	// (empty for a spec with windows, whose state is per model): models
	// with the same key extract the same rows from the same leaves, so
	// Registry.DetectLeaves extracts them once for all such models
	// (nsl-kdd-flow and its anomaly model, both cic-ids2017-flow models).
	shareKey string
	labels   *labelInfo // resolved at Open for Verdict
	// scratch holds *scratch buffers (feature matrix, probabilities)
	// reused across Detect calls: a batch of 8,192 events of a 125-column
	// model needs 4 MiB of features, and allocating it per call made the
	// garbage collector about a tenth of Detect's CPU time.
	scratch sync.Pool

	mu     sync.RWMutex // held for reading by each call, for writing by Close
	closed bool
}

// Open loads, verifies and starts the model in dir. Init must have been
// called. Errors are *ModelError (or *LibraryError-free ErrSession when the
// runtime is not initialised).
func Open(dir string, opts ...Option) (*Model, error) {
	var o options
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	m, data, err := LoadManifest(dir)
	if err != nil {
		return nil, err
	}
	if o.allow != nil {
		if err := o.allow(m); err != nil {
			return nil, &ModelError{dir, ErrNotAllowed, err}
		}
	}
	if Version() == "" {
		return nil, &ModelError{dir, ErrSession, fmt.Errorf("%w: onnx.Init was not called", ErrLibrary)}
	}
	eng, err := m.Engine()
	if err != nil {
		return nil, &ModelError{dir, ErrManifest, err}
	}
	// DetectLeaves checks require_fields in the pass that reads the
	// features from the canonical bytes (not for specs with windows:
	// those events are checked before extraction, see lateRequire).
	if !eng.Stateful() {
		eng.Require(m.AppliesTo.RequireFields)
	}
	s, err := newSession(dir, &m.Model, len(m.Labels), data)
	if err != nil {
		return nil, err
	}
	model := &Model{dir: dir, manifest: m, engine: eng, sess: s, observe: o.observe, labels: newLabelInfo(m)}
	if !eng.Stateful() {
		model.shareKey = shareKeyOf(m.Features, m.AppliesTo)
	}
	if m.Screen != nil {
		if model.casc, err = openScreen(dir, m, s); err != nil {
			s.close()
			return nil, err
		}
	}
	cfg := BatcherConfig{
		Width: s.width, Classes: s.classes,
		MaxBatch: o.maxBatch, MaxWait: o.maxWait, Workers: o.workers,
	}
	b, err := NewBatcher(model.run, cfg)
	if err != nil {
		model.closeSessions()
		return nil, err
	}
	model.batcher = b
	if model.casc != nil {
		model.casc.restCalls = make(chan struct{}, b.Config().Workers)
		if model.screens, err = NewBatcher(model.casc.screen.run, cfg); err != nil {
			b.Close()
			model.closeSessions()
			return nil, err
		}
	}
	return model, nil
}

// openScreen starts a cascade's screen session beside the full graph's.
func openScreen(dir string, m *Manifest, full *session) (*cascade, error) {
	data, err := LoadScreen(dir, m)
	if err != nil {
		return nil, err
	}
	s, err := newSession(dir, &m.Screen.ModelSpec, len(m.Labels), data)
	if err != nil {
		return nil, err
	}
	return newCascade(s, full, m.Screen.Threshold, m.Threshold, slices.Index(m.Labels, m.Benign)), nil
}

// run scores rows of features through the model's graphs: the full graph,
// or for a cascade the screen first and the full graph on the rows it is
// unsure of.
func (m *Model) run(x []float32, rows int, dst []float32) error {
	if m.casc != nil {
		return m.casc.run(x, rows, dst)
	}
	return m.sess.run(x, rows, dst)
}

func (m *Model) closeSessions() error {
	var err error
	if m.casc != nil {
		err = m.casc.screen.close()
	}
	return errors.Join(m.sess.close(), err)
}

// Manifest returns the model's manifest (do not modify).
func (m *Model) Manifest() *Manifest { return m.manifest }

// Dir returns the model directory.
func (m *Model) Dir() string { return m.dir }

// Engine returns the model's feature engine.
func (m *Model) Engine() *features.Engine { return m.engine }

// Close stops the batcher and releases the session after in-flight calls
// return. Idempotent.
func (m *Model) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	m.batcher.Close()
	if m.screens != nil {
		m.screens.Close()
	}
	return m.closeSessions()
}

// Probabilities scores a ready feature matrix (rows × Width) and returns
// rows × len(Labels) class probabilities.
func (m *Model) Probabilities(ctx context.Context, x []float32, rows int) ([]float32, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, ErrClosed
	}
	dst := make([]float32, rows*len(m.manifest.Labels))
	if err := m.batcher.Score(ctx, x, rows, dst); err != nil {
		return nil, err
	}
	return dst, nil
}

// Detect scores the events the model applies to (see Manifest.Applies), in
// input order. Window features see the events in slice order.
//
// The alerter hands over a whole anchored batch (up to tens of thousands of
// events) from one goroutine, so Detect itself keeps both cores busy: the
// rows are cut into chunks of at most one model call (the batcher's
// MaxBatch), and while a chunk is scored the next one is extracted. A
// stateless feature spec extracts chunks on GOMAXPROCS goroutines; a spec
// with windows extracts them in order on the caller's goroutine (window
// state depends on stream order) and scores each in the background.
func (m *Model) Detect(ctx context.Context, events []gateway.Event) ([]detect.Result, error) {
	return m.detect(ctx, input{events: events})
}

// DetectLeaves is Detect on the leaves' events (same results, Index the
// leaf's position), reading the features from the leaves' canonical bytes
// (features.Engine.ExtractLeaf): half the extraction cost of the decoded
// maps on flow records. Leaves may be partial (gateway.HeaderLeaf): a
// model decodes the whole event only of the leaves it applies to whose
// features its spec reads from the decoded event (windows) or whose
// bytes the reader refuses, and, for a spec with windows and
// require_fields, of the leaves of its classes to check them. The error
// of a leaf that does not decode is returned as is.
func (m *Model) DetectLeaves(ctx context.Context, leaves []gateway.Leaf) ([]detect.Result, error) {
	return m.detect(ctx, input{leaves: leaves})
}

// A Model reads the leaves' canonical bytes when the alerter has them.
var _ detect.LeafDetector = (*Model)(nil)

// input is what Detect or DetectLeaves was given.
type input struct {
	events []gateway.Event
	leaves []gateway.Leaf
}

func (in input) len() int {
	if in.leaves != nil {
		return len(in.leaves)
	}
	return len(in.events)
}

func (in input) event(i int) *gateway.Event {
	if in.leaves != nil {
		return &in.leaves[i].Event
	}
	return &in.events[i]
}

// extract writes event i's features into dst and reports whether the
// event has the manifest's require_fields (read from the canonical bytes
// for leaves; for events, true: detect checked them with Applies). The
// error is a partial leaf's that does not decode (Leaf.Full).
func (in input) extract(e *features.Engine, i int, dst []float32) (bool, error) {
	if in.leaves != nil {
		return e.ExtractLeaf(&in.leaves[i], dst)
	}
	e.Extract(&in.events[i], dst)
	return true, nil
}

// prefetch starts loading leaf i's canonical bytes into the CPU's
// caches (features.PrefetchLeaf) while the caller extracts earlier
// events: called prefetchAhead events ahead, the bytes are there when
// extract reads them. Decoded events are scattered over the heap; they
// are left alone.
func (in input) prefetch(i int) {
	if in.leaves != nil {
		features.PrefetchLeaf(&in.leaves[i])
	}
}

// prefetchAhead is how many events ahead of the one extracted the
// extraction loops prefetch: 2 measured lower CPU per event on the cic
// pair than 1, 3 and 4 (alternated runs of BenchmarkDetectShared).
const prefetchAhead = 2

// applies reports whether the manifest applies to event i (Applies): for
// a partial leaf, from its header when that decides it, else from its
// whole event (require_fields).
func (in input) applies(man *Manifest, i int) (bool, error) {
	ev := in.event(i)
	if in.leaves == nil || !in.leaves[i].Partial() || !man.appliesKind(ev) || len(man.AppliesTo.RequireFields) == 0 {
		return man.Applies(ev), nil
	}
	full, err := in.leaves[i].Full()
	if err != nil {
		return false, err
	}
	return man.Applies(&full), nil
}

// lateRequire reports whether detect checks require_fields while it
// extracts the features (in the same pass over the canonical bytes)
// instead of before (a map lookup per field on each decoded event, about
// a tenth of DetectLeaves on flow records): for leaves, unless the
// feature spec has windows, whose state must only ever see the events
// the model applies to.
func (m *Model) lateRequire(in input) bool {
	return in.leaves != nil && !m.engine.Stateful()
}

func (m *Model) detect(ctx context.Context, in input) ([]detect.Result, error) {
	res, ex, err := m.detectFrom(ctx, in, nil, nil, 1)
	ex.release()
	return res, err
}

// shareKeyOf is the key under which models extract the same rows: their
// feature spec and applies_to, encoded (empty if they cannot be, so such
// a model shares with none).
func shareKeyOf(spec features.Spec, applies AppliesTo) string {
	key, err := json.Marshal(struct {
		F features.Spec
		A AppliesTo
	}{spec, applies})
	if err != nil {
		return ""
	}
	return string(key)
}

// extraction is the rows one model extracted in a DetectLeaves call (the
// leaves it applies to, idx, and their features in sc.x, its scratch),
// kept so that the registry's other models with the same shareKey score
// them without extracting them again. The owner's scratch goes back to
// its pool at release.
type extraction struct {
	owner *Model
	idx   []int
	sc    *scratch
}

// release returns the extraction's buffers; nil is a no-op.
func (e *extraction) release() {
	if e != nil {
		e.owner.scratch.Put(e.sc)
	}
}

// detectFrom is detect, scoring the rows of from instead of extracting
// them when from is not nil: from must come from a model with the same
// shareKey on the same leaves, so its rows are exactly the ones this
// model would extract (same events, same spec, hence the same chunks
// and the same scores, bit for bit). When from is nil it returns its own
// extraction (nil when none was made), which the caller must release.
//
// The results are appended to dst (returned unchanged on error), and
// when dst must grow it grows by reserve times the rows scored: the
// registry appends every model's results to one slice and reserves room
// for the rest of a shared group at its first model, so the results of a
// batch are allocated once instead of per model and then again while
// concatenated (two results per event of ~170 bytes each, copied and
// regrown, were most of what a cic-ids2017 pair's DetectLeaves
// allocated, and the garbage collections they caused about a tenth of
// its CPU).
func (m *Model) detectFrom(ctx context.Context, in input, from *extraction, dst []detect.Result, reserve int) ([]detect.Result, *extraction, error) {
	var (
		idx       []int
		sc        *scratch
		own       *extraction
		extracted bool
	)
	if from != nil {
		if len(from.idx) == 0 {
			return dst, nil, nil
		}
		idx, extracted = from.idx, true
		sc = m.getScratch(0) // its probabilities only
		defer m.scratch.Put(sc)
		view := *sc
		view.x = from.sc.x
		if cap(view.probs) < len(idx)*len(m.manifest.Labels) {
			view.probs = make([]float32, len(idx)*len(m.manifest.Labels))
			sc.probs = view.probs
		}
		sc = &view
	} else {
		n := in.len()
		late := m.lateRequire(in)
		idx = make([]int, 0, n)
		for i := range n {
			ok := late && m.manifest.appliesKind(in.event(i))
			if !late {
				var err error
				if ok, err = in.applies(m.manifest, i); err != nil {
					return dst, nil, fmt.Errorf("model %s %s: %w", m.manifest.Name, m.manifest.Version, err)
				}
			}
			if ok {
				idx = append(idx, i)
			}
		}
		if len(idx) == 0 {
			return dst, nil, nil
		}
		sc = m.getScratch(len(idx))
		own = &extraction{owner: m, sc: sc}
		if late {
			var err error
			if idx, err = m.extractApplying(in, idx, sc); err != nil {
				return dst, own, fmt.Errorf("model %s %s: %w", m.manifest.Name, m.manifest.Version, err)
			}
			extracted = true
		}
		own.idx = idx
		if len(idx) == 0 {
			return dst, own, nil
		}
	}
	probs, x, err := m.score(ctx, in, idx, sc, extracted)
	if err != nil {
		return dst, own, fmt.Errorf("model %s %s: %w", m.manifest.Name, m.manifest.Version, err)
	}
	if m.observe != nil {
		m.observe(m.manifest, x, len(idx))
	}
	n := len(dst)
	if cap(dst)-n < len(idx) {
		dst = slices.Grow(dst, max(1, reserve)*len(idx))
	}
	out := dst[:n+len(idx)]
	m.verdicts(in, idx, probs, x, out[n:])
	return out, own, nil
}

// verdicts writes out[r], the Result of row r (event idx[r]), from its
// probabilities and, for a flagged row of a model with an anomaly part,
// the explanation of its features. Rows are independent, so a large
// batch is split over GOMAXPROCS goroutines: on the caller's goroutine
// alone this loop was a fifth of an anomaly model's wall time per event
// (explain runs on every flagged row), while the other core idled.
func (m *Model) verdicts(in input, idx []int, probs, x []float32, out []detect.Result) {
	nl, w := len(m.manifest.Labels), m.engine.Width()
	rows := len(idx)
	do := func(lo, hi int) {
		for r := lo; r < hi; r++ {
			i := idx[r]
			out[r] = m.Verdict(probs[r*nl : (r+1)*nl])
			out[r].Index = i
			out[r].EventID = in.event(i).ID
			if out[r].Flagged && m.manifest.Anomaly != nil {
				out[r].TopFeatures = m.explain(x[r*w : (r+1)*w])
			}
		}
	}
	par := min(runtime.GOMAXPROCS(0), max(1, rows/(4*minChunk)))
	if par == 1 {
		do(0, rows)
		return
	}
	part := (rows + par - 1) / par
	var wg sync.WaitGroup
	for p := 1; p < par; p++ {
		wg.Go(func() { do(p*part, min((p+1)*part, rows)) })
	}
	do(0, min(part, rows))
	wg.Wait()
}

// minChunk is the smallest chunk Detect cuts a batch into: below it the
// per-call overhead of ONNX Runtime outweighs the parallelism gained.
const minChunk = 64

// scratch is one Detect call's working memory.
type scratch struct{ x, probs []float32 }

// getScratch returns buffers for rows rows, from the pool when one is
// large enough. Their contents are garbage: score overwrites every
// element it returns.
func (m *Model) getScratch(rows int) *scratch {
	w, nl := m.engine.Width(), len(m.manifest.Labels)
	sc, _ := m.scratch.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	if cap(sc.x) < rows*w {
		sc.x = make([]float32, rows*w)
	}
	if cap(sc.probs) < rows*nl {
		sc.probs = make([]float32, rows*nl)
	}
	return sc
}

// extractApplying extracts the features of events[idx[...]] into sc.x on
// GOMAXPROCS goroutines and drops the events lacking a require_fields
// field, returning idx without them (in place) and their rows packed at
// the start of sc.x. Extraction and scoring are two phases here (not
// pipelined as in score) so that score cuts exactly the rows Detect
// would into exactly the same chunks: ONNX Runtime's rounding depends on
// a row's chunk, and DetectLeaves answers what Detect answers, bit for
// bit.
func (m *Model) extractApplying(in input, idx []int, sc *scratch) ([]int, error) {
	w := m.engine.Width()
	rows := len(idx)
	par := min(runtime.GOMAXPROCS(0), max(1, rows/minChunk))
	part := (rows + par - 1) / par
	kept := make([]int, par)
	errs := make([]error, par)
	var wg sync.WaitGroup
	for p := range par {
		wg.Go(func() {
			lo, hi := p*part, min((p+1)*part, rows)
			n := lo
			for r := lo; r < hi; r++ {
				if r+prefetchAhead < hi {
					in.prefetch(idx[r+prefetchAhead])
				}
				ok, err := in.extract(m.engine, idx[r], sc.x[n*w:(n+1)*w])
				if err != nil {
					errs[p] = err
					return
				}
				if ok {
					idx[n] = idx[r]
					n++
				}
			}
			kept[p] = n - lo
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	n := 0
	for p := range par {
		lo, c := p*part, kept[p]
		if lo != n {
			copy(sc.x[n*w:(n+c)*w], sc.x[lo*w:(lo+c)*w])
			copy(idx[n:n+c], idx[lo:lo+c])
		}
		n += c
	}
	return idx[:n], nil
}

// score extracts the features of events[idx[...]] (unless extracted:
// extractApplying did) and scores them, returning len(idx) × len(Labels)
// probabilities and the feature matrix (len(idx) × Width) they were
// scored from, both in sc's buffers. A cascade's screen scores the
// chunks; its full graph then scores the unsure rows of all of them
// together, in parts the cores take in turn (cascade.rest): the same
// probabilities as the cascade per chunk, without the core left idle
// while the other runs the trees of the chunk with the most unsure rows.
func (m *Model) score(ctx context.Context, in input, idx []int, sc *scratch, extracted bool) ([]float32, []float32, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, nil, ErrClosed
	}
	w, nl := m.engine.Width(), len(m.manifest.Labels)
	rows := len(idx)
	x := sc.x[:rows*w]
	probs := sc.probs[:rows*nl]
	par := runtime.GOMAXPROCS(0)
	chunk := min(m.batcher.Config().MaxBatch, max(minChunk, (rows+par-1)/par))
	chunks := (rows + chunk - 1) / chunk
	bounds := func(k int) (int, int) { return k * chunk, min((k+1)*chunk, rows) }
	extract := func(k int) error {
		if extracted {
			return nil
		}
		lo, hi := bounds(k)
		for r := lo; r < hi; r++ {
			if r+prefetchAhead < hi {
				in.prefetch(idx[r+prefetchAhead])
			}
			if _, err := in.extract(m.engine, idx[r], x[r*w:(r+1)*w]); err != nil {
				return err
			}
		}
		return nil
	}
	batcher := m.batcher
	if m.casc != nil {
		batcher = m.screens // the full graph runs after, on the whole batch's unsure rows
	}
	score := func(k int) error {
		lo, hi := bounds(k)
		return batcher.Score(ctx, x[lo*w:hi*w], hi-lo, probs[lo*nl:hi*nl])
	}
	errs := make([]error, chunks)
	var wg sync.WaitGroup
	if m.engine.Stateful() || chunks == 1 {
		for k := range chunks {
			if errs[k] = extract(k); errs[k] != nil {
				break
			}
			wg.Go(func() { errs[k] = score(k) })
		}
	} else {
		var next atomic.Int64
		for range min(par, chunks) {
			wg.Go(func() {
				for {
					k := int(next.Add(1) - 1)
					if k >= chunks {
						return
					}
					if errs[k] = extract(k); errs[k] == nil {
						errs[k] = score(k)
					}
				}
			})
		}
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, nil, err // the first: later chunks failed the same way
		}
	}
	if m.casc != nil {
		// As many full-graph calls at once as the batcher's workers
		// would make (WithWorkers), at most one per core.
		if err := m.casc.rest(ctx, x, rows, probs, min(par, m.batcher.Config().Workers)); err != nil {
			return nil, nil, err
		}
	}
	return probs, x, nil
}

// Verdict turns one row of class probabilities into a Result (without
// Index and EventID): score = 1 − P(benign); label the most likely class,
// or the most likely non-benign class when flagged.
func (m *Model) Verdict(p []float32) detect.Result {
	man := m.manifest
	lab := m.labels
	if lab == nil {
		lab = newLabelInfo(man) // a Model not made by Open (tests)
	}
	var benign float64
	best, bestMal := -1, -1
	for j := range man.Labels {
		if best < 0 || p[j] > p[best] {
			best = j
		}
		if lab.benign[j] {
			benign = float64(p[j])
		} else if bestMal < 0 || p[j] > p[bestMal] {
			bestMal = j
		}
	}
	score := min(max(1-benign, 0), 1)
	res := detect.Result{
		Model: man.Name, Version: man.Version, SHA256: man.Model.SHA256,
		Score: score, Flagged: score >= man.Threshold,
	}
	l := best
	if res.Flagged {
		l = bestMal
	}
	res.Label, res.Category = man.Labels[l], lab.category[l]
	if man.IsAnomaly() {
		// One-class score: the label follows the threshold, not the
		// argmax, since 0.5 means nothing to a reconstruction error.
		res.Label, res.Category = man.Benign, ""
		if res.Flagged {
			res.Label, res.Category = man.Labels[bestMal], CategoryAnomaly
		}
	}
	return res
}

// labelInfo is what Verdict needs of the manifest's labels, resolved once
// instead of per row (a string comparison per label and a map lookup
// per row were a tenth of the verdicts' cost).
type labelInfo struct {
	benign   []bool   // per label: it is the benign label
	category []string // per label: its category's id ("" for none, and for the benign label)
}

func newLabelInfo(man *Manifest) *labelInfo {
	lab := &labelInfo{benign: make([]bool, len(man.Labels)), category: make([]string, len(man.Labels))}
	for j, l := range man.Labels {
		if l == man.Benign {
			lab.benign[j] = true
			continue
		}
		if c, ok := man.Categories[l]; ok {
			lab.category[j] = c.ID
		}
	}
	return lab
}
