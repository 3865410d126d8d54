package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway/anchor"
	"github.com/ledgerguard/ledgerguard/gateway/store"
)

// TestConsoleMount: Deps.Console is served under /console/ with the
// request's full path; without it /console/ is an unknown route.
func TestConsoleMount(t *testing.T) {
	for _, mounted := range []bool{false, true} {
		ctx := context.Background()
		st, err := store.Open(ctx, t.TempDir(), store.WithGateway("Org1MSP", "gw-test"), store.WithMemTableSize(1<<20))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		anch, err := anchor.New(st, &fakeLedger{}, anchor.WithIdlePoll(10*time.Millisecond), anchor.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		var got string
		deps := Deps{Log: st, Batches: st, Progress: anch, Logger: slog.New(slog.DiscardHandler)}
		if mounted {
			deps.Console = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r.Method + " " + r.URL.Path
				w.WriteHeader(http.StatusTeapot)
			})
		}
		srv, err := New(testConfig().Config, deps)
		if err != nil {
			t.Fatal(err)
		}
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			w := httptest.NewRecorder()
			srv.Handler().ServeHTTP(w, httptest.NewRequest(method, "/console/alerts/b/a/status", nil))
			want := http.StatusNotFound
			if mounted {
				want = http.StatusTeapot
				if got != method+" /console/alerts/b/a/status" {
					t.Errorf("console saw %q", got)
				}
			}
			if w.Code != want {
				t.Errorf("mounted=%t %s: status %d, want %d", mounted, method, w.Code, want)
			}
		}
	}
}

// TestTAXIIMount: Deps.TAXII is served under /taxii2/ with the request's
// full path (object ids included); without it /taxii2/ is an unknown route.
func TestTAXIIMount(t *testing.T) {
	const path = "/taxii2/ledgerguard/collections/c/objects/indicator--1/versions/"
	for _, mounted := range []bool{false, true} {
		ctx := context.Background()
		st, err := store.Open(ctx, t.TempDir(), store.WithGateway("Org1MSP", "gw-test"), store.WithMemTableSize(1<<20))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		anch, err := anchor.New(st, &fakeLedger{}, anchor.WithIdlePoll(10*time.Millisecond), anchor.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		var got string
		deps := Deps{Log: st, Batches: st, Progress: anch, Logger: slog.New(slog.DiscardHandler)}
		if mounted {
			deps.TAXII = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r.Method + " " + r.URL.Path
				w.WriteHeader(http.StatusTeapot)
			})
		}
		srv, err := New(testConfig().Config, deps)
		if err != nil {
			t.Fatal(err)
		}
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			w := httptest.NewRecorder()
			srv.Handler().ServeHTTP(w, httptest.NewRequest(method, path, nil))
			want := http.StatusNotFound
			if mounted {
				want = http.StatusTeapot
				if got != method+" "+path {
					t.Errorf("taxii saw %q", got)
				}
			}
			if w.Code != want {
				t.Errorf("mounted=%t %s: status %d, want %d", mounted, method, w.Code, want)
			}
		}
	}
}
