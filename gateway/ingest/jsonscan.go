package ingest

import "bytes"

// CountJSONTokens counts the objects, arrays, strings (member names
// included: each becomes a map entry) and scalars of a body of JSON
// documents (one, or several as in NDJSON, HEC and _bulk bodies), in one
// pass that allocates nothing. It checks no syntax: on malformed input it
// still returns a count no larger than len(body), and the parsers refuse
// the input themselves. The count is what DecodeEstimate.Values needs to
// bound what a generic JSON decode (encoding/json into map[string]any)
// will allocate, which can be twenty times the body: `[{},{},…]` is 3
// bytes per map.
//
// Every JSON body is scanned so before it is parsed (3 % of the
// gateway's CPU under NDJSON load), so it classifies bytes by table and
// finds each string's end with bytes.IndexByte; the count is exactly
// that of the byte-by-byte scan it replaced (FuzzCountJSONTokens
// compares them): a backslash escapes the next byte, so a quote ends its
// string when an even number of backslashes precede it.
func CountJSONTokens(body []byte) int64 {
	var n int64
	for i := 0; i < len(body); {
		switch jsonClass[body[i]] {
		case jsonSkip:
			i++
		case jsonOpen:
			n++
			i++
		case jsonQuote:
			n++
			i = stringEnd(body, i+1)
		default:
			n++
			i++
			for i < len(body) && jsonClass[body[i]] == jsonScalar {
				i++
			}
		}
	}
	return n
}

// stringEnd returns the index past the quote that ends the string whose
// content starts at start, or len(body) when none does.
func stringEnd(body []byte, start int) int {
	for j := start; ; {
		k := bytes.IndexByte(body[j:], '"')
		if k < 0 {
			return len(body)
		}
		q := j + k
		p := q - 1
		for p >= start && body[p] == '\\' {
			p--
		}
		if (q-1-p)%2 == 0 {
			return q + 1
		}
		j = q + 1
	}
}

// The byte classes of CountJSONTokens: jsonScalar is any byte that
// continues a number or literal (or starts one).
const (
	jsonScalar = iota
	jsonSkip   // whitespace, ',', ':', ']', '}'
	jsonOpen   // '{', '['
	jsonQuote  // '"'
)

var jsonClass = func() (t [256]uint8) {
	for _, c := range " \t\r\n,:]}" {
		t[c] = jsonSkip
	}
	t['{'], t['['] = jsonOpen, jsonOpen
	t['"'] = jsonQuote
	return t
}()
