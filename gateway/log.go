package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// This file holds the domain side of the gateway's append-only event log: the
// batch record that is anchored on the ledger, the proof shapes the read API
// and the offline verifier exchange, and the interfaces the store adapter
// implements. Everything here is plain data so the HTTP API, the ledger
// client and the verifier can use it without importing the store.

// BatchState is where a sealed batch is in its life: sealed by the gateway,
// then anchored on the ledger. It never goes back.
type BatchState string

// The states a Batch moves through, in order.
const (
	BatchSealed   BatchState = "sealed"
	BatchAnchored BatchState = "anchored"
)

// ModelRef names a detection model by id and the sha256 of its ONNX file, so
// a batch records which models were in force when it was sealed.
type ModelRef struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
}

// Batch is a contiguous run of the gateway's Merkle log, [TreeSizeBefore,
// TreeSizeAfter), sealed under the root of the tree of size TreeSizeAfter.
// Consecutive batches of one gateway chain: each one's TreeSizeBefore is the
// previous one's TreeSizeAfter, so together they cover the log without gap
// or overlap. ID is BatchID over the identifying fields; the ledger
// recomputes it, so it must not depend on anything else.
type Batch struct {
	ID             string         `json:"id"`
	GatewayMSP     string         `json:"gateway_msp"`
	GatewayID      string         `json:"gateway_id"`
	TreeSizeBefore uint64         `json:"tree_size_before"`
	TreeSizeAfter  uint64         `json:"tree_size_after"`
	RootHash       string         `json:"root_hash"` // lowercase hex of the RFC 6962 root at TreeSizeAfter
	FirstSeq       uint64         `json:"first_seq"`
	LastSeq        uint64         `json:"last_seq"`
	TimeFrom       time.Time      `json:"time_from"` // earliest event Time in the batch
	TimeTo         time.Time      `json:"time_to"`   // latest event Time in the batch
	ClassCounts    map[string]int `json:"class_counts"`
	Models         []ModelRef     `json:"models"`
	State          BatchState     `json:"state"`
	TxID           string         `json:"tx_id,omitempty"`
	BlockNumber    uint64         `json:"block_number,omitempty"`
	AnchoredAt     time.Time      `json:"anchored_at,omitzero"`
}

// BatchID returns the id of the batch of gateway (msp, gatewayID) covering
// tree sizes [before, after) under root rootHex. It is the chaincode's own
// wire.BatchID (documented in chaincode/wire), which the ledger recomputes
// to check the batch: one implementation, so the two can never disagree.
func BatchID(msp, gatewayID string, before, after uint64, rootHex string) string {
	return wire.BatchID(msp, gatewayID, before, after, rootHex)
}

// Checkpoint is the state of a Merkle log at one size: the number of leaves
// and the lowercase hex RFC 6962 root over them (the hash of the empty
// string for size 0).
type Checkpoint struct {
	Size uint64 `json:"size"`
	Root string `json:"root"`
}

// InclusionProof proves that leaf LeafIndex is in the tree of size TreeSize:
// the RFC 6962 audit path, lowest level first, each hash lowercase hex.
type InclusionProof struct {
	LeafIndex uint64   `json:"leaf_index"`
	TreeSize  uint64   `json:"tree_size"`
	Hashes    []string `json:"hashes"`
}

// ConsistencyProof proves that the tree of size Size1 is a prefix of the tree
// of size Size2 (RFC 6962 section 2.1.2), each hash lowercase hex.
type ConsistencyProof struct {
	Size1  uint64   `json:"size1"`
	Size2  uint64   `json:"size2"`
	Hashes []string `json:"hashes"`
}

// EventProof is everything needed to prove offline that an event was logged
// unchanged: the stored canonical bytes (the Merkle leaf, byte for byte), the
// decoded event, its leaf hash, an inclusion proof against the tree of size
// Proof.TreeSize with that tree's root, and the sealed batch the event
// belongs to (nil until it is sealed).
type EventProof struct {
	Event     Event          `json:"event"`
	Canonical []byte         `json:"canonical"`
	LeafHash  string         `json:"leaf_hash"`
	Proof     InclusionProof `json:"proof"`
	Root      string         `json:"root"`
	Batch     *Batch         `json:"batch,omitempty"`
}

// Leaf is one event of the log as the log stores it: the decoded event,
// its canonical bytes (the Merkle leaf, byte for byte as stored, not a
// re-encoding) and its RFC 6962 leaf hash SHA-256(0x00 || Canonical) as
// stored in the tree. Readers that need the leaf or its hash use these
// rather than re-encoding Event, which is what the tree commits to.
//
// A leaf made by HeaderLeaf is partial: its Event holds only the header
// (ID, Seq, Received, Time, Source, Sourcetype, Host, Index, Class; no
// Fields, Raw or Labels), and Full decodes the whole event on demand.
// Readers that score every event from its canonical bytes and need the
// whole event for a few of them (the alerter) take partial leaves, so
// the fields of every event are not decoded into maps only to be
// dropped.
type Leaf struct {
	Event     Event
	Canonical []byte
	LeafHash  [32]byte

	// decode, when not nil, marks Event as the header only and decodes
	// the whole event from Canonical.
	decode LeafDecoder
}

// LeafDecoder decodes a leaf's canonical bytes into the whole event, as
// the log decodes its leaves (seq is the leaf's index, which the bytes
// must hold).
type LeafDecoder func(canonical []byte, seq uint64) (Event, error)

// HeaderLeaf returns a partial leaf: header is the event's header as
// ReadHeader reads it from canonical, and decode gives the whole event
// (Full). decode nil gives a whole leaf whose Event is header.
func HeaderLeaf(header Event, canonical []byte, hash [32]byte, decode LeafDecoder) Leaf {
	return Leaf{Event: header, Canonical: canonical, LeafHash: hash, decode: decode}
}

// Partial reports whether l's Event holds only the event's header (see
// HeaderLeaf); Full returns the whole event either way.
func (l *Leaf) Partial() bool { return l.decode != nil }

// Full returns the leaf's whole event: Event itself for a whole leaf,
// else decoded from Canonical, each call anew (the caller keeps it if it
// needs it twice). For a partial leaf the result is exactly what the log
// returns for the leaf when it decodes it whole; an error means the
// stored bytes do not decode (a damaged store).
func (l *Leaf) Full() (Event, error) {
	if l.decode == nil {
		return l.Event, nil
	}
	ev, err := l.decode(l.Canonical, l.Event.Seq)
	if err != nil {
		return Event{}, fmt.Errorf("decode leaf %d: %w", l.Event.Seq, err)
	}
	return ev, nil
}

// EventLog is the durable, append-only, Merkle-hashed log of one gateway's
// events. Append returns only once the events are on stable storage; every
// read reflects only what is on stable storage.
type EventLog interface {
	// Append stores events durably, assigning each its Seq (its Merkle leaf
	// index) and ID, and returns them in the order given. An event whose ID is
	// already stored is not stored again: its existing Seq is returned.
	Append(ctx context.Context, events []Event) ([]Event, error)
	// EventBySeq returns the event at leaf index seq.
	EventBySeq(ctx context.Context, seq uint64) (Event, error)
	// EventByID returns the event with its inclusion proof against the tree
	// of size treeSize (0: the size its batch was sealed at, or the current
	// size while it is not sealed yet) and its batch.
	EventByID(ctx context.Context, id string, treeSize uint64) (EventProof, error)
	// Checkpoint returns the current durable size and root.
	Checkpoint(ctx context.Context) (Checkpoint, error)
	// ConsistencyProof proves the tree of size1 is a prefix of the tree of size2.
	ConsistencyProof(ctx context.Context, size1, size2 uint64) (ConsistencyProof, error)
}

// BatchLog is the sealed side of the log that the ledger client drives:
// it anchors pending batches in order and marks them anchored.
type BatchLog interface {
	// Batch returns a sealed batch by id.
	Batch(ctx context.Context, id string) (Batch, error)
	// PendingBatches returns sealed batches not yet anchored, oldest first.
	PendingBatches(ctx context.Context) ([]Batch, error)
	// MarkAnchored records that batch id was anchored in transaction txID in
	// block; repeating the same call is a no-op.
	MarkAnchored(ctx context.Context, id, txID string, block uint64) error
}
