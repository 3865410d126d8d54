package wire

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// kddAlertsJSON returns n alerts shaped like scripts/bench.sh ingest's
// (an asset, the nsl-kdd models' four fields) as the gateway sends them.
func kddAlertsJSON(tb testing.TB, n int) []byte {
	tb.Helper()
	hash := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	batch := hash("batch")
	list := make([]Alert, n)
	for i := range list {
		a := Alert{MSP: "Org1MSP", GatewayID: "bench-1796521489410491114", EventHash: hash(fmt.Sprint("event", i)), BatchID: batch,
			EventTime: NewTime(time.Date(2026, 12, 6, 1, 45, 28, 119513078, time.UTC).Add(time.Duration(i) * time.Millisecond)), Detector: Model{ID: "nsl-kdd-flow", Version: "1.1.0", SHA256: hash("model")},
			Score: 0.2 + float64(i)*0.000731234567891, Severity: "medium", Category: "T1046", Asset: fmt.Sprintf("sensor-%02d", i%15),
			Fields: map[string]string{"class": "flow", "label": "Probe", "sourcetype": "nsl-kdd", "top_features": "service.private:+8.3,count:+3.2,srv_count:+2.9"}}
		a.ID = AlertID(a.MSP, a.GatewayID, a.EventHash, a.Detector.ID, a.Detector.Version)
		list[i] = a
	}
	js, err := json.Marshal(list)
	if err != nil {
		tb.Fatal(err)
	}
	return js
}

func TestTransientAlertsRoundTrip(t *testing.T) {
	for _, data := range [][]byte{[]byte("[]"), kddAlertsJSON(t, 1), kddAlertsJSON(t, 1000)} {
		z, err := CompressTransientAlerts(data)
		if err != nil {
			t.Fatal(err)
		}
		got, err := InflateTransientAlerts(z)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("round trip of %d bytes gave %d different bytes", len(data), len(got))
		}
	}
}

func BenchmarkTransientAlerts(b *testing.B) {
	data := kddAlertsJSON(b, 1000)
	z, err := CompressTransientAlerts(data)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("compress", func(b *testing.B) {
		for b.Loop() {
			if _, err := CompressTransientAlerts(data); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/alert")
	})
	b.Run("inflate", func(b *testing.B) {
		for b.Loop() {
			if _, err := InflateTransientAlerts(z); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/alert")
	})
	b.ReportMetric(float64(len(data))/1000, "json-bytes/alert")
	b.ReportMetric(float64(len(z))/1000, "deflated-bytes/alert")
}

// FuzzInflateTransientAlerts: any value either inflates to at most
// MaxInputBytes or is refused with a *ValidationError, never a panic; and
// whatever CompressTransientAlerts writes inflates back to its input.
func FuzzInflateTransientAlerts(f *testing.F) {
	js := kddAlertsJSON(f, 3)
	z, err := CompressTransientAlerts(js)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(z)
	f.Add(js)
	f.Add([]byte{})
	f.Add(z[:len(z)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := InflateTransientAlerts(data)
		var ve *ValidationError
		switch {
		case err != nil && !errors.As(err, &ve):
			t.Fatalf("refusal %v (%T), want *ValidationError", err, err)
		case err == nil && len(out) > MaxInputBytes:
			t.Fatalf("inflated to %d bytes, over MaxInputBytes", len(out))
		}
		z, err := CompressTransientAlerts(data)
		if err != nil {
			t.Fatal(err)
		}
		back, err := InflateTransientAlerts(z)
		if err != nil || !bytes.Equal(back, data) {
			t.Fatalf("round trip of %d bytes: %d bytes, %v", len(data), len(back), err)
		}
	})
}

// TestInflateTransientAlertsBounds: a value inflating to exactly
// MaxInputBytes is read; one byte more, bytes after the final block or a
// cut value are *ValidationError refusals naming what is wrong.
func TestInflateTransientAlertsBounds(t *testing.T) {
	compress := func(n int) []byte {
		z, err := CompressTransientAlerts(make([]byte, n))
		if err != nil {
			t.Fatal(err)
		}
		return z
	}
	js := kddAlertsJSON(t, 3)
	z, err := CompressTransientAlerts(js)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		value   []byte
		wantLen int    // when accepted
		wantErr string // in the refusal, "" accepted
	}{
		{"exactly the limit", compress(MaxInputBytes), MaxInputBytes, ""},
		{"one byte over the limit", compress(MaxInputBytes + 1), 0, "inflates beyond"},
		{"bytes after the final block", append(slices.Clone(z), 0), 0, "after its final block"},
		{"cut short", z[:len(z)-1], 0, "does not inflate"},
		{"the alerts", z, len(js), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := InflateTransientAlerts(tt.value)
			var ve *ValidationError
			switch {
			case tt.wantErr == "" && (err != nil || len(out) != tt.wantLen):
				t.Fatalf("got %d bytes, %v; want %d bytes", len(out), err, tt.wantLen)
			case tt.wantErr != "" && (!errors.As(err, &ve) || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("got %d bytes, %v; want a *ValidationError saying %q", len(out), err, tt.wantErr)
			}
		})
	}
}
