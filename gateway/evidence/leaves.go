package evidence

import (
	"cmp"
	"fmt"
	"slices"
	"sort"

	"github.com/transparency-dev/merkle/proof"

	"github.com/ledgerguard/ledgerguard/gateway/merkle"
)

// MaxCrossChecks bounds how many events of one batch that fail their own
// proof are tried against each other's positions (quadratic work) to tell
// a swap of two events' bytes (reordered) from a modification. Beyond it
// they are all reported as modified.
const MaxCrossChecks = 64

// Leaf is one event entry of a batch as the leaf analysis sees it.
type Leaf struct {
	Line   int      // bundle line, for findings
	Seq    uint64   // the seq the bundle lists it at
	ID     string   // the event id the bundle lists
	Hash   []byte   // RFC 6962 leaf hash of its canonical bytes
	Index  uint64   // the leaf index its proof claims
	Hashes [][]byte // its audit path; nil if the proof was malformed
}

// AnalyzeLeaves classifies the entries of one batch, given in bundle order,
// against the batch's anchored root over a tree of treeSize leaves whose
// batch holds seqs [first, last] (seq = leaf index). It requires first <=
// last < treeSize and a root of merkle.HashSize bytes. Every event-level
// problem is returned once, sorted by seq; no findings means each seq of
// the batch is present exactly once, in order, with the anchored leaf.
//
// The rules, applied in this order:
//   - an entry whose leaf verifies at its listed seq holds that seq;
//   - one that verifies at another position of the batch (the leaf index
//     its proof names, or the listed seq of another failing entry: two
//     events whose bytes were swapped) holds that position and is
//     reordered;
//   - an entry that verifies nowhere is modified if its listed seq is in
//     the batch and no other entry holds it, else inserted; a second entry
//     for a held position, or a seq outside the batch, is inserted;
//   - entries holding their own seq but listed out of seq order are
//     reordered: those not at their rank in seq order when that names at
//     most one more entry than a longest increasing run leaves out (so two
//     swapped events are both named), else those outside that run (so one
//     event moved far is named alone);
//   - a seq of the batch that no entry holds or claims is removed.
func AnalyzeLeaves(first, last, treeSize uint64, root []byte, entries []Leaf) []Finding {
	inRange := func(s uint64) bool { return s >= first && s <= last }
	verifies := func(leaf []byte, at uint64, hashes [][]byte) bool {
		return hashes != nil && inRange(at) && proof.VerifyInclusion(merkle.Hasher, at, treeSize, leaf, hashes, root) == nil
	}
	const none = -1
	pos := make([]int64, len(entries))
	var failing []int
	for i, e := range entries {
		switch {
		case verifies(e.Hash, e.Seq, e.Hashes):
			pos[i] = int64(e.Seq)
		case e.Index != e.Seq && verifies(e.Hash, e.Index, e.Hashes):
			pos[i] = int64(e.Index)
		default:
			pos[i] = none
			failing = append(failing, i)
		}
	}
	if len(failing) >= 2 && len(failing) <= MaxCrossChecks {
		for _, i := range failing {
			for _, j := range failing {
				if i != j && verifies(entries[i].Hash, entries[j].Seq, entries[j].Hashes) {
					pos[i] = int64(entries[j].Seq)
					break
				}
			}
		}
	}

	var out []Finding
	add := func(k Kind, e Leaf, format string, a ...any) {
		out = append(out, Finding{Kind: k, EventID: e.ID, Seq: e.Seq, HasSeq: true, Line: e.Line, Detail: fmt.Sprintf(format, a...)})
	}
	holder := make(map[uint64]int, len(entries))
	flagged := make([]bool, len(entries))
	// Entries in place claim first, so a duplicate or a moved copy never
	// displaces the genuine one.
	for i, e := range entries {
		if pos[i] != int64(e.Seq) {
			continue
		}
		if _, taken := holder[e.Seq]; taken {
			add(KindInserted, e, "second entry for seq %d", e.Seq)
			flagged[i] = true
			continue
		}
		holder[e.Seq] = i
	}
	for i, e := range entries {
		if pos[i] == none || pos[i] == int64(e.Seq) {
			continue
		}
		p := uint64(pos[i])
		flagged[i] = true
		if _, taken := holder[p]; taken {
			add(KindInserted, e, "copy of the event anchored at seq %d, which is already present", p)
			continue
		}
		holder[p] = i
		add(KindReordered, e, "listed at seq %d but its bytes are the leaf anchored at seq %d", e.Seq, p)
	}
	for i, e := range entries {
		if pos[i] != none {
			continue
		}
		flagged[i] = true
		_, taken := holder[e.Seq]
		switch {
		case !inRange(e.Seq):
			add(KindInserted, e, "seq %d is outside the batch's range %d..%d and its bytes verify nowhere in it", e.Seq, first, last)
		case taken:
			add(KindInserted, e, "its bytes verify nowhere in the batch and seq %d is held by another event", e.Seq)
		default:
			holder[e.Seq] = i
			add(KindModified, e, "its bytes do not hash to the leaf anchored at seq %d", e.Seq)
		}
	}
	// Order: the in-place entries must be listed in increasing seq; those
	// off the longest increasing run are the ones that moved.
	var inPlace []int
	for i := range entries {
		if !flagged[i] {
			inPlace = append(inPlace, i)
		}
	}
	seqs := make([]uint64, len(inPlace))
	for k, i := range inPlace {
		seqs[k] = entries[i].Seq
	}
	for _, k := range outOfOrder(seqs) {
		add(KindReordered, entries[inPlace[k]], "seq %d is listed out of order", entries[inPlace[k]].Seq)
	}
	for s := first; s <= last; s++ {
		if _, ok := holder[s]; !ok {
			out = append(out, Finding{Kind: KindRemoved, Seq: s, HasSeq: true, Detail: fmt.Sprintf("no event for seq %d of the batch", s)})
		}
		if s == last { // last may be MaxUint64
			break
		}
	}
	slices.SortStableFunc(out, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Seq, b.Seq), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.EventID, b.EventID))
	})
	return out
}

// outOfOrder returns the indexes of s (distinct values) to report as
// listed out of order; see AnalyzeLeaves.
func outOfOrder(s []uint64) []int {
	sorted := slices.Clone(s)
	slices.Sort(sorted)
	var displaced []int
	for k, v := range s {
		if sorted[k] != v {
			displaced = append(displaced, k)
		}
	}
	keep := longestIncreasing(s)
	var dropped []int
	for k := range s {
		if !keep[k] {
			dropped = append(dropped, k)
		}
	}
	if len(displaced) <= len(dropped)+1 {
		return displaced
	}
	return dropped
}

// longestIncreasing marks the elements of one longest strictly increasing
// subsequence of s (patience sorting, O(n log n)).
func longestIncreasing(s []uint64) []bool {
	tails := []int{}            // tails[k]: index of the smallest tail of a run of length k+1
	prev := make([]int, len(s)) // predecessor of each element in its run
	for i, v := range s {
		k := sort.Search(len(tails), func(k int) bool { return s[tails[k]] >= v })
		if k > 0 {
			prev[i] = tails[k-1]
		} else {
			prev[i] = -1
		}
		if k == len(tails) {
			tails = append(tails, i)
		} else {
			tails[k] = i
		}
	}
	keep := make([]bool, len(s))
	if len(tails) == 0 {
		return keep
	}
	for i := tails[len(tails)-1]; i >= 0; i = prev[i] {
		keep[i] = true
	}
	return keep
}
