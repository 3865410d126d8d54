//go:build !amd64

package features

// prefetchLines does nothing where no assembly prefetch is written: the
// extraction reads the bytes all the same, only without the head start.
func prefetchLines(p *byte, n int) {}
