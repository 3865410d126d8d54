package normalize

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
)

// Stream normalises the lines of one text stream (an HEC raw body, a syslog
// connection, a file). It carries the state that spans lines: the Zeek TSV
// header (#separator, #fields, #types, ...) that gives meaning to the data
// lines after it, and the reference time used to give a year to RFC 3164
// timestamps. A Stream is not safe for concurrent use; use one per request
// or connection.
type Stream struct {
	ref  time.Time
	zeek *zeekHeader
}

// NewStream returns a Stream whose yearless timestamps are resolved against
// ref (normally the request's receive time): the latest such date not more
// than one day after ref.
func NewStream(ref time.Time) *Stream {
	return &Stream{ref: ref}
}

type zeekHeader struct {
	sep      string
	setSep   string
	empty    string
	unset    string
	path     string
	fields   []string
	types    []string
	complete bool // #fields seen
}

// Line normalises one line (without its terminator). skip is true for lines
// that are stream metadata rather than events — the Zeek header and footer
// lines (#separator, #fields, #types, #close, ...) — which callers should
// not turn into events; a Zeek header line still updates the Stream.
// Any other line yields a Result: Zeek TSV data lines after a #fields
// header, JSON objects (via Object), syslog-style auth lines, or the class
// other with {"message": line}.
func (s *Stream) Line(line []byte, hint string) (r Result, skip bool) {
	if len(line) > 0 && line[0] == '#' && s.zeekMeta(line) {
		return Result{}, true
	}
	if s.zeek != nil && s.zeek.complete && !bytes.HasPrefix(line, []byte("{")) {
		if obj, ok := s.zeek.record(line); ok {
			return zeekObject(obj, s.zeek.path), false
		}
	}
	if t := bytes.TrimSpace(line); len(t) > 1 && t[0] == '{' {
		if obj, err := ingest.DecodeObject(t); err == nil {
			return Object(obj, hint), false
		}
	}
	if r, ok := syslogLine(string(line), s.ref); ok {
		return r, false
	}
	return Result{Class: gateway.ClassOther, Fields: map[string]any{"message": string(line)}}, false
}

// zeekMeta consumes a Zeek header/footer line, reporting whether it was one.
func (s *Stream) zeekMeta(line []byte) bool {
	str := string(line)
	if strings.HasPrefix(str, "#separator ") {
		// The one header line whose separator is a space; the value is
		// escaped, normally "\x09".
		s.zeek = &zeekHeader{sep: unescapeZeek(strings.TrimPrefix(str, "#separator ")), setSep: ",", empty: "(empty)", unset: "-"}
		return true
	}
	if s.zeek == nil {
		// A #fields line without #separator: assume Zeek's default tab.
		if !strings.HasPrefix(str, "#fields\t") {
			return false
		}
		s.zeek = &zeekHeader{sep: "\t", setSep: ",", empty: "(empty)", unset: "-"}
	}
	h := s.zeek
	key, val, ok := strings.Cut(str[1:], h.sep)
	if !ok {
		// "#close" alone, or an unknown directive.
		return key == "close" || key == "open"
	}
	switch key {
	case "set_separator":
		h.setSep = unescapeZeek(val)
	case "empty_field":
		h.empty = val
	case "unset_field":
		h.unset = val
	case "path":
		h.path = val
	case "open", "close":
	case "fields":
		h.fields = strings.Split(val, h.sep)
		h.complete = true
	case "types":
		h.types = strings.Split(val, h.sep)
	default:
		return false
	}
	return true
}

func unescapeZeek(s string) string {
	if strings.HasPrefix(s, `\x`) && len(s) == 4 {
		if n, err := strconv.ParseUint(s[2:], 16, 8); err == nil {
			return string(rune(n))
		}
	}
	return s
}

// record decodes one TSV data line into the same keys and value types the
// Zeek JSON writer produces, so one mapping serves both. ok is false when the
// column count does not match #fields.
func (h *zeekHeader) record(line []byte) (map[string]any, bool) {
	cols := strings.Split(string(line), h.sep)
	if len(cols) != len(h.fields) {
		return nil, false
	}
	obj := make(map[string]any, len(cols)+1)
	if h.path != "" {
		obj["_path"] = h.path
	}
	for i, c := range cols {
		if c == h.unset {
			continue
		}
		typ := ""
		if i < len(h.types) {
			typ = h.types[i]
		}
		obj[h.fields[i]] = h.value(c, typ)
	}
	return obj, true
}

func (h *zeekHeader) value(c, typ string) any {
	if c == h.empty {
		if strings.HasPrefix(typ, "vector") || strings.HasPrefix(typ, "set") {
			return []any{}
		}
		return ""
	}
	switch {
	case typ == "count" || typ == "int" || typ == "port":
		if n, err := strconv.ParseInt(c, 10, 64); err == nil {
			return n
		}
	case typ == "double" || typ == "interval" || typ == "time":
		if f, err := strconv.ParseFloat(c, 64); err == nil {
			return f
		}
	case typ == "bool":
		return c == "T"
	case strings.HasPrefix(typ, "vector") || strings.HasPrefix(typ, "set"):
		parts := strings.Split(c, h.setSep)
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = p
		}
		return out
	}
	return c
}
