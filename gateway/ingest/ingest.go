// Package ingest holds what every ingest protocol parser of the gateway
// shares: the limits a parser enforces, the request metadata it stamps on
// each event, the one error type (Error) whose Code is one of the gateway's
// failure kinds (gateway.Code, which the HTTP adapter maps to a status in
// exactly one function), the one epoch-seconds parser (ParseEpoch),
// helpers to read a possibly compressed body under a size limit, and the
// bounds on decoding: a per-request budget checked on an estimate made
// before decoding (DecodeEstimate, Limits.CheckDecode, CountJSONTokens)
// and a limit on concurrent decodes across protocols (Decoders), and the
// one-pass JSON object decoder the NDJSON, HEC and _bulk parsers try first
// (Decoder), which also writes the canonical encoding of the event's
// fields (gateway.Event.FieldsCanonical) and, for a record normalize keeps
// as decoded, builds no map of it at all (its map-free mode).
//
// The protocol parsers live in sub-packages (hec, esbulk, otlp, ndjson,
// syslog) and the recognition of well-known security log shapes in
// normalize. Every parser guarantees:
//   - it is pure: no clock, no I/O beyond the io.Reader it is given, no
//     global state, so the same input and Meta yield the same events;
//   - nothing malformed yields an event: a request is either rejected with an
//     *Error naming what and where, or (for protocols with per-item results,
//     such as _bulk) the malformed item is reported and skipped;
//   - every event it returns passes gateway.Event.Validate, so its canonical
//     encoding cannot fail: a value without one (a time outside the years
//     0000–9999 once converted to UTC) is refused as that record's error
//     (CodeInvalidField) before anything reaches the store. Non-finite
//     floating-point values, which JSON cannot carry but OTLP can, are
//     converted to the strings "NaN", "Infinity" and "-Infinity" (the OTLP
//     JSON mapping's spelling) rather than refused, so a record is not lost
//     for one odd attribute;
//   - every event it returns has ID = gateway.EventID(Source, Sourcetype,
//     Raw, occurrence) where occurrence is the one Meta gives for that
//     record (see Meta.At), Raw is a copy of the bytes of that one event
//     (never aliasing the request buffer), Time is the event's own time or
//     else Meta.Received, and Seq is 0 (the store assigns it);
//   - limits are checked before work is done on the data they bound.
//
// # Event ids: repeated events counted, retries not doubled
//
// Identical records are distinct events (five identical failed logins are
// five), while a client's retry of a request it got no answer for stores
// nothing twice. The id is derived from the content plus an occurrence key
// (gateway.EventID); the transport chooses the request's Meta.Key and the
// parser adds the record's position within the request:
//   - Elasticsearch _bulk: the item's _id when the client gives one (ES's
//     own idempotency contract: same index and _id, same document, stored
//     once); else the request's Idempotency-Key header plus the item's
//     position; else a per-request nonce plus the position.
//   - Splunk HEC: the data channel (X-Splunk-Request-Channel or ?channel=)
//     plus a client-supplied request id (the Idempotency-Key header) plus
//     the position; without both, a per-request nonce plus the position.
//   - NDJSON (/v1/events) and OTLP/HTTP: the Idempotency-Key header plus
//     the position. Same key and same body give the same ids and are stored
//     once; without the header every request is new, so a retry may store
//     its events twice.
//   - syslog (no retry in the protocol): arrival order, a per-gateway-run
//     nonce plus the connection number plus the message number on it.
//
// Keys are scoped by the credential that sent them. A replayed occurrence
// is answered with its stored copy (the store's duplicate-id path).
package ingest

import (
	"errors"
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
// A request waits for room in that bound for up to 4 s, in arrival order:
// when the bound is in decoded bytes (Limits.MaxDecodingBytes, set from
// the memory limit) a saturated gateway queues requests there, and 4 s
// stays inside the shortest default timeout of the shippers we serve (the
// OpenTelemetry Collector's OTLP exporter gives up after 5 s, and a
// request it abandons after its events were stored is sent again as new
// events); past it the client is told to come back later (503 with
// Retry-After).
const (
	DefaultMaxBodyBytes         = 64 << 20
	DefaultMaxEvents            = 100_000
	DefaultMaxLineBytes         = 1 << 20
	DefaultMaxDepth             = 64
	DefaultMaxDecodeBytes       = 1 << 30
	DefaultMaxConcurrentDecodes = 4
	DefaultDecodeWait           = 4 * time.Second
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
	// MaxDecodingBytes bounds, in estimated decoded bytes, what the
	// requests of all ingest protocols being decoded and stored at once
	// hold together (see Decoders); 0 means MaxConcurrentDecodes
	// maximum-size bodies.
	MaxDecodingBytes int64
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
	// Key is the request's occurrence scope (an idempotency key, a
	// per-request nonce, a syslog connection), chosen by the transport;
	// empty means content-only ids (gateway.ComputeID), which only tests
	// and tools use. Parsers combine it with each record's position (At).
	Key string
	// Occurrence is the occurrence key of the record being built, set by
	// At or WithOccurrence; NewEvent derives the id from it.
	Occurrence string
}

// At returns m for the record at 0-based position pos of the request: its
// occurrence is Key and pos, so the same key, body and position give the
// same id and a different position a different one. With an empty Key the
// occurrence stays empty (content-only ids).
func (m Meta) At(pos int) Meta {
	if m.Key == "" {
		m.Occurrence = ""
		return m
	}
	m.Occurrence = m.Key + "#" + strconv.Itoa(pos)
	return m
}

// WithOccurrence returns m with an explicit occurrence key, such as an
// Elasticsearch document's index and _id.
func (m Meta) WithOccurrence(occ string) Meta {
	m.Occurrence = occ
	return m
}

// Validate checks that ev can be stored (gateway.Event.Validate) and
// returns the refusal of that one record as a CodeInvalidField *Error
// located at line and event, nil when it can.
func Validate(protocol string, line, event int, ev gateway.Event) *Error {
	err := ev.Validate()
	if err == nil {
		return nil
	}
	msg := "value cannot be stored"
	var ve *gateway.InvalidValueError
	if errors.As(err, &ve) {
		msg = "invalid " + strconv.Quote(ve.Field)
	}
	return Wrap(gateway.CodeInvalidField, protocol, line, event, msg, errors.Unwrap(err))
}

// NewEvent builds an event from its parts, copying raw so the event never
// aliases a request buffer, defaulting Time to Received and deriving the ID
// from the content and m.Occurrence (gateway.EventID). It does not
// validate: parsers call Validate on what it returns. fields may be nil. It is the one place events are
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
		ID:         gateway.EventID(m.Source, m.Sourcetype, r, m.Occurrence),
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
