package merkle

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/testonly"
)

// testTree is a reference tree over the RFC 6962 test-vector leaves, built
// with the library's in-memory test tree.
func testTree(t testing.TB) *testonly.Tree {
	t.Helper()
	tr := testonly.New(Hasher)
	tr.AppendData(testonly.LeafInputs()...)
	return tr
}

func TestRootsMatchRFCVectors(t *testing.T) {
	leaves := testonly.LeafInputs()
	// RootHashes is indexed by tree size, from the empty tree.
	for size, want := range testonly.RootHashes() {
		tr := testonly.New(Hasher)
		for _, l := range leaves[:size] {
			tr.Append(LeafHash(l))
		}
		got := tr.Hash()
		if size == 0 {
			got = EmptyRoot()
		}
		if hex.EncodeToString(got) != hex.EncodeToString(want) {
			t.Errorf("root of %d leaves = %x, want %x", size, got, want)
		}
	}
	if got, want := hex.EncodeToString(EmptyRoot()), hex.EncodeToString(testonly.EmptyRootHash()); got != want {
		t.Errorf("EmptyRoot = %s, want %s", got, want)
	}
}

func hexAll(hs [][]byte) []string { return EncodeHashes(hs) }

func TestVerifyInclusion(t *testing.T) {
	tr := testTree(t)
	size := tr.Size()
	root := hex.EncodeToString(tr.Hash())
	leaf := func(i uint64) string { return hex.EncodeToString(tr.LeafHash(i)) }
	valid := func(i uint64) []string {
		p, err := tr.InclusionProof(i, size)
		if err != nil {
			t.Fatal(err)
		}
		return hexAll(p)
	}
	tampered := valid(2)
	tampered[0] = strings.Repeat("00", HashSize)

	for _, tc := range []struct {
		name    string
		index   uint64
		leaf    string
		proof   []string
		root    string
		wantHex bool // *HexError
		wantErr bool // *VerificationError
	}{
		{name: "leaf 0", index: 0, leaf: leaf(0), proof: valid(0), root: root},
		{name: "leaf 5", index: 5, leaf: leaf(5), proof: valid(5), root: root},
		{name: "last leaf", index: size - 1, leaf: leaf(size - 1), proof: valid(size - 1), root: root},
		{name: "uppercase hex", index: 5, leaf: strings.ToUpper(leaf(5)), proof: valid(5), root: strings.ToUpper(root)},
		{name: "wrong leaf", index: 5, leaf: leaf(4), proof: valid(5), root: root, wantErr: true},
		{name: "wrong index", index: 4, leaf: leaf(5), proof: valid(5), root: root, wantErr: true},
		{name: "tampered proof", index: 2, leaf: leaf(2), proof: tampered, root: root, wantErr: true},
		{name: "short proof", index: 5, leaf: leaf(5), proof: valid(5)[1:], root: root, wantErr: true},
		{name: "index beyond size", index: size, leaf: leaf(0), proof: valid(0), root: root, wantErr: true},
		{name: "bad root hex", index: 5, leaf: leaf(5), proof: valid(5), root: "zz", wantHex: true},
		{name: "short leaf hash", index: 5, leaf: "abcd", proof: valid(5), root: root, wantHex: true},
		{name: "bad proof hex", index: 5, leaf: leaf(5), proof: []string{"nothex"}, root: root, wantHex: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyInclusion(tc.index, size, tc.leaf, tc.proof, tc.root)
			checkErr(t, err, tc.wantHex, tc.wantErr)
		})
	}
}

func TestVerifyConsistency(t *testing.T) {
	tr := testTree(t)
	root := func(n uint64) string { return hex.EncodeToString(tr.HashAt(n)) }
	valid := func(a, b uint64) []string {
		p, err := tr.ConsistencyProof(a, b)
		if err != nil {
			t.Fatal(err)
		}
		return hexAll(p)
	}
	for _, tc := range []struct {
		name         string
		size1, size2 uint64
		proof        []string
		root1, root2 string
		wantHex      bool
		wantErr      bool
	}{
		{name: "1 to 8", size1: 1, size2: 8, proof: valid(1, 8), root1: root(1), root2: root(8)},
		{name: "3 to 7", size1: 3, size2: 7, proof: valid(3, 7), root1: root(3), root2: root(7)},
		{name: "4 to 8", size1: 4, size2: 8, proof: valid(4, 8), root1: root(4), root2: root(8)},
		{name: "equal sizes", size1: 5, size2: 5, proof: []string{}, root1: root(5), root2: root(5)},
		{name: "from empty", size1: 0, size2: 5, proof: []string{}, root1: hex.EncodeToString(EmptyRoot()), root2: root(5)},
		{name: "wrong old root", size1: 3, size2: 7, proof: valid(3, 7), root1: root(2), root2: root(7), wantErr: true},
		{name: "wrong new root", size1: 3, size2: 7, proof: valid(3, 7), root1: root(3), root2: root(8), wantErr: true},
		{name: "reversed sizes", size1: 7, size2: 3, proof: valid(3, 7), root1: root(7), root2: root(3), wantErr: true},
		{name: "empty proof", size1: 3, size2: 7, proof: nil, root1: root(3), root2: root(7), wantErr: true},
		{name: "bad hex", size1: 3, size2: 7, proof: []string{"x"}, root1: root(3), root2: root(7), wantHex: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyConsistency(tc.size1, tc.size2, tc.proof, tc.root1, tc.root2)
			checkErr(t, err, tc.wantHex, tc.wantErr)
		})
	}
}

func checkErr(t *testing.T, err error, wantHex, wantVerify bool) {
	t.Helper()
	var he *HexError
	var ve *VerificationError
	switch {
	case wantHex && !errors.As(err, &he):
		t.Errorf("err = %v, want *HexError", err)
	case wantVerify && !errors.As(err, &ve):
		t.Errorf("err = %v, want *VerificationError", err)
	case !wantHex && !wantVerify && err != nil:
		t.Errorf("err = %v, want nil", err)
	}
}

func TestVerifyEventInclusion(t *testing.T) {
	canon := [][]byte{[]byte(`{"id":"a"}`), []byte(`{"id":"b"}`), []byte(`{"id":"c"}`)}
	tr := testonly.New(Hasher)
	tr.AppendData(canon...)
	p, err := tr.InclusionProof(1, 3)
	if err != nil {
		t.Fatal(err)
	}
	ip := gateway.InclusionProof{LeafIndex: 1, TreeSize: 3, Hashes: hexAll(p)}
	root := hex.EncodeToString(tr.Hash())
	if err := VerifyEventInclusion(canon[1], ip, root); err != nil {
		t.Errorf("VerifyEventInclusion: %v", err)
	}
	// One changed byte of the event breaks it, and the cause is a root
	// mismatch the caller can recognise.
	err = VerifyEventInclusion([]byte(`{"id":"B"}`), ip, root)
	var rm proof.RootMismatchError
	if !errors.As(err, &rm) {
		t.Errorf("tampered event: err = %v, want a proof.RootMismatchError inside", err)
	}
}

// FuzzVerifyInclusion checks that arbitrary (hostile) input never panics
// the verifier and that it never accepts a proof for a leaf it was not
// built for.
func FuzzVerifyInclusion(f *testing.F) {
	tr := testTree(f)
	size := tr.Size()
	root := hex.EncodeToString(tr.Hash())
	for i := range size {
		p, _ := tr.InclusionProof(i, size)
		f.Add(i, size, hex.EncodeToString(tr.LeafHash(i)), strings.Join(hexAll(p), ","), root)
	}
	f.Fuzz(func(t *testing.T, index, size uint64, leaf, proofCSV, rootHex string) {
		var ps []string
		if proofCSV != "" {
			ps = strings.Split(proofCSV, ",")
		}
		err := VerifyInclusion(index, size, leaf, ps, rootHex)
		if err == nil && rootHex == root && size == tr.Size() && index < size && !strings.EqualFold(leaf, hex.EncodeToString(tr.LeafHash(index))) {
			t.Fatalf("accepted leaf %s at %d, which holds %x", leaf, index, tr.LeafHash(index))
		}
	})
}
