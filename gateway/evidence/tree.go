package evidence

import (
	"fmt"
	"math/bits"

	"github.com/transparency-dev/merkle/compact"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/merkle"
)

// PrefixFromInclusion returns the compact range [0, p.LeafIndex) of the
// tree of size p.TreeSize, hex hashes largest subtree first (the order
// compact.RangeNodes uses), read from an inclusion proof of leaf
// p.LeafIndex. It requires p.LeafIndex < p.TreeSize and a proof of the
// length RFC 6962 prescribes for them; it does not check the proof against
// any root.
//
// Why this works: on the audit path of leaf m, the siblings that lie to the
// left are exactly the perfect subtrees that tile [0, m), one per set bit
// of m; they are never the ephemeral right-border nodes, so the proof
// carries them verbatim.
func PrefixFromInclusion(p gateway.InclusionProof) ([]string, error) {
	if p.LeafIndex >= p.TreeSize {
		return nil, fmt.Errorf("evidence: prefix: leaf index %d not below tree size %d", p.LeafIndex, p.TreeSize)
	}
	left := pathSides(p.LeafIndex, p.TreeSize)
	if len(left) != len(p.Hashes) {
		return nil, fmt.Errorf("evidence: prefix: proof of leaf %d in tree of size %d has %d hashes, want %d", p.LeafIndex, p.TreeSize, len(p.Hashes), len(left))
	}
	var out []string
	for i := len(left) - 1; i >= 0; i-- { // top of the path is the largest subtree
		if left[i] {
			out = append(out, p.Hashes[i])
		}
	}
	return out, nil
}

// pathSides reports, lowest level first, whether each element of the RFC
// 6962 audit path of leaf m in a tree of n leaves is a left sibling
// (RFC 6962 section 2.1.1: PATH(m, D[n]) splits at the largest power of two
// k < n).
func pathSides(m, n uint64) []bool {
	if n <= 1 {
		return nil
	}
	k := uint64(1) << (bits.Len64(n-1) - 1)
	if m < k {
		return append(pathSides(m, k), false)
	}
	return append(pathSides(m-k, n-k), true)
}

var rangeFactory = &compact.RangeFactory{Hash: merkle.NodeHash}

// RootFromLeaves returns the RFC 6962 root of the tree of size
// before+len(leafHashes) whose first before leaves are summarised by the
// compact range prefix (as from PrefixFromInclusion) and whose remaining
// leaves have the given leaf hashes, in order. It requires len(prefix) to
// be the number of set bits of before.
func RootFromLeaves(before uint64, prefix []string, leafHashes [][]byte) ([]byte, error) {
	hashes, err := merkle.DecodeHashes("prefix", prefix)
	if err != nil {
		return nil, err
	}
	r, err := rangeFactory.NewRange(0, before, hashes)
	if err != nil {
		return nil, fmt.Errorf("evidence: prefix of tree size %d: %w", before, err)
	}
	for _, h := range leafHashes {
		if err := r.Append(h, nil); err != nil {
			return nil, err
		}
	}
	if r.End() == 0 {
		return merkle.EmptyRoot(), nil
	}
	return r.GetRootHash(nil)
}
