// Package otlp parses OTLP/HTTP log exports (POST /v1/logs) into gateway
// events and shapes the answers, so any OpenTelemetry SDK or Collector can
// export logs to the gateway.
//
// Both encodings of the OTLP/HTTP specification are accepted:
// application/x-protobuf (the ExportLogsServiceRequest message) and
// application/json (the OTLP JSON mapping: lowerCamelCase or snake_case
// names, 64-bit integers as strings or numbers, enums as integers, and
// traceId/spanId as hex strings — the one departure from the standard
// protobuf JSON mapping, handled here before protojson sees the bytes).
// gzip Content-Encoding is undone by ParseRequest with the decoded size
// bounded (ingest.ReadBody). Answers use the request's encoding.
//
// Messages come from go.opentelemetry.io/proto/otlp, the OpenTelemetry
// project's own generated code, and JSON goes through protojson, so the
// gateway accepts exactly what the reference implementations send. The
// request is decoded as logs.v1.LogsData, which the OTLP protos define to be
// wire- and JSON-identical to ExportLogsServiceRequest (both are "repeated
// ResourceLogs resource_logs = 1"); this avoids importing the collector
// service package, whose generated gRPC-gateway stubs would pull
// grpc-gateway into the gateway's dependencies for nothing. For the same
// reason the two small answer messages are encoded with protowire.
//
// Guarantees: an undecodable body fails the request (gateway.CodeInvalid); a log
// record that is well formed but unusable (no body and no attributes, or
// larger than MaxLineBytes once encoded) is rejected alone and counted in
// the partial-success answer. Each event's Raw is the deterministic protobuf
// encoding of a LogsData holding just that record with its resource and
// scope, so it is self-contained evidence decodable by any OTLP tool. A
// record whose values cannot be stored (a time outside the years 0000–9999
// in UTC inside a kvlist body's @timestamp) is rejected alone too. Double
// values NaN, +Inf and -Inf, which OTLP carries but JSON cannot, become the
// strings "NaN", "Infinity" and "-Infinity" (the OTLP JSON mapping's
// spelling), so such a record is kept.
//
// Event ids (see package ingest): each event's occurrence is Meta.Key plus
// the record's 0-based position among the request's log records, so with
// the same Idempotency-Key the same export maps to the same ids.
package otlp

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"strconv"
	"strings"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/normalize"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

const proto_ = "otlp"

// Encoding is an OTLP/HTTP payload encoding.
type Encoding int

// The two OTLP/HTTP encodings.
const (
	Protobuf Encoding = iota + 1
	JSON
)

// ContentType returns the media type of the encoding.
func (e Encoding) ContentType() string {
	if e == JSON {
		return "application/json"
	}
	return "application/x-protobuf"
}

// EncodingFor maps a request Content-Type to its encoding; anything else is
// CodeUnsupported (HTTP 415, as the OTLP specification asks).
func EncodingFor(contentType string) (Encoding, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(contentType))
	}
	switch mt {
	case "application/x-protobuf", "application/protobuf":
		return Protobuf, nil
	case "application/json":
		return JSON, nil
	}
	return 0, ingest.Errorf(gateway.CodeUnsupported, proto_, 0, -1, "content type %q is not supported (use application/x-protobuf or application/json)", contentType)
}

// Result is the outcome of a parse: the events to store and the partial
// success to report.
type Result struct {
	Events []gateway.Event
	// Rejected counts the log records refused individually.
	Rejected int64
	// ErrorMessage says why, empty when Rejected is 0.
	ErrorMessage string
}

// ParseRequest reads the body (undoing contentEncoding under lim's body
// limit), picks the encoding from contentType and parses it.
func ParseRequest(r io.Reader, contentType, contentEncoding string, m ingest.Meta, lim ingest.Limits) (Result, Encoding, error) {
	lim = lim.WithDefaults()
	enc, err := EncodingFor(contentType)
	if err != nil {
		return Result{}, Protobuf, err
	}
	body, err := ingest.ReadBody(r, contentEncoding, lim.MaxBodyBytes)
	if err != nil {
		return Result{}, enc, err
	}
	res, err := Parse(body, enc, m, lim)
	return res, enc, err
}

// Parse decodes an ExportLogsServiceRequest in the given encoding and turns
// each log record into an event. An empty body is a valid empty export (the
// specification allows it) and yields no events.
func Parse(body []byte, enc Encoding, m ingest.Meta, lim ingest.Limits) (Result, error) {
	if err := lim.WithDefaults().CheckBody(proto_, len(body)); err != nil {
		return Result{}, err
	}
	if _, err := Prescan(body, enc, lim); err != nil {
		return Result{}, err
	}
	return ParsePrescanned(body, enc, m, lim)
}

// ParsePrescanned is Parse for a body Prescan has already passed with the
// same limits (the gateway prescans first to weigh the request in its
// decode budget), so the body is not walked twice.
func ParsePrescanned(body []byte, enc Encoding, m ingest.Meta, lim ingest.Limits) (Result, error) {
	lim = lim.WithDefaults()
	if err := lim.CheckBody(proto_, len(body)); err != nil {
		return Result{}, err
	}
	var req logspb.LogsData
	switch enc {
	case Protobuf:
		if err := proto.Unmarshal(body, &req); err != nil {
			return Result{}, ingest.Wrap(gateway.CodeInvalid, proto_, 0, -1, "protobuf ExportLogsServiceRequest", err)
		}
	case JSON:
		if ingest.IsBlank(body) {
			break
		}
		fixed, err := hexIDsToBase64(body)
		if err != nil {
			return Result{}, ingest.Wrap(gateway.CodeInvalid, proto_, 0, -1, "JSON ExportLogsServiceRequest", err)
		}
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(fixed, &req); err != nil {
			return Result{}, ingest.Wrap(gateway.CodeInvalid, proto_, 0, -1, "JSON ExportLogsServiceRequest", err)
		}
	default:
		return Result{}, ingest.Errorf(gateway.CodeUnsupported, proto_, 0, -1, "unknown encoding %d", enc)
	}
	return convert(&req, m, lim)
}

func convert(req *logspb.LogsData, m ingest.Meta, lim ingest.Limits) (Result, error) {
	var res Result
	stream := normalize.NewStream(m.Received)
	var empty, oversize, invalid int64
	var firstInvalid string
	mo := proto.MarshalOptions{Deterministic: true}
	n := 0
	for _, rl := range req.ResourceLogs {
		resAttrs := attrs(rl.GetResource().GetAttributes())
		for _, sl := range rl.ScopeLogs {
			for _, lr := range sl.LogRecords {
				n++
				if err := lim.CheckEvents(proto_, n, 0); err != nil {
					return Result{}, err
				}
				if lr.Body == nil && len(lr.Attributes) == 0 {
					empty++
					continue
				}
				one := &logspb.LogsData{ResourceLogs: []*logspb.ResourceLogs{{
					Resource:  rl.Resource,
					SchemaUrl: rl.SchemaUrl,
					ScopeLogs: []*logspb.ScopeLogs{{Scope: sl.Scope, SchemaUrl: sl.SchemaUrl, LogRecords: []*logspb.LogRecord{lr}}},
				}}}
				raw, err := mo.Marshal(one)
				if err != nil {
					return Result{}, ingest.Wrap(gateway.CodeInternal, proto_, 0, n-1, "re-encoding log record", err)
				}
				if len(raw) > lim.MaxLineBytes {
					oversize++
					continue
				}
				ev := recordEvent(lr, resAttrs, sl.GetScope(), raw, m.At(n-1), stream)
				if ie := ingest.Validate(proto_, 0, n-1, ev); ie != nil {
					if invalid == 0 {
						firstInvalid = ie.Error()
					}
					invalid++
					continue
				}
				res.Events = append(res.Events, ev)
			}
		}
	}
	res.Rejected = empty + oversize + invalid
	var msgs []string
	if empty > 0 {
		msgs = append(msgs, strconv.FormatInt(empty, 10)+" log records had neither body nor attributes")
	}
	if oversize > 0 {
		msgs = append(msgs, strconv.FormatInt(oversize, 10)+" log records exceeded "+strconv.Itoa(lim.MaxLineBytes)+" bytes")
	}
	if invalid > 0 {
		msgs = append(msgs, strconv.FormatInt(invalid, 10)+" log records carried values that cannot be stored (first: "+firstInvalid+")")
	}
	res.ErrorMessage = strings.Join(msgs, "; ")
	return res, nil
}

func recordEvent(lr *logspb.LogRecord, resAttrs map[string]any, scope *commonpb.InstrumentationScope, raw []byte, m ingest.Meta, stream *normalize.Stream) gateway.Event {
	var r normalize.Result
	switch b := lr.GetBody().GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		var skip bool
		if r, skip = stream.Line([]byte(b.StringValue), m.Sourcetype); skip {
			r = normalize.Result{Class: gateway.ClassOther, Fields: map[string]any{"message": b.StringValue}}
		}
	case *commonpb.AnyValue_KvlistValue:
		r = normalize.Object(attrs(b.KvlistValue.GetValues()), m.Sourcetype)
	case nil:
		r = normalize.Result{Class: gateway.ClassOther}
	default:
		r = normalize.Result{Class: gateway.ClassOther, Fields: map[string]any{"message": value(lr.Body)}}
	}
	if r.Fields == nil {
		r.Fields = map[string]any{}
	}
	put := func(k string, v any) {
		if _, taken := r.Fields[k]; !taken {
			r.Fields[k] = v
		}
	}
	for k, v := range attrs(lr.Attributes) {
		put(k, v)
	}
	// Resource attributes use OpenTelemetry semantic-convention names, most
	// of which (host.name, service.name) are ECS names too.
	for k, v := range resAttrs {
		put(k, v)
	}
	if lr.SeverityText != "" {
		put("log.level", lr.SeverityText)
	}
	if lr.SeverityNumber != 0 {
		put("event.severity", int64(lr.SeverityNumber))
	}
	if len(lr.TraceId) > 0 {
		put("trace.id", hex.EncodeToString(lr.TraceId))
	}
	if len(lr.SpanId) > 0 {
		put("span.id", hex.EncodeToString(lr.SpanId))
	}
	if lr.EventName != "" {
		put("event.action", lr.EventName)
	}
	if scope.GetName() != "" {
		put("otel.scope.name", scope.GetName())
	}
	if h, ok := resAttrs["host.name"].(string); ok && m.Host == "" {
		m.Host = h
	}
	var t time.Time
	switch {
	case lr.TimeUnixNano != 0:
		t = time.Unix(0, int64(lr.TimeUnixNano)).UTC()
	case lr.ObservedTimeUnixNano != 0 && r.Time.IsZero():
		t = time.Unix(0, int64(lr.ObservedTimeUnixNano)).UTC()
	}
	return r.Event(m, raw, t)
}

// attrs converts OTLP key-values to a map; later duplicates win.
func attrs(kvs []*commonpb.KeyValue) map[string]any {
	if len(kvs) == 0 {
		return nil
	}
	out := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		out[kv.Key] = value(kv.Value)
	}
	return out
}

// value converts an AnyValue to the Go value encoding/json would produce
// for it (int64 stays int64, bytes become base64 as in JSON).
func value(v *commonpb.AnyValue) any {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	case *commonpb.AnyValue_IntValue:
		return x.IntValue
	case *commonpb.AnyValue_DoubleValue:
		return double(x.DoubleValue)
	case *commonpb.AnyValue_BytesValue:
		return base64.StdEncoding.EncodeToString(x.BytesValue)
	case *commonpb.AnyValue_ArrayValue:
		vals := x.ArrayValue.GetValues()
		out := make([]any, len(vals))
		for i, e := range vals {
			out[i] = value(e)
		}
		return out
	case *commonpb.AnyValue_KvlistValue:
		m := attrs(x.KvlistValue.GetValues())
		if m == nil {
			m = map[string]any{}
		}
		return m
	}
	return nil
}

// double keeps a finite double as a number and spells a non-finite one as
// the OTLP JSON mapping does, since JSON (the canonical event encoding) has
// no number for it.
func double(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return f
}

// hexIDsToBase64 rewrites the traceId/spanId members of log records from
// the OTLP JSON hex form to the base64 protojson expects. It decodes the
// document generically, so it is only used on the JSON path.
func hexIDsToBase64(body []byte) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var doc map[string]any
	if err := d.Decode(&doc); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errTrailing
	}
	changed := false
	for _, rl := range list(doc, "resourceLogs", "resource_logs") {
		for _, sl := range list(rl, "scopeLogs", "scope_logs") {
			for _, lr := range list(sl, "logRecords", "log_records") {
				for _, k := range []string{"traceId", "trace_id", "spanId", "span_id"} {
					s, ok := lr[k].(string)
					if !ok {
						continue
					}
					if s == "" {
						delete(lr, k)
						changed = true
						continue
					}
					b, err := hex.DecodeString(s)
					if err != nil {
						return nil, &hexError{field: k, value: s}
					}
					want := 16
					if strings.HasPrefix(k, "span") {
						want = 8
					}
					if len(b) != want {
						return nil, &hexError{field: k, value: s}
					}
					lr[k] = base64.StdEncoding.EncodeToString(b)
					changed = true
				}
			}
		}
	}
	if !changed {
		return body, nil
	}
	return json.Marshal(doc)
}

func list(obj map[string]any, keys ...string) []map[string]any {
	for _, k := range keys {
		if arr, ok := obj[k].([]any); ok {
			out := make([]map[string]any, 0, len(arr))
			for _, e := range arr {
				if m, ok := e.(map[string]any); ok {
					out = append(out, m)
				}
			}
			return out
		}
	}
	return nil
}

// hexError reports a traceId/spanId that is not hex of the OTLP length.
type hexError struct{ field, value string }

// Error names the member and its value.
func (e *hexError) Error() string {
	return e.field + " " + strconv.Quote(e.value) + " is not a hex id of the right length"
}

var errTrailing = errors.New("trailing data after the JSON document")
