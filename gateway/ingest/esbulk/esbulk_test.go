package esbulk

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/internal/ingesttest"
)

var recv = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func meta() ingest.Meta { return ingest.Meta{Source: "filebeat", Received: recv} }

const mixed = `{"index":{"_index":"logs-a","_id":"doc1"}}
{"@timestamp":"2026-02-28T10:00:00Z","message":"one","host":{"name":"web1"}}
{"create":{}}
{"event_type":"dns","src_ip":"10.0.0.1","src_port":5353,"dest_ip":"10.0.0.53","dest_port":53,"proto":"UDP","dns":{"type":"query","rrname":"example.org","rrtype":"A"}}
{"delete":{"_index":"logs-a","_id":"doc1"}}
{"update":{"_id":"doc2"}}
{"doc":{"x":1}}
{"index":{}}
not json
`

func TestParse(t *testing.T) {
	res, err := Parse([]byte(mixed), "default-idx", meta(), ingest.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	type item struct {
		action, index, id string
		status, event     int
	}
	var got []item
	for _, it := range res.Items {
		id := it.ID
		if it.Error == nil && it.Action == "create" {
			id = "<event id>"
			if it.ID != res.Events[it.Event].ID {
				t.Errorf("create without _id: ID %s, want event id", it.ID)
			}
		}
		got = append(got, item{it.Action, it.Index, id, it.Status, it.Event})
	}
	want := []item{
		{"index", "logs-a", "doc1", 201, 0},
		{"create", "default-idx", "<event id>", 201, 1},
		{"delete", "logs-a", "doc1", 400, -1},
		{"update", "default-idx", "doc2", 400, -1},
		{"index", "default-idx", "", 400, -1},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("items\n got %v\nwant %v", got, want)
	}
	if !res.Errors() || len(res.Events) != 2 {
		t.Fatalf("Errors() = %v, events = %d", res.Errors(), len(res.Events))
	}
	e0, e1 := res.Events[0], res.Events[1]
	checks := []struct {
		name      string
		got, want any
	}{
		{"e0 time from @timestamp", e0.Time, time.Date(2026, 2, 28, 10, 0, 0, 0, time.UTC)},
		{"e0 host from host.name", e0.Host, "web1"},
		{"e0 index", e0.Index, "logs-a"},
		{"e0 raw", string(e0.Raw), `{"@timestamp":"2026-02-28T10:00:00Z","message":"one","host":{"name":"web1"}}`},
		{"e1 class", e1.Class, gateway.ClassDNS},
		{"e1 query", e1.Fields["dns.question.name"], "example.org"},
		{"e1 time fallback", e1.Time, recv},
		{"e1 id", e1.ID, gateway.ComputeID(e1.Source, e1.Sourcetype, e1.Raw)},
	}
	for _, c := range checks {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestParseRequestErrors(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		lim      ingest.Limits
		wantCode gateway.Code
		wantLine int
	}{
		{"empty", "\n", ingest.Limits{}, gateway.CodeNoData, 0},
		{"bad action", "{\"index\":{}}\n{}\n{oops\n", ingest.Limits{}, gateway.CodeInvalid, 3},
		{"two actions", `{"index":{},"create":{}}`, ingest.Limits{}, gateway.CodeInvalid, 1},
		{"unknown action", `{"upsert":{}}`, ingest.Limits{}, gateway.CodeInvalid, 1},
		{"missing source", "{\"index\":{\"_index\":\"a\"}}\n", ingest.Limits{}, gateway.CodeInvalid, 1},
		{"metadata not object", `{"index":5}`, ingest.Limits{}, gateway.CodeInvalid, 1},
		{"too many", "{\"index\":{}}\n{}\n{\"index\":{}}\n{}\n", ingest.Limits{MaxEvents: 1}, gateway.CodeTooLarge, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.body), "i", meta(), tt.lim)
			if got := gateway.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("code = %v, want %v (%v)", got, tt.wantCode, err)
			}
			var ie *ingest.Error
			if errors.As(err, &ie) && ie.Line != tt.wantLine {
				t.Errorf("line = %d, want %d", ie.Line, tt.wantLine)
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	tests := []struct {
		accept, ctype, want string
	}{
		{"", "application/x-ndjson", "application/json"},
		{"application/vnd.elasticsearch+json; compatible-with=8", "", "application/vnd.elasticsearch+json;compatible-with=8"},
	}
	for _, tt := range tests {
		h := Headers(tt.accept, tt.ctype)
		if h["Content-Type"] != tt.want || h["X-Elastic-Product"] != "Elasticsearch" {
			t.Errorf("Headers(%q,%q) = %v", tt.accept, tt.ctype, h)
		}
	}
}

func TestGoldenResponses(t *testing.T) {
	res, err := Parse([]byte(mixed), "default-idx", meta(), ingest.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(NewBulkResponse(res, 12*time.Millisecond, func(i int) uint64 { return uint64(100 + i) }), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	ingesttest.Golden(t, "bulk_mixed.json", append(b, '\n'))
	ok, err := Parse([]byte("{\"index\":{\"_index\":\"x\",\"_id\":\"1\"}}\n{\"a\":1}\n"), "", meta(), ingest.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(NewBulkResponse(ok, 3*time.Millisecond, nil))
	ingesttest.Golden(t, "bulk_ok.json", append(b, '\n'))
	b, _ = json.MarshalIndent(Info("ledgerguard", "c0ffee00-0000-4000-8000-000000000001", ""), "", "  ")
	ingesttest.Golden(t, "info.json", append(b, '\n'))
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("{\"index\":{}}\n{\"a\":1}\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		res, err := Parse(body, "idx", meta(), ingest.Limits{MaxEvents: 100, MaxLineBytes: 4096})
		if err != nil {
			var ie *ingest.Error
			if !errors.As(err, &ie) {
				t.Fatalf("bad error %v", err)
			}
			return
		}
		n := 0
		for _, it := range res.Items {
			if (it.Error == nil) != (it.Event >= 0) {
				t.Fatalf("item %+v: error and event disagree", it)
			}
			if it.Event >= 0 {
				if it.Event != n {
					t.Fatalf("events out of order")
				}
				n++
			}
		}
		if n != len(res.Events) {
			t.Fatalf("%d successful items, %d events", n, len(res.Events))
		}
		for _, it := range res.Items {
			if it.Event < 0 {
				continue
			}
			e := res.Events[it.Event]
			// No request key here: an item without _id has the content id
			// (and answers with it as _id), one with _id its occurrence id.
			want := gateway.ComputeID(e.Source, e.Sourcetype, e.Raw)
			if it.ID != e.ID {
				want = gateway.EventID(e.Source, e.Sourcetype, e.Raw, "_id:"+strconv.Itoa(len(it.Index))+":"+it.Index+"/"+it.ID)
			}
			if !json.Valid(e.Raw) || e.ID != want {
				t.Fatalf("bad event %q", e.Raw)
			}
			if _, err := e.Canonical(); err != nil {
				t.Fatalf("accepted event does not canonicalise: %v", err)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	pair := `{"create":{"_index":"logs-endpoint"}}` + "\n" +
		`{"@timestamp":"2026-03-01T11:00:00.000Z","EventID":4625,"Channel":"Security","Hostname":"DC01","TargetUserName":"alice","TargetDomainName":"CORP","IpAddress":"10.1.2.3","IpPort":"51515","LogonType":"3"}` + "\n"
	body := []byte(strings.Repeat(pair, 1000))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	rate := ingesttest.Rate(b)
	for b.Loop() {
		if _, err := Parse(body, "", meta(), ingest.Limits{}); err != nil {
			b.Fatal(err)
		}
	}
	rate(1000)
}
