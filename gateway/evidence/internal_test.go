package evidence

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/testonly"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/merkle"
)

func testTree(n int) *testonly.Tree {
	tr := testonly.New(merkle.Hasher)
	for i := range n {
		tr.AppendData([]byte(fmt.Sprintf("leaf-%d", i)))
	}
	return tr
}

// TestPrefixRootFromLeaves checks, for every split of trees up to 33
// leaves, that the prefix read from the first new leaf's proof plus the new
// leaves recompute the root.
func TestPrefixRootFromLeaves(t *testing.T) {
	for n := uint64(1); n <= 33; n++ {
		tr := testTree(int(n))
		for before := uint64(0); before < n; before++ {
			p, err := tr.InclusionProof(before, n)
			if err != nil {
				t.Fatal(err)
			}
			prefix, err := PrefixFromInclusion(gateway.InclusionProof{LeafIndex: before, TreeSize: n, Hashes: merkle.EncodeHashes(p)})
			if err != nil {
				t.Fatalf("n=%d before=%d: %v", n, before, err)
			}
			var leaves [][]byte
			for i := before; i < n; i++ {
				leaves = append(leaves, tr.LeafHash(i))
			}
			got, err := RootFromLeaves(before, prefix, leaves)
			if err != nil {
				t.Fatalf("n=%d before=%d: %v", n, before, err)
			}
			if want := tr.HashAt(n); !bytes.Equal(got, want) {
				t.Errorf("n=%d before=%d: got root %x, want %x", n, before, got, want)
			}
			if pr, _ := RootFromLeaves(before, prefix, nil); before > 0 && !bytes.Equal(pr, tr.HashAt(before)) {
				t.Errorf("n=%d before=%d: prefix root got %x, want %x", n, before, pr, tr.HashAt(before))
			}
		}
	}
}

func TestPrefixFromInclusionPreconditions(t *testing.T) {
	for _, p := range []gateway.InclusionProof{
		{LeafIndex: 3, TreeSize: 3},
		{LeafIndex: 1, TreeSize: 4, Hashes: []string{"aa"}}, // needs 2 hashes
	} {
		if _, err := PrefixFromInclusion(p); err == nil {
			t.Errorf("PrefixFromInclusion(%+v): got nil error", p)
		}
	}
}

// batchLeaves returns the entries of batch [first, last] of tr, each in
// place with its correct proof.
func batchLeaves(t *testing.T, tr *testonly.Tree, first, last uint64) []Leaf {
	t.Helper()
	var out []Leaf
	for s := first; s <= last; s++ {
		p, err := tr.InclusionProof(s, tr.Size())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Leaf{Seq: s, ID: fmt.Sprintf("e%d", s), Hash: tr.LeafHash(s), Index: s, Hashes: p})
	}
	return out
}

func TestAnalyzeLeaves(t *testing.T) {
	tr := testTree(11)
	const first, last = 3, 10
	type f struct {
		Kind Kind
		ID   string
		Seq  uint64
	}
	tests := []struct {
		name string
		edit func([]Leaf) []Leaf
		want []f
	}{
		{"clean", func(l []Leaf) []Leaf { return l }, nil},
		{"modified", func(l []Leaf) []Leaf { l[2].Hash = merkle.LeafHash([]byte("x")); return l }, []f{{KindModified, "e5", 5}}},
		{"malformed proof", func(l []Leaf) []Leaf { l[2].Hashes = nil; return l }, []f{{KindModified, "e5", 5}}},
		{"removed last", func(l []Leaf) []Leaf { return l[:7] }, []f{{KindRemoved, "", 10}}},
		{"removed all", func(l []Leaf) []Leaf { return nil }, []f{{KindRemoved, "", 3}, {KindRemoved, "", 4}, {KindRemoved, "", 5}, {KindRemoved, "", 6}, {KindRemoved, "", 7}, {KindRemoved, "", 8}, {KindRemoved, "", 9}, {KindRemoved, "", 10}}},
		{"duplicate first", func(l []Leaf) []Leaf { return append([]Leaf{l[0]}, l...) }, []f{{KindInserted, "e3", 3}}},
		{"outside range", func(l []Leaf) []Leaf {
			x := l[0]
			x.Seq, x.ID = 2, "x"
			return append(l, x)
		}, []f{{KindInserted, "x", 2}}},
		{"renumbered after removal", func(l []Leaf) []Leaf {
			l = append(l[:1:1], l[2:]...) // drop seq 4, shift the rest down
			for i := 1; i < len(l); i++ {
				l[i].Seq--
			}
			return l
		}, []f{{KindRemoved, "", 4}, {KindReordered, "e5", 4}, {KindReordered, "e6", 5}, {KindReordered, "e7", 6}, {KindReordered, "e8", 7}, {KindReordered, "e9", 8}, {KindReordered, "e10", 9}}},
		{"adjacent bytes swapped", func(l []Leaf) []Leaf {
			l[0].Hash, l[1].Hash = l[1].Hash, l[0].Hash
			l[0].ID, l[1].ID = l[1].ID, l[0].ID
			return l
		}, []f{{KindReordered, "e4", 3}, {KindReordered, "e3", 4}}},
		{"one moved far", func(l []Leaf) []Leaf { return append(l[1:], l[0]) }, []f{{KindReordered, "e3", 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := []f{}
			for _, x := range AnalyzeLeaves(first, last, tr.Size(), tr.Hash(), tt.edit(batchLeaves(t, tr, first, last))) {
				got = append(got, f{x.Kind, x.EventID, x.Seq})
			}
			want := append([]f{}, tt.want...)
			if !slices.Equal(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestVerifySignature(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "p"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	msg := []byte("proposal response payload")
	digest := sha256.Sum256(msg)
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	n := key.Curve.Params().N
	low, high := s, new(big.Int).Sub(n, s)
	if low.Cmp(new(big.Int).Rsh(n, 1)) > 0 {
		low, high = high, low
	}
	enc := func(r, s *big.Int) []byte { b, _ := asn1.Marshal(struct{ R, S *big.Int }{r, s}); return b }
	tests := []struct {
		name string
		msg  []byte
		sig  []byte
		want error
	}{
		{"low-S", msg, enc(r, low), nil},
		{"high-S", msg, enc(r, high), ErrHighS},
		{"other message", []byte("other"), enc(r, low), ErrBadSig},
		{"not DER", msg, []byte{0x30, 0x01}, ErrBadSig},
		{"trailing bytes", msg, append(enc(r, low), 0), ErrBadSig},
	}
	for _, tt := range tests {
		if got := VerifySignature(cert, tt.msg, tt.sig); !errors.Is(got, tt.want) || (tt.want == nil) != (got == nil) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestBatchKey(t *testing.T) {
	got := BatchKey("Org1MSP", "gw-1", 42)
	want := "\x00lg.gwbatch\x00Org1MSP\x00gw-1\x0000000000000000000042\x00"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
