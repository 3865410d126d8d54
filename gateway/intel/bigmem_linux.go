package intel

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// hugePage is the size of a transparent huge page on amd64 and arm64 (4K
// base pages).
const hugePage = 2 << 20

// mapBig returns n zeroed bytes outside the Go heap, aligned to a huge
// page and advised to be backed by huge pages (MADV_HUGEPAGE), or nil when
// the kernel refuses the mapping (the caller then uses the heap).
//
// Why: the index's table and arena are tens of MB read at random; on 4 KiB
// pages nearly every lookup that reaches them also misses the TLB (a page
// walk, nested under a hypervisor), which costs about as much as the cache
// miss itself. The Go heap does not ask for huge pages (and the kernel's
// usual policy, "madvise", gives them only to who asks), so the index
// maps its big arrays itself. They hold no pointers, so the garbage
// collector need not see them.
func mapBig(n int) []byte {
	size := (n + hugePage - 1) &^ (hugePage - 1)
	// MmapPtr, not Mmap: unix.Mmap keeps a table of whole mappings, and
	// the unaligned ends of this one are given back below.
	p, err := unix.MmapPtr(-1, 0, nil, uintptr(size+hugePage), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil
	}
	raw := unsafe.Slice((*byte)(p), size+hugePage)
	skip := int((hugePage - uintptr(p)%hugePage) % hugePage)
	if skip > 0 {
		unmap(raw[:skip])
	}
	if tail := raw[skip+size:]; len(tail) > 0 {
		unmap(tail)
	}
	b := raw[skip : skip+size : skip+size]
	_ = unix.Madvise(b, unix.MADV_HUGEPAGE) // without it the mapping still works
	return b[:n:n]
}

// unmapBig releases what mapBig returned: the whole mapping, which runs to
// the huge page boundary after cap(b) (mapBig hands out only the n bytes
// asked for, but maps whole huge pages).
func unmapBig(b []byte) {
	if cap(b) > 0 {
		size := (uintptr(cap(b)) + hugePage - 1) &^ (hugePage - 1)
		_ = unix.MunmapPtr(unsafe.Pointer(unsafe.SliceData(b)), size)
	}
}

func unmap(b []byte) {
	_ = unix.MunmapPtr(unsafe.Pointer(unsafe.SliceData(b)), uintptr(len(b)))
}

// adviseHuge asks for huge pages under the whole huge pages s spans
// (best effort: memory the heap had touched before keeps its small pages
// until the kernel collapses them). For arrays that must stay on the heap
// because they hold pointers, read at random like the index's.
func adviseHuge[T any](s []T) {
	var zero T
	n := uintptr(cap(s)) * unsafe.Sizeof(zero)
	if n < 2*hugePage {
		return
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	skip := (hugePage - p%hugePage) % hugePage
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), n)[skip:]
	_ = unix.Madvise(b[:uintptr(len(b))&^(hugePage-1)], unix.MADV_HUGEPAGE)
}
