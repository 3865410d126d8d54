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
// and one 8-byte store, about three times faster on the kilobyte raws of
// ingest (BenchmarkAppendBase64), where the standard encoder was 3 % of
// the gateway's CPU under ingest load. The tail (fewer than eight bytes
// left, so the 8-byte load stays inside src) is encoding/base64's own.
func appendBase64(dst, src []byte) []byte {
	n := base64.StdEncoding.EncodedLen(len(src))
	dst = slices.Grow(dst, n)
	out := dst[len(dst) : len(dst)+n]
	// Each step reads 8 bytes and consumes 6; the rest is the tail.
	for len(src) >= 8 && len(out) >= 8 {
		v := binary.BigEndian.Uint64(src)
		w := uint64(base64Pairs[v>>52&0xfff]) |
			uint64(base64Pairs[v>>40&0xfff])<<16 |
			uint64(base64Pairs[v>>28&0xfff])<<32 |
			uint64(base64Pairs[v>>16&0xfff])<<48
		binary.LittleEndian.PutUint64(out, w)
		src, out = src[6:], out[8:]
	}
	// A multiple of 3 was consumed, so the rest encodes on its own exactly
	// as it does inside the whole (padding only at the very end).
	base64.StdEncoding.Encode(out, src)
	return dst[:len(dst)+n]
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
