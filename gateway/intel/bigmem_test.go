package intel

import (
	"slices"
	"testing"
	"unsafe"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// TestBigArrays checks the index's big-array allocation: arrays from
// bigMin up are mapped (on Linux), zeroed, writable to the last byte,
// huge-page aligned; smaller ones stay on the heap.
func TestBigArrays(t *testing.T) {
	probe := mapBig(1)
	canMap := probe != nil // false off Linux
	unmapBig(probe)
	for _, tc := range []struct {
		name       string
		n, c       int
		wantMapped bool
	}{
		{"small", 100, 4096, false},
		{"just below", 10, bigMin - 1, false},
		{"big", 8, bigMin, true},
		{"big odd", 8, 3*hugePage + 5, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, mapped := bytesOf(tc.n, tc.c)
			if got := mapped != nil; got != (tc.wantMapped && canMap) {
				t.Fatalf("mapped = %v, want %v", got, tc.wantMapped)
			}
			if len(b) != tc.n || cap(b) != tc.c {
				t.Fatalf("len %d cap %d, want %d %d", len(b), cap(b), tc.n, tc.c)
			}
			full := b[:cap(b)]
			for i, c := range full {
				if c != 0 {
					t.Fatalf("byte %d = %d, want 0", i, c)
				}
			}
			full[0], full[len(full)-1] = 1, 2
			if mapped != nil {
				if p := uintptr(unsafe.Pointer(unsafe.SliceData(mapped))); p%hugePage != 0 {
					t.Errorf("mapping at %#x, not huge-page aligned", p)
				}
				unmapBig(mapped)
			}
		})
	}
	w, mapped := words(bigMin / 8)
	if len(w) != bigMin/8 || (mapped != nil) != canMap {
		t.Fatalf("words: len %d, mapped %v", len(w), mapped != nil)
	}
	w[len(w)-1] = 1
	unmapBig(mapped)
	adviseHuge(make([]Entry, 3*hugePage/int(unsafe.Sizeof(Entry{})))) // must not fail on heap memory
}

// TestEntryReadAhead checks that the fields resolve reads ahead of a hit's
// callback are at most a cache line apart from the entry's start to its
// end, so every line of the entry is in cache when the callback reads it.
func TestEntryReadAhead(t *testing.T) {
	var e Entry
	read := []uintptr{ // the words resolve reads
		unsafe.Offsetof(e.ID) + 8, unsafe.Offsetof(e.Value) + 8, unsafe.Offsetof(e.Techniques) + 8, unsafe.Offsetof(e.ValidUntil),
	}
	prev := uintptr(0)
	for _, at := range read {
		if at-prev > 64 || at < prev {
			t.Fatalf("read at %d, %d bytes after %d: a line may be missed (offsets %v)", at, at-prev, prev, read)
		}
		prev = at
	}
	if end := unsafe.Sizeof(e); end-prev > 64 {
		t.Fatalf("last read at %d, entry ends at %d", prev, end)
	}
}

// TestHashTag checks the lookup-side switch against strTags: every kind
// addProbes hands to it gets its type's tag, any other 0.
func TestHashTag(t *testing.T) {
	for _, kind := range append(slices.Clone(wire.IndicatorTypes), ObservableIP, "", "SHA256", "file-sha256 ") {
		want := byte(0)
		switch kind {
		case wire.IndicatorSHA256, wire.IndicatorSHA1, wire.IndicatorMD5, wire.IndicatorJA3, wire.IndicatorJA4:
			want = strTags[kind]
		}
		if got := hashTag(kind); got != want || want == 0 && got != 0 {
			t.Errorf("hashTag(%q) = %d, want %d", kind, got, want)
		}
	}
}

// FuzzLowerASCII checks the word-at-a-time lower-casing against the
// byte-at-a-time reference, on any bytes (non-ASCII ones stay as they are).
func FuzzLowerASCII(f *testing.F) {
	for _, s := range []string{"", "A", "ABCDEFGHIJKLMNOPQRSTUVWXYZ@[`{", "0123456789ABCDEFabcdef0123456789ABCDEF", "\x80\xc1\xdaZ\xffA\x7f\x40\x5bÄÖ"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got := slices.Clone(in)
		lowerASCII(got)
		want := slices.Clone(in)
		for i, c := range want {
			if c >= 'A' && c <= 'Z' {
				want[i] = c + 'a' - 'A'
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("lowerASCII(%q) = %q, want %q", in, got, want)
		}
	})
}
