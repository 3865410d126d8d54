package onnx

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// cascade runs a model whose manifest has a screen (ScreenSpec): the
// screen graph scores every row of a call, rows the screen answers
// (confident) keep the screen's probabilities, and the others are
// gathered into one contiguous matrix that the full graph scores, its
// probabilities scattered back into their rows. The gather costs a copy
// of the unsure rows' features, negligible beside the full graph it saves
// on the confident ones (the reason for a cascade: the screen of
// cic-ids2017-flow 1.3.0 is ~40 times cheaper than its 640-tree graph).
//
// Which rows go to the full graph depends only on the rows of the call,
// so the same chunk of rows always gets the same answer (Detect and
// DetectLeaves cut the same chunks).
type cascade struct {
	screen, full *session
	// threshold is the screen's (ScreenSpec.Threshold); flagAt and benign
	// are the manifest's threshold and its benign label's index, with
	// which Model.Verdict will judge the row.
	threshold float32
	flagAt    float64
	benign    int
	// rows and screened count the rows scored and those the screen
	// answered alone, for ScreenStats.
	rows, screened atomic.Int64
	// scratch holds *cascadeScratch buffers for the gathered rows.
	scratch sync.Pool
	// restCalls, when set (Open: WithWorkers' count), holds a slot for
	// each full-graph call rest makes, so concurrent batches of one model
	// make at most that many at once between them, as WithWorkers
	// promises, rather than that many each.
	restCalls chan struct{}
}
type cascadeScratch struct {
	x, p []float32
	idx  []int
}

// newCascade builds the cascade of screen and full (same width and
// classes, checked by the manifest and the sessions) for a model whose
// verdicts flag at flagAt with benign label index benign.
func newCascade(screen, full *session, threshold, flagAt float64, benign int) *cascade {
	return &cascade{screen: screen, full: full, threshold: float32(threshold), flagAt: flagAt, benign: benign}
}

// run scores rows rows of x into dst (rows × classes): the screen's
// probabilities for its confident rows, the full graph's for the rest.
func (c *cascade) run(x []float32, rows int, dst []float32) error {
	if err := c.screen.run(x, rows, dst); err != nil {
		return err
	}
	return c.rest(context.Background(), x, rows, dst, 1)
}

// rest is the cascade's second step, after the screen has written its
// probabilities for rows rows of x into dst: it gathers the rows the
// screen is unsure of into one matrix and overwrites their probabilities
// with the full graph's, which scores the gathered rows on par
// goroutines, restPart rows per call. The full graph is a tree ensemble, whose answer for
// a row depends on that row alone, not on the other rows of its call
// (TestCascadeRestMatchesPerChunk), so rest may gather the unsure rows of
// several screen calls at once: Model.score does, for a whole batch,
// because the unsure rows cluster (on the cic-ids2017 bench batch, 5 to
// 307 of each 1,024-row chunk), and scoring each chunk's own left one
// core idle while the other ran the heaviest chunk's trees.
func (c *cascade) rest(ctx context.Context, x []float32, rows int, dst []float32, par int) error {
	w, k := c.full.width, c.full.classes
	sc, _ := c.scratch.Get().(*cascadeScratch)
	if sc == nil {
		sc = &cascadeScratch{}
	}
	defer func() {
		// A batch with many unsure rows grows the buffers; only
		// usual-sized ones go back to the pool, so it does not hold the
		// largest batch's for good.
		if cap(sc.x) <= maxPooledRest {
			c.scratch.Put(sc)
		}
	}()
	idx := sc.idx[:0]
	for r := range rows {
		if !c.confident(dst[r*k : (r+1)*k]) {
			idx = append(idx, r)
		}
	}
	sc.idx = idx
	c.rows.Add(int64(rows))
	c.screened.Add(int64(rows - len(idx)))
	n := len(idx)
	if n == 0 {
		return nil
	}
	if cap(sc.x) < n*w {
		sc.x = make([]float32, n*w)
	}
	if cap(sc.p) < n*k {
		sc.p = make([]float32, n*k)
	}
	gx, gp := sc.x[:n*w], sc.p[:n*k]
	for j, r := range idx {
		copy(gx[j*w:(j+1)*w], x[r*w:(r+1)*w])
	}
	// par workers take restPart-row parts in turn rather than one fixed
	// share each: on a shared host a worker whose core is taken by
	// another process leaves the rest of its share to the others
	// (fixed halves measured slower under load than the per-chunk
	// cascade).
	parts := (n + restPart - 1) / restPart
	par = min(max(1, par), parts)
	errs := make([]error, par)
	var next atomic.Int64
	work := func(p int) {
		for {
			q := int(next.Add(1) - 1)
			if q >= parts {
				return
			}
			if err := ctx.Err(); err != nil {
				errs[p] = err // a cancelled batch scores no further parts
				return
			}
			lo, hi := q*restPart, min((q+1)*restPart, n)
			if err := c.runLimited(gx[lo*w:hi*w], hi-lo, gp[lo*k:hi*k]); err != nil {
				errs[p] = err
				return
			}
		}
	}
	var wg sync.WaitGroup
	for p := 1; p < par; p++ {
		wg.Go(func() { work(p) })
	}
	work(0)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for j, r := range idx {
		copy(dst[r*k:(r+1)*k], gp[j*k:(j+1)*k])
	}
	return nil
}

// runLimited is one full-graph call of rest, within restCalls' slots.
func (c *cascade) runLimited(x []float32, rows int, dst []float32) error {
	if c.restCalls != nil {
		c.restCalls <- struct{}{}
		defer func() { <-c.restCalls }()
	}
	return c.full.run(x, rows, dst)
}

// maxPooledRest caps the features (float32s) of a scratch rest keeps
// pooled: 8 MiB, the unsure rows of a default batch of 8,192 events at
// up to 256 columns.
const maxPooledRest = 2 << 20

// restPart is the rows of one full-graph call in rest: about 0.2 ms of a
// 640-tree ensemble on this host, so the workers end within about that of
// each other, and ONNX Runtime's per-call cost (a few µs) stays small.
const restPart = 32

// confident reports whether the screen answers a row alone from its
// probabilities p: its top probability reaches the threshold, and the
// verdict they give is unambiguous, flagged exactly when the top class is
// not the benign one (as Model.Verdict computes the flag: 1 − P(benign)
// ≥ the manifest's threshold). A row the screen gives an attack class
// without enough probability mass off the benign class to be flagged
// (or a benign top class with too little to stay unflagged) goes to the
// full graph: the screen never emits an attack label without an alert,
// which on its own it would for rows whose top attack probability lies
// between its threshold and the model's. A NaN anywhere in the row is
// never confident (every comparison with NaN is false).
func (c *cascade) confident(p []float32) bool {
	best := -1
	for j, v := range p {
		if !(v >= 0) {
			return false
		}
		if best < 0 || v > p[best] {
			best = j
		}
	}
	if best < 0 || p[best] < c.threshold {
		return false
	}
	flagged := min(max(1-float64(p[c.benign]), 0), 1) >= c.flagAt
	return flagged == (best != c.benign)
}

// ScreenStats reports, for a cascade (a manifest with a screen), how many
// rows the model has scored since it was opened and how many of them the
// screen answered alone; ok is false for a model without a screen.
func (m *Model) ScreenStats() (rows, screened int64, ok bool) {
	if m.casc == nil {
		return 0, 0, false
	}
	return m.casc.rows.Load(), m.casc.screened.Load(), true
}
