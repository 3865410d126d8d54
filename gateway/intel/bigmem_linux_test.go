package intel

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"
)

// mapsHold reports whether any mapping in /proc/self/maps overlaps
// [start, end).
func mapsHold(t *testing.T, start, end uintptr) bool {
	t.Helper()
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		t.Skipf("no /proc/self/maps: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var lo, hi uintptr
		r, _, _ := strings.Cut(sc.Text(), " ")
		if _, err := fmt.Sscanf(r, "%x-%x", &lo, &hi); err != nil {
			t.Fatalf("parse %q: %v", sc.Text(), err)
		}
		if lo < end && start < hi {
			return true
		}
	}
	return false
}

// TestUnmapBigReleasesTheWholeMapping maps sizes that are not multiples of
// a huge page and checks that nothing of the mapping, up to the huge page
// boundary mapBig rounded to, is left after unmapBig.
func TestUnmapBigReleasesTheWholeMapping(t *testing.T) {
	for _, n := range []int{1, 4096 + 1, hugePage, 3*hugePage + 5} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			b := mapBig(n)
			if b == nil {
				t.Skip("the kernel refused the mapping")
			}
			start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
			end := start + (uintptr(n)+hugePage-1)&^(hugePage-1)
			if !mapsHold(t, start, end) {
				t.Fatalf("mapping [%#x, %#x) not listed before unmapBig", start, end)
			}
			unmapBig(b)
			if mapsHold(t, start, end) {
				t.Errorf("after unmapBig part of [%#x, %#x) is still mapped", start, end)
			}
		})
	}
}
