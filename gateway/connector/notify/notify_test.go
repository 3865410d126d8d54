package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/connector"
)

func action() (wire.Action, connector.Request) {
	return wire.Action{Type: wire.ActionNotify, Params: map[string]string{"channel": "#soc", "message": `host "web-01" isolated`}},
		connector.Request{ResponseID: "r1", AlertID: "a1", IdempotencyKey: "r1"}
}

func TestLogOnly(t *testing.T) {
	var buf bytes.Buffer
	c, err := New(connector.NotifyConfig{}, WithLogger(slog.New(slog.NewJSONHandler(&buf, nil))))
	if err != nil {
		t.Fatal(err)
	}
	a, req := action()
	detail, err := c.Execute(context.Background(), a, req)
	if err != nil {
		t.Fatal(err)
	}
	if detail != "logged to channel #soc" || !strings.Contains(buf.String(), `"response_id":"r1"`) {
		t.Fatalf("detail %q, log %s", detail, buf.String())
	}
}

func TestChatWebhook(t *testing.T) {
	var body map[string]string
	var key string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &body)
		key = r.Header.Get(connector.IdempotencyHeader)
	}))
	defer srv.Close()
	c, err := New(connector.NotifyConfig{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	a, req := action()
	if _, err := c.Execute(context.Background(), a, req); err != nil {
		t.Fatal(err)
	}
	if want := `[ledgerguard] host "web-01" isolated (response r1)`; body["text"] != want || body["channel"] != "#soc" || key != "r1" {
		t.Fatalf("body %v key %q, want text %q", body, key, want)
	}
}
