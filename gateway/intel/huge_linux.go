package intel

import (
	"syscall"
	"unsafe"
)

// adviseHuge asks the kernel to back a large lookup array with huge pages
// (where transparent huge pages are set to "madvise", as on Debian): the
// matcher's table and arena are read at random, and with 4 KiB pages
// nearly every probe of a million-indicator index is also a TLB miss (a
// two-level page walk under virtualisation). Failure is harmless.
func adviseHuge[T any](s []T) {
	if cap(s) == 0 {
		return
	}
	var z T
	n := uintptr(cap(s)) * unsafe.Sizeof(z)
	if n < 2<<20 {
		return
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	const page = 4096
	lo, hi := (start+page-1)&^(page-1), (start+n)&^(page-1)
	if hi <= lo {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), n)
	_ = syscall.Madvise(b[lo-start:hi-start], syscall.MADV_HUGEPAGE)
}
