package wire

// SWAR (eight bytes at a time) scans for the JSON strings of alerts: the
// decoder and the set encoder check every byte of every string (two
// 64-digit hex ids per alert, and the fields' values) for a byte that
// needs care, and a byte-at-a-time loop was most of the decoder's own
// time. FuzzPlainPrefix checks both against a byte loop.
const (
	swarLSB = 0x0101010101010101
	swarMSB = 0x8080808080808080
)

// swarSpecial returns a word with the high bit set in (at least) the
// first byte of x that is below 0x20, at or above 0x80, '"' or '\\'
// (and, if html, '<', '>' or '&'), and zero if x has no such byte. The
// borrows of the subtractions can mark bytes after a special one, never
// before it, and never mark a word that has none.
func swarSpecial(x uint64, html bool) uint64 {
	hasZero := func(v uint64) uint64 { return (v - swarLSB) & ^v & swarMSB }
	m := (x - swarLSB*0x20) & ^x & swarMSB // bytes below 0x20
	m |= x & swarMSB                       // bytes at or above 0x80
	m |= hasZero(x ^ (swarLSB * '"'))
	m |= hasZero(x ^ (swarLSB * '\\'))
	if html {
		m |= hasZero(x ^ (swarLSB * '<'))
		m |= hasZero(x ^ (swarLSB * '>'))
		m |= hasZero(x ^ (swarLSB * '&'))
	}
	return m
}

// plainPrefix returns the length of b's longest prefix of bytes from 0x20
// to 0x7f other than '"' and '\\' (and, if html, '<', '>' and '&'): the
// bytes a JSON string holds, and encoding/json writes, as they are.
func plainPrefix[T string | []byte](b T, html bool) int {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := uint64(b[i]) | uint64(b[i+1])<<8 | uint64(b[i+2])<<16 | uint64(b[i+3])<<24 |
			uint64(b[i+4])<<32 | uint64(b[i+5])<<40 | uint64(b[i+6])<<48 | uint64(b[i+7])<<56
		if swarSpecial(x, html) != 0 {
			break
		}
	}
	for ; i < len(b); i++ {
		if !plainByte(b[i], html) {
			return i
		}
	}
	return i
}

func plainByte(c byte, html bool) bool {
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && !(html && (c == '<' || c == '>' || c == '&'))
}
