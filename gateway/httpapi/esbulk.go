package httpapi

import (
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/esbulk"
)

// esErrorBody is Elasticsearch's error answer shape, which its clients
// parse: {"error":{"root_cause":[...],"type":..,"reason":..},"status":N}.
type esErrorBody struct {
	Error  esError `json:"error"`
	Status int     `json:"status"`
}

type esError struct {
	RootCause []esCause `json:"root_cause"`
	Type      string    `json:"type"`
	Reason    string    `json:"reason"`
}

type esCause struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// esTypes names Elasticsearch's exception type for each code.
var esTypes = map[gateway.Code]string{
	gateway.CodeInvalid:         "illegal_argument_exception",
	gateway.CodeUnauthenticated: "security_exception",
	gateway.CodeForbidden:       "security_exception",
	gateway.CodeNotFound:        "resource_not_found_exception",
	gateway.CodeTooLarge:        "http_content_too_long_exception",
	gateway.CodeUnsupported:     "media_type_header_exception",
	gateway.CodeBusy:            "es_rejected_execution_exception",
	gateway.CodeUnavailable:     "unavailable_shards_exception",
}

func (s *Server) esHeaders(c *gin.Context) {
	for k, v := range esbulk.Headers(c.GetHeader("Accept"), c.GetHeader("Content-Type")) {
		c.Header(k, v)
	}
}

// esFail answers e in Elasticsearch's error shape with the product header
// clients insist on.
func (s *Server) esFail(c *gin.Context, e *Error) {
	s.reject(protoES, e)
	s.esHeaders(c)
	switch e.Code {
	case gateway.CodeUnauthenticated:
		c.Header("WWW-Authenticate", `ApiKey, Basic realm="security", charset="UTF-8"`)
	case gateway.CodeBusy, gateway.CodeUnavailable:
		c.Header("Retry-After", s.retryAfter())
	}
	typ := esTypes[e.Code]
	if typ == "" {
		typ = "exception"
	}
	status := HTTPStatus(e.Code)
	c.AbortWithStatusJSON(status, esErrorBody{
		Error:  esError{RootCause: []esCause{{Type: typ, Reason: e.Msg}}, Type: typ, Reason: e.Msg},
		Status: status,
	})
}

func (s *Server) esAuth(c *gin.Context) (gateway.Credential, bool) {
	cr, e := s.creds.authenticate(c.GetHeader("Authorization"), gateway.ScopeElasticsearch, "apikey", "basic", "bearer")
	if e != nil {
		s.esFail(c, e)
		return gateway.Credential{}, false
	}
	return cr, true
}

// esInfo answers GET / and HEAD /, which shippers call first to check the
// product and version.
func (s *Server) esInfo(c *gin.Context) {
	if _, ok := s.esAuth(c); !ok {
		return
	}
	s.esHeaders(c)
	if c.Request.Method == http.MethodHead {
		c.Status(http.StatusOK)
		return
	}
	es := s.cfg.Elasticsearch
	c.JSON(http.StatusOK, esbulk.Info(es.ClusterName, es.ClusterUUID, es.Version))
}

// esContentTypes are the media types of a _bulk body.
var esContentTypes = []string{"application/json", "application/x-ndjson", "application/vnd.elasticsearch+json", "application/vnd.elasticsearch+x-ndjson"}

func mediaTypeAllowed(ct string, allowed []string) bool {
	if strings.TrimSpace(ct) == "" {
		return true // curl and some libraries send none; the body decides
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	for _, a := range allowed {
		if mt == a {
			return true
		}
	}
	return false
}

// esBulk handles POST|PUT /_bulk and /{index}/_bulk: items whose index the
// credential may not write get a per-item 403, as Elasticsearch answers an
// unauthorised index; the rest are stored, then answered item by item.
func (s *Server) esBulk(c *gin.Context) {
	start := time.Now()
	cr, ok := s.esAuth(c)
	if !ok {
		return
	}
	if ct := c.GetHeader("Content-Type"); !mediaTypeAllowed(ct, esContentTypes) {
		s.esFail(c, errorf(gateway.CodeUnsupported, "Content-Type header ["+ct+"] is not supported"))
		return
	}
	ctx := c.Request.Context()
	if busy, why := s.prog.Busy(ctx); busy {
		s.esFail(c, errorf(gateway.CodeBusy, "rejected execution: "+why))
		return
	}
	body, e := s.readBody(c)
	if e != nil {
		s.esFail(c, e)
		return
	}
	defaultIndex := c.Param("index")
	if defaultIndex == "" {
		defaultIndex = cr.DefaultIndex()
	}
	res, err := esbulk.Parse(body, defaultIndex, s.meta(c, cr), s.lim)
	if err != nil {
		s.esFail(c, asError(err))
		return
	}
	forbidIndexes(cr, &res)
	stored, e := s.store(ctx, protoES, res.Events)
	if e != nil {
		s.esFail(c, e)
		return
	}
	s.esHeaders(c)
	c.JSON(http.StatusOK, esbulk.NewBulkResponse(res, time.Since(start), func(i int) uint64 { return stored[i].Seq }))
}

// forbidIndexes turns items targeting an index the credential may not write
// into per-item 403 errors and drops their events, renumbering the rest.
func forbidIndexes(cr gateway.Credential, res *esbulk.Result) {
	keep := make([]gateway.Event, 0, len(res.Events))
	remap := make([]int, len(res.Events))
	for i, ev := range res.Events {
		if cr.IndexAllowed(ev.Index) {
			remap[i] = len(keep)
			keep = append(keep, ev)
		} else {
			remap[i] = -1
		}
	}
	if len(keep) == len(res.Events) {
		return
	}
	for i := range res.Items {
		it := &res.Items[i]
		if it.Event < 0 {
			continue
		}
		if it.Event = remap[it.Event]; it.Event < 0 {
			it.Status = http.StatusForbidden
			it.Error = &esbulk.ItemError{Type: "security_exception", Reason: "action [indices:data/write/bulk[s]] is unauthorized for credential [" + cr.Name + "] on indices [" + it.Index + "]"}
		}
	}
	res.Events = keep
}
