package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// chaosStream sends a fixed number of distinct events through every
// protocol the gateway speaks, paced to a target rate, and records which
// ones the gateway acknowledged. Each event carries a unique marker
// (chaos-<run>-<n>) in its content, so what was stored can be matched with
// what was sent whatever id scheme the gateway uses. A refused request
// (gateway down, 503) is retried with the same bytes until acknowledged,
// as a shipper does; syslog has no acknowledgement and no retry.
type chaosStream struct {
	g     *gatewayProc
	run   string
	total int
	rate  float64 // events per second
	start time.Time

	next    atomic.Int64 // next marker number to hand out
	flooded atomic.Int64 // markers sent by flood, numbered from floodBase
	kdd     [][]byte     // HEC envelopes (JSON objects) of attack rows, or none
	kddEach int          // one event in kddEach is an attack row

	mu       sync.Mutex
	acked    map[int]bool   // marker numbers acknowledged
	syslog   map[int]bool   // marker numbers written to a syslog connection
	statuses map[string]int // "protocol status" -> count
	window   *statusWindow  // open while a fault wants the statuses it caused
	attacks  int            // attack rows acknowledged
	done     chan struct{}
}

// statusWindow collects the statuses answered while it is open.
type statusWindow struct{ counts map[int]int }

const chaosChunk = 50 // events per request

func newChaosStream(g *gatewayProc, run string, total int, rate float64, kdd [][]byte, kddEach int) *chaosStream {
	return &chaosStream{g: g, run: run, total: total, rate: rate, kdd: kdd, kddEach: kddEach,
		acked: map[int]bool{}, syslog: map[int]bool{}, statuses: map[string]int{}, done: make(chan struct{})}
}

func (s *chaosStream) marker(n int) string { return fmt.Sprintf("chaos-%s-%d", s.run, n) }

// claim hands out the next n marker numbers (fewer at the end) and waits
// until the pace allows sending them; ok is false once all are sent or ctx
// ends.
func (s *chaosStream) claim(ctx context.Context, n int) (first, count int, ok bool) {
	first = int(s.next.Add(int64(n))) - n
	if first >= s.total {
		return 0, 0, false
	}
	count = min(n, s.total-first)
	at := s.start.Add(time.Duration(float64(first) / s.rate * float64(time.Second)))
	select {
	case <-ctx.Done():
		return 0, 0, false
	case <-time.After(time.Until(at)):
	}
	return first, count, true
}

// progress is the number of events acknowledged so far.
func (s *chaosStream) progress() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.acked)
}

func (s *chaosStream) openWindow() {
	s.mu.Lock()
	s.window = &statusWindow{counts: map[int]int{}}
	s.mu.Unlock()
}

func (s *chaosStream) closeWindow() map[int]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.window
	s.window = nil
	if w == nil {
		return nil
	}
	return w.counts
}

func (s *chaosStream) record(proto string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.statuses[fmt.Sprintf("%s %d", proto, status)]++
	if s.window != nil {
		s.window.counts[status]++
	}
}

func (s *chaosStream) ack(first, count int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for n := first; n < first+count; n++ {
		s.acked[n] = true
		if s.isAttack(n) {
			s.attacks++
		}
	}
}

func (s *chaosStream) isAttack(n int) bool {
	return len(s.kdd) > 0 && n < s.total && n%s.kddEach == s.kddEach-1
}

// run starts one sender per protocol and returns at once; wait blocks
// until all are done.
func (s *chaosStream) runAll(ctx context.Context) {
	s.start = time.Now()
	var wg sync.WaitGroup
	for _, f := range []func(context.Context){s.hecEvent, s.hecRaw, s.esBulk, s.otlp, s.ndjson, s.syslogTCP} {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	go func() { wg.Wait(); close(s.done) }()
}

func (s *chaosStream) wait() { <-s.done }

var chaosHTTP = &http.Client{Timeout: 15 * time.Second}

// send posts body until the gateway answers 200 and accept(body) says the
// request was acknowledged, or ctx ends.
func (s *chaosStream) send(ctx context.Context, proto, path, auth, ctype string, body []byte, header map[string]string, accept func([]byte) bool) bool {
	for ctx.Err() == nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.g.url+path, bytes.NewReader(body))
		if err != nil {
			return false
		}
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", ctype)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := chaosHTTP.Do(req)
		if err != nil {
			s.record(proto, 0)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		s.record(proto, resp.StatusCode)
		if resp.StatusCode == http.StatusOK && accept(out) {
			return true
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}

func acceptAny([]byte) bool { return true }

func (s *chaosStream) hecEvent(ctx context.Context) {
	for {
		first, count, ok := s.claim(ctx, chaosChunk)
		if !ok {
			return
		}
		var body []byte
		for n := first; n < first+count; n++ {
			if s.isAttack(n) {
				var env map[string]any
				_ = json.Unmarshal(s.kdd[(n/s.kddEach)%len(s.kdd)], &env)
				if ev, ok := env["event"].(map[string]any); ok {
					ev["chaos.marker"] = s.marker(n)
				}
				b, _ := json.Marshal(env)
				body = append(body, b...)
				continue
			}
			body = fmt.Appendf(body, `{"event":{"msg":%q,"proto":"hec"},"sourcetype":"app","time":%d}`, s.marker(n), time.Now().Unix())
		}
		if s.send(ctx, "hec-event", "/services/collector/event", "Splunk "+hecToken, "application/json", body,
			map[string]string{"X-Splunk-Request-Channel": "c4a05000-0000-4000-8000-000000000001"}, acceptAny) {
			s.ack(first, count)
		}
	}
}

func (s *chaosStream) hecRaw(ctx context.Context) {
	for {
		first, count, ok := s.claim(ctx, chaosChunk)
		if !ok {
			return
		}
		var body []byte
		for n := first; n < first+count; n++ {
			body = fmt.Appendf(body, "%s app[1]: %s raw line\n", time.Now().UTC().Format(time.RFC3339), s.marker(n))
		}
		if s.send(ctx, "hec-raw", "/services/collector/raw?sourcetype=app", "Splunk "+hecToken, "text/plain", body,
			map[string]string{"X-Splunk-Request-Channel": "c4a05000-0000-4000-8000-000000000002"}, acceptAny) {
			s.ack(first, count)
		}
	}
}

func (s *chaosStream) esBulk(ctx context.Context) {
	for {
		first, count, ok := s.claim(ctx, chaosChunk)
		if !ok {
			return
		}
		var body []byte
		for n := first; n < first+count; n++ {
			body = fmt.Appendf(body, "{\"create\":{\"_id\":%q}}\n{\"message\":%q,\"@timestamp\":%q}\n", s.marker(n), s.marker(n),
				time.Now().UTC().Format(time.RFC3339Nano))
		}
		// Only a request whose every item was created counts: a partial
		// answer is retried whole (the _id makes the retry idempotent).
		accept := func(out []byte) bool {
			var r struct {
				Errors bool                              `json:"errors"`
				Items  []map[string]struct{ Status int } `json:"items"`
			}
			if json.Unmarshal(out, &r) != nil || r.Errors || len(r.Items) != count {
				return false
			}
			for _, it := range r.Items {
				for _, v := range it {
					if v.Status < 200 || v.Status > 299 {
						return false
					}
				}
			}
			return true
		}
		if s.send(ctx, "es-bulk", "/logs/_bulk", "ApiKey "+esToken, "application/x-ndjson", body, nil, accept) {
			s.ack(first, count)
		}
	}
}

func (s *chaosStream) otlp(ctx context.Context) {
	for {
		first, count, ok := s.claim(ctx, chaosChunk)
		if !ok {
			return
		}
		var recs []string
		for n := first; n < first+count; n++ {
			recs = append(recs, fmt.Sprintf(`{"timeUnixNano":"%d","body":{"stringValue":%q}}`, time.Now().UnixNano(), s.marker(n)))
		}
		body := fmt.Appendf(nil, `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"chaos"}}]},"scopeLogs":[{"logRecords":[%s]}]}]}`,
			joinComma(recs))
		accept := func(out []byte) bool {
			var r struct {
				PartialSuccess *struct {
					RejectedLogRecords json.Number `json:"rejectedLogRecords"`
				} `json:"partialSuccess"`
			}
			if json.Unmarshal(out, &r) != nil {
				return false
			}
			return r.PartialSuccess == nil || r.PartialSuccess.RejectedLogRecords == "" || r.PartialSuccess.RejectedLogRecords == "0"
		}
		if s.send(ctx, "otlp", "/v1/logs", "Bearer "+otlpToken, "application/json", body,
			map[string]string{"Idempotency-Key": fmt.Sprintf("%s-otlp-%d", s.run, first)}, accept) {
			s.ack(first, count)
		}
	}
}

func (s *chaosStream) ndjson(ctx context.Context) {
	for {
		first, count, ok := s.claim(ctx, chaosChunk)
		if !ok {
			return
		}
		var body []byte
		for n := first; n < first+count; n++ {
			body = fmt.Appendf(body, "{\"sourcetype\":\"app\",\"event\":{\"msg\":%q,\"proto\":\"ndjson\"}}\n", s.marker(n))
		}
		accept := func(out []byte) bool {
			var r acceptedResp
			return json.Unmarshal(out, &r) == nil && r.Accepted == count
		}
		if s.send(ctx, "ndjson", "/v1/events", "Bearer "+ndjsonToken, "application/x-ndjson", body,
			map[string]string{"Idempotency-Key": fmt.Sprintf("%s-ndjson-%d", s.run, first)}, accept) {
			s.ack(first, count)
		}
	}
}

// syslogTCP writes RFC 5424 lines over one connection, dialling again
// after an error. Syslog has no acknowledgement: its events never count as
// acknowledged, and a message cut off by a kill is lost by design; only
// duplicates are counted for them.
func (s *chaosStream) syslogTCP(ctx context.Context) {
	var conn net.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for {
		first, count, ok := s.claim(ctx, chaosChunk)
		if !ok {
			return
		}
		if conn == nil {
			c, err := net.DialTimeout("tcp", s.g.syslog, 2*time.Second)
			if err != nil {
				s.record("syslog", 0)
				continue // these markers are never sent
			}
			conn = c
		}
		var body []byte
		for n := first; n < first+count; n++ {
			// RFC 5424 allows at most six digits of fractional seconds.
			body = fmt.Appendf(body, "<34>1 %s chaos-host app - - - %s\n", time.Now().UTC().Format("2006-01-02T15:04:05.000000Z07:00"), s.marker(n))
		}
		_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Write(body); err != nil {
			s.record("syslog", 0)
			conn.Close()
			conn = nil
			continue
		}
		s.record("syslog", 200)
		s.mu.Lock()
		for n := first; n < first+count; n++ {
			s.syslog[n] = true
		}
		s.mu.Unlock()
	}
}

func joinComma(parts []string) string {
	var b bytes.Buffer
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(p)
	}
	return b.String()
}

// floodBase numbers flood's markers apart from the paced stream's.
const floodBase = 1 << 30

// flood sends large NDJSON requests (1,000 events of about 1 KB) as fast as
// the gateway answers, once each, until stop closes: it drives a full disk
// past whatever the store preallocated. What is acknowledged counts like
// any other acknowledged event.
func (s *chaosStream) flood(stop <-chan struct{}) {
	pad := bytes.Repeat([]byte("x"), 1000)
	for {
		select {
		case <-stop:
			return
		default:
		}
		first := floodBase + int(s.flooded.Add(1000)) - 1000
		var body []byte
		for n := first; n < first+1000; n++ {
			body = fmt.Appendf(body, "{\"sourcetype\":\"app\",\"event\":{\"msg\":%q,\"pad\":%q}}\n", s.marker(n), pad)
		}
		req, _ := http.NewRequest(http.MethodPost, s.g.url+"/v1/events", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+ndjsonToken)
		req.Header.Set("Content-Type", "application/x-ndjson")
		resp, err := chaosHTTP.Do(req)
		if err != nil {
			s.record("flood", 0)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		s.record("flood", resp.StatusCode)
		var r acceptedResp
		if resp.StatusCode == http.StatusOK && json.Unmarshal(out, &r) == nil && r.Accepted == 1000 {
			s.ack(first, 1000)
			continue
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// refusedInWindow reports whether the open window saw a 5xx.
func (s *chaosStream) refusedInWindow() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.window == nil {
		return false
	}
	for st, n := range s.window.counts {
		if st >= 500 && n > 0 {
			return true
		}
	}
	return false
}
