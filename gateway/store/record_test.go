package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
)

func TestDecodeFrame(t *testing.T) {
	good := appendFrame(nil, []byte("payload"))
	flip := bytes.Clone(good)
	flip[len(flip)-1] ^= 1
	badVersion := bytes.Clone(good)
	badVersion[0] = 9
	for _, tc := range []struct {
		name    string
		in      []byte
		want    string
		wantErr error
	}{
		{"good", good, "payload", nil},
		{"empty payload", appendFrame(nil, nil), "", nil},
		{"empty", nil, "", ErrShortFrame},
		{"header only, short", good[:4], "", ErrShortFrame},
		{"flipped payload bit", flip, "", ErrChecksum},
		{"truncated payload", good[:len(good)-1], "", ErrChecksum},
		{"unknown version", badVersion, "", ErrFrameVersion},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeFrame(tc.in)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("decodeFrame err = %v, want %v", err, tc.wantErr)
			}
			if string(got) != tc.want {
				t.Errorf("decodeFrame = %q, want %q", got, tc.want)
			}
		})
	}
}

func testBatch() gateway.Batch {
	root := hex.EncodeToString(make([]byte, 32))
	return gateway.Batch{
		ID:         gateway.BatchID(testMSP, testGW, 10, 20, root),
		GatewayMSP: testMSP, GatewayID: testGW,
		TreeSizeBefore: 10, TreeSizeAfter: 20, RootHash: root,
		FirstSeq: 10, LastSeq: 19,
		TimeFrom:    time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		TimeTo:      time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC),
		ClassCounts: map[string]int{"flow": 7, "dns": 3},
		Models:      []gateway.ModelRef{{ID: "m/1", SHA256: "aa"}},
		State:       gateway.BatchSealed,
	}
}

func TestDecodeBatch(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mutate  func(*gateway.Batch)
		wantErr bool
	}{
		{"sealed", func(*gateway.Batch) {}, false},
		{"anchored", func(b *gateway.Batch) {
			b.State, b.TxID, b.BlockNumber, b.AnchoredAt = gateway.BatchAnchored, "tx", 9, time.Unix(5, 0).UTC()
		}, false},
		{"id not matching fields", func(b *gateway.Batch) { b.TreeSizeAfter = 21; b.LastSeq = 20 }, true},
		{"empty range", func(b *gateway.Batch) {
			b.TreeSizeAfter = 10
			b.ID = gateway.BatchID(b.GatewayMSP, b.GatewayID, 10, 10, b.RootHash)
		}, true},
		{"seqs not matching sizes", func(b *gateway.Batch) { b.LastSeq = 18 }, true},
		{"unknown state", func(b *gateway.Batch) { b.State = "lost" }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := testBatch()
			tc.mutate(&b)
			enc, err := encodeBatch(b)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeBatch(enc)
			if (err != nil) != tc.wantErr {
				t.Fatalf("decodeBatch err = %v, want error %v", err, tc.wantErr)
			}
			if err == nil {
				again, _ := encodeBatch(got)
				if !bytes.Equal(again, enc) {
					t.Errorf("round trip changed the record:\n%s\n%s", enc, again)
				}
			}
		})
	}
}

// TestAppendLeafMatchesCanonical: splicing the seq into the caller's
// Seq-0 encoding gives exactly Event.Canonical with Seq set, including when
// the fast path does not apply.
func TestAppendLeafMatchesCanonical(t *testing.T) {
	for _, tc := range []struct {
		name string
		seq  uint64
		id   string
	}{
		{"seq 0", 0, ""},
		{"seq 9", 9, ""},
		{"seq 10", 10, ""},
		{"max seq", 1<<64 - 1, ""},
		{"id JSON escapes (slow path)", 42, "a<b"},
		{"short id", 42, "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := testEvent(3, 400)
			e.ID = tc.id
			if e.ID == "" {
				e.ID = gateway.ComputeID(e.Source, e.Sourcetype, e.Raw)
			}
			c0, err := e.Canonical()
			if err != nil {
				t.Fatal(err)
			}
			got := appendLeaf([]byte("prefix"), &e, c0, tc.seq)
			e.Seq = tc.seq
			want, _ := e.Canonical()
			if string(got) != "prefix"+string(want) {
				t.Errorf("appendLeaf =\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func FuzzAppendLeaf(f *testing.F) {
	f.Add(uint64(0), "", "syslog", "linux:auth", "host", []byte("raw"), "<&>\u2028")
	f.Add(uint64(123456789), "", "", "", "", []byte{0xff, 0}, "")
	f.Add(uint64(5), `"`, "s", "t", "h", []byte{}, "f")
	f.Fuzz(func(t *testing.T, seq uint64, id, source, sourcetype, host string, raw []byte, field string) {
		e := gateway.Event{ID: id, Source: source, Sourcetype: sourcetype, Host: host, Raw: raw, Fields: map[string]any{field: field}, Labels: map[string]string{field: host}}
		if e.ID == "" {
			e.ID = gateway.ComputeID(source, sourcetype, raw)
		}
		c0, err := e.Canonical()
		if err != nil {
			t.Skip()
		}
		got := appendLeaf(nil, &e, c0, seq)
		e.Seq = seq
		want, _ := e.Canonical()
		if !bytes.Equal(got, want) {
			t.Fatalf("appendLeaf =\n%s\nwant\n%s", got, want)
		}
	})
}

// FuzzDecodeEventRecord: arbitrary bytes never panic the decoder, and what
// it accepts is exactly a valid frame of what it returns.
func FuzzDecodeEventRecord(f *testing.F) {
	for _, seed := range corpusEventRecords() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, payload, err := decodeEventRecord(b)
		if err != nil {
			return
		}
		if !bytes.Equal(appendFrame(nil, payload), b) {
			t.Fatalf("accepted %x, which is not the frame of its payload", b)
		}
	})
}

// FuzzDecodeBatch: arbitrary bytes never panic the decoder; what it accepts
// is self-consistent and re-encodes to a record that decodes the same.
func FuzzDecodeBatch(f *testing.F) {
	for _, seed := range corpusBatches() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		bt, err := decodeBatch(b)
		if err != nil {
			return
		}
		if bt.ID != gateway.BatchID(bt.GatewayMSP, bt.GatewayID, bt.TreeSizeBefore, bt.TreeSizeAfter, bt.RootHash) {
			t.Fatalf("accepted batch whose id does not match its fields")
		}
		enc, err := encodeBatch(bt)
		if err != nil {
			t.Fatal(err)
		}
		bt2, err := decodeBatch(enc)
		if err != nil {
			t.Fatalf("re-encoded batch does not decode: %v", err)
		}
		enc2, _ := encodeBatch(bt2)
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable:\n%s\n%s", enc, enc2)
		}
	})
}

// FuzzDecodeTreeMeta: arbitrary bytes never panic the decoder, and what it
// accepts re-encodes to the same bytes.
func FuzzDecodeTreeMeta(f *testing.F) {
	for _, seed := range corpusTreeMetas() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeTreeMeta(b)
		if err != nil {
			return
		}
		if !bytes.Equal(encodeTreeMeta(m), b) {
			t.Fatalf("accepted %x, which does not re-encode to itself", b)
		}
	})
}

func corpusEventRecords() [][]byte {
	e := testEvent(1, 300)
	e.ID = gateway.ComputeID(e.Source, e.Sourcetype, e.Raw)
	e.Seq = 7
	c, _ := e.Canonical()
	good := appendFrame(nil, c)
	flipped := bytes.Clone(good)
	flipped[20] ^= 0x40
	return [][]byte{
		good,
		flipped,
		good[:len(good)/2],
		appendFrame(nil, []byte(`{"id":"x","seq":1}{}`)),
		appendFrame(nil, []byte(`{"fields":{"n":12345678901234567890}}`)),
		appendFrame(nil, []byte(`null`)),
		{},
	}
}

func corpusBatches() [][]byte {
	b := testBatch()
	good, _ := encodeBatch(b)
	b.State, b.TxID, b.BlockNumber, b.AnchoredAt = gateway.BatchAnchored, "tx", 3, time.Unix(9, 0).UTC()
	anchored, _ := encodeBatch(b)
	b.ID = "0000"
	badID, _ := encodeBatch(b)
	return [][]byte{good, anchored, badID, good[:7], appendFrame(nil, []byte(`{}`)), appendFrame(nil, []byte(`[1,2]`))}
}

func corpusTreeMetas() [][]byte {
	return [][]byte{
		encodeTreeMeta(treeMeta{}),
		encodeTreeMeta(treeMeta{size: 1 << 40, root: sha256.Sum256([]byte("r"))}),
		appendFrame(nil, make([]byte, 39)),
		{1, 2, 3},
	}
}

// TestWriteFuzzCorpus regenerates the committed seed corpus under
// testdata/fuzz from the real encoders. It runs only when asked:
//
//	LEDGERGUARD_WRITE_FUZZ_CORPUS=1 go test -run TestWriteFuzzCorpus ./gateway/store
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("LEDGERGUARD_WRITE_FUZZ_CORPUS") == "" {
		t.Skip("set LEDGERGUARD_WRITE_FUZZ_CORPUS=1 to regenerate testdata/fuzz")
	}
	for name, seeds := range map[string][][]byte{
		"FuzzDecodeEventRecord": corpusEventRecords(),
		"FuzzDecodeBatch":       corpusBatches(),
		"FuzzDecodeTreeMeta":    corpusTreeMetas(),
	} {
		dir := filepath.Join("testdata", "fuzz", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, s := range seeds {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(s)))
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
