package rest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/connector"
)

type seen struct {
	method, path, query, auth, key, ctype string
	body                                  string
}

func receiver(t *testing.T, status int, answer string) (*httptest.Server, func() []seen) {
	t.Helper()
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"),
			r.Header.Get(connector.IdempotencyHeader), r.Header.Get("Content-Type"), string(b)})
		mu.Unlock()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []seen { mu.Lock(); defer mu.Unlock(); return append([]seen(nil), got...) }
}

var env = func(k string) (string, bool) {
	v, ok := map[string]string{"EDR_TOKEN": "tok-123"}[k]
	return v, ok
}

func isolateAction() (wire.Action, connector.Request) {
	return wire.Action{Type: wire.ActionIsolateHost, Params: map[string]string{"host": `web 01"x`}},
		connector.Request{ResponseID: "r1", AlertID: "a1", BatchID: "b1", TxID: "tx1", IdempotencyKey: "r1"}
}

func TestExecuteRendersURLHeadersAndBody(t *testing.T) {
	srv, calls := receiver(t, http.StatusCreated, `{"job":{"id":"j-9"}}`)
	c, err := New(wire.ActionIsolateHost, connector.RESTConfig{HTTPCall: connector.HTTPCall{
		URL:         srv.URL + "/hosts/{{pathescape .Params.host}}/isolate",
		Headers:     map[string]string{"Authorization": "Bearer ${EDR_TOKEN}"},
		Body:        `{"host": {{json .Params.host}}, "reason": {{json .Params.reason}}, "ref": {{json .Request.ResponseID}}, "batch": {{json .Request.BatchID}}}`,
		DetailField: "job.id",
	}}, WithLookupEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	a, req := isolateAction()
	detail, err := c.Execute(context.Background(), a, req)
	if err != nil {
		t.Fatal(err)
	}
	if want := "HTTP 201 job.id=j-9"; detail != want {
		t.Errorf("detail = %q, want %q", detail, want)
	}
	got := calls()
	if len(got) != 1 {
		t.Fatalf("receiver saw %d calls, want 1", len(got))
	}
	g := got[0]
	if g.method != http.MethodPost || g.path != `/hosts/web 01"x/isolate` || g.auth != "Bearer tok-123" || g.key != "r1" || g.ctype != "application/json" {
		t.Errorf("call = %+v", g)
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(g.body), &body); err != nil {
		t.Fatalf("body %s is not JSON: %v", g.body, err)
	}
	if want := map[string]string{"host": `web 01"x`, "reason": "", "ref": "r1", "batch": "b1"}; len(body) != 4 || body["host"] != want["host"] || body["ref"] != "r1" || body["batch"] != "b1" {
		t.Errorf("body = %v, want %v", body, want)
	}
}

func TestRollback(t *testing.T) {
	srv, calls := receiver(t, http.StatusOK, `{}`)
	c, err := New(wire.ActionIsolateHost, connector.RESTConfig{
		HTTPCall: connector.HTTPCall{URL: srv.URL + "/isolate"},
		Rollback: &connector.HTTPCall{URL: srv.URL + "/release/{{.Params.host}}", Method: "delete"},
	})
	if err != nil {
		t.Fatal(err)
	}
	a, req := isolateAction()
	a.Params["host"] = "web-01"
	req.IdempotencyKey = "r1/rollback"
	if _, err := c.Rollback(context.Background(), a, req); err != nil {
		t.Fatal(err)
	}
	g := calls()[0]
	if g.method != http.MethodDelete || g.path != "/release/web-01" || g.key != "r1/rollback" || g.body != "" {
		t.Errorf("rollback call = %+v", g)
	}

	none, err := New(wire.ActionBlockIP, connector.RESTConfig{HTTPCall: connector.HTTPCall{URL: srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = none.Rollback(context.Background(), a, req)
	var ce *connector.Error
	if !errors.As(err, &ce) || ce.Retryable {
		t.Fatalf("Rollback without a rollback call: error %v, want a permanent *connector.Error", err)
	}
}

func TestStatusClassification(t *testing.T) {
	tests := []struct {
		status        int
		wantRetryable bool
	}{
		{400, false}, {401, false}, {404, false}, {409, false}, {429, true}, {500, true}, {503, true},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			srv, _ := receiver(t, tt.status, `{"error":"nope"}`)
			c, err := New("block_ip", connector.RESTConfig{HTTPCall: connector.HTTPCall{URL: srv.URL}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Execute(context.Background(), wire.Action{Type: "block_ip"}, connector.Request{IdempotencyKey: "k"})
			var ce *connector.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *connector.Error", err)
			}
			if ce.Retryable != tt.wantRetryable || ce.StatusCode != tt.status {
				t.Fatalf("got retryable %v status %d, want %v %d", ce.Retryable, ce.StatusCode, tt.wantRetryable, tt.status)
			}
		})
	}
}

func TestTimeoutAndReceiverDownAreRetryable(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}))
	defer slow.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	for name, url := range map[string]string{"timeout": slow.URL, "down": downURL} {
		t.Run(name, func(t *testing.T) {
			c, err := New("open_incident", connector.RESTConfig{HTTPCall: connector.HTTPCall{URL: url}})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			_, err = c.Execute(ctx, wire.Action{}, connector.Request{IdempotencyKey: "k"})
			if !connector.IsRetryable(err) {
				t.Fatalf("error %v is not retryable", err)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  connector.RESTConfig
	}{
		{"no url", connector.RESTConfig{}},
		{"unset env", connector.RESTConfig{HTTPCall: connector.HTTPCall{URL: "https://x", Headers: map[string]string{"Authorization": "${NOPE}"}}}},
		{"bad template", connector.RESTConfig{HTTPCall: connector.HTTPCall{URL: "https://x/{{.Params.host"}}},
		{"bad method", connector.RESTConfig{HTTPCall: connector.HTTPCall{URL: "https://x", Method: "TRACE"}}},
		{"bad rollback", connector.RESTConfig{HTTPCall: connector.HTTPCall{URL: "https://x"}, Rollback: &connector.HTTPCall{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New("isolate_host", tt.cfg, WithLookupEnv(env)); !errors.Is(err, connector.ErrConfig) {
				t.Fatalf("New error = %v, want ErrConfig", err)
			}
		})
	}
}
