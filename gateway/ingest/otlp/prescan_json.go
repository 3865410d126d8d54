package otlp

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
)

// The JSON pre-scan is a small byte scanner rather than encoding/json's
// Decoder.Token, which allocates every string and number it returns: it
// keeps only a stack of open containers (bounded by the nesting limit) and
// follows the member names protojson follows (JSON name or proto name) to
// find resourceLogs[].scopeLogs[].logRecords[], the resource and scope
// (repeated in each record's evidence), and arrayValue/kvlistValue (which
// nest values). It checks no more JSON syntax than it needs to stay in
// step; protojson and encoding/json check the rest.

// role is what a JSON container is in the ExportLogsServiceRequest.
type role uint8

const (
	roleOther role = iota
	roleRoot
	roleResourceLogsArr
	roleResourceLogs
	roleResource
	roleScopeLogsArr
	roleScopeLogs
	roleScope
	roleLogRecordsArr
	roleLogRecord
)

// frame is one open JSON container.
type frame struct {
	obj     bool
	role    role
	wantKey bool  // in an object: the next string is a member name
	key     role  // role a container value of the current member gets
	nests   bool  // the current member is arrayValue/kvlistValue
	levels  int   // arrayValue/kvlistValue containers enclosing this one
	start   int   // offset of the opening bracket
	env     int64 // resource/scope bytes: repeated in each record's Raw
	records int64 // records closed inside (scope logs, resource logs)
	raw     int64 // their bytes
}

// jsonNestingSlack is the JSON nesting the envelope and one AnyValue level
// take beyond MaxDepth levels of values (each value level is about four
// JSON containers: value object, arrayValue object, values array, element).
const jsonNestingSlack = 16

var errJSONStructure = errors.New("unbalanced JSON brackets or unterminated string")

// scanJSON stops at the end of the first JSON value: the decoders either
// refuse what follows it or (hexIDsToBase64's Decoder) ignore it, and never
// decode it.
func scanJSON(body []byte, lim ingest.Limits) (ingest.DecodeEstimate, error) {
	est := ingest.DecodeEstimate{Body: int64(len(body))}
	maxNesting := 4*lim.MaxDepth + jsonNestingSlack
	var stack []frame
	bad := func(err error) (ingest.DecodeEstimate, error) {
		return est, ingest.Wrap(gateway.CodeInvalid, proto_, 0, -1, "JSON ExportLogsServiceRequest", err)
	}
	// value is called at the start of every JSON value; it returns the
	// role and nesting a container starting there gets.
	value := func() (role, int, error) {
		est.Values++
		if len(stack) == 0 {
			return roleRoot, 0, nil
		}
		p := &stack[len(stack)-1]
		if !p.obj {
			switch p.role {
			case roleResourceLogsArr:
				return roleResourceLogs, p.levels, nil
			case roleScopeLogsArr:
				return roleScopeLogs, p.levels, nil
			case roleLogRecordsArr:
				est.Records++
				if err := lim.CheckEvents(proto_, int(min(est.Records, 1<<62)), 0); err != nil {
					return 0, 0, err
				}
				return roleLogRecord, p.levels, nil
			}
			return roleOther, p.levels, nil
		}
		levels := p.levels
		if p.nests {
			levels++
			if err := lim.CheckDepth(proto_, levels+1, int(est.Records-1)); err != nil {
				return 0, 0, err
			}
		}
		return p.key, levels, nil
	}
	for i := 0; i < len(body); {
		c := body[i]
		switch c {
		case ' ', '\t', '\r', '\n', ':':
			if c == ':' && len(stack) > 0 {
				stack[len(stack)-1].wantKey = false
			}
			i++
		case ',':
			if len(stack) > 0 && stack[len(stack)-1].obj {
				stack[len(stack)-1].wantKey = true
			}
			i++
		case '{', '[':
			r, levels, err := value()
			if err != nil {
				return est, err
			}
			if len(stack) >= maxNesting {
				return est, lim.CheckDepth(proto_, lim.MaxDepth+1, int(est.Records-1))
			}
			stack = append(stack, frame{obj: c == '{', role: r, wantKey: c == '{', levels: levels, start: i})
			if c == '[' && r != roleResourceLogsArr && r != roleScopeLogsArr && r != roleLogRecordsArr {
				stack[len(stack)-1].role = roleOther
			}
			if c == '{' && (r == roleResourceLogsArr || r == roleScopeLogsArr || r == roleLogRecordsArr) {
				stack[len(stack)-1].role = roleOther
			}
			i++
		case '}', ']':
			if len(stack) == 0 || stack[len(stack)-1].obj != (c == '}') {
				return bad(errJSONStructure)
			}
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			i++
			span := int64(i - f.start)
			if len(stack) == 0 {
				return est, nil // the document ends here; see scanJSON
			}
			p := &stack[len(stack)-1]
			switch f.role {
			case roleResource, roleScope:
				p.env += span
			case roleLogRecord:
				p.records++
				p.raw += span + rawOverhead
			case roleLogRecordsArr, roleScopeLogsArr:
				p.records += f.records
				p.raw += f.raw
			case roleScopeLogs:
				p.records += f.records
				p.raw += f.raw + f.records*f.env
			case roleResourceLogs:
				est.Raw += f.raw + f.records*f.env
			}
		case '"':
			end, ok := stringEnd(body, i)
			if !ok {
				return bad(errJSONStructure)
			}
			if len(stack) > 0 && stack[len(stack)-1].obj && stack[len(stack)-1].wantKey {
				p := &stack[len(stack)-1]
				p.key, p.nests = memberRole(p.role, body[i:end])
				p.wantKey = false
			} else if _, _, err := value(); err != nil {
				return est, err
			}
			i = end
			if len(stack) == 0 {
				return est, nil
			}
		default:
			// A number or literal: one value up to the next delimiter.
			if _, _, err := value(); err != nil {
				return est, err
			}
			// c is none of the delimiters, so this always advances.
			for i < len(body) && !isDelim(body[i]) {
				i++
			}
			if len(stack) == 0 {
				return est, nil
			}
		}
	}
	if len(stack) != 0 {
		return bad(errJSONStructure)
	}
	return est, nil
}

// stringEnd returns the offset just past the string starting at body[i]
// (a quote), honouring backslash escapes.
func stringEnd(body []byte, i int) (int, bool) {
	for j := i + 1; j < len(body); j++ {
		switch body[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return 0, false
}

// memberRole gives the role a container value of member quoted (the raw
// JSON string, quotes included) gets inside a container of role parent,
// and whether the member nests values (arrayValue, kvlistValue).
func memberRole(parent role, quoted []byte) (role, bool) {
	name := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(name, '\\') >= 0 {
		// protojson unescapes names before matching them; the longest
		// name we match is short, so longer escaped names match nothing.
		if len(quoted) > 128 {
			return roleOther, false
		}
		var s string
		if json.Unmarshal(quoted, &s) != nil {
			return roleOther, false
		}
		name = []byte(s)
	}
	is := func(names ...string) bool {
		for _, n := range names {
			if string(name) == n {
				return true
			}
		}
		return false
	}
	switch parent {
	case roleRoot:
		if is("resourceLogs", "resource_logs") {
			return roleResourceLogsArr, false
		}
	case roleResourceLogs:
		switch {
		case is("scopeLogs", "scope_logs"):
			return roleScopeLogsArr, false
		case is("resource"):
			return roleResource, false
		}
	case roleScopeLogs:
		switch {
		case is("logRecords", "log_records"):
			return roleLogRecordsArr, false
		case is("scope"):
			return roleScope, false
		}
	}
	return roleOther, is("arrayValue", "array_value", "kvlistValue", "kvlist_value")
}

// isDelim reports whether c ends a number or literal.
func isDelim(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', ',', ':', '[', ']', '{', '}', '"':
		return true
	}
	return false
}
