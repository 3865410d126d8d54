package wire

import "encoding/binary"

// SWAR (eight bytes at a time) scans for the JSON strings of alerts: the
// decoder and the set encoder check every byte of every string (two
// 64-digit hex ids per alert, and the fields' values) for a byte that
// needs care, and a byte-at-a-time loop was most of the decoder's own
// time. FuzzStringChecks checks both scans against a byte loop.
const (
	swarLSB = 0x0101010101010101
	swarMSB = 0x8080808080808080
)

// special returns a word with the high bit set in (at least) the first
// byte of x that is below 0x20, at or above 0x80, '"' or '\\', and zero
// if x has no such byte. The borrows of the subtractions can mark bytes
// after a special one, never before it, and never mark a word that has
// none (each term is the classic "has a zero byte" test).
func special(x uint64) uint64 {
	q := x ^ (swarLSB * '"')
	s := x ^ (swarLSB * '\\')
	return ((x-swarLSB*0x20)&^x | x | (q-swarLSB)&^q | (s-swarLSB)&^s) & swarMSB
}

// specialHTML is special also marking '<', '>' and '&' (which
// encoding/json escapes).
func specialHTML(x uint64) uint64 {
	l := x ^ (swarLSB * '<')
	g := x ^ (swarLSB * '>')
	a := x ^ (swarLSB * '&')
	return special(x) | ((l-swarLSB)&^l|(g-swarLSB)&^g|(a-swarLSB)&^a)&swarMSB
}

// plainPrefix returns the length of b's longest prefix of bytes from 0x20
// to 0x7f other than '"' and '\\': the bytes a JSON string holds as they
// are.
func plainPrefix(b []byte) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		if special(binary.LittleEndian.Uint64(b[i:])) != 0 {
			break
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
			return i
		}
	}
	return i
}

// isPlainHTML reports whether s holds only bytes from 0x20 to 0x7f other
// than '"', '\\', '<', '>' and '&': a string encoding/json writes as it
// is.
func isPlainHTML(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if specialHTML(x) != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}
