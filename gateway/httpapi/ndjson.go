package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/ledgerguard/ledgerguard/gateway/ingest/ndjson"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// ndjsonContentTypes are the media types /v1/events accepts.
var ndjsonContentTypes = []string{"application/x-ndjson", "application/ndjson", "application/jsonl", "application/json"}

// AcceptedEvent is one stored event in the answer to POST /v1/events: its
// content-derived id (for GET /v1/events/{id}) and its leaf index.
type AcceptedEvent struct {
	ID  string `json:"id"`
	Seq uint64 `json:"seq"`
}

// AcceptedResponse answers POST /v1/events once the events are durable.
type AcceptedResponse struct {
	Accepted int             `json:"accepted"`
	Events   []AcceptedEvent `json:"events"`
}

// ndjsonEvents handles POST /v1/events, the native API: the whole body is
// parsed first and stored only if every line is valid.
func (s *Server) ndjsonEvents(c *gin.Context) {
	cr, e := s.creds.authenticate(c.GetHeader("Authorization"), gateway.ScopeNDJSON, "bearer")
	if e != nil {
		s.fail(c, protoNDJSON, e)
		return
	}
	if ct := c.GetHeader("Content-Type"); !mediaTypeAllowed(ct, ndjsonContentTypes) {
		s.fail(c, protoNDJSON, errorf(gateway.CodeUnsupported, "content type "+ct+" is not supported (use application/x-ndjson)"))
		return
	}
	ctx := c.Request.Context()
	if busy, why := s.prog.Busy(ctx); busy {
		s.fail(c, protoNDJSON, errorf(gateway.CodeBusy, "server busy: "+why))
		return
	}
	body, e := s.readBody(c)
	if e != nil {
		s.fail(c, protoNDJSON, e)
		return
	}
	events, err := ndjson.Parse(body, s.meta(cr), s.lim)
	if err != nil {
		s.fail(c, protoNDJSON, asError(err))
		return
	}
	if e := checkIndexes(cr, events); e != nil {
		s.fail(c, protoNDJSON, e)
		return
	}
	stored, e := s.store(ctx, protoNDJSON, events)
	if e != nil {
		s.fail(c, protoNDJSON, e)
		return
	}
	out := AcceptedResponse{Accepted: len(stored), Events: make([]AcceptedEvent, len(stored))}
	for i, ev := range stored {
		out.Events[i] = AcceptedEvent{ID: ev.ID, Seq: ev.Seq}
	}
	c.JSON(http.StatusOK, out)
}
