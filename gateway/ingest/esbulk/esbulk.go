// Package esbulk parses Elasticsearch _bulk requests into gateway events and
// shapes the answers Elasticsearch clients expect, so Beats, Logstash,
// Fluent Bit, Vector and the official clients can ship to the gateway as if
// it were an Elasticsearch 8 cluster.
//
// A _bulk body is NDJSON: an action line ({"index":{...}}, {"create":{...}},
// {"delete":{...}}, {"update":{...}}) followed, except for delete, by a
// source line. Guarantees, following Elasticsearch's own behaviour:
//   - a malformed action line, or an action line with no source line after
//     it, fails the whole request (gateway.CodeInvalid, with the line number);
//   - index and create items become events; delete and update items, and
//     source lines that are not JSON objects, get a per-item error (status
//     400) in Items and do not fail the request;
//   - Items has one entry per action, in request order, so the response's
//     items[] lines up with what the client sent;
//   - a document whose values cannot be stored (a time outside the years
//     0000–9999 in UTC, such as "@timestamp":"9999-12-31T23:59:59-00:01")
//     gets a per-item 400 document_parsing_exception; the other items are
//     stored;
//   - event ids (see package ingest): an item with an _id is one occurrence
//     per (index, _id), so a retried request stores it once, as
//     Elasticsearch's own idempotency contract promises; an item without
//     one is the occurrence Meta.Key plus its position among the request's
//     items (an Idempotency-Key header makes retries idempotent, a
//     per-request nonce makes identical documents distinct). An item
//     without an explicit _id answers with the event ID as its _id.
package esbulk

import (
	"encoding/json"
	"strconv"
	"sync"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/normalize"
)

const proto = "esbulk"

// Item is the outcome of one bulk action, in request order.
type Item struct {
	// Action is "index", "create", "delete", "update" or what the client
	// sent.
	Action string
	// Index is the target index (from the action, else the path's default).
	Index string
	// ID is the document id: the action's _id, else the event ID.
	ID string
	// Event is the position of this item's event in Result.Events, -1 when
	// the item failed.
	Event int
	// Status is the HTTP status of the item: 201 for accepted, 4xx when
	// Error is set.
	Status int
	// Error is set when the item was refused.
	Error *ItemError
}

// ItemError is Elasticsearch's per-item error object.
type ItemError struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// Result is what Parse returns: the events to store and the per-item
// outcomes to answer with.
type Result struct {
	Events []gateway.Event
	Items  []Item
}

// Errors reports whether any item failed (the response's "errors" flag).
func (r Result) Errors() bool {
	for _, it := range r.Items {
		if it.Error != nil {
			return true
		}
	}
	return false
}

type actionMeta struct {
	Index *string `json:"_index"`
	ID    *string `json:"_id"`
}

// Parse parses a _bulk body. defaultIndex is the index named in the path
// (/{index}/_bulk), empty for /_bulk. m supplies the defaults and receive
// time; m.Index is overridden per item by the item's index.
func Parse(body []byte, defaultIndex string, m ingest.Meta, lim ingest.Limits) (Result, error) {
	dec := decoders.Get().(*ingest.Decoder)
	defer decoders.Put(dec)
	return parse(body, defaultIndex, m, lim, dec)
}

// decoders keeps the fast decoders' scratch space between requests.
var decoders = sync.Pool{New: func() any { return new(ingest.Decoder) }}

// parse is Parse with dec as the fast decoder of source lines; nil
// decodes them with ingest.DecodeObject alone (the path FuzzFastParse and
// BenchmarkSourcePath compare the fast one with).
func parse(body []byte, defaultIndex string, m ingest.Meta, lim ingest.Limits, dec *ingest.Decoder) (Result, error) {
	lim = lim.WithDefaults()
	if err := lim.CheckBody(proto, len(body)); err != nil {
		return Result{}, err
	}
	var res Result
	stream := normalize.NewStream(m.Received)
	var pending *Item // action waiting for its source line
	pendingLine := 0
	err := ingest.Lines(proto, body, lim.MaxLineBytes, func(lineNo int, line []byte) error {
		if ingest.IsBlank(line) {
			return nil
		}
		if pending != nil {
			it := *pending
			pending = nil
			res.Items = append(res.Items, source(&res, it, line, lineNo, m.At(len(res.Items)), stream, dec))
			return nil
		}
		if err := lim.CheckEvents(proto, len(res.Items)+1, lineNo); err != nil {
			return err
		}
		it, needsSource, err := action(line, lineNo, len(res.Items), defaultIndex, dec)
		if err != nil {
			return err
		}
		if needsSource {
			pending, pendingLine = &it, lineNo
			return nil
		}
		res.Items = append(res.Items, it)
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	if pending != nil {
		return Result{}, ingest.Errorf(gateway.CodeInvalid, proto, pendingLine, len(res.Items), "%s action has no source line after it", pending.Action)
	}
	if len(res.Items) == 0 {
		return Result{}, ingest.Errorf(gateway.CodeNoData, proto, 0, -1, "Validation Failed: 1: no requests added")
	}
	return res, nil
}

// actionNames are actionMeta's json names, in the order of its fields.
var actionNames = []string{"_index", "_id"}

// fastAction decodes an action line with the fast decoder into its one
// action and metadata; ok false leaves the line to encoding/json (which
// also words every refusal).
func fastAction(dec *ingest.Decoder, line []byte) (name string, am actionMeta, ok bool) {
	members, ok := dec.Members(line)
	if !ok || len(members) != 1 {
		return "", actionMeta{}, false
	}
	meta, isObj := members[0].Value.(map[string]any)
	if !isObj {
		return "", actionMeta{}, false
	}
	for k, v := range meta {
		i, sure := ingest.MemberIndex(k, actionNames)
		if !sure {
			return "", actionMeta{}, false
		}
		if i < 0 {
			continue
		}
		dst := [...]**string{&am.Index, &am.ID}[i]
		switch x := v.(type) {
		case nil:
		case string:
			*dst = &x
		default:
			return "", actionMeta{}, false
		}
	}
	return members[0].Key, am, true
}

// action parses one action line (dec: the fast decoder, or nil).
func action(line []byte, lineNo, n int, defaultIndex string, dec *ingest.Decoder) (Item, bool, error) {
	var it Item
	var am actionMeta
	ok := false
	if dec != nil {
		it.Action, am, ok = fastAction(dec, line)
	}
	if !ok {
		var a map[string]json.RawMessage
		if err := ingest.DecodeStrict(line, &a); err != nil || a == nil {
			return Item{}, false, ingest.Wrap(gateway.CodeInvalid, proto, lineNo, n, "action line is not a JSON object", err)
		}
		if len(a) != 1 {
			return Item{}, false, ingest.Errorf(gateway.CodeInvalid, proto, lineNo, n, "action line must have exactly one action, has %d", len(a))
		}
		var meta json.RawMessage
		for k, v := range a {
			it.Action, meta = k, v
		}
		am = actionMeta{}
		if err := json.Unmarshal(meta, &am); err != nil || string(meta) == "null" {
			return Item{}, false, ingest.Wrap(gateway.CodeInvalid, proto, lineNo, n, "action "+strconv.Quote(it.Action)+" has malformed metadata", err)
		}
	}
	it.Index = defaultIndex
	if am.Index != nil && *am.Index != "" {
		it.Index = *am.Index
	}
	if am.ID != nil {
		it.ID = *am.ID
	}
	it.Event = -1
	switch it.Action {
	case "index", "create":
		return it, true, nil
	case "update":
		it.Status = 400
		it.Error = &ItemError{Type: "action_request_validation_exception", Reason: "update is not supported: the gateway is append-only"}
		return it, true, nil
	case "delete":
		it.Status = 400
		it.Error = &ItemError{Type: "action_request_validation_exception", Reason: "delete is not supported: the gateway is append-only"}
		return it, false, nil
	default:
		return Item{}, false, ingest.Errorf(gateway.CodeInvalid, proto, lineNo, n, "unknown action %q, expected one of index, create, delete, update", it.Action)
	}
}

// stopAtMaps stops the map-free decode of a document at a member name
// normalize may recognise its shape by: it needs its map.
func stopAtMaps(key []byte, record bool) bool {
	return record && normalize.MayRecognise(key)
}

// source completes an item with its source line.
func source(res *Result, it Item, line []byte, lineNo int, m ingest.Meta, stream *normalize.Stream, dec *ingest.Decoder) Item {
	if it.Error != nil {
		// update: its source line is consumed but not used.
		return it
	}
	if it.Index == "" {
		it.Status = 400
		it.Error = &ItemError{Type: "action_request_validation_exception", Reason: "index is missing"}
		return it
	}
	// The fast decoder first (it also writes the document's canonical
	// encoding); what it does not take, DecodeObject decodes or refuses.
	// A document normalize keeps as decoded is not decoded into a map at
	// all (the decoder's map-free mode, which gives up as soon as it meets
	// a member name normalize may recognise a shape by): its fields are
	// the canonical encoding the decoder wrote.
	var obj map[string]any
	var canon []byte
	var kept normalize.Result
	isKept, ok := false, false
	if dec != nil {
		var fields ingest.Fields
		if fields, canon, ok = dec.ObjectShallow(line, stopAtMaps); ok {
			kept, isKept = normalize.Shallow(fields, dec.Value)
		}
		if ok = isKept; !ok {
			obj, canon, ok = dec.Object(line)
		}
	}
	if !ok {
		var err error
		if obj, err = ingest.DecodeObject(line); err != nil {
			it.Status = 400
			it.Error = &ItemError{Type: "document_parsing_exception", Reason: "failed to parse: " + err.Error()}
			return it
		}
	}
	m.Index = it.Index
	if it.ID != "" {
		m = m.WithOccurrence("_id:" + strconv.Itoa(len(it.Index)) + ":" + it.Index + "/" + it.ID)
	}
	var ev gateway.Event
	if isKept {
		ev = kept.Event(m, line, zeroTime)
		ev.FieldsCanonical = canon
	} else {
		ev = normalize.Object(obj, m.Sourcetype).Event(m, line, zeroTime)
		ingest.KeepCanonical(&ev, obj, canon) // when kept as decoded
	}
	if ie := ingest.Validate(proto, lineNo, len(res.Items), ev); ie != nil {
		it.Status = 400
		reason := "failed to parse: " + ie.Msg
		if ie.Err != nil {
			reason += ": " + ie.Err.Error()
		}
		it.Error = &ItemError{Type: "document_parsing_exception", Reason: reason}
		return it
	}
	if it.ID == "" {
		it.ID = ev.ID
	}
	it.Event = len(res.Events)
	it.Status = 201
	res.Events = append(res.Events, ev)
	return it
}
