package gateway

import (
	"encoding/base64"
	"encoding/binary"
	"slices"
)

// appendBase64 appends src in standard base64 with padding (RFC 4648 §4),
// byte for byte what base64.StdEncoding.AppendEncode appends: the raw
// bytes of every event are written so into its canonical bytes, the
// Merkle leaf, so the output must never differ (TestAppendBase64Golden,
// FuzzAppendBase64). encoding/base64 writes one character per table
// lookup with a bounds check each; this writes eight characters per six
// input bytes with one 8-byte load, four lookups of two characters each
// and one 8-byte store (base64Step), about three times faster on the
// kilobyte raws of ingest (BenchmarkAppendBase64), where the standard
// encoder was 3 % of the gateway's CPU under ingest load. Two such steps
// run per iteration, so the loop's bounds checks and slice updates are
// paid once per twelve bytes and the two steps' lookups overlap. The
// tail (fewer than eight bytes left, so the 8-byte load stays inside
// src) is encoding/base64's own.
func appendBase64(dst, src []byte) []byte {
	n := base64.StdEncoding.EncodedLen(len(src))
	dst = slices.Grow(dst, n)
	out := dst[len(dst) : len(dst)+n]
	// Each iteration reads 14 bytes and consumes 12.
	for len(src) >= 14 && len(out) >= 16 {
		binary.LittleEndian.PutUint64(out, base64Step(binary.BigEndian.Uint64(src)))
		binary.LittleEndian.PutUint64(out[8:], base64Step(binary.BigEndian.Uint64(src[6:])))
		src, out = src[12:], out[16:]
	}
	// Then 8 bytes read and 6 consumed while 8 are left.
	for len(src) >= 8 && len(out) >= 8 {
		binary.LittleEndian.PutUint64(out, base64Step(binary.BigEndian.Uint64(src)))
		src, out = src[6:], out[8:]
	}
	// A multiple of 3 was consumed, so the rest encodes on its own exactly
	// as it does inside the whole (padding only at the very end).
	base64.StdEncoding.Encode(out, src)
	return dst[:len(dst)+n]
}

// base64Step returns the eight characters of the top 48 bits of v (six
// input bytes read big-endian), the first in the low byte.
func base64Step(v uint64) uint64 {
	return uint64(base64Pairs[v>>52&0xfff]) |
		uint64(base64Pairs[v>>40&0xfff])<<16 |
		uint64(base64Pairs[v>>28&0xfff])<<32 |
		uint64(base64Pairs[v>>16&0xfff])<<48
}

// base64Pairs maps 12 bits to their two base64 characters, the first in
// the low byte (so a little-endian store writes it first).
var base64Pairs = func() (t [4096]uint16) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := range t {
		t[i] = uint16(alphabet[i>>6]) | uint16(alphabet[i&63])<<8
	}
	return t
}()
