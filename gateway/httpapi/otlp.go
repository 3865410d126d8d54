package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ledgerguard/ledgerguard/gateway/ingest/otlp"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// rpcUnauthenticated, rpcPermissionDenied and rpcUnavailable are the
// google.rpc.Code values of answers otlp.MarshalError does not cover.
const (
	rpcPermissionDenied = 7
	rpcUnavailable      = 14
	rpcUnauthenticated  = 16
)

// otlpStatus encodes a google.rpc.Status in enc, as the OTLP/HTTP
// specification asks of every failure answer.
func otlpStatus(enc otlp.Encoding, code int32, msg string) []byte {
	if enc == otlp.JSON {
		b, _ := json.Marshal(struct {
			Code    int32  `json:"code"`
			Message string `json:"message"`
		}{code, msg})
		return b
	}
	b := protowire.AppendTag(nil, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(code))
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	return protowire.AppendString(b, msg)
}

// otlpFail answers e as a google.rpc.Status: parse failures through
// otlp.MarshalError (400/413/415), the rest with the gateway's status and
// the matching rpc code. 503 carries Retry-After, which OTLP exporters
// honour.
func (s *Server) otlpFail(c *gin.Context, enc otlp.Encoding, e *Error) {
	s.reject(protoOTLP, e)
	status := HTTPStatus(e.Code)
	var body []byte
	switch e.Code {
	case gateway.CodeUnauthenticated:
		body = otlpStatus(enc, rpcUnauthenticated, e.Msg)
	case gateway.CodeForbidden:
		body = otlpStatus(enc, rpcPermissionDenied, e.Msg)
	case gateway.CodeBusy, gateway.CodeUnavailable:
		c.Header("Retry-After", s.retryAfter())
		body = otlpStatus(enc, rpcUnavailable, e.Msg)
	default:
		var err error
		ie := toIngest(e, protoOTLP)
		status = HTTPStatus(ie.Code)
		body, err = otlp.MarshalError(enc, ie)
		if err != nil {
			status, body = http.StatusInternalServerError, otlpStatus(enc, 13, "internal error")
		}
	}
	c.Data(status, enc.ContentType(), body)
	c.Abort()
}

// otlpLogs handles POST /v1/logs (ExportLogsServiceRequest, protobuf or
// JSON, optionally gzip), answering with partial success for records
// refused one by one.
func (s *Server) otlpLogs(c *gin.Context) {
	enc, encErr := otlp.EncodingFor(c.GetHeader("Content-Type"))
	if encErr != nil {
		enc = otlp.JSON // the only encoding a client of unknown type can be assumed to read
	}
	cr, e := s.creds.authenticate(c.GetHeader("Authorization"), gateway.ScopeOTLP, "bearer")
	if e != nil {
		s.otlpFail(c, enc, e)
		return
	}
	if encErr != nil {
		s.otlpFail(c, enc, asError(encErr))
		return
	}
	ctx := c.Request.Context()
	if busy, why := s.prog.Busy(ctx); busy {
		s.otlpFail(c, enc, errorf(gateway.CodeBusy, "server busy: "+why))
		return
	}
	// Weighed by its estimated decoded size: an OTLP body decodes to many
	// times its bytes (records, attributes, resource copies).
	body, e := s.readBodyWeighed(c, func(b []byte) (int64, error) {
		est, err := otlp.Prescan(b, enc, s.lim)
		return est.Bytes(), err
	})
	if e != nil {
		s.otlpFail(c, enc, e)
		return
	}
	res, err := otlp.ParsePrescanned(body, enc, s.meta(c, cr), s.lim)
	if err != nil {
		s.otlpFail(c, enc, asError(err))
		return
	}
	if e := checkIndexes(cr, res.Events); e != nil {
		s.otlpFail(c, enc, e)
		return
	}
	if _, e := s.store(ctx, protoOTLP, res.Events); e != nil {
		s.otlpFail(c, enc, e)
		return
	}
	out, err := otlp.MarshalResponse(enc, res)
	if err != nil {
		s.otlpFail(c, enc, asError(err))
		return
	}
	c.Data(http.StatusOK, enc.ContentType(), out)
}
