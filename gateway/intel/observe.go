package intel

import (
	"strings"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway"
)

// observedFields lists the normalised ECS-style fields whose values the
// matcher looks up, with the kind each holds. Every ingest protocol's
// normaliser (gateway/ingest/normalize) writes these names, so one list
// serves HEC, _bulk, OTLP, NDJSON and syslog alike. DNS answers are
// looked up as addresses (a name among them simply does not parse as one).
var observedFields = []struct {
	name string
	kind string
}{
	{"source.ip", ObservableIP},
	{"destination.ip", ObservableIP},
	{"client.ip", ObservableIP},
	{"server.ip", ObservableIP},
	{"dns.answers.data", ObservableIP},
	{"dns.question.name", wire.IndicatorDomain},
	{"url.domain", wire.IndicatorDomain},
	{"destination.domain", wire.IndicatorDomain},
	{"server.domain", wire.IndicatorDomain},
	{"tls.client.server_name", wire.IndicatorDomain},
	{"url.full", wire.IndicatorURL},
	{"url.original", wire.IndicatorURL},
	{"file.hash.sha256", wire.IndicatorSHA256},
	{"file.hash.sha1", wire.IndicatorSHA1},
	{"file.hash.md5", wire.IndicatorMD5},
	{"process.hash.sha256", wire.IndicatorSHA256},
	{"process.hash.sha1", wire.IndicatorSHA1},
	{"process.hash.md5", wire.IndicatorMD5},
	{"email.from.address", wire.IndicatorEmail},
	{"email.to.address", wire.IndicatorEmail},
	{"email.cc.address", wire.IndicatorEmail},
	{"email.sender.address", wire.IndicatorEmail},
	{"email.reply_to.address", wire.IndicatorEmail},
	{"user.email", wire.IndicatorEmail},
	{"tls.client.ja3", wire.IndicatorJA3},
	{"tls.client.ja4", wire.IndicatorJA4},
	{"user_agent.original", wire.IndicatorUserAgent},
}

// maxValuesPerField bounds how many values of one list-valued field are
// looked up, so one crafted event cannot cost unbounded lookups.
const maxValuesPerField = 64

// Observables appends to dst the observables of ev: the values of the
// fields above, whether the event holds them as flat dotted keys (what the
// normalisers write) or as nested objects (ECS JSON passed through as is),
// as strings or lists of strings. Empty values are skipped.
func Observables(ev *gateway.Event, dst []Observable) []Observable {
	if len(ev.Fields) == 0 {
		return dst
	}
	for _, f := range observedFields {
		v, ok := ev.Fields[f.name]
		if !ok {
			v, ok = nested(ev.Fields, f.name)
			if !ok {
				continue
			}
		}
		dst = appendValues(dst, f.kind, f.name, v)
	}
	return dst
}

// nested finds a dotted name in nested objects, e.g. "source.ip" in
// {"source": {"ip": …}}; a partly flat spelling such as {"source":
// {"ip.x": …}} is not looked for.
func nested(fields map[string]any, name string) (any, bool) {
	i := strings.IndexByte(name, '.')
	if i < 0 {
		return nil, false
	}
	sub, ok := fields[name[:i]].(map[string]any)
	if !ok {
		return nil, false
	}
	rest := name[i+1:]
	if v, ok := sub[rest]; ok {
		return v, true
	}
	return nested(sub, rest)
}

func appendValues(dst []Observable, kind, field string, v any) []Observable {
	switch x := v.(type) {
	case string:
		if x != "" {
			dst = append(dst, Observable{Kind: kind, Value: x, Field: field})
		}
	case []string:
		for i, s := range x {
			if i == maxValuesPerField {
				break
			}
			if s != "" {
				dst = append(dst, Observable{Kind: kind, Value: s, Field: field})
			}
		}
	case []any:
		for i, e := range x {
			if i == maxValuesPerField {
				break
			}
			if s, ok := e.(string); ok && s != "" {
				dst = append(dst, Observable{Kind: kind, Value: s, Field: field})
			}
		}
	}
	return dst
}
