package onnx

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrClosed is returned by calls on a closed Batcher or Model.
var ErrClosed = errors.New("onnx: closed")

// RunFunc scores rows rows of x (row-major, Width columns) into dst (rows ×
// Classes). It must be safe for concurrent use.
type RunFunc func(x []float32, rows int, dst []float32) error

// BatcherConfig configures a Batcher. Zero fields take the defaults noted.
type BatcherConfig struct {
	Width   int // columns per row (required)
	Classes int // outputs per row (required)
	// MaxBatch bounds the rows per model call (default 1024): big enough
	// for ONNX Runtime's per-call overhead to vanish (MLPs reach 8–14 M
	// rows/s at 1024–8192), small enough to bound latency.
	MaxBatch int
	// MaxWait bounds how long a request waits for others to join its batch
	// (default 1ms when 0). A negative value means never wait: take only
	// what is already queued.
	MaxWait time.Duration
	// Workers is the number of concurrent model calls (default 2: measured
	// best on one shared session on these 2-core hosts).
	Workers int
}

// Batcher merges concurrent scoring requests into model calls of at most
// MaxBatch rows. A request that is queued completes within MaxWait plus
// the model calls ahead of it; every request gets exactly its own rows'
// outputs, in order. Requests larger than MaxBatch are split into
// MaxBatch-row parts that the workers run in parallel.
type Batcher struct {
	cfg  BatcherConfig
	run  RunFunc
	reqs chan *request
	quit chan struct{}
	wg   sync.WaitGroup

	mu     sync.RWMutex
	closed bool
}

type request struct {
	x    []float32
	rows int
	dst  []float32
	done chan error
}

// NewBatcher starts a Batcher's workers; Close stops them.
func NewBatcher(run RunFunc, cfg BatcherConfig) (*Batcher, error) {
	if run == nil || cfg.Width <= 0 || cfg.Classes <= 0 {
		return nil, fmt.Errorf("onnx: batcher needs a run function, width and classes")
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 1024
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = time.Millisecond
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	b := &Batcher{cfg: cfg, run: run, reqs: make(chan *request, 4*cfg.MaxBatch), quit: make(chan struct{})}
	for range cfg.Workers {
		b.wg.Add(1)
		go b.worker()
	}
	return b, nil
}

// Config returns the effective configuration.
func (b *Batcher) Config() BatcherConfig { return b.cfg }

// Score scores rows rows of x into dst (len ≥ rows × Classes). ctx is
// honoured while the request waits for queue space; once queued it runs
// to completion (bounded, see Batcher), so x and dst are never touched
// after Score returns.
func (b *Batcher) Score(ctx context.Context, x []float32, rows int, dst []float32) error {
	if rows == 0 {
		return nil
	}
	if len(x) < rows*b.cfg.Width || len(dst) < rows*b.cfg.Classes {
		return fmt.Errorf("onnx: score: %d rows need %d inputs and %d outputs, have %d and %d",
			rows, rows*b.cfg.Width, rows*b.cfg.Classes, len(x), len(dst))
	}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return ErrClosed
	}
	var parts []*request
	var err error
	for lo := 0; lo < rows; lo += b.cfg.MaxBatch {
		n := min(b.cfg.MaxBatch, rows-lo)
		r := &request{
			x:    x[lo*b.cfg.Width : (lo+n)*b.cfg.Width],
			rows: n,
			dst:  dst[lo*b.cfg.Classes : (lo+n)*b.cfg.Classes],
			done: make(chan error, 1),
		}
		select {
		case b.reqs <- r:
			parts = append(parts, r)
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			break
		}
	}
	b.mu.RUnlock()
	for _, r := range parts {
		if e := <-r.done; e != nil && err == nil {
			err = e
		}
	}
	return err
}

// Close stops the workers after the queued requests are done; later calls
// fail with ErrClosed. It is idempotent.
func (b *Batcher) Close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	b.mu.Unlock()
	close(b.quit)
	b.wg.Wait()
}

func (b *Batcher) worker() {
	defer b.wg.Done()
	var xbuf, ybuf []float32
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var pending *request
	for {
		first := pending
		pending = nil
		if first == nil {
			select {
			case first = <-b.reqs:
			case <-b.quit:
				// No new request can be queued once quit is closed (Close
				// holds the lock first), so finish what is queued.
				for {
					select {
					case r := <-b.reqs:
						b.exec([]*request{r}, r.rows, &xbuf, &ybuf)
					default:
						return
					}
				}
			}
		}
		batch := []*request{first}
		rows := first.rows
		if b.cfg.MaxWait > 0 && rows < b.cfg.MaxBatch {
			timer.Reset(b.cfg.MaxWait)
		}
	collect:
		for rows < b.cfg.MaxBatch {
			if b.cfg.MaxWait < 0 {
				select {
				case r := <-b.reqs:
					if rows+r.rows > b.cfg.MaxBatch {
						pending = r
						break collect
					}
					batch = append(batch, r)
					rows += r.rows
				default:
					break collect
				}
				continue
			}
			select {
			case r := <-b.reqs:
				if rows+r.rows > b.cfg.MaxBatch {
					pending = r
					break collect
				}
				batch = append(batch, r)
				rows += r.rows
			case <-timer.C:
				break collect
			case <-b.quit:
				break collect
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		b.exec(batch, rows, &xbuf, &ybuf)
	}
}

// exec runs one batch: a single request in place, several through
// per-worker buffers.
func (b *Batcher) exec(batch []*request, rows int, xbuf, ybuf *[]float32) {
	if len(batch) == 1 {
		r := batch[0]
		r.done <- b.run(r.x, r.rows, r.dst)
		return
	}
	w, c := b.cfg.Width, b.cfg.Classes
	if cap(*xbuf) < rows*w {
		*xbuf = make([]float32, rows*w)
		*ybuf = make([]float32, rows*c)
	}
	x, y := (*xbuf)[:rows*w], (*ybuf)[:rows*c]
	off := 0
	for _, r := range batch {
		copy(x[off*w:], r.x[:r.rows*w])
		off += r.rows
	}
	err := b.run(x, rows, y)
	off = 0
	for _, r := range batch {
		if err == nil {
			copy(r.dst[:r.rows*c], y[off*c:(off+r.rows)*c])
		}
		off += r.rows
		r.done <- err
	}
}
