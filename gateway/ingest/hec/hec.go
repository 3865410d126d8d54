// Package hec parses Splunk HTTP Event Collector requests into gateway
// events and shapes the answers exactly as Splunk documents them, so Splunk
// forwarders, logging libraries, Vector, Fluent Bit and the OpenTelemetry
// Collector's splunk_hec exporter can point at the gateway unchanged.
//
// Endpoints covered (the HTTP layer routes to them):
//   - /services/collector/event (and /services/collector): ParseEvents, one
//     or many concatenated JSON envelopes {time, host, source, sourcetype,
//     index, event, fields};
//   - /services/collector/raw: ParseRaw, line-broken text with metadata from
//     the query string (MetaFromQuery);
//   - /services/collector/ack: ParseAck and NewAckResponse;
//   - every answer: Response, Success, SuccessAck, ErrorResponse.
//
// Guarantees: a request is accepted whole or refused whole; a refusal names
// the 0-based event number (invalid-event-number) where parsing stopped, so
// a client can fix that one event and resend. HEC's answer can name only
// one event and cannot say which others were indexed, so the gateway does
// not store part of a batch. An event whose values cannot be stored (a time
// outside the years 0000–9999 in UTC, e.g. an "@timestamp" of
// "0000-01-01T00:00:00+00:01" inside the event) is refused like malformed
// data: 400, code 6 (Invalid data format), with its invalid-event-number.
//
// Event ids (see package ingest): each event's occurrence is Meta.Key plus
// its 0-based position in the request; the HTTP layer makes the key from
// the data channel and the client's request id when both are given (a
// retry then stores nothing twice) and from a per-request nonce otherwise
// (identical events in one or several requests stay distinct). Splunk semantics kept: envelope metadata overrides the
// request defaults; "time" is epoch seconds as a number or a numeric string,
// with any fraction; "event" may be a string or any JSON value but must be
// present (code 12) and not an empty string (code 13); "fields" must be an
// object whose values are strings, numbers, booleans or flat arrays of them
// (code 15 otherwise).
//
// Decoding keeps numbers as their exact digits (encoding/json's UseNumber)
// in the evidence fields. Envelopes go through ingest.Decoder, which
// decodes exactly as encoding/json does and also writes each event
// object's canonical encoding; a body it does not take whole is parsed
// again by encoding/json's stream decoder, which words every error.
package hec

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/normalize"
)

const proto = "hec"

// envelope is one HEC event envelope. Metadata members are decoded as any
// so a wrong type is reported as Splunk does (invalid data format) rather
// than as a Go type error.
type envelope struct {
	Time       any             `json:"time"`
	Host       any             `json:"host"`
	Source     any             `json:"source"`
	Sourcetype any             `json:"sourcetype"`
	Index      any             `json:"index"`
	Event      json.RawMessage `json:"event"`
	Fields     map[string]any  `json:"fields"`

	// With the fast decoder: "event" decoded (eventValue, decoded true)
	// and, when an object, its canonical encoding.
	decoded    bool
	eventValue any
	eventCanon []byte

	// isKept: the map-free decode took the envelope (see fastEnvelope);
	// eventValue is nil, kept is normalize's result for the event object
	// (no Fields) and eventCanon its fields, in the envelope's bytes
	// when eventWritten (at eventAt: see ingest.WrittenIn).
	isKept       bool
	kept         normalize.Result
	eventWritten bool
	eventAt      int
}

// envelopeNames are the envelope's member names, in the order of its
// fields.
var envelopeNames = [...]string{"time", "host", "source", "sourcetype", "index", "event", "fields"}

// decoders keeps the fast decoders' scratch space between requests.
var decoders = sync.Pool{New: func() any { return new(ingest.Decoder) }}

// fastEnvelope decodes the envelope at the start of body (its "{") with
// the fast decoder into env, returning where it ends; ok false leaves the
// request to the encoding/json path (see parseFast).
//
// It tries the decoder's map-free mode first: an "event" object normalize
// keeps as decoded, with no "fields" to merge into it, becomes an event
// with no map at all (its fields are the canonical encoding the decoder
// wrote, see gateway.Event.FieldsCanonical); the decoder gives up on any
// other envelope as soon as it meets "fields" or a member name normalize
// may recognise a shape by, and the envelope is decoded again with maps.
func fastEnvelope(dec *ingest.Decoder, body []byte, env *envelope) (end int, ok bool) {
	if members, end, ok := dec.PrefixShallow(body, stopAtMaps); ok && fillEnvelope(dec, members, env) {
		return end, true
	}
	*env = envelope{}
	members, end, ok := dec.Prefix(body)
	if !ok || !fillEnvelope(dec, members, env) {
		return 0, false
	}
	return end, true
}

// stopAtMaps stops the map-free decode where the envelope needs its
// maps: at "fields" (checked and merged into the record) and at a member
// of the record normalize may recognise it by.
func stopAtMaps(key []byte, record bool) bool {
	if record {
		return normalize.MayRecognise(key)
	}
	return string(key) == "fields"
}

// fillEnvelope sets env from an envelope's members; false leaves the
// request to the encoding/json path (or, after the map-free decode, the
// envelope to the decode with maps).
func fillEnvelope(dec *ingest.Decoder, members []ingest.Member, env *envelope) bool {
	var seen [len(envelopeNames)]bool
	for _, mem := range members {
		k, sure := ingest.MemberIndex(mem.Key, envelopeNames[:])
		if !sure {
			return false // encoding/json may match it case-insensitively
		}
		if k < 0 {
			continue // an unknown member, ignored as encoding/json does
		}
		if seen[k] {
			return false
		}
		seen[k] = true
		if mem.Shallow && k != 5 {
			return false // decoded with maps (and refused, or checked)
		}
		switch k {
		case 0:
			env.Time = mem.Value
		case 1:
			env.Host = mem.Value
		case 2:
			env.Source = mem.Value
		case 3:
			env.Sourcetype = mem.Value
		case 4:
			env.Index = mem.Value
		case 5:
			if mem.Shallow {
				r, kept := normalize.Shallow(mem.Fields, dec.Value)
				if !kept {
					return false
				}
				env.isKept, env.kept = true, r
			}
			env.Event, env.eventValue, env.decoded = json.RawMessage(mem.Raw), mem.Value, true
			env.eventCanon, env.eventWritten, env.eventAt = mem.Canonical, mem.Written, mem.RawAt
		case 6:
			switch v := mem.Value.(type) {
			case nil:
			case map[string]any:
				env.Fields = v
			default:
				return false // encoding/json's type error names it
			}
		}
	}
	return true
}

// ParseEvents parses an /services/collector/event body. m supplies the
// request defaults (from the token and query string) and the receive time;
// lim bounds the work. See the package doc for the accepted shapes.
func ParseEvents(body []byte, m ingest.Meta, lim ingest.Limits) ([]gateway.Event, error) {
	lim = lim.WithDefaults()
	if err := lim.CheckBody(proto, len(body)); err != nil {
		return nil, err
	}
	if ingest.IsBlank(body) {
		return nil, ingest.Errorf(gateway.CodeNoData, proto, 0, -1, "empty body")
	}
	fd := decoders.Get().(*ingest.Decoder)
	defer decoders.Put(fd)
	events, err := parseFast(body, m, lim, fd)
	if errors.Is(err, errSlowPath) {
		return parseEvents(body, m, lim)
	}
	return events, err
}

// errSlowPath: the fast decoder left the body to encoding/json.
var errSlowPath = errors.New("body left to encoding/json")

// parseFast is ParseEvents with the fast decoder: it returns errSlowPath
// as soon as it does not decode an envelope, and the caller then parses the whole
// body again with encoding/json (parseEvents), which gives every
// malformed-input error. What it decodes it decodes as encoding/json
// does, so an error it returns for a decoded envelope (a missing "event",
// a bad "time", ...) is the one parseEvents would return at that event
// (FuzzFastParse checks both paths agree).
func parseFast(body []byte, m ingest.Meta, lim ingest.Limits, fd *ingest.Decoder) ([]gateway.Event, error) {
	return envelopes(body, m, lim, func(start, _ int) (env envelope, end int, err error) {
		size, ok := fastEnvelope(fd, body[start:], &env)
		if !ok {
			return envelope{}, 0, errSlowPath
		}
		return env, start + size, nil
	})
}

// parseEvents is ParseEvents with encoding/json's stream decoder alone.
func parseEvents(body []byte, m ingest.Meta, lim ingest.Limits) ([]gateway.Event, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	env := new(envelope) // Decode's target escapes: one per body, copied out
	return envelopes(body, m, lim, func(start, n int) (envelope, int, error) {
		if body[start] != '{' {
			return envelope{}, 0, ingest.Errorf(gateway.CodeInvalid, proto, 0, n, "event %d is not a JSON object", n)
		}
		*env = envelope{} // Decode sets only the members present
		if err := dec.Decode(env); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) && te.Field == "fields" {
				return envelope{}, 0, ingest.Wrap(gateway.CodeInvalidField, proto, 0, n, "fields must be an object", err)
			}
			return envelope{}, 0, ingest.Wrap(gateway.CodeInvalid, proto, 0, n, "event "+strconv.Itoa(n)+" is not a valid envelope", err)
		}
		return *env, int(dec.InputOffset()), nil
	})
}

// envelopes turns the concatenated envelopes of body into events. next
// decodes the n-th envelope, which starts at offset start (its "{", the
// white space before it skipped here, so each event's raw bytes start
// there), and returns it with the offset just past it; the limits,
// building and validating each event are the same for the fast decoder
// and encoding/json. The envelope is returned by value, not filled in
// through a pointer: a pointer passed to a function value escapes, and
// the envelope on the heap cost a write barrier for every pointer the
// decode stored in it, and for clearing it, while the collector ran.
func envelopes(body []byte, m ingest.Meta, lim ingest.Limits, next func(start, n int) (env envelope, end int, err error)) ([]gateway.Event, error) {
	// Sized from the line count (bench and most senders put one envelope
	// a line) so a 1,000-event body is not grown and copied ten times;
	// capped, as envelopes may also be spread over many lines each.
	events := make([]gateway.Event, 0, min(bytes.Count(body, []byte{'\n'})+1, lim.MaxEvents, maxPresized))
	stream := normalize.NewStream(m.Received)
	start := 0
	for n := 0; ; n++ {
		for start < len(body) && isSpace(body[start]) {
			start++
		}
		if start == len(body) {
			break
		}
		if err := lim.CheckEvents(proto, n+1, 0); err != nil {
			return nil, err
		}
		env, end, err := next(start, n)
		if err != nil {
			return nil, err
		}
		if size := end - start; size > lim.MaxLineBytes {
			return nil, ingest.Errorf(gateway.CodeTooLarge, proto, 0, n, "event %d of %d bytes exceeds the limit of %d bytes", n, size, lim.MaxLineBytes)
		}
		ev, err := envelopeEvent(&env, body[start:end], n, m.At(n), stream)
		if err != nil {
			return nil, err
		}
		if err := valid(ev, 0, n); err != nil {
			return nil, err
		}
		events = append(events, ev)
		start = end
	}
	if len(events) == 0 {
		return nil, ingest.Errorf(gateway.CodeNoData, proto, 0, -1, "no event in body")
	}
	return events, nil
}

// maxPresized is the most events envelopes sizes its slice for up front.
const maxPresized = 4096

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// valid refuses an event without a canonical encoding as invalid data
// format (Splunk's code 6), naming the event.
func valid(ev gateway.Event, line, n int) error {
	if ie := ingest.Validate(proto, line, n, ev); ie != nil {
		ie.Code = gateway.CodeInvalid
		return ie
	}
	return nil
}

func envelopeEvent(env *envelope, raw []byte, n int, m ingest.Meta, stream *normalize.Stream) (gateway.Event, error) {
	if len(env.Event) == 0 || string(env.Event) == "null" {
		return gateway.Event{}, ingest.Errorf(gateway.CodeMissingField, proto, 0, n, "event %d has no \"event\" member", n)
	}
	event := env.eventValue
	// env.Event holds exactly one JSON value (the envelope decode cut it
	// out), so the strict decode refuses nothing Decode would accept.
	if !env.decoded {
		var err error
		if event, err = decodeStrictValue(env.Event); err != nil {
			return gateway.Event{}, ingest.Wrap(gateway.CodeInvalid, proto, 0, n, "event "+strconv.Itoa(n), err)
		}
	}
	if s, isStr := event.(string); isStr && strings.TrimSpace(s) == "" {
		return gateway.Event{}, ingest.Errorf(gateway.CodeBlankField, proto, 0, n, "event %d has a blank \"event\"", n)
	}
	// Member by member, in this order (the first error is the one
	// reported): a table of pointers into m moved m to the heap, an
	// allocation per event.
	var err error
	if m.Host, err = metaString(env.Host, m.Host, "host", n); err != nil {
		return gateway.Event{}, err
	}
	if m.Source, err = metaString(env.Source, m.Source, "source", n); err != nil {
		return gateway.Event{}, err
	}
	if m.Sourcetype, err = metaString(env.Sourcetype, m.Sourcetype, "sourcetype", n); err != nil {
		return gateway.Event{}, err
	}
	if m.Index, err = metaString(env.Index, m.Index, "index", n); err != nil {
		return gateway.Event{}, err
	}
	t, err := parseTime(env.Time)
	if err != nil {
		return gateway.Event{}, ingest.Wrap(gateway.CodeInvalid, proto, 0, n, "event "+strconv.Itoa(n)+": invalid \"time\"", err)
	}
	if err := checkIndexedFields(env.Fields); err != nil {
		return gateway.Event{}, ingest.Wrap(gateway.CodeInvalidField, proto, 0, n, "event "+strconv.Itoa(n)+": invalid \"fields\"", err)
	}
	if env.isKept {
		// Kept as decoded, with no "fields" to merge: the fields are the
		// encoding the decoder wrote, and there is no map.
		ev := env.kept.Event(m, bytes.TrimSpace(raw), t)
		ev.FieldsCanonical = ingest.WrittenIn(ev.Raw, env.eventCanon, env.eventWritten, env.eventAt)
		return ev, nil
	}
	var r normalize.Result
	switch e := event.(type) {
	case map[string]any:
		r = normalize.Object(e, m.Sourcetype)
	case string:
		var skip bool
		r, skip = stream.Line([]byte(e), m.Sourcetype)
		if skip {
			r = normalize.Result{Class: gateway.ClassOther, Fields: map[string]any{"message": e}}
		}
	default:
		// Arrays, numbers and booleans are accepted, as Splunk does, and
		// kept as they are.
		r = normalize.Result{Class: gateway.ClassOther, Fields: map[string]any{"message": e}}
	}
	if len(env.Fields) > 0 {
		if r.Fields == nil {
			r.Fields = make(map[string]any, len(env.Fields))
		}
		for k, v := range env.Fields {
			// Normalised names win: an indexed field cannot masquerade as
			// source.ip and change what detection sees.
			if _, taken := r.Fields[k]; !taken {
				r.Fields[k] = v
			}
		}
	}
	ev := r.Event(m, bytes.TrimSpace(raw), t)
	if obj, isObj := event.(map[string]any); isObj && len(env.Fields) == 0 {
		// A record kept as decoded (not recognised by normalize) has the
		// encoding the decoder wrote.
		ingest.KeepCanonical(&ev, obj, env.eventCanon)
	}
	return ev, nil
}

// metaString is an envelope's metadata member v (name) over the
// request's default def: def when v is absent, null or "", the error
// for event n when v is not a string.
func metaString(v any, def, name string, n int) (string, error) {
	if v == nil {
		return def, nil
	}
	s, ok := v.(string)
	if !ok {
		return def, ingest.Errorf(gateway.CodeInvalid, proto, 0, n, "event %d: %q must be a string", n, name)
	}
	return cmp.Or(s, def), nil
}

// decodeStrictValue decodes raw, one JSON value, with ingest.DecodeStrict
// (its own function so that only this slow path puts the value on the
// heap).
func decodeStrictValue(raw []byte) (any, error) {
	var v any
	err := ingest.DecodeStrict(raw, &v)
	return v, err
}

var errBadTime = errors.New("time must be epoch seconds as a number or numeric string")

// parseTime reads HEC's "time": epoch seconds with an optional fraction, as
// a JSON number or a string; absent or null means none.
func parseTime(v any) (time.Time, error) {
	var s string
	switch x := v.(type) {
	case nil:
		return time.Time{}, nil
	case json.Number:
		s = x.String()
	case string:
		s = strings.TrimSpace(x)
		if s == "" {
			return time.Time{}, nil
		}
	default:
		return time.Time{}, errBadTime
	}
	t, err := ingest.ParseEpoch(s)
	if err != nil {
		return time.Time{}, errBadTime
	}
	return t, nil
}

var errNested = errors.New("indexed field values must be strings, numbers, booleans or arrays of them")

func checkIndexedFields(f map[string]any) error {
	for _, v := range f {
		switch x := v.(type) {
		case string, json.Number, bool, nil:
		case []any:
			for _, e := range x {
				switch e.(type) {
				case string, json.Number, bool:
				default:
					return errNested
				}
			}
		default:
			return errNested
		}
	}
	return nil
}

// ParseRaw parses an /services/collector/raw body: each non-blank line is
// one event (Splunk's default line breaking), with the metadata of m (see
// MetaFromQuery). Lines are normalised as text (syslog auth lines, JSON
// objects, Zeek TSV after its header; Zeek header lines are consumed, not
// stored). A body with no non-blank line is code 5 (no data).
func ParseRaw(body []byte, m ingest.Meta, lim ingest.Limits) ([]gateway.Event, error) {
	lim = lim.WithDefaults()
	if err := lim.CheckBody(proto, len(body)); err != nil {
		return nil, err
	}
	stream := normalize.NewStream(m.Received)
	var events []gateway.Event
	n := 0 // non-blank lines so far: the position that makes the id
	err := ingest.Lines(proto, body, lim.MaxLineBytes, func(lineNo int, line []byte) error {
		if ingest.IsBlank(line) {
			return nil
		}
		pos := n
		n++
		if err := lim.CheckEvents(proto, len(events)+1, lineNo); err != nil {
			return err
		}
		r, skip := stream.Line(line, m.Sourcetype)
		if skip {
			return nil
		}
		ev := r.Event(m.At(pos), line, time.Time{})
		if err := valid(ev, lineNo, len(events)); err != nil {
			return err
		}
		events = append(events, ev)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return nil, ingest.Errorf(gateway.CodeNoData, proto, 0, -1, "no event in body")
	}
	return events, nil
}

// MetaFromQuery overlays the raw endpoint's query parameters (source,
// sourcetype, host, index) on base, as Splunk does for
// /services/collector/raw; the "channel" parameter is the caller's concern
// (see Channel).
func MetaFromQuery(q url.Values, base ingest.Meta) ingest.Meta {
	if v := q.Get("source"); v != "" {
		base.Source = v
	}
	if v := q.Get("sourcetype"); v != "" {
		base.Sourcetype = v
	}
	if v := q.Get("host"); v != "" {
		base.Host = v
	}
	if v := q.Get("index"); v != "" {
		base.Index = v
	}
	return base
}

// Channel returns the request's data channel: the X-Splunk-Request-Channel
// header value if set, else the "channel" query parameter. It returns an
// error response code when the channel is present but not a GUID (code 11),
// and CodeChannelMissing when absent and required (code 10); required is
// true when the token has acknowledgement enabled or the endpoint is raw.
func Channel(header string, q url.Values, required bool) (string, Code) {
	ch := header
	if ch == "" {
		ch = q.Get("channel")
	}
	if ch == "" {
		if required {
			return "", CodeChannelMissing
		}
		return "", CodeSuccess
	}
	if !validGUID(ch) {
		return "", CodeInvalidChannel
	}
	return ch, CodeSuccess
}

// validGUID accepts the 8-4-4-4-12 hex form Splunk requires of channels.
func validGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// ParseAck parses an /services/collector/ack body, {"acks":[0,1,...]}. A
// body without an "acks" array of non-negative integers is invalid data
// format.
func ParseAck(body []byte, lim ingest.Limits) (AckRequest, error) {
	lim = lim.WithDefaults()
	if err := lim.CheckBody(proto, len(body)); err != nil {
		return AckRequest{}, err
	}
	if ingest.IsBlank(body) {
		return AckRequest{}, ingest.Errorf(gateway.CodeNoData, proto, 0, -1, "empty body")
	}
	var raw struct {
		Acks *[]uint64 `json:"acks"`
	}
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(&raw); err != nil {
		return AckRequest{}, ingest.Wrap(gateway.CodeInvalid, proto, 0, -1, "ack request", err)
	}
	if _, err := d.Token(); err != io.EOF {
		return AckRequest{}, ingest.Errorf(gateway.CodeInvalid, proto, 0, -1, "trailing data after ack request")
	}
	if raw.Acks == nil {
		return AckRequest{}, ingest.Errorf(gateway.CodeInvalid, proto, 0, -1, "ack request has no \"acks\" array")
	}
	if len(*raw.Acks) > lim.MaxEvents {
		return AckRequest{}, ingest.Errorf(gateway.CodeTooLarge, proto, 0, -1, "more than %d ack ids", lim.MaxEvents)
	}
	return AckRequest{Acks: *raw.Acks}, nil
}
