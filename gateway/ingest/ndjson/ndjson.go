// Package ndjson parses the gateway's native ingest API, POST /v1/events:
// newline-delimited JSON, one envelope per line,
//
//	{"time": ..., "source": "...", "sourcetype": "...", "host": "...",
//	 "index": "...", "event": <string or object>, "fields": {...}}
//
// "event" is the record (a line of text or a JSON object), "fields" extra
// structured data; at least one of them is required. "time" is an RFC 3339
// string or epoch seconds (number or numeric string, with fraction). The
// metadata members are optional strings that override the request defaults.
//
// Guarantees: a line that is not one JSON object (broken framing) and a
// limit exceeded refuse the whole request with an *ingest.Error whose Line
// names the 1-based line at fault. A line that is a well-formed envelope but
// cannot become an event (no "event" nor "fields", a blank or wrongly typed
// "event", an unreadable "time", a value without a canonical encoding such
// as a time outside the years 0000–9999 in UTC) is refused alone: it is
// listed in Result.Errors with its line and the other lines are accepted;
// when no line is accepted the first line error refuses the request. Blank
// lines are ignored; each event's Raw is its line without the terminator.
//
// Event ids: each event's occurrence is Meta.Key plus its 0-based position
// among the non-blank lines (ingest.Meta.At), so with the same
// Idempotency-Key the same body maps to the same ids (see package ingest).
package ndjson

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/normalize"
)

const proto = "ndjson"

// envelope is one NDJSON line. Its metadata members are strings, not
// *string: absent, null and "" all leave the request's default in place
// (lineEvent), so on the fast path, which takes no repeated member, a
// pointer (an allocation per member per line) told nothing apart; the
// strict path decodes into strictEnvelope, where a repeat ending in null
// does.
type envelope struct {
	Time       json.RawMessage `json:"time"`
	Source     string          `json:"source"`
	Sourcetype string          `json:"sourcetype"`
	Host       string          `json:"host"`
	Index      string          `json:"index"`
	Event      any             `json:"event"`
	Fields     map[string]any  `json:"fields"`

	// The canonical encodings of Event (when an object) and Fields, as
	// the fast decoder wrote them; nil when it did not decode the line.
	eventCanon, fieldsCanon []byte

	// isKept: the map-free decode took the line (see fastEnvelope); Event
	// is nil, kept is normalize's result for it (no Fields) and
	// eventCanon its fields, in the line when eventWritten (at eventAt:
	// see ingest.WrittenIn).
	isKept       bool
	kept         normalize.Result
	eventWritten bool
	eventAt      int
}

// envelopeNames are the envelope's member names, in the order of the
// envelope's fields.
var envelopeNames = [...]string{"time", "source", "sourcetype", "host", "index", "event", "fields"}

// fastEnvelope decodes line into env with the fast decoder and reports
// whether it did; false leaves env to ingest.DecodeStrict, which decodes
// whatever the fast path is unsure of (a member name matching one of the
// envelope's only case-insensitively, as encoding/json matches them, a
// repeated member, a metadata member that is not a string, ...) and
// produces encoding/json's error for what is malformed.
// FuzzFastParse checks both paths give the same events and errors.
//
// It tries the decoder's map-free mode first: an envelope whose "event"
// is an object normalize keeps as decoded, with no "fields" to merge into
// it, becomes an event with no map at all (its fields are the canonical
// encoding the decoder wrote, see gateway.Event.FieldsCanonical); the
// decoder gives up on any other line as soon as it meets "fields" or a
// member name normalize may recognise a shape by, and the line is
// decoded again with maps. FuzzFastParse checks the events are the same.
func fastEnvelope(dec *ingest.Decoder, line []byte, env *envelope) bool {
	if members, ok := dec.MembersShallow(line, stopAtMaps); ok && fillEnvelope(dec, members, env) {
		return true
	}
	*env = envelope{}
	members, ok := dec.Members(line)
	return ok && fillEnvelope(dec, members, env)
}

// stopAtMaps stops the map-free decode where the line needs its maps:
// at an envelope's "fields" (merged into the record, or the record
// itself) and at a member of the record normalize may recognise it by.
func stopAtMaps(key []byte, record bool) bool {
	if record {
		return normalize.MayRecognise(key)
	}
	return string(key) == "fields"
}

// fillEnvelope sets env from the members of an envelope line; false
// leaves the line to DecodeStrict (or, after the map-free decode, to the
// decode with maps).
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
			return false // not a record: decoded with maps (and refused)
		}
		switch k {
		case 0:
			env.Time = json.RawMessage(mem.Raw)
		case 1, 2, 3, 4:
			dst := [...]*string{&env.Source, &env.Sourcetype, &env.Host, &env.Index}[k-1]
			switch v := mem.Value.(type) {
			case nil:
			case string:
				*dst = v
			default:
				return false
			}
		case 5:
			if mem.Shallow {
				r, kept := normalize.Shallow(mem.Fields, dec.Value)
				if !kept {
					return false
				}
				env.isKept, env.kept = true, r
			}
			env.Event = mem.Value
			env.eventCanon, env.eventWritten, env.eventAt = mem.Canonical, mem.Written, mem.RawAt
		case 6:
			switch v := mem.Value.(type) {
			case nil:
			case map[string]any:
				env.Fields, env.fieldsCanon = v, mem.Canonical
			default:
				return false
			}
		}
	}
	return true
}

// Result is a parsed body: the events to store, in line order, and the
// lines refused one by one.
type Result struct {
	Events []gateway.Event
	// Errors lists the refused lines in order, each an *ingest.Error with
	// its Line and Event (0-based position among the non-blank lines).
	Errors []*ingest.Error
}

// Parse parses a /v1/events body. m supplies the defaults, the receive
// time and the occurrence key; lim bounds body size, line length and event
// count. err is set, and Result empty, when the request is refused whole.
func Parse(body []byte, m ingest.Meta, lim ingest.Limits) (Result, error) {
	dec := decoders.Get().(*ingest.Decoder)
	defer decoders.Put(dec)
	return parse(body, m, lim, dec)
}

// parse is Parse with dec as the fast decoder; nil decodes every line
// with ingest.DecodeStrict alone (the path the fuzz tests and benchmarks
// compare the fast one with).
func parse(body []byte, m ingest.Meta, lim ingest.Limits, dec *ingest.Decoder) (Result, error) {
	lim = lim.WithDefaults()
	if err := lim.CheckBody(proto, len(body)); err != nil {
		return Result{}, err
	}
	stream := normalize.NewStream(m.Received)
	// One event per line at most: sized up front, the events slice is
	// not grown (and copied) ten times over for a 1,000-line body.
	res := Result{Events: make([]gateway.Event, 0, min(bytes.Count(body, []byte{'\n'})+1, lim.MaxEvents))}
	var env envelope // reused line after line (decodeLine resets it)
	n := 0
	err := ingest.Lines(proto, body, lim.MaxLineBytes, func(lineNo int, line []byte) error {
		if ingest.IsBlank(line) {
			return nil
		}
		if err := lim.CheckEvents(proto, n+1, lineNo); err != nil {
			return err
		}
		if err := decodeLine(dec, line, lineNo, n, &env); err != nil {
			return err
		}
		ev, ie := lineEvent(&env, line, lineNo, n, m.At(n), stream)
		if ie == nil {
			ie = ingest.Validate(proto, lineNo, n, ev)
		}
		if ie != nil {
			res.Errors = append(res.Errors, ie)
		} else {
			res.Events = append(res.Events, ev)
		}
		n++
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	if len(res.Events) == 0 {
		if len(res.Errors) > 0 {
			return Result{}, res.Errors[0]
		}
		return Result{}, ingest.Errorf(gateway.CodeNoData, proto, 0, -1, "no event in body")
	}
	return res, nil
}

// decoders keeps the fast decoders' scratch space between requests.
var decoders = sync.Pool{New: func() any { return new(ingest.Decoder) }}

// decodeLine decodes one line as an envelope; failing that, the framing is
// broken and the request is refused whole. The line goes through the fast
// decoder first (fastEnvelope); what it does not take is decoded by
// ingest.DecodeStrict, as all lines were before. It overwrites all of
// *env, so the caller reuses one envelope for every line.
func decodeLine(dec *ingest.Decoder, line []byte, lineNo, n int, env *envelope) error {
	*env = envelope{}
	if t := bytes.TrimSpace(line); len(t) == 0 || t[0] != '{' {
		return ingest.Errorf(gateway.CodeInvalid, proto, lineNo, n, "line is not a JSON object")
	}
	if dec != nil && fastEnvelope(dec, line, env) {
		return nil
	}
	var se strictEnvelope
	if err := ingest.DecodeStrict(line, &se); err != nil {
		return ingest.Wrap(gateway.CodeInvalid, proto, lineNo, n, "not one JSON envelope object", err)
	}
	*env = envelope{Time: se.Time, Source: deref(se.Source), Sourcetype: deref(se.Sourcetype), Host: deref(se.Host), Index: deref(se.Index), Event: se.Event, Fields: se.Fields}
	return nil
}

// strictEnvelope is the envelope as DecodeStrict decodes it, with its
// metadata as *string: a member repeated with null last
// ({"source":"a","source":null}) sets a pointer back to nil, the request's
// default, where it would leave a string as it was. The fast path never
// takes a repeated member, so only this one needs them.
type strictEnvelope struct {
	Time       json.RawMessage `json:"time"`
	Source     *string         `json:"source"`
	Sourcetype *string         `json:"sourcetype"`
	Host       *string         `json:"host"`
	Index      *string         `json:"index"`
	Event      any             `json:"event"`
	Fields     map[string]any  `json:"fields"`
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// lineEvent builds the event of a decoded envelope, or the line's own error.
func lineEvent(env *envelope, line []byte, lineNo, n int, m ingest.Meta, stream *normalize.Stream) (gateway.Event, *ingest.Error) {
	if env.Event == nil && env.Fields == nil && !env.isKept {
		return gateway.Event{}, ingest.Errorf(gateway.CodeMissingField, proto, lineNo, n, "neither \"event\" nor \"fields\" is present")
	}
	if s, ok := env.Event.(string); ok && strings.TrimSpace(s) == "" {
		return gateway.Event{}, ingest.Errorf(gateway.CodeBlankField, proto, lineNo, n, "\"event\" is blank")
	}
	// Field by field: a table of pointers into m (as this was) moved m
	// to the heap, an allocation per line.
	m.Source = cmp.Or(env.Source, m.Source)
	m.Sourcetype = cmp.Or(env.Sourcetype, m.Sourcetype)
	m.Host = cmp.Or(env.Host, m.Host)
	m.Index = cmp.Or(env.Index, m.Index)
	t, err := ParseTime(env.Time)
	if err != nil {
		return gateway.Event{}, ingest.Wrap(gateway.CodeInvalid, proto, lineNo, n, "invalid \"time\"", err)
	}
	if env.isKept {
		// Kept as decoded, with nothing to merge: the fields are the
		// encoding the decoder wrote, and there is no map.
		ev := env.kept.Event(m, line, t)
		ev.FieldsCanonical = ingest.WrittenIn(ev.Raw, env.eventCanon, env.eventWritten, env.eventAt)
		return ev, nil
	}
	var r normalize.Result
	var canon []byte // the canonical encoding of the decoded object r.Fields may be
	var obj map[string]any
	switch e := env.Event.(type) {
	case nil:
		r = normalize.Object(env.Fields, m.Sourcetype)
		obj, canon = env.Fields, env.fieldsCanon
		env.Fields = nil
	case map[string]any:
		r = normalize.Object(e, m.Sourcetype)
		obj, canon = e, env.eventCanon
	case string:
		var skip bool
		if r, skip = stream.Line([]byte(e), m.Sourcetype); skip {
			r = normalize.Result{Class: gateway.ClassOther, Fields: map[string]any{"message": e}}
		}
	default:
		return gateway.Event{}, ingest.Errorf(gateway.CodeInvalidField, proto, lineNo, n, "\"event\" must be a string or an object")
	}
	if len(env.Fields) > 0 {
		if r.Fields == nil {
			r.Fields = make(map[string]any, len(env.Fields))
		}
		for k, v := range env.Fields {
			if _, taken := r.Fields[k]; !taken {
				r.Fields[k] = v
			}
		}
	}
	ev := r.Event(m, line, t)
	if len(env.Fields) == 0 {
		// A record kept as decoded (not recognised by normalize) has the
		// encoding the decoder wrote.
		ingest.KeepCanonical(&ev, obj, canon)
	}
	return ev, nil
}

var errTime = errors.New("time must be RFC 3339 or epoch seconds")

// ParseTime reads a "time" member: absent/null (zero time), an RFC 3339
// string, or epoch seconds as a number or numeric string with an optional
// fraction (kept exact to the nanosecond).
func ParseTime(raw json.RawMessage) (time.Time, error) {
	s := string(bytes.TrimSpace(raw))
	if s == "" || s == "null" {
		return time.Time{}, nil
	}
	if s[0] == '"' {
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			return time.Time{}, errTime
		}
		if t, err := time.Parse(time.RFC3339Nano, str); err == nil {
			return t.UTC(), nil
		}
		s = strings.TrimSpace(str)
	}
	t, err := ingest.ParseEpoch(s)
	if err != nil {
		return time.Time{}, errTime
	}
	return t, nil
}
