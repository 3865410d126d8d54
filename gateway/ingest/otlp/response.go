package otlp

import (
	"encoding/json"
	"errors"

	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// jsonResponse mirrors ExportLogsServiceResponse in the OTLP JSON mapping.
// It is written with encoding/json rather than protojson because protojson
// deliberately varies its whitespace, and answers must be byte-stable
// (golden-tested, cacheable).
type jsonResponse struct {
	PartialSuccess *jsonPartial `json:"partialSuccess,omitempty"`
}

type jsonPartial struct {
	RejectedLogRecords int64  `json:"rejectedLogRecords,string,omitempty"`
	ErrorMessage       string `json:"errorMessage,omitempty"`
}

// MarshalResponse encodes the success answer for res in enc: an empty
// ExportLogsServiceResponse when nothing was rejected, else one whose
// partial_success carries the rejected count and the message.
func MarshalResponse(enc Encoding, res Result) ([]byte, error) {
	if enc == JSON {
		var r jsonResponse
		if res.Rejected > 0 || res.ErrorMessage != "" {
			r.PartialSuccess = &jsonPartial{RejectedLogRecords: res.Rejected, ErrorMessage: res.ErrorMessage}
		}
		return json.Marshal(r)
	}
	// ExportLogsServiceResponse { ExportLogsPartialSuccess partial_success = 1; }
	// ExportLogsPartialSuccess { int64 rejected_log_records = 1; string error_message = 2; }
	if res.Rejected == 0 && res.ErrorMessage == "" {
		return []byte{}, nil
	}
	var ps []byte
	if res.Rejected != 0 {
		ps = protowire.AppendTag(ps, 1, protowire.VarintType)
		ps = protowire.AppendVarint(ps, uint64(res.Rejected))
	}
	if res.ErrorMessage != "" {
		ps = protowire.AppendTag(ps, 2, protowire.BytesType)
		ps = protowire.AppendString(ps, res.ErrorMessage)
	}
	b := protowire.AppendTag(nil, 1, protowire.BytesType)
	return protowire.AppendBytes(b, ps), nil
}

// gRPC status codes used in error answers (google.rpc.Code).
const (
	rpcInvalidArgument   = 3
	rpcResourceExhausted = 8
	rpcInternal          = 13
	rpcUnimplemented     = 12
)

// MarshalError encodes the failure answer for err, as the OTLP/HTTP
// specification asks: a google.rpc.Status in the request's encoding, its
// rpc code derived from err's gateway.Code. The HTTP status comes from the
// same code through the HTTP adapter's one mapping (400 invalid, 413 too
// large, 415 unsupported, 500 otherwise); clients must not retry
// 400/413/415.
func MarshalError(enc Encoding, err error) ([]byte, error) {
	code := int32(rpcInternal)
	switch gateway.ErrorCode(err).Class() {
	case gateway.CodeInvalid:
		code = rpcInvalidArgument
	case gateway.CodeTooLarge:
		code = rpcResourceExhausted
	case gateway.CodeUnsupported:
		code = rpcUnimplemented
	}
	msg := "internal error"
	var ie *ingest.Error
	if errors.As(err, &ie) {
		msg = ie.Error()
	}
	if enc == JSON {
		b, mErr := json.Marshal(struct {
			Code    int32  `json:"code"`
			Message string `json:"message"`
		}{code, msg})
		return b, mErr
	}
	// google.rpc.Status { int32 code = 1; string message = 2; ... }
	b := protowire.AppendTag(nil, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(code))
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendString(b, msg)
	return b, nil
}
