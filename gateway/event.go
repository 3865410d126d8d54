// Package gateway holds the domain of the ledgerguard gateway: the one Event
// shape every ingest protocol is normalised into, and the interfaces the
// adapters (HTTP API, store, Merkle log, ledger client, scorer, responder)
// implement, the one vocabulary of failure kinds (Code, errors.go), the
// client credentials (Credential) and anchoring progress (Progress, owned
// by gateway/anchor). It imports no adapter; gateway/cmd wires them
// together.
package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Class is the coarse kind of an event (OCSF-style category) that detection
// models and policies select on.
type Class string

// The classes the normalisers assign. Anything not recognised is ClassOther.
const (
	ClassFlow    Class = "flow"
	ClassDNS     Class = "dns"
	ClassAuth    Class = "auth"
	ClassProcess Class = "process"
	ClassAlert   Class = "alert"
	ClassOther   Class = "other"
)

// Event is one normalised telemetry record. Its canonical bytes (Canonical)
// are the Merkle leaf, so every field that is part of the evidence is here
// and nothing that changes after acknowledgement is.
//
// ID is derived from the content and its occurrence (see EventID): the same
// bytes sent twice as two occurrences are two events, while a client's retry
// of one occurrence (same occurrence key, same bytes, same source) yields
// the same id, which the store answers with the stored copy. Seq is the
// position in the gateway's append-only log and is assigned by the store.
type Event struct {
	ID         string            `json:"id"`
	Seq        uint64            `json:"seq"`
	Received   time.Time         `json:"received"`
	Time       time.Time         `json:"time"`
	Source     string            `json:"source"`
	Sourcetype string            `json:"sourcetype"`
	Host       string            `json:"host,omitempty"`
	Index      string            `json:"index,omitempty"`
	Class      Class             `json:"class"`
	Fields     map[string]any    `json:"fields,omitempty"`
	Raw        []byte            `json:"raw"`
	Labels     map[string]string `json:"labels,omitempty"`

	// FieldsCanonical, when not nil, is the canonical encoding of the
	// event's fields (the JSON object Canonical writes after "fields":,
	// "{}" for none), written by the decoder straight from the client's
	// bytes (ingest.Decoder), so that Validate and Canonical need not walk
	// and sort Fields again: a third of the ingest handler's CPU went
	// there. Either Fields holds the same fields, decoded (only what a
	// JSON decoder returns with UseNumber: strings of valid UTF-8,
	// json.Number, bool, nil, map[string]any, []any), or Fields is nil:
	// ingest's map-free path builds no map for a record normalize keeps
	// as decoded, since nothing between ingest and the store reads one
	// (the store writes these bytes; readers of stored events decode
	// them). Canonical and Validate read these bytes, not Fields, when
	// they are set. They are in no encoding of the Event, and whoever
	// changes Fields after they were set must set them to nil (Canonical
	// would otherwise write the old fields; with Fields nil, decode them
	// into Fields first).
	FieldsCanonical []byte `json:"-"`
}

// FieldValues returns the event's fields as decoded values: Fields, or,
// when Fields is nil and FieldsCanonical is set (ingest's map-free path),
// FieldsCanonical decoded as ingest decodes a record (encoding/json with
// UseNumber), which is also what a reader of the stored event gets. It
// is for the rare reader of a not yet stored event that needs the values
// (and for Canonical's encoding/json fallback). The error is for bytes
// that do not decode as JSON; ingest only sets bytes of one JSON object,
// so nothing after the first value is read and "null" gives nil.
func (e Event) FieldValues() (map[string]any, error) {
	if e.Fields != nil || e.FieldsCanonical == nil {
		return e.Fields, nil
	}
	d := json.NewDecoder(bytes.NewReader(e.FieldsCanonical))
	d.UseNumber()
	var f map[string]any
	if err := d.Decode(&f); err != nil {
		return nil, fmt.Errorf("event %s: fields: %w", e.ID, err)
	}
	return f, nil
}

// ComputeID returns the content-only event id: lowercase hex SHA-256 over
// the source, sourcetype and original bytes, length-prefixed so no two
// different inputs collide by concatenation. It is EventID with no
// occurrence key, what the store gives an event appended without an id.
func ComputeID(source, sourcetype string, raw []byte) string {
	return EventID(source, sourcetype, raw, "")
}

// EventID returns the event id of one occurrence of raw: lowercase hex
// SHA-256 over the length-prefixed source, sourcetype, raw bytes and, when
// occurrence is not empty, the occurrence key. The occurrence key says
// which sending this is (an Elasticsearch _id, an Idempotency-Key plus the
// position in the request, a per-request nonce plus the position, a syslog
// connection plus message number; see gateway/ingest), so identical lines
// sent as distinct occurrences get distinct ids while a retry of the same
// occurrence gets the same id. With an empty occurrence it equals the
// content-only id of earlier releases (ComputeID).
func EventID(source, sourcetype string, raw []byte, occurrence string) string {
	// The parts are hashed in one piece from a pooled buffer: a streaming
	// hash.Hash, the parts' conversions to []byte and the hex string cost
	// five allocations per event on the ingest path, the copy of raw
	// (about a kilobyte) a fraction of that. The bytes hashed are the
	// same (TestEventIDGolden). A raw too large for the pool is hashed
	// in parts instead, so it is never copied.
	if len(raw) > maxPooledID/2 {
		return eventIDStreaming(source, sourcetype, raw, occurrence)
	}
	buf := idBufs.Get().(*[]byte)
	b := appendIDPart((*buf)[:0], source)
	b = appendIDPart(b, sourcetype)
	b = appendIDPart(b, raw)
	if occurrence != "" {
		b = appendIDPart(b, occurrence)
	}
	sum := sha256.Sum256(b)
	if cap(b) <= maxPooledID {
		*buf = b
		idBufs.Put(buf)
	}
	return idHex(&sum)
}

// idHex is hex.EncodeToString(sum[:]): two characters per byte with one
// table lookup and one 2-byte store, where encoding/hex looks each
// nibble up with a bounds check (a third of EventID's instructions
// outside the hash itself). TestIDHex compares the two.
func idHex(sum *[sha256.Size]byte) string {
	var out [2 * sha256.Size]byte
	for i, b := range sum {
		binary.LittleEndian.PutUint16(out[2*i:], hexPairs[b])
	}
	return string(out[:])
}

// hexPairs maps a byte to its two lowercase hex digits, the first in the
// low byte (so a little-endian store writes it first).
var hexPairs = func() (t [256]uint16) {
	const digits = "0123456789abcdef"
	for i := range t {
		t[i] = uint16(digits[i>>4]) | uint16(digits[i&15])<<8
	}
	return t
}()

// eventIDStreaming is EventID for a large raw: the same bytes hashed in
// parts, with no copy of raw.
func eventIDStreaming(source, sourcetype string, raw []byte, occurrence string) string {
	h := sha256.New()
	var n [8]byte
	write := func(part []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	write([]byte(source))
	write([]byte(sourcetype))
	write(raw)
	if occurrence != "" {
		write([]byte(occurrence))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// appendIDPart appends part with its length as 8 bytes big-endian.
func appendIDPart[P string | []byte](b []byte, part P) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(len(part)))
	return append(b, part...)
}

// idBufs holds EventID's scratch buffers; maxPooledID is the largest kept.
var idBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooledID = 256 << 10

// Canonical returns the event's canonical JSON encoding: struct fields in
// declaration order, map keys sorted (encoding/json guarantees both), times
// in RFC 3339 with nanoseconds in UTC. The same Event always yields the same
// bytes, which is what makes it usable as a Merkle leaf. It fails only for
// an event Validate refuses.
//
// It is encoding/json.Marshal's output, written by a direct encoder for
// the value shapes ingest produces (see canonical.go: about 4 times
// faster); anything else is marshalled by encoding/json.
func (e Event) Canonical() ([]byte, error) {
	e.Received = e.Received.UTC()
	e.Time = e.Time.UTC()
	if n, ok := canonicalSize(&e); ok {
		// The ingest shape: encoded straight into its own exactly sized
		// slice, with no scratch buffer to copy out of.
		b, ok := appendCanonical(make([]byte, 0, n), &e, true)
		if ok {
			return b, nil
		}
	}
	if out, ok := canonicalPooled(&e); ok {
		return out, nil
	}
	if e.Fields == nil && e.FieldsCanonical != nil {
		// json.Marshal does not write FieldsCanonical: give it the
		// fields decoded, or it would encode the event without them.
		f, err := e.FieldValues()
		if err != nil {
			return nil, fmt.Errorf("canonical event %s: %w", e.ID, err)
		}
		e.Fields, e.FieldsCanonical = f, nil
	}
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("canonical event %s: %w", e.ID, err)
	}
	return b, nil
}

// canonicalPooled is appendCanonical through a pooled scratch buffer,
// the result copied out at its exact size (the leaf is held until its
// fsync): for the shapes canonicalSize does not size.
func canonicalPooled(e *Event) ([]byte, bool) {
	buf := canonicalBufs.Get().(*[]byte)
	b, ok := appendCanonical((*buf)[:0], e, false)
	out := slices.Clone(b)
	if cap(b) <= maxPooledCanonical {
		*buf = b
		canonicalBufs.Put(buf)
	}
	return out, ok
}

// InvalidValueError reports a value an Event carries that has no canonical
// encoding; Field names it ("time", "received", or the path of a field
// such as "fields.duration" or "fields.tags[2]").
type InvalidValueError struct {
	Field string
	Err   error
}

func (e *InvalidValueError) Error() string { return e.Field + ": " + e.Err.Error() }

func (e *InvalidValueError) Unwrap() error { return e.Err }

// ErrorCode is CodeInvalidField: the value came from the client.
func (e *InvalidValueError) ErrorCode() Code { return CodeInvalidField }

// The causes of an InvalidValueError.
var (
	// ErrTimeRange: a time whose UTC year is outside 0000–9999, which RFC
	// 3339 (and so the canonical encoding) cannot write. An offset can push
	// a time written inside the range out of it: 0000-01-01T00:00:00+00:01
	// is in year -1 in UTC.
	ErrTimeRange = errors.New("time outside the RFC 3339 range 0000-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z")
	// ErrNonFinite: NaN or an infinity, which JSON cannot write. Ingest
	// converts such numbers to strings before building an event (see
	// gateway/ingest), so this is only met by events built elsewhere.
	ErrNonFinite = errors.New("non-finite number (NaN or infinity)")
	// ErrUnsupportedValue: a value of a type with no JSON encoding.
	ErrUnsupportedValue = errors.New("value has no JSON encoding")
)

// Validate reports the first value of e that has no canonical encoding
// (*InvalidValueError), nil when Canonical cannot fail. Ingest validates
// every event when it is built, so one bad record is refused as that
// record's error and never reaches the store. It walks the value types
// decoders produce (strings, numbers, booleans, nil, maps, slices,
// json.Number, time.Time) without encoding them; any other type is checked
// by encoding it. With FieldsCanonical set, Fields is not walked (Canonical
// writes FieldsCanonical instead).
func (e Event) Validate() error {
	if !timeOK(e.Time) {
		return &InvalidValueError{Field: "time", Err: ErrTimeRange}
	}
	if !timeOK(e.Received) {
		return &InvalidValueError{Field: "received", Err: ErrTimeRange}
	}
	if e.FieldsCanonical != nil {
		return nil // Canonical writes these bytes: Fields cannot make it fail
	}
	for k, v := range e.Fields {
		if err := checkValue(v, 0); err != nil {
			err.Field = "fields." + k + err.Field
			return err
		}
	}
	return nil
}

func timeOK(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 0 && y <= 9999
}

// maxDepth bounds the walk; encoding/json itself fails deeper than this.
const maxDepth = 10000

// checkValue returns nil or the error for v with Field the path below v
// ("", ".a", "[2].b"): callers prefix their own part on the way back, so
// the path is spelt out only for an error (building it for every field of
// every event cost about 5 % of ingest).
func checkValue(v any, depth int) *InvalidValueError {
	if depth > maxDepth {
		return &InvalidValueError{Field: "", Err: ErrUnsupportedValue}
	}
	switch x := v.(type) {
	case nil, string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, map[string]string, []string:
		return nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return &InvalidValueError{Field: "", Err: ErrNonFinite}
		}
		return nil
	case float32:
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return &InvalidValueError{Field: "", Err: ErrNonFinite}
		}
		return nil
	case json.Number:
		if !ValidNumber(string(x)) {
			return &InvalidValueError{Field: "", Err: ErrUnsupportedValue}
		}
		return nil
	case time.Time:
		if !timeOK(x) {
			return &InvalidValueError{Field: "", Err: ErrTimeRange}
		}
		return nil
	case map[string]any:
		for k, e := range x {
			if err := checkValue(e, depth+1); err != nil {
				err.Field = "." + k + err.Field
				return err
			}
		}
		return nil
	case []any:
		for i, e := range x {
			if err := checkValue(e, depth+1); err != nil {
				err.Field = "[" + strconv.Itoa(i) + "]" + err.Field
				return err
			}
		}
		return nil
	}
	// Anything else (a caller's own type): trust only the encoder.
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
		return nil
	}
	if _, err := json.Marshal(v); err != nil {
		return &InvalidValueError{Field: "", Err: fmt.Errorf("%w: %v", ErrUnsupportedValue, err)}
	}
	return nil
}

// ValidNumber reports whether s is a JSON number literal (RFC 8259), the test
// encoding/json applies to a json.Number before writing it.
func ValidNumber(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '-' {
		s = s[1:]
		if s == "" {
			return false
		}
	}
	switch {
	case s[0] == '0':
		s = s[1:]
	case '1' <= s[0] && s[0] <= '9':
		s = s[1:]
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	default:
		return false
	}
	if len(s) >= 2 && s[0] == '.' && '0' <= s[1] && s[1] <= '9' {
		s = s[2:]
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	}
	if len(s) >= 2 && (s[0] == 'e' || s[0] == 'E') {
		s = s[1:]
		if s[0] == '+' || s[0] == '-' {
			s = s[1:]
			if s == "" {
				return false
			}
		}
		for len(s) > 0 && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	}
	return s == ""
}
