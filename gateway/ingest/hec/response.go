package hec

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/ledgerguard/ledgerguard/gateway/ingest"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// Code is a Splunk HEC status code, the "code" member of every HEC response.
type Code int

// The HEC status codes, with the texts and HTTP statuses Splunk documents
// ("Troubleshoot HTTP Event Collector", status code table).
const (
	CodeSuccess               Code = 0
	CodeTokenDisabled         Code = 1
	CodeTokenRequired         Code = 2
	CodeInvalidAuthorization  Code = 3
	CodeInvalidToken          Code = 4
	CodeNoData                Code = 5
	CodeInvalidDataFormat     Code = 6
	CodeIncorrectIndex        Code = 7
	CodeInternalError         Code = 8
	CodeServerBusy            Code = 9
	CodeChannelMissing        Code = 10
	CodeInvalidChannel        Code = 11
	CodeEventFieldRequired    Code = 12
	CodeEventFieldBlank       Code = 13
	CodeACKDisabled           Code = 14
	CodeIndexedFieldsError    Code = 15
	CodeQueryStringAuthDenied Code = 16
)

var codeInfo = [...]struct {
	text   string
	status int
}{
	CodeSuccess:               {"Success", http.StatusOK},
	CodeTokenDisabled:         {"Token disabled", http.StatusForbidden},
	CodeTokenRequired:         {"Token is required", http.StatusUnauthorized},
	CodeInvalidAuthorization:  {"Invalid authorization", http.StatusUnauthorized},
	CodeInvalidToken:          {"Invalid token", http.StatusForbidden},
	CodeNoData:                {"No data", http.StatusBadRequest},
	CodeInvalidDataFormat:     {"Invalid data format", http.StatusBadRequest},
	CodeIncorrectIndex:        {"Incorrect index", http.StatusBadRequest},
	CodeInternalError:         {"Internal server error", http.StatusInternalServerError},
	CodeServerBusy:            {"Server is busy", http.StatusServiceUnavailable},
	CodeChannelMissing:        {"Data channel is missing", http.StatusBadRequest},
	CodeInvalidChannel:        {"Invalid data channel", http.StatusBadRequest},
	CodeEventFieldRequired:    {"Event field is required", http.StatusBadRequest},
	CodeEventFieldBlank:       {"Event field cannot be blank", http.StatusBadRequest},
	CodeACKDisabled:           {"ACK is disabled", http.StatusBadRequest},
	CodeIndexedFieldsError:    {"Error in handling indexed fields", http.StatusBadRequest},
	CodeQueryStringAuthDenied: {"Query string authorization is not enabled", http.StatusBadRequest},
}

// Text returns Splunk's text for the code, or "Unknown" for codes outside
// the table.
func (c Code) Text() string {
	if c < 0 || int(c) >= len(codeInfo) {
		return "Unknown"
	}
	return codeInfo[c].text
}

// HTTPStatus returns the HTTP status Splunk answers with for the code
// (500 for codes outside the table).
func (c Code) HTTPStatus() int {
	if c < 0 || int(c) >= len(codeInfo) {
		return http.StatusInternalServerError
	}
	return codeInfo[c].status
}

// Response is the JSON body of every HEC answer: {"text":..,"code":..}
// plus "invalid-event-number" on errors tied to one event of a batch and
// "ackId" on a success when the request named a channel (indexer
// acknowledgement). Field order matches Splunk's.
type Response struct {
	Text               string  `json:"text"`
	Code               Code    `json:"code"`
	InvalidEventNumber *int    `json:"invalid-event-number,omitempty"`
	AckID              *uint64 `json:"ackId,omitempty"`
}

// NewResponse returns the response for a code with its Splunk text.
func NewResponse(c Code) Response {
	return Response{Text: c.Text(), Code: c}
}

// Success is {"text":"Success","code":0}.
func Success() Response { return NewResponse(CodeSuccess) }

// SuccessAck is {"text":"Success","code":0,"ackId":id}, the answer to a
// request that carried a channel while acknowledgement is enabled.
func SuccessAck(id uint64) Response {
	r := Success()
	r.AckID = &id
	return r
}

// ErrorResponse maps an error from ParseEvents, ParseRaw or ParseAck to the
// HTTP status and body Splunk would send, deriving the HEC code from the
// error's gateway.Code (no data, missing field, blank field, invalid field,
// invalid, too large, unsupported). Limits exceeded answer 413 (Splunk
// answers an over-long body with 413 too; there is no HEC code for it, so
// the body carries code 6 with a text that says which limit). Errors that
// are not *ingest.Error are internal (500, code 8).
func ErrorResponse(err error) (int, Response) {
	var ie *ingest.Error
	if !errors.As(err, &ie) {
		return http.StatusInternalServerError, NewResponse(CodeInternalError)
	}
	var c Code
	switch ie.Code {
	case gateway.CodeNoData:
		c = CodeNoData
	case gateway.CodeMissingField:
		c = CodeEventFieldRequired
	case gateway.CodeBlankField:
		c = CodeEventFieldBlank
	case gateway.CodeInvalidField:
		c = CodeIndexedFieldsError
	case gateway.CodeInvalid, gateway.CodeUnsupported:
		c = CodeInvalidDataFormat
	case gateway.CodeTooLarge:
		r := Response{Text: "Content too large: " + ie.Msg, Code: CodeInvalidDataFormat}
		if ie.Event >= 0 {
			n := ie.Event
			r.InvalidEventNumber = &n
		}
		return http.StatusRequestEntityTooLarge, r
	default:
		return http.StatusInternalServerError, NewResponse(CodeInternalError)
	}
	r := NewResponse(c)
	if ie.Event >= 0 {
		n := ie.Event
		r.InvalidEventNumber = &n
	}
	return c.HTTPStatus(), r
}

// AckRequest is the body of POST /services/collector/ack: {"acks":[0,1]}.
type AckRequest struct {
	Acks []uint64 `json:"acks"`
}

// AckResponse is its answer: {"acks":{"0":true,"1":false}}, true for each
// ack id whose events are durably stored.
type AckResponse struct {
	Acks map[string]bool `json:"acks"`
}

// NewAckResponse answers req by asking done about each id. done is the
// store's knowledge; this function only shapes the answer.
func NewAckResponse(req AckRequest, done func(id uint64) bool) AckResponse {
	out := AckResponse{Acks: make(map[string]bool, len(req.Acks))}
	for _, id := range req.Acks {
		out.Acks[strconv.FormatUint(id, 10)] = done(id)
	}
	return out
}
