package otlp

import (
	"errors"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
)

// Prescan measures an ExportLogsServiceRequest on the wire, before anything
// is decoded: it counts the log records, the attributes and values, the
// nesting of values (AnyValue arrays and key-value lists nest) and the
// bytes the events' evidence will take, and refuses the request when a
// limit would be passed: more than lim.MaxEvents records, values nested
// deeper than lim.MaxDepth, or an estimate over lim.MaxDecodeBytes are
// gateway.CodeTooLarge (413); a protobuf wire that cannot be walked, or
// JSON whose brackets do not balance, is gateway.CodeInvalid (400).
//
// It allocates nothing proportional to the request, so a 64 KB gzip body
// holding 33 million 2-byte log records costs one pass over the bytes, not
// gigabytes of decoded messages. It is deliberately lenient about
// everything the real decoders check (UTF-8, field types, JSON syntax):
// what it passes may still be refused by them, always with CodeInvalid,
// and what they accept within the limits it passes.
func Prescan(body []byte, enc Encoding, lim ingest.Limits) (ingest.DecodeEstimate, error) {
	lim = lim.WithDefaults()
	var est ingest.DecodeEstimate
	var err error
	switch enc {
	case Protobuf:
		est, err = scanProto(body, lim)
	case JSON:
		if ingest.IsBlank(body) {
			return ingest.DecodeEstimate{}, nil
		}
		est, err = scanJSON(body, lim)
	default:
		return est, ingest.Errorf(gateway.CodeUnsupported, proto_, 0, -1, "unknown encoding %d", enc)
	}
	if err != nil {
		return est, err
	}
	return est, lim.CheckDecode(proto_, est)
}

// Field numbers of the OTLP logs protos (go.opentelemetry.io/proto/otlp
// logs/v1, common/v1, resource/v1), as far as the scan needs them.
const (
	fLogsDataResourceLogs  = 1 // LogsData / ExportLogsServiceRequest
	fResourceLogsResource  = 1
	fResourceLogsScopeLogs = 2
	fResourceLogsSchemaURL = 3
	fResourceAttributes    = 1
	fScopeLogsScope        = 1
	fScopeLogsLogRecords   = 2
	fScopeLogsSchemaURL    = 3
	fScopeAttributes       = 3 // InstrumentationScope
	fLogRecordBody         = 5
	fLogRecordAttributes   = 6
	fAnyValueArray         = 5
	fAnyValueKvlist        = 6
	fArrayValueValues      = 1
	fKeyValueListValues    = 1
	fKeyValueValue         = 2
	rawOverhead            = 16 // tags and lengths of the LogsData wrapping one record
	errWalk                = "protobuf ExportLogsServiceRequest"
)

var errMalformedWire = errors.New("malformed protobuf wire format")

// protoScan carries the counts of one protobuf scan.
type protoScan struct {
	lim ingest.Limits
	est ingest.DecodeEstimate
}

// fields calls fn for each field of msg whose wire type is bytes (the only
// kind the scan descends into); other fields are skipped. proto.Unmarshal
// treats a known field with another wire type as unknown, and so does this.
func fields(msg []byte, fn func(num protowire.Number, v []byte) error) error {
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return errMalformedWire
		}
		msg = msg[n:]
		if typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(msg)
			if m < 0 {
				return errMalformedWire
			}
			msg = msg[m:]
			if err := fn(num, v); err != nil {
				return err
			}
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, msg)
		if m < 0 {
			return errMalformedWire
		}
		msg = msg[m:]
	}
	return nil
}

func scanProto(body []byte, lim ingest.Limits) (ingest.DecodeEstimate, error) {
	s := &protoScan{lim: lim, est: ingest.DecodeEstimate{Body: int64(len(body))}}
	err := fields(body, func(num protowire.Number, v []byte) error {
		if num != fLogsDataResourceLogs {
			return nil
		}
		return s.resourceLogs(v)
	})
	if errors.Is(err, errMalformedWire) {
		return s.est, ingest.Wrap(gateway.CodeInvalid, proto_, 0, -1, errWalk, err)
	}
	return s.est, err
}

func (s *protoScan) resourceLogs(msg []byte) error {
	// The resource and schema URL are repeated in every record's evidence
	// (Raw) and the resource's attributes in every event's fields; they may
	// follow the scope logs on the wire, so measure them first.
	var env, resAttrs int64
	err := fields(msg, func(num protowire.Number, v []byte) error {
		switch num {
		case fResourceLogsResource:
			env += int64(len(v))
			return s.attributesOf(v, fResourceAttributes, &resAttrs)
		case fResourceLogsSchemaURL:
			env += int64(len(v))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return fields(msg, func(num protowire.Number, v []byte) error {
		if num != fResourceLogsScopeLogs {
			return nil
		}
		return s.scopeLogs(v, env, resAttrs)
	})
}

// attributesOf counts the key-values in field num of msg (a Resource or an
// InstrumentationScope) and adds the top-level ones to *top.
func (s *protoScan) attributesOf(msg []byte, num protowire.Number, top *int64) error {
	return fields(msg, func(n protowire.Number, v []byte) error {
		if n != num {
			return nil
		}
		*top++
		return s.keyValue(v, 1, -1)
	})
}

func (s *protoScan) scopeLogs(msg []byte, env, resAttrs int64) error {
	var scopeAttrs int64
	err := fields(msg, func(num protowire.Number, v []byte) error {
		switch num {
		case fScopeLogsScope:
			env += int64(len(v))
			return s.attributesOf(v, fScopeAttributes, &scopeAttrs)
		case fScopeLogsSchemaURL:
			env += int64(len(v))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return fields(msg, func(num protowire.Number, v []byte) error {
		if num != fScopeLogsLogRecords {
			return nil
		}
		s.est.Records++
		if err := s.lim.CheckEvents(proto_, int(min(s.est.Records, 1<<62)), 0); err != nil {
			return err
		}
		s.est.Raw += int64(len(v)) + env + rawOverhead
		s.est.Values += resAttrs // copied into each event's fields
		return s.logRecord(v, int(s.est.Records-1))
	})
}

func (s *protoScan) logRecord(msg []byte, event int) error {
	return fields(msg, func(num protowire.Number, v []byte) error {
		switch num {
		case fLogRecordBody:
			return s.anyValue(v, 1, event)
		case fLogRecordAttributes:
			return s.keyValue(v, 1, event)
		}
		return nil
	})
}

// keyValue counts a KeyValue whose value sits at nesting depth.
func (s *protoScan) keyValue(msg []byte, depth, event int) error {
	s.est.Values++
	return fields(msg, func(num protowire.Number, v []byte) error {
		if num != fKeyValueValue {
			return nil
		}
		return s.anyValue(v, depth, event)
	})
}

// anyValue counts an AnyValue at nesting depth (1 for a record's body or
// an attribute's value); an array or key-value list inside it holds values
// at depth+1, which must not pass MaxDepth.
func (s *protoScan) anyValue(msg []byte, depth, event int) error {
	s.est.Values++
	return fields(msg, func(num protowire.Number, v []byte) error {
		switch num {
		case fAnyValueArray:
			if err := s.lim.CheckDepth(proto_, depth+1, event); err != nil {
				return err
			}
			return fields(v, func(n protowire.Number, e []byte) error {
				if n != fArrayValueValues {
					return nil
				}
				return s.anyValue(e, depth+1, event)
			})
		case fAnyValueKvlist:
			if err := s.lim.CheckDepth(proto_, depth+1, event); err != nil {
				return err
			}
			return fields(v, func(n protowire.Number, e []byte) error {
				if n != fKeyValueListValues {
					return nil
				}
				return s.keyValue(e, depth+1, event)
			})
		}
		return nil
	})
}
