package features

import "github.com/ledgerguard/ledgerguard/gateway"

// maxPrefetchLines bounds how many cache lines PrefetchLeaf asks for:
// the first 4 KB after the header cover the fields a flow model reads
// (a CIC-IDS2017 record's canonical bytes are about 2 KB), and the
// hardware's own stream prefetcher follows a longer event.
const maxPrefetchLines = 64

// PrefetchLeaf asks the CPU to start loading the canonical bytes of l
// that ExtractLeaf reads (from the header's lower bound, minHeader, on)
// into its caches, and returns at once. A batch of thousands of events
// does not fit in the caches, so each event's bytes were a trip to
// memory that the extraction of the event waited for (most of
// skipHeaderFrom's cost, the first read of an event); calling
// PrefetchLeaf on the next event before extracting the current one
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
