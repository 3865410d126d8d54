// Package ingest holds what every ingest protocol parser of the gateway
// shares: the limits a parser enforces, the request metadata it stamps on
// each event, the one error type (Error) whose Code is one of the gateway's
// failure kinds (gateway.Code, which the HTTP adapter maps to a status in
// exactly one function), the one epoch-seconds parser (ParseEpoch),
// helpers to read a possibly compressed body under a size limit, and the
// bounds on decoding: a per-request budget checked on an estimate made
// before decoding (DecodeEstimate, Limits.CheckDecode, CountJSONTokens)
// and a limit on concurrent decodes across protocols (Decoders).
//
// The protocol parsers live in sub-packages (hec, esbulk, otlp, ndjson,
// syslog) and the recognition of well-known security log shapes in
// normalize. Every parser guarantees:
//   - it is pure: no clock, no I/O beyond the io.Reader it is given, no
//     global state, so the same input and Meta yield the same events;
//   - nothing malformed yields an event: a request is either rejected with an
//     *Error naming what and where, or (for protocols with per-item results,
//     such as _bulk) the malformed item is reported and skipped;
//   - every event it returns has ID = gateway.ComputeID(Source, Sourcetype,
//     Raw), Raw is a copy of the bytes of that one event (never aliasing the
//     request buffer), Time is the event's own time or else Meta.Received,
//     and Seq is 0 (the store assigns it);
//   - limits are checked before work is done on the data they bound.
package ingest

import (
	"strconv"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// Default limits, chosen to match what shippers send by default: Beats and
// Logstash cap a _bulk request near 20–100 MB, Splunk's max_content_length
// defaults to 800 MB but forwarders batch far below, and one log line past
// 1 MiB is almost always a framing error rather than a real event.
//
// The decode bounds (see budget.go) keep a request's decoded form near its
// wire size: OTLP protobuf can describe a log record in 2 bytes that decode
// to hundreds, so records, nesting and an estimate of the decoded bytes are
// counted on the wire before anything is allocated. 1 GiB covers a full
// 64 MiB body of 100,000 ordinary records (measured: 90,000 records of a
// 400-byte body, 8 attributes and a 20-attribute resource, 54 MiB on the
// wire, estimate 851 MiB, 1.2 GiB allocated, 391 MiB retained as events);
// nesting past 64 levels is never a real attribute; four concurrent decodes
// keep a 2-core gateway's CPU busy while bounding what they hold together.
const (
	DefaultMaxBodyBytes         = 64 << 20
	DefaultMaxEvents            = 100_000
	DefaultMaxLineBytes         = 1 << 20
	DefaultMaxDepth             = 64
	DefaultMaxDecodeBytes       = 1 << 30
	DefaultMaxConcurrentDecodes = 4
	DefaultDecodeWait           = 2 * time.Second
)

// Limits bounds the work one request may cause. A zero field means the
// corresponding default (see WithDefaults); a negative field is invalid.
type Limits struct {
	// MaxBodyBytes bounds the request body after decompression.
	MaxBodyBytes int64
	// MaxEvents bounds the number of events one request may carry.
	MaxEvents int
	// MaxLineBytes bounds one line, one JSON document or one syslog frame.
	MaxLineBytes int
	// MaxDepth bounds the nesting of one value (OTLP AnyValue arrays and
	// key-value lists, JSON objects and arrays inside a record).
	MaxDepth int
	// MaxDecodeBytes is the per-request memory budget: the estimate of the
	// bytes the decoded request will occupy (see DecodeEstimate), checked
	// before decoding.
	MaxDecodeBytes int64
	// MaxConcurrentDecodes bounds the requests of all ingest protocols
	// being decoded and stored at once (see Decoders).
	MaxConcurrentDecodes int
	// DecodeWait is how long a request waits for a decode slot before it
	// is answered busy (503 with Retry-After).
	DecodeWait time.Duration
}

// WithDefaults returns l with every zero field replaced by its default.
func (l Limits) WithDefaults() Limits {
	if l.MaxBodyBytes == 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if l.MaxEvents == 0 {
		l.MaxEvents = DefaultMaxEvents
	}
	if l.MaxLineBytes == 0 {
		l.MaxLineBytes = DefaultMaxLineBytes
	}
	if l.MaxDepth == 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxDecodeBytes == 0 {
		l.MaxDecodeBytes = DefaultMaxDecodeBytes
	}
	if l.MaxConcurrentDecodes == 0 {
		l.MaxConcurrentDecodes = DefaultMaxConcurrentDecodes
	}
	if l.DecodeWait == 0 {
		l.DecodeWait = DefaultDecodeWait
	}
	return l
}

// CheckBody returns a gateway.CodeTooLarge error when a body of n bytes exceeds
// MaxBodyBytes (after defaults are applied).
func (l Limits) CheckBody(protocol string, n int) error {
	l = l.WithDefaults()
	if int64(n) > l.MaxBodyBytes {
		return &Error{Code: gateway.CodeTooLarge, Protocol: protocol, Event: -1,
			Msg: "body of " + strconv.FormatInt(int64(n), 10) + " bytes exceeds the limit of " + strconv.FormatInt(l.MaxBodyBytes, 10) + " bytes"}
	}
	return nil
}

// CheckEvents returns a gateway.CodeTooLarge error once the n-th event (1-based)
// would exceed MaxEvents; event is its 0-based position for the error.
func (l Limits) CheckEvents(protocol string, n int, line int) error {
	l = l.WithDefaults()
	if n > l.MaxEvents {
		return &Error{Code: gateway.CodeTooLarge, Protocol: protocol, Event: n - 1, Line: line,
			Msg: "more than " + strconv.FormatInt(int64(l.MaxEvents), 10) + " events in one request"}
	}
	return nil
}

// CheckLine returns a gateway.CodeTooLarge error when one line (or document) of n
// bytes exceeds MaxLineBytes.
func (l Limits) CheckLine(protocol string, n int, line, event int) error {
	l = l.WithDefaults()
	if n > l.MaxLineBytes {
		return &Error{Code: gateway.CodeTooLarge, Protocol: protocol, Line: line, Event: event,
			Msg: "line of " + strconv.FormatInt(int64(n), 10) + " bytes exceeds the limit of " + strconv.FormatInt(int64(l.MaxLineBytes), 10) + " bytes"}
	}
	return nil
}

// Meta is what the transport knows about a request before its body is read:
// defaults for the event metadata (from the URL, query string or the token's
// configuration) and the time the gateway received it. Parsers never read a
// clock; Received is the only notion of "now" they have.
type Meta struct {
	Source     string
	Sourcetype string
	Host       string
	Index      string
	// Received is the gateway's receive time for the request; it becomes
	// Event.Received and the fallback for Event.Time.
	Received time.Time
}

// NewEvent builds an event from its parts, copying raw so the event never
// aliases a request buffer, defaulting Time to Received and computing the
// content-derived ID. fields may be nil. It is the one place events are
// assembled so every parser upholds the package guarantees.
func NewEvent(m Meta, raw []byte, t time.Time, class gateway.Class, fields map[string]any) gateway.Event {
	if t.IsZero() {
		t = m.Received
	}
	if class == "" {
		class = gateway.ClassOther
	}
	r := make([]byte, len(raw))
	copy(r, raw)
	return gateway.Event{
		ID:         gateway.ComputeID(m.Source, m.Sourcetype, r),
		Received:   m.Received,
		Time:       t,
		Source:     m.Source,
		Sourcetype: m.Sourcetype,
		Host:       m.Host,
		Index:      m.Index,
		Class:      class,
		Fields:     fields,
		Raw:        r,
	}
}
