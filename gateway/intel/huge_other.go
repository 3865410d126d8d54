//go:build !linux

package intel

// adviseHuge does nothing where madvise(MADV_HUGEPAGE) does not exist.
func adviseHuge[T any](s []T) {}
