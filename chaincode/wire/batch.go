package wire

import (
	"fmt"
	"sort"
)

// Limits on a batch anchor; they keep one record small and bounded.
const (
	MaxBatchClasses = 64
	MaxBatchModels  = 32
	maxTokenLen     = 128
)

// Model identifies one scoring model version by id, version and the SHA-256
// of its file, as the gateway verified it against the model's manifest.
// SHA256 is left out only of the detectors of a stored [AlertSet]'s alerts
// (the set's Models table holds it, see [AlertSet.Add]); everywhere else
// it is set.
type Model struct {
	ID      string `json:"modelId"`
	Version string `json:"version"`
	SHA256  string `json:"sha256,omitempty"`
}

// Batch is the anchor of one sealed Merkle batch of a gateway's append-only
// event log (RFC 6962 tree). The gateway fills every field down to Models;
// the chaincode sets AnchoredAt, TxID and Submitter from the transaction.
type Batch struct {
	ID             string            `json:"id"`
	MSP            string            `json:"msp"`
	GatewayID      string            `json:"gatewayId"`
	TreeSizeBefore uint64            `json:"treeSizeBefore"`
	TreeSizeAfter  uint64            `json:"treeSizeAfter"`
	RootHash       string            `json:"rootHash"`
	FirstSeq       uint64            `json:"firstSeq"`
	LastSeq        uint64            `json:"lastSeq"`
	FirstEventTime Time              `json:"firstEventTime"`
	LastEventTime  Time              `json:"lastEventTime"`
	ClassCounts    map[string]uint64 `json:"classCounts"`
	Models         []Model           `json:"models"`

	AnchoredAt Time   `json:"anchoredAt,omitzero"`
	TxID       string `json:"txId,omitempty"`
	Submitter  *Actor `json:"submitter,omitempty"`
}

// Checkpoint is a gateway's latest anchored tree head: the size and root a
// verifier checks consistency proofs against, and the sequence the next
// batch must continue from.
type Checkpoint struct {
	MSP           string `json:"msp"`
	GatewayID     string `json:"gatewayId"`
	TreeSize      uint64 `json:"treeSize"`
	RootHash      string `json:"rootHash"`
	LastSeq       uint64 `json:"lastSeq"`
	LastEventTime Time   `json:"lastEventTime"`
	BatchID       string `json:"batchId"`
	AnchoredAt    Time   `json:"anchoredAt"`
	TxID          string `json:"txId"`
}

// Actor is who did something: the creator's MSP ID and certificate subject.
type Actor struct {
	MSP     string `json:"msp"`
	Subject string `json:"subject"`
}

// Validate checks everything about a batch submitted by a gateway that
// does not need the ledger: required fields, formats, that the batch adds
// at least one leaf, that the sequence range and per-class counts both
// equal the number of leaves added, that the time range is ordered, that
// models are listed once each, and that ID is the [BatchID] of the batch.
// It also sorts Models by (id, version) so the stored form is canonical.
func (b *Batch) Validate() error {
	if err := checkToken("msp", b.MSP, maxTokenLen); err != nil {
		return err
	}
	if err := checkToken("gatewayId", b.GatewayID, maxTokenLen); err != nil {
		return err
	}
	if err := checkHash("rootHash", b.RootHash); err != nil {
		return err
	}
	if b.TreeSizeAfter <= b.TreeSizeBefore {
		return invalid("treeSizeAfter", "%d must exceed treeSizeBefore %d (a batch adds at least one leaf)", b.TreeSizeAfter, b.TreeSizeBefore)
	}
	leaves := b.TreeSizeAfter - b.TreeSizeBefore
	if b.LastSeq < b.FirstSeq || b.LastSeq-b.FirstSeq+1 != leaves {
		return invalid("lastSeq", "sequence range %d..%d must hold exactly the %d leaves added", b.FirstSeq, b.LastSeq, leaves)
	}
	if b.FirstEventTime.IsZero() || b.LastEventTime.IsZero() {
		return invalid("firstEventTime", "first and last event times are required")
	}
	if b.LastEventTime.Before(b.FirstEventTime.Time) {
		return invalid("lastEventTime", "%s is before firstEventTime %s", b.LastEventTime, b.FirstEventTime)
	}
	if len(b.ClassCounts) == 0 || len(b.ClassCounts) > MaxBatchClasses {
		return invalid("classCounts", "must list 1..%d classes, got %d", MaxBatchClasses, len(b.ClassCounts))
	}
	var sum uint64
	for class, n := range b.ClassCounts {
		if err := checkToken("classCounts key", class, maxTokenLen); err != nil {
			return err
		}
		if n == 0 {
			return invalid("classCounts["+class+"]", "must be positive (omit empty classes)")
		}
		if sum+n < sum {
			return invalid("classCounts", "sum overflows")
		}
		sum += n
	}
	if sum != leaves {
		return invalid("classCounts", "counts sum to %d but the batch adds %d leaves", sum, leaves)
	}
	if len(b.Models) > MaxBatchModels {
		return invalid("models", "%d models exceeds the limit of %d", len(b.Models), MaxBatchModels)
	}
	for i := range b.Models {
		if err := b.Models[i].validate(fmt.Sprintf("models[%d]", i)); err != nil {
			return err
		}
	}
	sort.Slice(b.Models, func(i, j int) bool { return b.Models[i].less(b.Models[j]) })
	for i := 1; i < len(b.Models); i++ {
		if b.Models[i].ID == b.Models[i-1].ID && b.Models[i].Version == b.Models[i-1].Version {
			return invalid("models", "model %s version %s is listed twice", b.Models[i].ID, b.Models[i].Version)
		}
	}
	if want := BatchID(b.MSP, b.GatewayID, b.TreeSizeBefore, b.TreeSizeAfter, b.RootHash); b.ID != want {
		return invalid("id", "%q is not the batch id of these fields (want %s)", truncate(b.ID, 80), want)
	}
	if !b.AnchoredAt.IsZero() || b.TxID != "" || b.Submitter != nil {
		return invalid("anchoredAt", "anchoredAt, txId and submitter are set by the chaincode and must be omitted")
	}
	return nil
}

// HasModel reports whether the batch lists the model version m (same id,
// version and sha256).
func (b *Batch) HasModel(m Model) bool {
	for _, have := range b.Models {
		if have == m {
			return true
		}
	}
	return false
}

func (m Model) validate(field string) error {
	err := checkToken("modelId", m.ID, maxTokenLen)
	if err == nil {
		err = checkToken("version", m.Version, maxTokenLen)
	}
	if err == nil {
		err = checkHash("sha256", m.SHA256)
	}
	if ve, ok := err.(*ValidationError); ok {
		ve.Field = field + "." + ve.Field
	}
	return err
}

func (m Model) less(o Model) bool {
	if m.ID != o.ID {
		return m.ID < o.ID
	}
	return m.Version < o.Version
}
