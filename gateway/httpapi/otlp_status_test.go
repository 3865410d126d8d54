package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// TestOTLPErrorsMatchGolden sends, through the whole API, an OTLP request
// for each error answer golden-tested in gateway/ingest/otlp (whose golden
// files hold the body alone since httpapi.HTTPStatus decides the status),
// and asserts the HTTP status the golden files used to carry, the content
// type, and a body equal to the golden one: the same google.rpc.Status
// code, and the same message up to the request-specific detail (the golden
// files use a made-up detail such as "bad").
func TestOTLPErrorsMatchGolden(t *testing.T) {
	tooBig := []byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"` + strings.Repeat("x", 70<<10) + `"}}]}]}]}`)
	tests := []struct {
		golden    string
		req       req
		failStore bool
		status    int
	}{
		{"error_malformed.json", req{header: map[string]string{"Content-Type": "application/json"}, body: []byte(`{"resourceLogs":7}`)}, false, 400},
		{"error_malformed.pb", req{header: map[string]string{"Content-Type": "application/x-protobuf"}, body: []byte{0xff, 0xff}}, false, 400},
		{"error_too_large.json", req{header: map[string]string{"Content-Type": "application/json"}, body: tooBig}, false, 413},
		{"error_internal.json", req{header: map[string]string{"Content-Type": "application/json"}, body: []byte(otlpJSON)}, true, 500},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("..", "ingest", "otlp", "testdata", "golden", tt.golden))
			if err != nil {
				t.Fatal(err)
			}
			pb := strings.HasSuffix(tt.golden, ".pb")
			wantCode, wantMsg := rpcStatus(t, want, pb)
			h := newHarness(t, nil)
			if tt.failStore {
				h.srv.deps.Log = failingLog{EventLog: h.st, err: errors.New("disk on fire")}
			}
			tt.req.method, tt.req.path, tt.req.auth = "POST", "/v1/logs", "Bearer "+tokOTLP
			w := h.do(tt.req)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if got, want := w.Header().Get("Content-Type"), tt.req.header["Content-Type"]; got != want {
				t.Errorf("Content-Type = %q, want %q", got, want)
			}
			code, msg := rpcStatus(t, w.Body.Bytes(), pb)
			if code != wantCode {
				t.Errorf("rpc code = %d, want %d (golden %s)", code, wantCode, tt.golden)
			}
			if !goldenMessage(msg, wantMsg) {
				t.Errorf("message = %q, want %q up to its detail (golden %s)", msg, wantMsg, tt.golden)
			}
			if strings.Contains(msg, "disk on fire") {
				t.Errorf("message %q leaks the internal error", msg)
			}
		})
	}
}

// goldenMessage reports whether msg is the golden message golden with
// the request's own detail: the same text up to and including the last
// ": " ("otlp: malformed: bad" matches "otlp: malformed: <why>"). A golden
// message without a detail ("internal error", what the otlp package answers
// for an error it does not know) must end msg: the API hands the otlp
// package an *ingest.Error, which names protocol and class first ("otlp:
// internal: internal error"), as it did before error codes moved to the
// gateway root.
func goldenMessage(msg, golden string) bool {
	if i := strings.LastIndex(golden, ": "); i >= 0 {
		return strings.HasPrefix(msg, golden[:i+2])
	}
	return strings.HasSuffix(msg, golden)
}

// rpcStatus decodes a google.rpc.Status answer (JSON or protobuf).
func rpcStatus(t *testing.T, b []byte, pb bool) (int32, string) {
	t.Helper()
	if !pb {
		var s struct {
			Code    int32  `json:"code"`
			Message string `json:"message"`
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			t.Fatalf("not a google.rpc.Status in JSON: %v: %s", err, b)
		}
		return s.Code, s.Message
	}
	var (
		code int32
		msg  string
	)
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad protobuf tag: %x", b)
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				t.Fatalf("bad code: %x", b)
			}
			code, b = int32(v), b[n:]
		case num == 2 && typ == protowire.BytesType:
			v, n := protowire.ConsumeString(b)
			if n < 0 {
				t.Fatalf("bad message: %x", b)
			}
			msg, b = v, b[n:]
		default:
			t.Fatalf("unexpected field %d of type %d", num, typ)
		}
	}
	return code, msg
}

// failingLog is the store with every append failing.
type failingLog struct {
	gateway.EventLog
	err error
}

func (l failingLog) Append(context.Context, []gateway.Event) ([]gateway.Event, error) {
	return nil, l.err
}
