//go:build !linux

package intel

// mapBig maps nothing outside Linux: the index's arrays stay on the heap.
func mapBig(int) []byte { return nil }

// unmapBig has nothing to release outside Linux.
func unmapBig([]byte) {}

// adviseHuge has no huge pages to ask for outside Linux.
func adviseHuge[T any]([]T) {}
