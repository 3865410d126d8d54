//go:build !linux

package store

// vectoredWrites says whether pwritev is available: not in this OS's
// build, where writeFrames copies into one buffer instead.
const vectoredWrites = false

func pwritev(fd uintptr, bufs [][]byte, at int64) error {
	panic("store: pwritev without vectoredWrites")
}
