package ingest

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// A request's memory is bounded twice: each request by a budget checked
// before it is decoded (Limits.CheckDecode on a DecodeEstimate a parser
// computes from a pre-scan of the wire), and all requests together by the
// bodies decoded at once (Decoders). A request over its budget is refused
// with gateway.CodeTooLarge (413: the client must send less); a request
// that finds every decode slot taken is refused with gateway.CodeBusy (503
// with Retry-After: the client may retry as is).

// DecodeEstimate is what a pre-scan of a request learnt about its decoded
// form, in the units Bytes turns into an estimate of memory.
type DecodeEstimate struct {
	// Body is the size of the (decompressed) body: strings and bytes are
	// copied out of it once.
	Body int64
	// Records is the number of records (events) the request holds.
	Records int64
	// Values is the number of other decoded objects (attributes, nested
	// values, JSON members): each costs a few small allocations.
	Values int64
	// Raw is the bytes the events' Raw copies will hold altogether, which
	// can exceed Body when records share a large envelope (an OTLP
	// resource is repeated in every record's evidence).
	Raw int64
}

// Per-object costs of a decoded request, in bytes: a record becomes a
// decoded message and a gateway.Event with its field map; a value becomes
// a small message or map entry with its pointer and interface header.
// They are rounded up from the sizes of the Go types involved so the
// estimate errs on the side of the gateway.
const (
	recordCost = 1024
	valueCost  = 160
)

// Bytes is the estimate in bytes (saturating, never negative).
func (d DecodeEstimate) Bytes() int64 {
	const maxInt64 = 1<<63 - 1
	sum := int64(0)
	for _, v := range []struct{ n, each int64 }{{d.Body, 2}, {d.Records, recordCost}, {d.Values, valueCost}, {d.Raw, 1}} {
		if v.n < 0 {
			continue
		}
		if v.n > (maxInt64-sum)/v.each {
			return maxInt64
		}
		sum += v.n * v.each
	}
	return sum
}

// CheckDecode returns a gateway.CodeTooLarge error when the estimated
// decoded size of a request exceeds MaxDecodeBytes.
func (l Limits) CheckDecode(protocol string, d DecodeEstimate) error {
	l = l.WithDefaults()
	if b := d.Bytes(); b > l.MaxDecodeBytes {
		return &Error{Code: gateway.CodeTooLarge, Protocol: protocol, Event: -1,
			Msg: "request would decode to about " + strconv.FormatInt(b, 10) + " bytes, over the limit of " + strconv.FormatInt(l.MaxDecodeBytes, 10) + " bytes"}
	}
	return nil
}

// CheckDepth returns a gateway.CodeTooLarge error when a value nests deeper
// than MaxDepth; event is the 0-based record it belongs to (-1 if unknown).
func (l Limits) CheckDepth(protocol string, depth int, event int) error {
	l = l.WithDefaults()
	if depth > l.MaxDepth {
		return &Error{Code: gateway.CodeTooLarge, Protocol: protocol, Event: event,
			Msg: "value nesting deeper than the limit of " + strconv.Itoa(l.MaxDepth) + " levels"}
	}
	return nil
}

// Decoders bounds what the requests of every ingest protocol that are
// being decoded and stored at once hold: together at most
// Limits.MaxDecodingBytes (by default MaxConcurrentDecodes × MaxBodyBytes).
// A request weighs its estimated decoded size (DecodeEstimate.Bytes) when
// its parser has one before decoding, else its decompressed body; at least
// MinDecodeWeight, so a flood of tiny requests still finds a bound, and at
// most the whole budget, so a request estimated above it is admitted alone
// once the budget drains (the semaphore is FIFO) rather than refused.
// Counting requests instead would hold back
// small requests while they wait for the store's group fsync and shrink
// every group commit to a handful of requests.
//
// Why decoded bytes rather than body bytes: a decoded request holds its
// events (field maps, raw copies, canonical encodings) until the store's
// fsync, several times its body (a 1 MB NDJSON body of 1,000 41-field flow
// records holds about 11 MB). Weighed by its body, the bound let the ingest
// bench's 32 clients decode all at once, holding about 350 MB of the
// gateway's 768 MiB memory limit until the fsync, and the Go runtime
// collected nearly without pause.
//
// It is golang.org/x/sync's weighted semaphore (FIFO, so a large request
// is not starved by a stream of small ones) with a deadline. The zero value
// is not usable; create it with NewDecoders. It is safe for concurrent use.
type Decoders struct {
	sem      *semaphore.Weighted
	capacity int64
	slots    int
	wait     time.Duration
	inUse    atomic.Int64
}

// MinDecodeWeight is the least a request weighs in Decoders, so a flood of
// tiny requests still finds a bound.
const MinDecodeWeight = 64 << 10

// NewDecoders returns a limiter for l.MaxDecodingBytes (by default
// l.MaxConcurrentDecodes maximum-size bodies) whose Acquire waits at most
// l.DecodeWait (defaults applied).
func NewDecoders(l Limits) *Decoders {
	l = l.WithDefaults()
	slots := max(1, l.MaxConcurrentDecodes)
	capacity := int64(slots) * max(l.MaxBodyBytes, MinDecodeWeight)
	if l.MaxDecodingBytes > 0 {
		capacity = max(l.MaxDecodingBytes, int64(slots)*MinDecodeWeight)
	}
	return &Decoders{sem: semaphore.NewWeighted(capacity), capacity: capacity, slots: slots, wait: l.DecodeWait}
}

// Capacity is the budget Acquire shares out, in bytes.
func (d *Decoders) Capacity() int64 { return d.capacity }

// Acquire takes weight bytes of the decode budget (the request's
// DecodeEstimate.Bytes when known, else its decompressed body size;
// clamped to [MinDecodeWeight, the whole budget]: a request estimated
// above the budget waits, in arrival order, until it can have all of it),
// waiting up to the configured DecodeWait (or until ctx ends) for it to
// free. It returns the function that gives it back (call it once; later
// calls do nothing), or a *BusyError (gateway.CodeBusy) when it did not
// free in time.
func (d *Decoders) Acquire(ctx context.Context, weight int64) (release func(), err error) {
	w := min(max(weight, MinDecodeWeight), d.capacity)
	if !d.sem.TryAcquire(w) {
		wctx, cancel := context.WithTimeout(ctx, d.wait)
		err := d.sem.Acquire(wctx, w)
		cancel()
		if err != nil {
			return nil, &BusyError{Slots: d.slots, Capacity: d.capacity, Waited: d.wait}
		}
	}
	d.inUse.Add(1)
	var once sync.Once
	return func() {
		once.Do(func() {
			d.inUse.Add(-1)
			d.sem.Release(w)
		})
	}, nil
}

// BusyError is Acquire's refusal: every decode slot stayed taken. Its code
// is gateway.CodeBusy, which every protocol answers with 503 and
// Retry-After, so clients retry later as they do for anchoring backpressure.
type BusyError struct {
	// Slots is Limits.MaxConcurrentDecodes, which sizes the default budget.
	Slots int
	// Capacity is the budget that stayed in use, in bytes.
	Capacity int64
	// Waited is how long the request waited for a slot.
	Waited time.Duration
}

// Error says the server is busy and why.
func (e *BusyError) Error() string {
	return "server busy: the decode budget (" + strconv.FormatInt(e.Capacity>>20, 10) + " MiB of requests being decoded and stored) stayed in use for " + e.Waited.String()
}

// ErrorCode is gateway.CodeBusy (gateway.Coder).
func (e *BusyError) ErrorCode() gateway.Code { return gateway.CodeBusy }

// InUse reports the requests holding part of the budget, for metrics and
// tests.
func (d *Decoders) InUse() int { return int(d.inUse.Load()) }
