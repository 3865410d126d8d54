package stix

import (
	"crypto/sha256"
	"encoding/hex"
)

// namespace is ledgerguard's UUID namespace for the STIX ids it derives
// (a random version 4 UUID fixed once).
var namespace = [16]byte{0x72, 0xd6, 0xa9, 0x30, 0x1b, 0xe2, 0x45, 0x08, 0x84, 0xe6, 0x15, 0x9d, 0xaf, 0x09, 0x26, 0xe7}

// derivedUUID returns a UUID derived from name: the RFC 9562 version 4
// layout filled from SHA-256 of ledgerguard's namespace and name. Version
// 4 only asks for pseudo-random bits, which a hash gives; STIX asks for
// version 4 ids on the objects ledgerguard writes, and deriving them keeps
// every gateway and every export naming an object the same (so consumers
// see one object, not one per export). A few lines of the RFC, not worth a
// dependency.
func derivedUUID(name string) string {
	h := sha256.New()
	h.Write(namespace[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// isUUID reports whether s is a UUID in 8-4-4-4-12 hex form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHexDigit(c) {
				return false
			}
		}
	}
	return true
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
