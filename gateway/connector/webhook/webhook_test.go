package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/connector"
)

const secret = "0123456789abcdef-secret"

func TestReceiverVerifiesSignature(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var got Envelope
	var verr error
	var key string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		verr = Verify([]byte(secret), r.Header.Get(SignatureHeader), body, 5*time.Minute, now.Add(time.Minute))
		key = r.Header.Get(connector.IdempotencyHeader)
		_ = json.Unmarshal(body, &got)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	c, err := New(connector.WebhookConfig{Secret: "${WH_SECRET}"}, WithClock(func() time.Time { return now }),
		WithLookupEnv(func(string) (string, bool) { return secret, true }))
	if err != nil {
		t.Fatal(err)
	}
	a := wire.Action{Type: wire.ActionWebhook, Params: map[string]string{"url": srv.URL + "/hook", "body": "host web-01"}}
	req := connector.Request{ResponseID: "r1", AlertID: "a1", BatchID: "b1", TxID: "tx1", IdempotencyKey: "r1"}
	detail, err := c.Execute(context.Background(), a, req)
	if err != nil {
		t.Fatal(err)
	}
	if detail != "HTTP 202" {
		t.Errorf("detail = %q, want HTTP 202", detail)
	}
	if verr != nil {
		t.Fatalf("receiver could not verify: %v", verr)
	}
	if key != "r1" || got.ID != "r1" || got.Request.BatchID != "b1" || got.Body != "host web-01" || got.Type != EnvelopeType {
		t.Fatalf("envelope = %+v, key %q", got, key)
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"id":"r1"}`)
	good := Sign([]byte(secret), now, body)
	tests := []struct {
		name    string
		header  string
		body    []byte
		at      time.Time
		wantErr error
	}{
		{"valid", good, body, now, nil},
		{"valid with second v1", good + ",v1=00", body, now, nil},
		{"tampered body", good, []byte(`{"id":"r2"}`), now, ErrBadSignature},
		{"wrong secret", Sign([]byte("another-secret-0000"), now, body), body, now, ErrBadSignature},
		{"stale", good, body, now.Add(10 * time.Minute), ErrStaleSignature},
		{"future", good, body, now.Add(-10 * time.Minute), ErrStaleSignature},
		{"no timestamp", "v1=abc", body, now, ErrMalformedSignature},
		{"garbage", "nonsense", body, now, ErrMalformedSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Verify([]byte(secret), tt.header, tt.body, 5*time.Minute, tt.at); !errors.Is(got, tt.wantErr) {
				t.Fatalf("Verify = %v, want %v", got, tt.wantErr)
			}
		})
	}
}

func TestURLChecks(t *testing.T) {
	c, err := New(connector.WebhookConfig{Secret: secret, AllowedURLPrefixes: []string{"https://hooks.example.com/"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"https://evil.example.com/x", "ftp://hooks.example.com/", "not a url"} {
		_, err := c.Execute(context.Background(), wire.Action{Type: wire.ActionWebhook, Params: map[string]string{"url": u}}, connector.Request{})
		var ce *connector.Error
		if !errors.As(err, &ce) || ce.Retryable {
			t.Errorf("url %q: error %v, want permanent", u, err)
		}
	}
}

func TestShortSecretRefused(t *testing.T) {
	if _, err := New(connector.WebhookConfig{Secret: "short"}); !errors.Is(err, connector.ErrConfig) {
		t.Fatalf("New with a short secret: %v, want ErrConfig", err)
	}
}

func TestServerErrorIsRetryable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	c, err := New(connector.WebhookConfig{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Execute(context.Background(), wire.Action{Type: wire.ActionWebhook, Params: map[string]string{"url": srv.URL}}, connector.Request{IdempotencyKey: "k"})
	if !connector.IsRetryable(err) {
		t.Fatalf("502: error %v, want retryable", err)
	}
}
