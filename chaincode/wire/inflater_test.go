package wire

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"testing"

	kflate "github.com/klauspost/compress/flate"
)

// refInflateTransientAlerts is InflateTransientAlerts verbatim as of
// 25cb1f9 (a new decompressor for every value).
func refInflateTransientAlerts(v []byte) ([]byte, error) {
	br := bytes.NewReader(v)
	r := kflate.NewReader(br)
	defer r.Close()
	out := bytes.NewBuffer(make([]byte, 0, min(6*len(v)+512, MaxInputBytes+1)))
	n, err := io.Copy(out, io.LimitReader(r, MaxInputBytes+1))
	if err != nil {
		return nil, &ValidationError{Field: "alerts", Reason: fmt.Sprintf("transient %s does not inflate: %v", TransientAlertsDeflate, err)}
	}
	if n > MaxInputBytes {
		return nil, &ValidationError{Field: "alerts", Reason: fmt.Sprintf("transient %s inflates beyond %d bytes", TransientAlertsDeflate, MaxInputBytes)}
	}
	if br.Len() != 0 {
		return nil, &ValidationError{Field: "alerts", Reason: fmt.Sprintf("transient %s has %d bytes after its final block", TransientAlertsDeflate, br.Len())}
	}
	return out.Bytes(), nil
}

// bitWriter writes a DEFLATE bit stream (fields LSB first).
type bitWriter struct {
	out   []byte
	acc   uint64
	nbits uint
}

func (w *bitWriter) bits(v uint64, n uint) {
	w.acc |= v << w.nbits
	w.nbits += n
	for w.nbits >= 8 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.nbits -= 8
	}
}

// code writes a Huffman code of length n (MSB of the code first).
func (w *bitWriter) code(c uint64, n uint) {
	for i := int(n) - 1; i >= 0; i-- {
		w.bits((c>>uint(i))&1, 1)
	}
}

func (w *bitWriter) bytes() []byte {
	if w.nbits > 0 {
		w.out = append(w.out, byte(w.acc))
	}
	return w.out
}

// canonical returns the canonical codes for lengths (RFC 1951 3.2.2).
func canonical(lengths []int) []uint64 {
	var count [16]int
	for _, l := range lengths {
		if l > 0 {
			count[l]++
		}
	}
	var next [16]uint64
	code := uint64(0)
	for l := 1; l < 16; l++ {
		code = (code + uint64(count[l-1])) << 1
		next[l] = code
	}
	codes := make([]uint64, len(lengths))
	for s, l := range lengths {
		if l > 0 {
			codes[s] = next[l]
			next[l]++
		}
	}
	return codes
}

// dynamicBlock builds one final dynamic-Huffman DEFLATE block whose
// literal/length alphabet is 0..257 (254 codes of 8 bits, 4 of 9) and
// whose distance alphabet is one code: distLen 1 (the degenerate code
// for distance symbol 0, distance 1) or 0 (an empty distance tree). body
// writes the data with the literal/length codes given.
func dynamicBlock(distLen int, body func(w *bitWriter, lit func(sym int))) []byte {
	litLens := make([]int, 258)
	for i := range litLens {
		litLens[i] = 8
	}
	for i := 254; i < 258; i++ {
		litLens[i] = 9
	}
	litCodes := canonical(litLens)
	// Code-length alphabet: 8 -> 1 bit, 0 and 9 -> 2 bits (1 used for distLen 1).
	clLens := make([]int, 19)
	clLens[8], clLens[0], clLens[9] = 1, 2, 2
	clCodes := canonical(clLens)
	_ = clLens[1]
	var w bitWriter
	w.bits(1, 1) // BFINAL
	w.bits(2, 2) // BTYPE dynamic
	w.bits(258-257, 5)
	w.bits(0, 5)    // HDIST: 1 distance code
	w.bits(19-4, 4) // HCLEN: all 19
	order := []int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
	if distLen == 1 {
		// the code-length 1 must be in the code-length alphabet too:
		// 8 -> 1 bit, 0, 9 -> 3 bits, 1 -> 3 bits... keep it complete:
		clLens = make([]int, 19)
		clLens[8], clLens[0], clLens[9], clLens[1] = 1, 3, 3, 2
		clCodes = canonical(clLens)
	}
	for _, s := range order {
		w.bits(uint64(clLens[s]), 3)
	}
	for _, l := range litLens {
		w.code(clCodes[l], uint(clLens[l]))
	}
	w.code(clCodes[distLen], uint(clLens[distLen]))
	body(&w, func(sym int) { w.code(litCodes[sym], uint(litLens[sym])) })
	return w.bytes()
}

func literals(s string) func(w *bitWriter, lit func(int)) {
	return func(w *bitWriter, lit func(int)) {
		for i := 0; i < len(s); i++ {
			lit(int(s[i]))
		}
		lit(257)     // length 3
		w.bits(0, 1) // distance code "0" (symbol 0, distance 1), if the tree has it
		lit(256)     // end of block
	}
}

// TestKeptInflaterLeaksDistanceTree: a value a fresh decompressor
// refuses is refused after any earlier transaction too. It failed while
// decompressors were kept between transactions: a kept one's distance
// table survives Reset when the next stream's distance tree is empty
// (klauspost's huffmanDecoder.init returns before zeroing chunks), so
// the value decoded, with distances from the earlier stream, and the
// answer depended on which transaction last used that decompressor.
func TestKeptInflaterLeaksDistanceTree(t *testing.T) {
	js := bytes.TrimSpace(kddAlertsJSON(t, 2)) // a valid 2-alert array
	warm := dynamicBlock(1, literals("x"))
	attack := dynamicBlock(0, literals(string(js)+" ")) // + 3 spaces from a distance code
	if b, err := io.ReadAll(flate.NewReader(bytes.NewReader(warm))); err != nil || string(b) != "xxxx" {
		t.Fatalf("warm stream: %q, %v", b, err)
	}
	if b, err := io.ReadAll(flate.NewReader(bytes.NewReader(attack))); err == nil {
		t.Fatalf("compress/flate accepts the attack stream: %q", b)
	}
	_, oldErr := refInflateTransientAlerts(attack)
	if oldErr == nil {
		t.Fatal("the old InflateTransientAlerts accepted the attack stream")
	}
	t.Logf("old: %v", oldErr)

	for _, name := range []string{"DecodeTransientAlerts", "InflateTransientAlerts"} {
		t.Run(name, func(t *testing.T) {
			// One earlier transaction (had decompressors been kept, it
			// would have warmed one).
			if _, err := InflateTransientAlerts(warm); err != nil {
				t.Fatal(err)
			}
			var err error
			var got any
			if name == "DecodeTransientAlerts" {
				got, err = DecodeTransientAlerts(attack)
			} else {
				got, err = InflateTransientAlerts(attack)
			}
			if errText(err) != errText(oldErr) {
				t.Fatalf("%s after another transaction = %v (%.80q...), want the old refusal %v", name, err, fmt.Sprint(got), oldErr)
			}
		})
	}
}

// FuzzKeptInflater: after any earlier transient value (warm) was
// inflated, DecodeTransientAlerts(v) is what the old
// code (a new decompressor) gives: the same alerts or the same refusal.
func FuzzKeptInflater(f *testing.F) {
	js := kddAlertsJSON(f, 2)
	z := compressed(f, js)
	f.Add(z, z)
	f.Add(dynamicBlock(1, literals("x")), dynamicBlock(0, literals("[] ")))
	f.Add(z, dynamicBlock(0, literals("[] ")))
	f.Fuzz(func(t *testing.T, warm, v []byte) {
		InflateTransientAlerts(warm)
		got, gotErr := DecodeTransientAlerts(v)
		var want []Alert
		in, wantErr := refInflateTransientAlerts(v)
		if wantErr == nil {
			want, wantErr = DecodeAlerts(in, "alerts")
		}
		if errText(gotErr) != errText(wantErr) {
			t.Fatalf("after warm %x: DecodeTransientAlerts error = %v, want %v", warm, gotErr, wantErr)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("after warm %x: alerts differ", warm)
		}
	})
}
