package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"unicode/utf8"
)

// MaxInputBytes bounds any JSON argument a transaction accepts (16 MiB, the
// block size the network is tuned for); larger input is refused before it
// is parsed.
const MaxInputBytes = 16 << 20

// Decode parses one JSON value of type T from data, strictly: unknown
// fields, trailing data and oversized input are refused, so a misspelt
// field name fails loudly instead of being silently ignored. what names the
// argument in the error.
func Decode[T any](data []byte, what string) (T, error) {
	var v T
	if len(data) > MaxInputBytes {
		return v, invalid(what, "%d bytes exceeds the limit of %d", len(data), MaxInputBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, invalid(what, "malformed JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return v, invalid(what, "trailing data after the JSON value")
	}
	return v, nil
}

// isToken reports whether s is a short identifier safe to use in composite
// keys, ids and log lines: 1..max bytes of [A-Za-z0-9._:@/-].
func isToken(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if charClass[s[i]]&classToken == 0 {
			return false
		}
	}
	return true
}

// Byte classes of charClass. A table lookup per byte: the validation of a
// transaction's alerts runs isToken, IsHash and checkText over every
// alert's strings, and a table was measurably faster than the chains of
// comparisons they replace (BenchmarkRaiseAlertsTransientKDDDeflate).
const (
	classToken = 1 << iota // [A-Za-z0-9._:@/-]
	classHex               // [0-9a-f]
	classPlain             // ASCII other than NUL: text checkText accepts as is
)

var charClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			t[c] |= classToken
		case c == '.', c == '_', c == '-', c == ':', c == '@', c == '/':
			t[c] |= classToken
		}
		if c >= '0' && c <= '9' || c >= 'a' && c <= 'f' {
			t[c] |= classHex
		}
		if c > 0 && c < utf8.RuneSelf {
			t[c] |= classPlain
		}
	}
	return t
}()

func checkToken(field, s string, max int) error {
	if !isToken(s, max) {
		return invalid(field, "%q must be 1..%d characters of [A-Za-z0-9._:@/-]", truncate(s, 80), max)
	}
	return nil
}

// checkText accepts free text of at most max bytes: valid UTF-8 without
// NUL or U+10FFFF (Fabric's composite-key separators), so any text can be
// hashed into an id or a key without ambiguity.
func checkText(field, s string, max int, required bool) error {
	if required && s == "" {
		return invalid(field, "is required")
	}
	if len(s) > max {
		return invalid(field, "%d bytes exceeds the limit of %d", len(s), max)
	}
	if isPlain(s) {
		return nil // ASCII without NUL: valid UTF-8, no U+0000 or U+10FFFF
	}
	if !utf8.ValidString(s) {
		return invalid(field, "is not valid UTF-8")
	}
	for _, r := range s {
		if r == 0 || r == utf8.MaxRune {
			return invalid(field, "contains U+0000 or U+10FFFF")
		}
	}
	return nil
}

// IsHash reports whether s is a lowercase hex SHA-256 digest.
func IsHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if charClass[s[i]]&classHex == 0 {
			return false
		}
	}
	return true
}

// isPlain reports whether s is ASCII without NUL.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if charClass[s[i]]&classPlain == 0 {
			return false
		}
	}
	return true
}

func checkHash(field, s string) error {
	if !IsHash(s) {
		return invalid(field, "%q must be 64 lowercase hex digits (SHA-256)", truncate(s, 80))
	}
	return nil
}

// DecodeOptional is Decode for optional arguments such as list filters:
// "" decodes to the zero T (no filter).
func DecodeOptional[T any](s string, what string) (T, error) {
	if s == "" {
		var zero T
		return zero, nil
	}
	return Decode[T]([]byte(s), what)
}
