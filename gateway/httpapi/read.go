package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// EventResponse answers GET /v1/events/{id}: the stored event with its
// canonical bytes (base64 in JSON: the Merkle leaf byte for byte), leaf
// hash and index, an inclusion proof against Root, the sealed batch once
// there is one, and the anchoring transaction once the batch is anchored.
type EventResponse struct {
	gateway.EventProof
	LeafIndex   uint64 `json:"leaf_index"`
	Anchored    bool   `json:"anchored"`
	TxID        string `json:"tx_id,omitempty"`
	BlockNumber uint64 `json:"block_number,omitempty"`
}

// CheckpointResponse answers GET /v1/checkpoint: the durable tree size and
// root, the anchored tree size, and the last anchoring transaction (absent
// until one exists).
type CheckpointResponse struct {
	Size         uint64      `json:"size"`
	Root         string      `json:"root"`
	AnchoredSize uint64      `json:"anchored_size"`
	LastAnchor   *LastAnchor `json:"last_anchor,omitempty"`
}

// LastAnchor is the most recently anchored batch and its transaction.
type LastAnchor struct {
	BatchID     string    `json:"batch_id"`
	TreeSize    uint64    `json:"tree_size"`
	RootHash    string    `json:"root_hash"`
	TxID        string    `json:"tx_id"`
	BlockNumber uint64    `json:"block_number"`
	AnchoredAt  time.Time `json:"anchored_at,omitzero"`
}

func (s *Server) readAuth(c *gin.Context) bool {
	if _, e := s.creds.authenticate(c.GetHeader("Authorization"), gateway.ScopeRead, "bearer"); e != nil {
		s.fail(c, protoRead, e)
		return false
	}
	return true
}

// uintParam reads a non-negative integer query parameter; present reports
// whether it was given.
func uintParam(c *gin.Context, name string) (v uint64, present bool, e *Error) {
	raw, ok := c.GetQuery(name)
	if !ok {
		return 0, false, nil
	}
	v, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		return 0, true, errorf(gateway.CodeInvalid, "query parameter "+name+" must be a non-negative integer, got "+strconv.Quote(raw))
	}
	return v, true, nil
}

func (s *Server) getEvent(c *gin.Context) {
	if !s.readAuth(c) {
		return
	}
	treeSize, _, e := uintParam(c, "tree_size")
	if e != nil {
		s.fail(c, protoRead, e)
		return
	}
	ep, err := s.deps.Log.EventByID(c.Request.Context(), c.Param("id"), treeSize)
	if err != nil {
		s.fail(c, protoRead, asError(err))
		return
	}
	out := EventResponse{EventProof: ep, LeafIndex: ep.Event.Seq}
	if ep.Batch != nil && ep.Batch.State == gateway.BatchAnchored {
		out.Anchored, out.TxID, out.BlockNumber = true, ep.Batch.TxID, ep.Batch.BlockNumber
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) getBatch(c *gin.Context) {
	if !s.readAuth(c) {
		return
	}
	b, err := s.deps.Batches.Batch(c.Request.Context(), c.Param("id"))
	if err != nil {
		s.fail(c, protoRead, asError(err))
		return
	}
	c.JSON(http.StatusOK, b)
}

func (s *Server) getCheckpoint(c *gin.Context) {
	if !s.readAuth(c) {
		return
	}
	cp, err := s.deps.Log.Checkpoint(c.Request.Context())
	if err != nil {
		s.fail(c, protoRead, asError(err))
		return
	}
	st := s.prog.Status()
	anchored, last := st.TreeSize, st.Last
	out := CheckpointResponse{Size: cp.Size, Root: cp.Root, AnchoredSize: anchored}
	if last != nil {
		out.LastAnchor = &LastAnchor{BatchID: last.ID, TreeSize: last.TreeSizeAfter, RootHash: last.RootHash,
			TxID: last.TxID, BlockNumber: last.BlockNumber, AnchoredAt: last.AnchoredAt.UTC()}
	}
	c.JSON(http.StatusOK, out)
}

// getConsistency answers GET /v1/consistency?from=N&to=M; to defaults to
// the current size.
func (s *Server) getConsistency(c *gin.Context) {
	if !s.readAuth(c) {
		return
	}
	from, ok, e := uintParam(c, "from")
	if e == nil && !ok {
		e = errorf(gateway.CodeInvalid, "query parameter from is required")
	}
	if e != nil {
		s.fail(c, protoRead, e)
		return
	}
	to, ok, e := uintParam(c, "to")
	if e != nil {
		s.fail(c, protoRead, e)
		return
	}
	ctx := c.Request.Context()
	if !ok {
		to = s.size(ctx)
	}
	if from > to {
		s.fail(c, protoRead, errorf(gateway.CodeInvalid, "from ("+strconv.FormatUint(from, 10)+") must not exceed to ("+strconv.FormatUint(to, 10)+")"))
		return
	}
	p, err := s.deps.Log.ConsistencyProof(ctx, from, to)
	if err != nil {
		s.fail(c, protoRead, asError(err))
		return
	}
	c.JSON(http.StatusOK, p)
}

// ShadowResponse answers GET /v1/models/shadow: every model version that
// runs or ran in shadow since the gateway started, with its counts.
type ShadowResponse struct {
	Shadow []gateway.ShadowStats `json:"shadow"`
	// Drift is every scored model version's input drift against its
	// training statistics.
	Drift []gateway.DriftStats `json:"drift"`
}

func (s *Server) getShadow(c *gin.Context) {
	if !s.readAuth(c) {
		return
	}
	out := ShadowResponse{Shadow: []gateway.ShadowStats{}, Drift: []gateway.DriftStats{}}
	if s.deps.Shadow != nil {
		if r := s.deps.Shadow(); r != nil {
			out.Shadow = r
		}
	}
	if s.deps.Drift != nil {
		if r := s.deps.Drift(); r != nil {
			out.Drift = r
		}
	}
	c.JSON(http.StatusOK, out)
}
