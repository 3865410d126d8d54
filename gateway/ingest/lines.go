package ingest

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// Lines calls fn for each line of body with its 1-based line number, the
// line without its terminator ("\n" or "\r\n"), in order, and stops at the
// first error fn returns. A final line without a terminator is still a line;
// a trailing terminator does not make an extra empty line. Lines longer than
// maxLine bytes (maxLine <= 0: DefaultMaxLineBytes) are refused with
// gateway.CodeTooLarge naming the line, before fn sees them.
func Lines(protocol string, body []byte, maxLine int, fn func(lineNo int, line []byte) error) error {
	if maxLine <= 0 {
		maxLine = DefaultMaxLineBytes
	}
	lineNo := 0
	for len(body) > 0 {
		lineNo++
		var line []byte
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			line, body = body, nil
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if len(line) > maxLine {
			return Errorf(gateway.CodeTooLarge, protocol, lineNo, -1, "line of %d bytes exceeds the limit of %d bytes", len(line), maxLine)
		}
		if err := fn(lineNo, line); err != nil {
			return err
		}
	}
	return nil
}

// IsBlank reports whether b holds only ASCII whitespace.
func IsBlank(b []byte) bool {
	return len(bytes.TrimSpace(b)) == 0
}

// DecodeObject decodes b, which must hold exactly one JSON object and
// nothing but whitespace after it, into a map with numbers kept as
// json.Number (exact digits, no float rounding of 64-bit ids). It exists
// because json.Decoder.More reports false before a stray "}" or "]", so
// "{}}" would otherwise pass as one object.
func DecodeObject(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errNotObject
	}
	if !IsBlank(b[d.InputOffset():]) {
		return nil, errTrailing
	}
	return m, nil
}

// DecodeStrict decodes b, which must hold exactly one JSON value and nothing
// but whitespace after it, into v (a pointer) with UseNumber. Whatever it
// accepts and decodes is exactly what encoding/json accepts and decodes,
// and every error is encoding/json's own (see decode.go): a line first
// goes through the faster decoder, and anything that decoder refuses is
// decoded again, from a zeroed v, by encoding/json.
func DecodeStrict(b []byte, v any) error {
	if fastDecode(b, v) == nil {
		return nil
	}
	resetTarget(v)
	return decodeStrictStd(b, v)
}

// decodeStrictStd is DecodeStrict with encoding/json alone.
func decodeStrictStd(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if !IsBlank(b[d.InputOffset():]) {
		return errTrailing
	}
	return nil
}

var (
	errNotObject = errors.New("not a JSON object")
	errTrailing  = errors.New("data after the JSON value")
)
