package store

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/merkle"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

var errMissingNode = errors.New("merkle node missing")

// nodeMinLevel is the lowest level of the interior Merkle nodes kept in
// Pebble. Leaves (level 0) are in their segment records, and the nodes of
// levels 1 to nodeMinLevel-1 are recomputed from at most
// 2^(nodeMinLevel-1) leaf hashes, read together, when a proof or the
// root of a past size needs them. Keeping them would cost the id index's
// LSM an extra key per event (half of its compaction work) to save a
// read of a few kilobytes per proof.
const nodeMinLevel = 4

// lowNode returns the hash of a perfect node below nodeMinLevel from the
// leaf hashes of its subtree.
func (s *Store) lowNode(id compact.NodeID) ([]byte, error) {
	from := id.Index << id.Level
	hs := make([][]byte, 0, 1<<id.Level)
	err := s.log.readRange(from, from+1<<id.Level, func(r record) error {
		hs = append(hs, bytes.Clone(r.hash[:]))
		return nil
	})
	if err != nil {
		return nil, err
	}
	for len(hs) > 1 {
		for i := range len(hs) / 2 {
			hs[i] = merkle.NodeHash(hs[2*i], hs[2*i+1])
		}
		hs = hs[:len(hs)/2]
	}
	return hs[0], nil
}

// nodes reads the hashes of perfect Merkle nodes: leaves from their
// segment records, low interior nodes recomputed from those (see
// nodeMinLevel), the others from Pebble.
func (s *Store) nodes(ids []compact.NodeID) ([][]byte, error) {
	out := make([][]byte, len(ids))
	var kb [10]byte
	for i, id := range ids {
		if id.Level < nodeMinLevel {
			h, err := s.lowNode(id)
			if err != nil {
				return nil, err
			}
			out[i] = h
			continue
		}
		k := nodeKey(&kb, id.Level, id.Index)
		v, err := s.get(k)
		if errors.Is(err, pebble.ErrNotFound) {
			return nil, corrupt(k, fmt.Errorf("%w: level %d index %d", errMissingNode, id.Level, id.Index))
		}
		if err != nil {
			return nil, err
		}
		if len(v) != merkle.HashSize {
			return nil, corrupt(k, fmt.Errorf("node hash is %d bytes", len(v)))
		}
		out[i] = v
	}
	return out, nil
}

// rootAt computes the root of the tree of the given size from the perfect
// nodes of its compact range [0, size).
func (s *Store) rootAt(size uint64, st *durableState) ([]byte, error) {
	switch {
	case size > st.size:
		return nil, &TreeSizeError{What: "tree size", Requested: size, Size: st.size}
	case size == 0:
		return merkle.EmptyRoot(), nil
	case size == st.size:
		return append([]byte(nil), st.root...), nil
	}
	hashes, err := s.nodes(compact.RangeNodes(0, size, nil))
	if err != nil {
		return nil, err
	}
	r, err := s.readRanges.NewRange(0, size, hashes)
	if err != nil {
		return nil, err
	}
	return r.GetRootHash(nil)
}

// inclusion builds the audit path of leaf seq in the tree of size treeSize:
// the library names the nodes, we fetch them, and Rehash folds the ones that
// stand for the ephemeral right-border node.
func (s *Store) inclusion(seq, treeSize uint64, st *durableState) (gateway.InclusionProof, error) {
	if treeSize > st.size {
		return gateway.InclusionProof{}, &TreeSizeError{What: "tree size", Requested: treeSize, Size: st.size}
	}
	if seq >= treeSize {
		return gateway.InclusionProof{}, &TreeSizeError{What: "leaf index", Requested: seq, Size: treeSize}
	}
	nodes, err := proof.Inclusion(seq, treeSize)
	if err != nil {
		return gateway.InclusionProof{}, err
	}
	hashes, err := s.nodes(nodes.IDs)
	if err != nil {
		return gateway.InclusionProof{}, err
	}
	p, err := nodes.Rehash(hashes, merkle.NodeHash)
	if err != nil {
		return gateway.InclusionProof{}, err
	}
	return gateway.InclusionProof{LeafIndex: seq, TreeSize: treeSize, Hashes: merkle.EncodeHashes(p)}, nil
}

func (s *Store) consistency(size1, size2 uint64, st *durableState) (gateway.ConsistencyProof, error) {
	if size2 > st.size {
		return gateway.ConsistencyProof{}, &TreeSizeError{What: "tree size", Requested: size2, Size: st.size}
	}
	if size1 > size2 {
		return gateway.ConsistencyProof{}, &TreeSizeError{What: "size1", Requested: size1, Size: size2}
	}
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return gateway.ConsistencyProof{}, err
	}
	hashes, err := s.nodes(nodes.IDs)
	if err != nil {
		return gateway.ConsistencyProof{}, err
	}
	p, err := nodes.Rehash(hashes, merkle.NodeHash)
	if err != nil {
		return gateway.ConsistencyProof{}, err
	}
	return gateway.ConsistencyProof{Size1: size1, Size2: size2, Hashes: merkle.EncodeHashes(p)}, nil
}

// nodeArena hands out 32-byte hash slots for the appender's compact range
// so interior hashing allocates per arena chunk, not per node. Slots are
// reused after each group: by then every hash has been copied into the
// Pebble batch and the range's own hashes have been cloned (appender.settle).
type nodeArena struct {
	buf []byte
}

const arenaChunk = 64 << 10

func (a *nodeArena) alloc() []byte {
	if len(a.buf)+merkle.HashSize > cap(a.buf) {
		a.buf = make([]byte, 0, arenaChunk)
	}
	n := len(a.buf)
	a.buf = a.buf[:n+merkle.HashSize]
	return a.buf[n : n+merkle.HashSize : n+merkle.HashSize]
}

func (a *nodeArena) reset() { a.buf = a.buf[:0] }

// hashChildren is RFC 6962's SHA-256(0x01 || left || right), identical to
// rfc6962.DefaultHasher.HashChildren (a test checks it), writing into the
// arena instead of allocating three times per node.
func (a *nodeArena) hashChildren(left, right []byte) []byte {
	var in [1 + 2*merkle.HashSize]byte
	in[0] = rfc6962.RFC6962NodeHashPrefix
	copy(in[1:], left)
	copy(in[1+merkle.HashSize:], right)
	sum := sha256.Sum256(in[:])
	out := a.alloc()
	copy(out, sum[:])
	return out
}
