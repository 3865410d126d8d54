package ingest

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// A request's memory is bounded twice: each request by a budget checked
// before it is decoded (Limits.CheckDecode on a DecodeEstimate a parser
// computes from a pre-scan of the wire), and all requests together by the
// number decoded at once (Decoders). A request over its budget is refused
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

// Decoders bounds how many requests, across every ingest protocol, are
// decoded (and hold their decoded events) at once. The zero value is not
// usable; create it with NewDecoders. It is safe for concurrent use.
type Decoders struct {
	slots chan struct{}
	wait  time.Duration
}

// NewDecoders returns a limiter of l.MaxConcurrentDecodes slots whose
// Acquire waits at most l.DecodeWait (defaults applied).
func NewDecoders(l Limits) *Decoders {
	l = l.WithDefaults()
	return &Decoders{slots: make(chan struct{}, max(1, l.MaxConcurrentDecodes)), wait: l.DecodeWait}
}

// Acquire takes a decode slot, waiting up to the configured DecodeWait (or
// until ctx ends) for one to free. It returns the function that gives the
// slot back (call it once; later calls do nothing), or a *BusyError
// (gateway.CodeBusy) when no slot freed in time.
func (d *Decoders) Acquire(ctx context.Context) (release func(), err error) {
	select {
	case d.slots <- struct{}{}:
		return d.releaser(), nil
	default:
	}
	t := time.NewTimer(d.wait)
	defer t.Stop()
	select {
	case d.slots <- struct{}{}:
		return d.releaser(), nil
	case <-t.C:
	case <-ctx.Done():
	}
	return nil, &BusyError{Slots: cap(d.slots), Waited: d.wait}
}

// BusyError is Acquire's refusal: every decode slot stayed taken. Its code
// is gateway.CodeBusy, which every protocol answers with 503 and
// Retry-After, so clients retry later as they do for anchoring backpressure.
type BusyError struct {
	// Slots is the limit that was reached (Limits.MaxConcurrentDecodes).
	Slots int
	// Waited is how long the request waited for a slot.
	Waited time.Duration
}

// Error says the server is busy and why.
func (e *BusyError) Error() string {
	return "server busy: " + strconv.Itoa(e.Slots) + " requests are being decoded"
}

// ErrorCode is gateway.CodeBusy (gateway.Coder).
func (e *BusyError) ErrorCode() gateway.Code { return gateway.CodeBusy }

// InUse reports the slots taken, for metrics and tests.
func (d *Decoders) InUse() int { return len(d.slots) }

func (d *Decoders) releaser() func() {
	var once sync.Once
	return func() { once.Do(func() { <-d.slots }) }
}
