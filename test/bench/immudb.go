package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codenotary/immudb/embedded/logger"
	"github.com/codenotary/immudb/embedded/store"
)

// benchImmudb writes the ingest benchmark's events durably into an
// embedded immudb store (its Go library, synced commits, one transaction
// per 1,000 events, key = the event's SHA-256, value = its bytes) from one
// writer per core for duration d, and reports events/s. It is the
// reference the issue names: a well-known tamper-evident store doing the
// durable part of ingest on the same machine in the same run, so
// ingest_events_per_s can be read as a ratio against it.
func benchImmudb(ctx context.Context, dataDir string, d time.Duration) error {
	lines, _, err := benchEvents(dataDir)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "lg-bench-immudb-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	workers := runtime.GOMAXPROCS(0)
	st, err := store.Open(dir, store.DefaultOptions().WithSynced(true).WithMaxConcurrency(workers*2).
		WithLogger(logger.NewSimpleLoggerWithLevel("immudb", os.Stderr, logger.LogError)))
	if err != nil {
		return fmt.Errorf("open immudb store: %w", err)
	}
	defer st.Close()
	bodies := make([][][]byte, workers)
	for w := range workers {
		for i := range 1000 {
			bodies[w] = append(bodies[w], lines[(w*1000+i)%len(lines)])
		}
	}
	var events atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(d)
	began := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; time.Now().Before(deadline) && ctx.Err() == nil; round++ {
				tx, err := st.NewWriteOnlyTx(ctx)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				for i, line := range bodies[w] {
					// Each round's events are new events: the key covers the round.
					key := sha256.Sum256(fmt.Appendf(nil, "%d/%d/%d/%s", w, round, i, line))
					if err := tx.Set(key[:], nil, line); err != nil {
						tx.Cancel()
						firstErr.CompareAndSwap(nil, err)
						return
					}
				}
				if _, err := tx.Commit(ctx); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				events.Add(int64(len(bodies[w])))
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return fmt.Errorf("immudb: %w", err)
	}
	report("immudb_events_per_s", float64(events.Load())/time.Since(began).Seconds(), "events/s")
	return nil
}
