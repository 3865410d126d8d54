// Command receiver is the DEMO target of `make demo`: one small HTTP server
// on 127.0.0.1 that plays the EDR (host isolation), the identity provider
// (MFA challenges), the incident tracker, the firewall and a webhook/chat
// sink, so the responder's actions land somewhere observable. It is not a
// security product: it stores what it receives in memory and counts it.
//
// Every request is counted by route and by its Idempotency-Key header, so a
// duplicate delivery of the same response shows up as a duplicate, not as a
// second action. GET /stats returns the counts and, for bodies carrying an
// "event_time" (RFC 3339), the telemetry-to-action latencies.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

type stats struct {
	mu         sync.Mutex
	byRoute    map[string]int
	keys       map[string]int
	duplicates int
	latencies  []time.Duration
	failing    bool
}

func main() {
	listen := flag.String("listen", "127.0.0.1:18090", "listen address (loopback only)")
	flag.Parse()
	host, _, err := net.SplitHostPort(*listen)
	if err != nil || (host != "127.0.0.1" && host != "localhost") {
		fmt.Fprintln(os.Stderr, "receiver: --listen must be a 127.0.0.1 address: it is a demo target")
		os.Exit(2)
	}
	st := &stats{byRoute: map[string]int{}, keys: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats", st.serveStats)
	mux.HandleFunc("POST /control/fail", func(w http.ResponseWriter, r *http.Request) {
		st.mu.Lock()
		st.failing = r.URL.Query().Get("on") != "false"
		st.mu.Unlock()
	})
	mux.HandleFunc("POST /control/reset", func(http.ResponseWriter, *http.Request) {
		st.mu.Lock()
		st.byRoute, st.keys, st.duplicates, st.latencies = map[string]int{}, map[string]int{}, 0, nil
		st.mu.Unlock()
	})
	for _, route := range []string{"/edr/isolate", "/edr/release", "/idp/mfa-challenge", "/incidents", "/firewall/block", "/webhook", "/notify"} {
		mux.HandleFunc("POST "+route, st.action(route))
	}
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("demo receiver (EDR, IdP, incidents, firewall, webhook) on http://%s", *listen)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}

func (s *stats) action(route string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		now := time.Now()
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.failing {
			http.Error(w, "demo receiver is in failing mode", http.StatusServiceUnavailable)
			return
		}
		key := r.Header.Get("Idempotency-Key")
		if key != "" {
			s.keys[route+" "+key]++
			if s.keys[route+" "+key] > 1 {
				s.duplicates++
				w.WriteHeader(http.StatusOK)
				fmt.Fprintf(w, `{"status":"duplicate","key":%q}`, key)
				return
			}
		}
		s.byRoute[route]++
		var doc struct {
			EventTime string `json:"event_time"`
		}
		if json.Unmarshal(body, &doc) == nil && doc.EventTime != "" {
			if t, err := time.Parse(time.RFC3339Nano, doc.EventTime); err == nil {
				s.latencies = append(s.latencies, now.Sub(t))
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"status":"done","route":%q,"id":"demo-%d"}`, route, s.byRoute[route])
	}
}

func (s *stats) serveStats(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lat := append([]time.Duration(nil), s.latencies...)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		i := int(p/100*float64(len(lat))+0.999999) - 1
		return float64(lat[max(0, min(i, len(lat)-1))]) / float64(time.Millisecond)
	}
	routes := map[string]int{}
	for k, v := range s.byRoute {
		routes[strings.TrimPrefix(k, "/")] = v
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"actions": routes, "duplicates": s.duplicates,
		"latency_samples": len(lat), "latency_p50_ms": pct(50), "latency_p99_ms": pct(99),
	})
}
