package features

import "github.com/ledgerguard/ledgerguard/gateway"

// maxPrefetchLines bounds how many cache lines PrefetchLeaf asks for:
// 512 bytes, the end of the header and the first fields; the hardware's
// own stream prefetcher follows as the reader walks forward. Asking for
// every line of a CIC-IDS2017 record (about 2.6 KB) cost more than it
// saved: 8 lines measured lowest on the cic pair (BenchmarkDetectShared,
// against 16, 32 and 64, alternated runs).
const maxPrefetchLines = 8

// PrefetchLeaf asks the CPU to start loading the canonical bytes of l
// that ExtractLeaf reads (from the header's lower bound, minHeader, on)
// into its caches, and returns at once. A batch of thousands of events
// does not fit in the caches, so each event's bytes were a trip to
// memory that the extraction of the event waited for (most of
// skipHeaderFrom's cost, the first read of an event); calling
// PrefetchLeaf two events ahead before extracting the current one
// overlaps that trip with the current event's work. It reads no byte
// and changes nothing: results are the same with or without it.
func PrefetchLeaf(l *gateway.Leaf) {
	b := l.Canonical
	from := minHeader(&l.Event)
	if from < 0 || from >= len(b) {
		from = 0
	}
	if len(b) == 0 {
		return
	}
	n := (len(b)-from+63)/64 + 1 // +1: from need not be line-aligned
	prefetchLines(&b[from], min(n, maxPrefetchLines))
}
