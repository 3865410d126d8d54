package hec

import (
	"errors"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
)

// Identical lines are distinct occurrences under a request key, the same
// key and body give the same ids, and an event whose time cannot be stored
// refuses the batch as invalid data format naming that event.
func TestOccurrenceAndInvalidValues(t *testing.T) {
	m := meta()
	m.Key = "k"
	body := []byte(strings.Repeat("Nov 25 10:00:00 h sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2\n", 5))
	a, err := ParseRaw(body, m, ingest.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, e := range a {
		ids[e.ID] = true
	}
	if len(ids) != 5 {
		t.Errorf("distinct ids = %d, want 5", len(ids))
	}
	b, _ := ParseRaw(body, m, ingest.Limits{})
	for i := range a {
		if a[i].ID != b[i].ID {
			t.Errorf("event %d: same key and body, different ids", i)
		}
	}

	tests := []struct {
		name      string
		body      string
		raw       bool
		wantEvent int
	}{
		{"event time past 9999 in UTC", `{"event":"a"}{"event":{"@timestamp":"9999-12-31T23:59:59-00:01"}}`, false, 1},
		{"event time before 0000 in UTC", `{"event":{"@timestamp":"0000-01-01T00:00:00+00:01"}}`, false, 0},
		{"raw JSON line", "ok\n{\"@timestamp\":\"9999-12-31T23:59:59-00:01\"}\n", true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.raw {
				_, err = ParseRaw([]byte(tt.body), m, ingest.Limits{})
			} else {
				_, err = ParseEvents([]byte(tt.body), m, ingest.Limits{})
			}
			var ie *ingest.Error
			if !errors.As(err, &ie) || ie.Code != gateway.CodeInvalid || ie.Event != tt.wantEvent {
				t.Fatalf("err = %v, want invalid at event %d", err, tt.wantEvent)
			}
			if status, r := ErrorResponse(err); status != 400 || r.Code != CodeInvalidDataFormat {
				t.Errorf("answer %d %+v, want 400 code 6", status, r)
			}
		})
	}
}
