package taxii

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// status is the TAXII 2.1 status resource.
type status struct {
	ID               string      `json:"id"`
	Status           string      `json:"status"`
	RequestTimestamp string      `json:"request_timestamp"`
	TotalCount       int         `json:"total_count"`
	SuccessCount     int         `json:"success_count"`
	Successes        []ObjectRef `json:"successes,omitempty"`
	FailureCount     int         `json:"failure_count"`
	Failures         []ObjectRef `json:"failures,omitempty"`
	PendingCount     int         `json:"pending_count"`
	Pendings         []ObjectRef `json:"pendings,omitempty"`
}

// statuses keeps the last max status resources.
type statuses struct {
	mu    sync.Mutex
	max   int
	order []string
	byID  map[string]status
}

func newStatuses(max int) *statuses { return &statuses{max: max, byID: map[string]status{}} }

func (st *statuses) put(s status) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.order) == st.max {
		delete(st.byID, st.order[0])
		st.order = st.order[1:]
	}
	st.order = append(st.order, s.ID)
	st.byID[s.ID] = s
}

func (st *statuses) get(id string) (status, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s, ok := st.byID[id]
	return s, ok
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func (s *Server) postObjects(w http.ResponseWriter, r *http.Request) {
	if e := s.authenticate(r, gateway.ScopeIntelShare); e != nil {
		writeError(w, e)
		return
	}
	if e := checkAccept(r.Header.Get("Accept"), false); e != nil {
		writeError(w, e)
		return
	}
	if e := checkContentType(r.Header.Get("Content-Type")); e != nil {
		writeError(w, e)
		return
	}
	g, ok := s.group(w, r)
	if !ok {
		return
	}
	if s.deps.Publisher == nil {
		writeError(w, &apiError{http.StatusForbidden, "read-only collection", "this gateway does not share through TAXII (no ledger identity for intel)"})
		return
	}
	requested := s.now()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxContentLength))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, &apiError{http.StatusRequestEntityTooLarge, "envelope too large", "the envelope exceeds max_content_length (" + itoa(int(s.cfg.MaxContentLength)) + " bytes); split it"})
			return
		}
		writeError(w, badRequest("reading the body failed: "+err.Error()))
		return
	}
	var env struct {
		Objects []json.RawMessage `json:"objects"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&env); err != nil {
		writeError(w, badRequest("the body is not a TAXII envelope (a JSON object with an objects array): "+err.Error()))
		return
	}
	if dec.More() {
		writeError(w, badRequest("the body holds data after the envelope"))
		return
	}
	if len(env.Objects) == 0 {
		writeError(w, badRequest("the envelope holds no objects"))
		return
	}
	res, err := s.deps.Publisher.Publish(r.Context(), g, env.Objects)
	if err != nil {
		e := publishStatus(err)
		if e.Status >= 500 {
			s.log.Warn("taxii: share failed", "collection", g, "err", err)
		}
		writeError(w, e)
		return
	}
	st := status{
		ID: newUUID(), Status: "complete", RequestTimestamp: formatTime(requested),
		TotalCount: len(env.Objects), SuccessCount: len(res.Shared) + len(res.Context),
		Successes: append(append([]ObjectRef{}, res.Shared...), res.Context...),
	}
	s.status.put(st)
	s.log.Info("taxii: shared", "collection", g, "indicators", len(res.Shared), "context_objects", len(res.Context), "txs", res.TxIDs)
	writeJSON(w, http.StatusAccepted, st)
}

func (s *Server) getStatus(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("status")
	st, ok := s.status.get(id)
	if !ok {
		writeError(w, &apiError{http.StatusNotFound, "status not found", "no status " + id + " on this gateway (statuses are kept by the gateway that took the POST, the last " + itoa(s.cfg.MaxStatuses) + ")"})
		return
	}
	writeJSON(w, http.StatusOK, st)
}
