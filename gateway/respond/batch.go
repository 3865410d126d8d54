package respond

import (
	"context"
	"sync"
	"time"
)

// batcher coalesces concurrent ledger calls of one kind into batched ones:
// each caller hands an item to do and waits for its own error, and the
// items waiting at that moment go to the ledger together in one flush.
//
// At most slots flushes run at once. As soon as one is free, the next
// batch takes the first waiting item and whatever else arrives within
// linger, up to max, so batches follow the ledger's latency: while
// flushes are in flight, items queue and go together. Two items with the
// same key never share a batch; the second waits for the next one.
type batcher[T any] struct {
	max    int
	linger time.Duration
	key    func(T) string
	// flush handles one batch and returns one error per item, in order
	// (nil: done).
	flush func(ctx context.Context, items []T) []error
	queue chan *batchItem[T]
	slots chan struct{}
}

// batchItem is one item waiting for its batch; done receives its fate
// once.
type batchItem[T any] struct {
	item T
	done chan error
}

func newBatcher[T any](max, slots int, linger time.Duration, key func(T) string, flush func(context.Context, []T) []error) *batcher[T] {
	return &batcher[T]{max: max, linger: linger, key: key, flush: flush,
		queue: make(chan *batchItem[T], max), slots: make(chan struct{}, slots)}
}

// do hands item to the batcher and waits for its batch to be flushed, or
// for ctx to end (then ctx's error; the item may still be flushed).
func (b *batcher[T]) do(ctx context.Context, item T) error {
	it := &batchItem[T]{item: item, done: make(chan error, 1)}
	select {
	case b.queue <- it:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-it.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run forms and flushes batches until ctx ends, then waits for the
// flushes in flight. Items still queued are abandoned: their callers'
// contexts end with ctx.
func (b *batcher[T]) run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	var carry []*batchItem[T]
	for {
		select {
		case b.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		var batch []*batchItem[T]
		batch, carry = b.gather(ctx, carry)
		if len(batch) == 0 {
			return // ctx ended while waiting for the first item
		}
		wg.Add(1)
		go func() {
			defer func() { <-b.slots; wg.Done() }()
			items := make([]T, len(batch))
			for i, it := range batch {
				items[i] = it.item
			}
			errs := b.flush(ctx, items)
			for i, it := range batch {
				it.done <- errs[i]
			}
		}()
	}
}

// gather returns the next batch: the items carried over from the last
// one first, then the first queued item, then whatever arrives within
// linger, up to max; an item whose key is already in the batch is carried
// to the next one. It returns an empty batch only when ctx ended before
// any item came.
func (b *batcher[T]) gather(ctx context.Context, carry []*batchItem[T]) (batch, rest []*batchItem[T]) {
	in := make(map[string]bool, b.max)
	add := func(it *batchItem[T]) {
		k := b.key(it.item)
		if in[k] || len(batch) == b.max {
			rest = append(rest, it)
			return
		}
		in[k] = true
		batch = append(batch, it)
	}
	for _, it := range carry {
		add(it)
	}
	if len(batch) == 0 {
		select {
		case it := <-b.queue:
			add(it)
		case <-ctx.Done():
			return nil, rest
		}
	}
	timer := time.NewTimer(b.linger)
	defer timer.Stop()
	for len(batch) < b.max {
		select {
		case it := <-b.queue:
			add(it)
		case <-timer.C:
			return batch, rest
		case <-ctx.Done():
			return batch, rest
		}
	}
	return batch, rest
}
