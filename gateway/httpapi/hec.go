package httpapi

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/hec"
)

func (s *Server) bg() context.Context { return context.Background() }

// Splunk's health endpoint codes (not in the request status table).
const (
	hecCodeHealthy   hec.Code = 17
	hecCodeUnhealthy hec.Code = 18
)

// hecReply answers with Splunk's status and body for code, counting a
// rejection for any failure.
func (s *Server) hecReply(c *gin.Context, code hec.Code, reason gateway.Code) {
	if code != hec.CodeSuccess {
		s.m.Rejected(protoHEC, string(reason))
	}
	if code == hec.CodeServerBusy {
		c.Header("Retry-After", s.retryAfter())
	}
	c.AbortWithStatusJSON(code.HTTPStatus(), hec.NewResponse(code))
}

// hecError answers an *Error the way Splunk would: parse failures through
// hec.ErrorResponse (codes 5, 6, 12, 13, 15 with invalid-event-number),
// forbidden index as code 7, busy or unavailable as code 9.
func (s *Server) hecError(c *gin.Context, e *Error) {
	s.reject(protoHEC, e)
	switch e.Code {
	case gateway.CodeBusy, gateway.CodeUnavailable:
		c.Header("Retry-After", s.retryAfter())
		c.AbortWithStatusJSON(hec.CodeServerBusy.HTTPStatus(), hec.NewResponse(hec.CodeServerBusy))
		return
	case gateway.CodeForbidden:
		r := hec.NewResponse(hec.CodeIncorrectIndex)
		if e.Event >= 0 {
			n := e.Event
			r.InvalidEventNumber = &n
		}
		c.AbortWithStatusJSON(hec.CodeIncorrectIndex.HTTPStatus(), r)
		return
	}
	status, body := hec.ErrorResponse(toIngest(e, protoHEC))
	c.AbortWithStatusJSON(status, body)
}

// hecAuth authenticates as Splunk does: "Authorization: Splunk <token>"
// (Basic with the token as password is accepted too), code 2 when absent,
// 3 when not parsable, 4 for an unknown token or one without the hec
// scope, 1 when disabled, and 16 for a token in the query string, which
// the gateway never accepts (it would end up in access logs).
func (s *Server) hecAuth(c *gin.Context) (gateway.Credential, bool) {
	h := c.GetHeader("Authorization")
	if h == "" && c.Query("token") != "" {
		s.hecReply(c, hec.CodeQueryStringAuthDenied, gateway.CodeUnauthenticated)
		return gateway.Credential{}, false
	}
	a, present := parseAuthorization(h)
	switch {
	case !present:
		s.hecReply(c, hec.CodeTokenRequired, gateway.CodeUnauthenticated)
		return gateway.Credential{}, false
	case a.scheme != "splunk" && a.scheme != "basic":
		s.hecReply(c, hec.CodeInvalidAuthorization, gateway.CodeUnauthenticated)
		return gateway.Credential{}, false
	}
	// HEC ignores the Basic username: the password is the token.
	cr, ok := s.creds.Lookup(a.token, nil)
	switch {
	case !ok || !cr.Has(gateway.ScopeHEC):
		s.hecReply(c, hec.CodeInvalidToken, gateway.CodeUnauthenticated)
		return gateway.Credential{}, false
	case cr.Disabled:
		s.hecReply(c, hec.CodeTokenDisabled, gateway.CodeForbidden)
		return gateway.Credential{}, false
	}
	return cr, true
}

func (s *Server) hecEvent(c *gin.Context) { s.hecIngest(c, false) }
func (s *Server) hecRaw(c *gin.Context)   { s.hecIngest(c, true) }

func (s *Server) hecIngest(c *gin.Context, raw bool) {
	cr, ok := s.hecAuth(c)
	if !ok {
		return
	}
	ch, code := hec.Channel(c.GetHeader("X-Splunk-Request-Channel"), c.Request.URL.Query(), cr.Ack || raw)
	if code != hec.CodeSuccess {
		s.hecReply(c, code, gateway.CodeInvalid)
		return
	}
	ctx := c.Request.Context()
	if busy, why := s.prog.Busy(ctx); busy {
		s.log.Warn("ingest busy", "protocol", protoHEC, "why", why)
		s.hecReply(c, hec.CodeServerBusy, gateway.CodeBusy)
		return
	}
	ack := cr.Ack && ch != ""
	if ack && !s.acks.room(ch, s.now()) {
		s.hecReply(c, hec.CodeServerBusy, gateway.CodeBusy)
		return
	}
	body, e := s.readBody(c)
	if e != nil {
		s.hecError(c, e)
		return
	}
	m := s.meta(c, cr)
	// HEC's rule: channel plus the client's request id make a retry
	// idempotent; without both every request is a new occurrence.
	if ch != "" {
		m.Key = s.requestKey(cr, c.GetHeader(HeaderIdempotencyKey), ch)
	} else {
		m.Key = s.requestKey(cr, "", "")
	}
	var events []gateway.Event
	var err error
	if raw {
		events, err = hec.ParseRaw(body, hec.MetaFromQuery(c.Request.URL.Query(), m), s.lim)
	} else {
		events, err = hec.ParseEvents(body, m, s.lim)
	}
	if err != nil {
		s.hecError(c, asError(err))
		return
	}
	if e := checkIndexes(cr, events); e != nil {
		s.hecError(c, e)
		return
	}
	stored, e := s.store(ctx, protoHEC, events)
	if e != nil {
		s.hecError(c, e)
		return
	}
	if !ack {
		c.JSON(http.StatusOK, hec.Success())
		return
	}
	var maxSeq uint64
	for _, ev := range stored {
		maxSeq = max(maxSeq, ev.Seq)
	}
	c.JSON(http.StatusOK, hec.SuccessAck(s.acks.add(ch, maxSeq, s.now())))
}

// hecHealth answers as Splunk's /services/collector/health: 200 code 17
// when accepting, 503 code 18 when pushing back.
func (s *Server) hecHealth(c *gin.Context) {
	if busy, _ := s.prog.Busy(c.Request.Context()); busy {
		c.Header("Retry-After", s.retryAfter())
		c.JSON(http.StatusServiceUnavailable, hec.Response{Text: "HEC is unhealthy, queues are full", Code: hecCodeUnhealthy})
		return
	}
	c.JSON(http.StatusOK, hec.Response{Text: "HEC is healthy", Code: hecCodeHealthy})
}

// hecAck answers /services/collector/ack: for each ack id of the channel,
// true once every event of that request is anchored on the ledger.
func (s *Server) hecAck(c *gin.Context) {
	cr, ok := s.hecAuth(c)
	if !ok {
		return
	}
	if !cr.Ack {
		s.hecReply(c, hec.CodeACKDisabled, gateway.CodeInvalid)
		return
	}
	ch, code := hec.Channel(c.GetHeader("X-Splunk-Request-Channel"), c.Request.URL.Query(), true)
	if code != hec.CodeSuccess {
		s.hecReply(c, code, gateway.CodeInvalid)
		return
	}
	body, e := s.readBody(c)
	if e != nil {
		s.hecError(c, e)
		return
	}
	req, err := hec.ParseAck(body, s.lim)
	if err != nil {
		s.hecError(c, asError(err))
		return
	}
	now := s.now()
	anchored := s.prog.Status().TreeSize
	c.JSON(http.StatusOK, hec.NewAckResponse(req, func(id uint64) bool { return s.acks.status(ch, id, anchored, now) }))
}
