package features

// prefetchLines asks the CPU to load the n (at least 1) cache lines from
// p on into its caches, without waiting for them (prefetch_amd64.s).
//
//go:noescape
func prefetchLines(p *byte, n int)
