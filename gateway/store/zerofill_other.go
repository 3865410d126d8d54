//go:build !linux

package store

// zeroFillDirect is zero-filling with O_DIRECT, which this OS's build
// does not do: the caller fills the file the buffered way.
func zeroFillDirect(path string, size int64, stop func() bool) error {
	return errDirectRefused
}
