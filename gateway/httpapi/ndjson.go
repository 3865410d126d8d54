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
// id (for GET /v1/events/{id}) and its leaf index.
type AcceptedEvent struct {
	ID  string `json:"id"`
	Seq uint64 `json:"seq"`
}

// AcceptedResponse answers POST /v1/events once the events are durable:
// the stored events in line order and, when some well-formed lines could
// not become events, one error per refused line (code, message, line and
// 0-based event position).
type AcceptedResponse struct {
	Accepted int             `json:"accepted"`
	Events   []AcceptedEvent `json:"events"`
	Errors   []errorDetail   `json:"errors,omitempty"`
}

// ndjsonEvents handles POST /v1/events, the native API: the whole body is
// parsed first; broken framing (a line that is not a JSON object) or a
// limit refuses it whole, a well-formed line that cannot become an event is
// listed in errors while the other lines are stored (ndjson.Parse). With
// an Idempotency-Key header a retry of the same body maps to the same ids
// and stores nothing twice.
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
	ph := s.phases(protoNDJSON)
	body, e := s.readBody(c)
	if e != nil {
		s.fail(c, protoNDJSON, e)
		return
	}
	ph.done("read")
	res, err := ndjson.Parse(body, s.meta(c, cr), s.lim)
	if err != nil {
		s.fail(c, protoNDJSON, asError(err))
		return
	}
	ph.done("parse")
	events := res.Events
	if e := checkIndexes(cr, events); e != nil {
		s.fail(c, protoNDJSON, e)
		return
	}
	stored, e := s.store(ctx, protoNDJSON, events)
	if e != nil {
		s.fail(c, protoNDJSON, e)
		return
	}
	ph.done("store")
	defer ph.done("respond")
	out := AcceptedResponse{Accepted: len(stored), Events: make([]AcceptedEvent, len(stored))}
	for i, ev := range stored {
		out.Events[i] = AcceptedEvent{ID: ev.ID, Seq: ev.Seq}
	}
	for _, ie := range res.Errors {
		n := ie.Event
		out.Errors = append(out.Errors, errorDetail{Code: ie.Code.Class(), Message: ie.Error(), Line: ie.Line, Event: &n})
	}
	c.JSON(http.StatusOK, out)
}
