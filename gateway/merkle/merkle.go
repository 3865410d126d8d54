// Package merkle holds the pure RFC 6962 helpers that both the gateway's
// store and the offline verifier (`ledgerguard verify`) use: the leaf hash of
// an event's canonical bytes, the interior-node hash, and verification of
// inclusion and consistency proofs given as lowercase hex strings.
//
// It guarantees RFC 6962 (= RFC 9162 v1) semantics with SHA-256 by
// delegating hashing and verification to github.com/transparency-dev/merkle
// (the library behind Trillian and the Go checksum database's tlog tooling,
// maintained, fuzzed, and shared with the wider transparency-log ecosystem)
// rather than hand-written proof code. It has no storage dependency, reads
// no clock and touches no file, so a verifier can vendor it alone.
package merkle

import (
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// HashSize is the size in bytes of every leaf, node and root hash.
const HashSize = 32

// Hasher is the RFC 6962 SHA-256 hasher every function here uses; it is the
// transparency-dev default, exported so callers needing a merkle.LogHasher
// (compact ranges, proof rehashing) use the very same one.
var Hasher = rfc6962.DefaultHasher

// LeafHash returns the RFC 6962 leaf hash SHA-256(0x00 || canonical) of an
// event's canonical bytes (gateway.Event.Canonical as stored).
func LeafHash(canonical []byte) []byte {
	return Hasher.HashLeaf(canonical)
}

// NodeHash returns the RFC 6962 interior hash SHA-256(0x01 || left || right).
func NodeHash(left, right []byte) []byte {
	return Hasher.HashChildren(left, right)
}

// EmptyRoot returns the root of the empty tree, SHA-256 of the empty string.
func EmptyRoot() []byte {
	return Hasher.EmptyRoot()
}

// HexError reports a value that is not a lowercase-or-uppercase hex encoding
// of a HashSize-byte hash. Field names the input ("root", "proof[3]", ...).
type HexError struct {
	Field string
	Value string
	Err   error
}

func (e *HexError) Error() string {
	return fmt.Sprintf("merkle: %s %q is not a %d-byte hex hash: %v", e.Field, e.Value, HashSize, e.Err)
}

func (e *HexError) Unwrap() error { return e.Err }

// ErrHashLength is the cause in a HexError whose hex decodes to the wrong
// number of bytes.
var ErrHashLength = errors.New("wrong hash length")

// VerificationError reports a proof that does not verify. Kind is
// "inclusion" or "consistency"; the sizes identify what was being proved.
// Err is the library's reason, e.g. a proof.RootMismatchError when the proof
// is well formed but leads to a different root, which errors.As finds.
type VerificationError struct {
	Kind      string
	LeafIndex uint64 // inclusion only
	Size1     uint64 // inclusion: the tree size; consistency: the old size
	Size2     uint64 // consistency only: the new size
	Err       error
}

func (e *VerificationError) Error() string {
	if e.Kind == "inclusion" {
		return fmt.Sprintf("merkle: inclusion of leaf %d in tree of size %d: %v", e.LeafIndex, e.Size1, e.Err)
	}
	return fmt.Sprintf("merkle: consistency of tree sizes %d and %d: %v", e.Size1, e.Size2, e.Err)
}

func (e *VerificationError) Unwrap() error { return e.Err }

// DecodeHash decodes one hex hash, reporting a *HexError naming field.
func DecodeHash(field, s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, &HexError{Field: field, Value: s, Err: err}
	}
	if len(b) != HashSize {
		return nil, &HexError{Field: field, Value: s, Err: ErrHashLength}
	}
	return b, nil
}

// DecodeHashes decodes a proof's hex hashes, reporting a *HexError naming
// the first bad element.
func DecodeHashes(field string, hs []string) ([][]byte, error) {
	out := make([][]byte, len(hs))
	for i, s := range hs {
		b, err := DecodeHash(fmt.Sprintf("%s[%d]", field, i), s)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// EncodeHashes returns the lowercase hex encoding of each hash.
func EncodeHashes(hs [][]byte) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = hex.EncodeToString(h)
	}
	return out
}

// VerifyInclusion checks that the leaf whose RFC 6962 leaf hash is
// leafHashHex sits at leafIndex in the tree of size treeSize whose root is
// rootHex, using the audit path proofHex (lowest level first). It requires
// leafIndex < treeSize. It returns nil on success, a *HexError for malformed
// input, or a *VerificationError.
func VerifyInclusion(leafIndex, treeSize uint64, leafHashHex string, proofHex []string, rootHex string) error {
	leaf, err := DecodeHash("leaf hash", leafHashHex)
	if err != nil {
		return err
	}
	root, err := DecodeHash("root", rootHex)
	if err != nil {
		return err
	}
	p, err := DecodeHashes("proof", proofHex)
	if err != nil {
		return err
	}
	if err := proof.VerifyInclusion(Hasher, leafIndex, treeSize, leaf, p, root); err != nil {
		return &VerificationError{Kind: "inclusion", LeafIndex: leafIndex, Size1: treeSize, Err: err}
	}
	return nil
}

// VerifyEventInclusion checks that canonical (the event's stored canonical
// bytes) is leaf p.LeafIndex of the tree of size p.TreeSize with root
// rootHex. It is what an auditor runs on an exported gateway.EventProof.
func VerifyEventInclusion(canonical []byte, p gateway.InclusionProof, rootHex string) error {
	return VerifyInclusion(p.LeafIndex, p.TreeSize, hex.EncodeToString(LeafHash(canonical)), p.Hashes, rootHex)
}

// VerifyConsistency checks that the tree of size size1 with root root1Hex is
// a prefix of the tree of size size2 with root root2Hex, using proofHex. It
// requires size1 <= size2; for size1 == 0 any root2 is consistent and the
// proof must be empty. It returns nil on success, a *HexError for malformed
// input, or a *VerificationError.
func VerifyConsistency(size1, size2 uint64, proofHex []string, root1Hex, root2Hex string) error {
	root1, err := DecodeHash("root1", root1Hex)
	if err != nil {
		return err
	}
	root2, err := DecodeHash("root2", root2Hex)
	if err != nil {
		return err
	}
	p, err := DecodeHashes("proof", proofHex)
	if err != nil {
		return err
	}
	if err := proof.VerifyConsistency(Hasher, size1, size2, p, root1, root2); err != nil {
		return &VerificationError{Kind: "consistency", Size1: size1, Size2: size2, Err: err}
	}
	return nil
}
