package ingest

// CountJSONTokens counts the objects, arrays, strings (member names
// included: each becomes a map entry) and scalars of a body of JSON
// documents (one, or several as in NDJSON, HEC and _bulk bodies), in one
// pass that allocates nothing. It checks no syntax: on malformed input it
// still returns a count no larger than len(body), and the parsers refuse
// the input themselves. The count is what DecodeEstimate.Values needs to
// bound what a generic JSON decode (encoding/json into map[string]any)
// will allocate, which can be twenty times the body: `[{},{},…]` is 3
// bytes per map.
func CountJSONTokens(body []byte) int64 {
	var n int64
	for i := 0; i < len(body); {
		switch c := body[i]; c {
		case ' ', '\t', '\r', '\n', ',', ':', ']', '}':
			i++
		case '{', '[':
			n++
			i++
		case '"':
			n++
			i++
			for i < len(body) && body[i] != '"' {
				if body[i] == '\\' {
					i++
				}
				i++
			}
			i++ // past the closing quote (or the end)
		default:
			n++
			for i < len(body) && !jsonDelim(body[i]) {
				i++
			}
		}
	}
	return n
}

// jsonDelim reports whether c ends a JSON number or literal.
func jsonDelim(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', ',', ':', '[', ']', '{', '}', '"':
		return true
	}
	return false
}
