package store

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/bytedance/sonic"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// Key scheme of the Pebble database (format 2). One byte of record type,
// then fixed-width big-endian integers so that Pebble's byte order is
// numeric order:
//
//	'i' id(32)              -> uvarint(seq)                     id index
//	'n' level(1) index(8)   -> hash(32)                         perfect Merkle nodes, level >= nodeMinLevel
//	'm' "tree"              -> frame(size(8) root(32))          checkpoint after the last commit
//	'm' "format"            -> uvarint(2)                       store format (see migrate.go)
//	'b' batchID(32)         -> frame(JSON gateway.Batch)         sealed batches
//	'a' treeSizeAfter(8)    -> batchID(32)                      batches in log order
//	'p' treeSizeAfter(8)    -> batchID(32)                      sealed, not yet anchored
//
// Events and their leaf hashes are in segment files (segment.go); format 1
// kept them here under 'e' seq (frame of the canonical bytes) and 'n' 0
// seq, which only the migration still reads.
//
// Merkle nodes are stored only once they are perfect (complete subtrees):
// those never change, so a node written once is valid for every later tree
// size, and the root and proofs of any past size are derived from them.
const (
	prefixEvent   = 'e'
	prefixID      = 'i'
	prefixNode    = 'n'
	prefixMeta    = 'm'
	prefixBatch   = 'b'
	prefixBySize  = 'a'
	prefixPending = 'p'
)

var keyTree = []byte{prefixMeta, 't', 'r', 'e', 'e'}

func seqKey(prefix byte, seq uint64) []byte {
	var k [9]byte
	k[0] = prefix
	binary.BigEndian.PutUint64(k[1:], seq)
	return k[:]
}

func idKey(prefix byte, id [32]byte) []byte {
	var k [33]byte
	k[0] = prefix
	copy(k[1:], id[:])
	return k[:]
}

func nodeKey(buf *[10]byte, level uint, index uint64) []byte {
	buf[0] = prefixNode
	buf[1] = byte(level)
	binary.BigEndian.PutUint64(buf[2:], index)
	return buf[:]
}

// parseID decodes a 64-character lowercase hex id (gateway.ComputeID, batch
// ids) into its 32 bytes.
func parseID(id string) ([32]byte, error) {
	var out [32]byte
	if len(id) != 64 {
		return out, ErrBadID
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return out, ErrBadID
		}
	}
	if _, err := hex.Decode(out[:], []byte(id)); err != nil {
		return out, ErrBadID
	}
	return out, nil
}

// Frames. Every value that is more than a fixed-width integer is stored as
//
//	version(1) crc32c(4, big-endian, over payload) payload
//
// Pebble already checksums its WAL records and sstable blocks; the frame adds
// an end-to-end check that the bytes we read back are the bytes we wrote,
// whatever layer broke, and a version byte to evolve the payload.
const (
	frameVersion    = 1
	frameHeaderSize = 5
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Frame decoding errors, the causes inside a CorruptRecordError.
var (
	ErrShortFrame   = errors.New("frame shorter than its header")
	ErrFrameVersion = errors.New("unknown frame version")
	ErrChecksum     = errors.New("checksum mismatch")
)

// appendFrame appends the frame of payload to dst.
func appendFrame(dst, payload []byte) []byte {
	dst = append(dst, frameVersion, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(dst[len(dst)-4:], crc32.Checksum(payload, castagnoli))
	return append(dst, payload...)
}

// decodeFrame checks a frame and returns its payload, aliasing b.
func decodeFrame(b []byte) ([]byte, error) {
	if len(b) < frameHeaderSize {
		return nil, ErrShortFrame
	}
	if b[0] != frameVersion {
		return nil, fmt.Errorf("%w %d", ErrFrameVersion, b[0])
	}
	payload := b[frameHeaderSize:]
	if crc32.Checksum(payload, castagnoli) != binary.BigEndian.Uint32(b[1:5]) {
		return nil, ErrChecksum
	}
	return payload, nil
}

// decodeLeaf decodes an event's canonical bytes (a segment record's leaf)
// and checks it holds seq. Numbers in Fields decode as json.Number so that
// re-encoding reproduces them exactly.
//
// Readers (the alerter, for every anchored event) decode every leaf, so
// decoding goes through sonic first (ingest's decoder, chosen there by
// measurement; here about 3 times faster than encoding/json with a third
// of the allocations): what sonic decodes, it decodes as encoding/json
// does (FuzzDecodeLeaf checks it, value for value), and anything it
// refuses is decoded again by encoding/json, whose error is the one
// returned. Strings are copied, so a decoded event never pins the read
// buffer of a whole range.
func decodeLeaf(leaf []byte, seq uint64) (gateway.Event, error) {
	var e gateway.Event
	if err := leafJSON.Unmarshal(leaf, &e); err == nil {
		if e.Seq != seq {
			return gateway.Event{}, fmt.Errorf("record holds seq %d", e.Seq)
		}
		return e, nil
	}
	return decodeLeafStd(leaf, seq)
}

// leafJSON is decodeLeaf's fast decoder: numbers as json.Number (as
// encoding/json's UseNumber), strings validated (anything unusual is left
// to encoding/json) and copied.
var leafJSON = sonic.Config{UseNumber: true, ValidateString: true, CopyString: true}.Froze()

// decodeLeafStd is decodeLeaf with encoding/json only.
func decodeLeafStd(leaf []byte, seq uint64) (gateway.Event, error) {
	var e gateway.Event
	dec := json.NewDecoder(bytes.NewReader(leaf))
	dec.UseNumber()
	if err := dec.Decode(&e); err != nil {
		return gateway.Event{}, fmt.Errorf("event payload: %w", err)
	}
	if dec.More() {
		return gateway.Event{}, errors.New("event payload: trailing data")
	}
	if e.Seq != seq {
		return gateway.Event{}, fmt.Errorf("record holds seq %d", e.Seq)
	}
	return e, nil
}

// decodeEventRecord checks an event frame of format 1 (the Pebble-only
// layout, read only to migrate it) and decodes its canonical bytes.
// It returns the canonical bytes (aliasing b) as well, since they, not a
// re-encoding of the decoded event, are the Merkle leaf. Numbers in Fields
// decode as json.Number so that re-encoding reproduces them exactly.
func decodeEventRecord(b []byte) (gateway.Event, []byte, error) {
	payload, err := decodeFrame(b)
	if err != nil {
		return gateway.Event{}, nil, err
	}
	var e gateway.Event
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&e); err != nil {
		return gateway.Event{}, nil, fmt.Errorf("event payload: %w", err)
	}
	if dec.More() {
		return gateway.Event{}, nil, errors.New("event payload: trailing data")
	}
	return e, payload, nil
}

// treeMeta is the checkpoint recorded with every commit that appends.
type treeMeta struct {
	size uint64
	root [32]byte
}

func encodeTreeMeta(m treeMeta) []byte {
	var p [40]byte
	binary.BigEndian.PutUint64(p[:8], m.size)
	copy(p[8:], m.root[:])
	return appendFrame(make([]byte, 0, frameHeaderSize+len(p)), p[:])
}

func decodeTreeMeta(b []byte) (treeMeta, error) {
	payload, err := decodeFrame(b)
	if err != nil {
		return treeMeta{}, err
	}
	if len(payload) != 40 {
		return treeMeta{}, fmt.Errorf("tree meta payload is %d bytes, want 40", len(payload))
	}
	var m treeMeta
	m.size = binary.BigEndian.Uint64(payload[:8])
	copy(m.root[:], payload[8:])
	return m, nil
}

func encodeBatch(b gateway.Batch) ([]byte, error) {
	p, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode batch %s: %w", b.ID, err)
	}
	return appendFrame(make([]byte, 0, frameHeaderSize+len(p)), p), nil
}

// decodeBatch checks a batch frame, decodes it and checks that it is
// self-consistent: its id is BatchID of its fields, its sequence range
// matches its tree sizes, and its state is one we know.
func decodeBatch(b []byte) (gateway.Batch, error) {
	payload, err := decodeFrame(b)
	if err != nil {
		return gateway.Batch{}, err
	}
	var bt gateway.Batch
	if err := json.Unmarshal(payload, &bt); err != nil {
		return gateway.Batch{}, fmt.Errorf("batch payload: %w", err)
	}
	if want := gateway.BatchID(bt.GatewayMSP, bt.GatewayID, bt.TreeSizeBefore, bt.TreeSizeAfter, bt.RootHash); bt.ID != want {
		return gateway.Batch{}, fmt.Errorf("batch id %q does not match its fields (want %s)", bt.ID, want)
	}
	if bt.TreeSizeAfter <= bt.TreeSizeBefore || bt.FirstSeq != bt.TreeSizeBefore || bt.LastSeq != bt.TreeSizeAfter-1 {
		return gateway.Batch{}, fmt.Errorf("batch %s: inconsistent range [%d,%d) seqs %d..%d", bt.ID, bt.TreeSizeBefore, bt.TreeSizeAfter, bt.FirstSeq, bt.LastSeq)
	}
	switch bt.State {
	case gateway.BatchSealed, gateway.BatchAnchored:
	default:
		return gateway.Batch{}, fmt.Errorf("batch %s: unknown state %q", bt.ID, bt.State)
	}
	return bt, nil
}

func corrupt(key []byte, err error) error {
	return &CorruptRecordError{Key: hex.EncodeToString(key), Err: err}
}
