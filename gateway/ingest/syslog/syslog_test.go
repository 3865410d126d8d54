package syslog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/internal/ingesttest"
)

var recv = time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)

func meta() ingest.Meta { return ingest.Meta{Source: "tcp:6514", Host: "peer", Received: recv} }

func frames(t *testing.T, in string, max int) ([]string, error) {
	t.Helper()
	r := NewReader(strings.NewReader(in), max)
	var out []string
	for {
		b, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, string(b))
	}
}

func TestReader(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		max      int
		want     []string
		wantCode gateway.Code
	}{
		{"lf", "<13>a\n<13>b\n", 100, []string{"<13>a", "<13>b"}, ""},
		{"crlf and nul", "<13>a\r\n<13>b\x00\n", 100, []string{"<13>a", "<13>b"}, ""},
		{"last without lf", "<13>a\n<13>b", 100, []string{"<13>a", "<13>b"}, ""},
		{"octet counting", "5 <13>a6 <13>bc", 100, []string{"<13>a", "<13>bc"}, ""},
		{"octet counting keeps newlines", "8 <13>a\nb\n\n", 100, []string{"<13>a\nb\n"}, ""},
		{"mixed per frame", "5 <13>a\n<13>b\n5 <13>c", 100, []string{"<13>a", "<13>b", "<13>c"}, ""},
		{"digits without space are lf framed", "2026-01-01 msg\n", 100, []string{"2026-01-01 msg"}, ""},
		{"blank lines skipped", "\n\n<13>a\n\n", 100, []string{"<13>a"}, ""},
		{"octet count too large", "500 <13>a", 100, nil, gateway.CodeTooLarge},
		{"lf frame too large", "<13>" + strings.Repeat("x", 200) + "\n", 100, nil, gateway.CodeTooLarge},
		{"truncated octet frame", "10 <13>a", 100, nil, gateway.CodeInvalid},
		{"exactly max lf", "<13>" + strings.Repeat("x", 6) + "\n", 10, []string{"<13>xxxxxx"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := frames(t, tt.in, tt.max)
			if c := gateway.ErrorCode(err); c != tt.wantCode {
				t.Fatalf("code = %v, want %v (%v)", c, tt.wantCode, err)
			}
			if err == nil && fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tt.want) {
				t.Errorf("frames = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReaderLongFrames(t *testing.T) {
	// Frames longer than the bufio buffer must be assembled correctly.
	long := strings.Repeat("y", 200_000)
	got, err := frames(t, "<13>"+long+"\n"+fmt.Sprintf("%d <13>%s", len(long)+4, long), 300_000)
	if err != nil || len(got) != 2 || got[0] != "<13>"+long || got[1] != "<13>"+long {
		t.Fatalf("long frames: %d frames, err %v", len(got), err)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		msg      string
		class    gateway.Class
		host     string
		time     time.Time
		fields   map[string]any
		wantCode gateway.Code
	}{
		{name: "rfc5424 with sd", msg: `<165>1 2026-01-02T10:11:12.003Z fw01 firewall 1234 ID47 [ex@32473 iut="3"] connection allowed`,
			class: gateway.ClassOther, host: "fw01", time: time.Date(2026, 1, 2, 10, 11, 12, 3e6, time.UTC),
			fields: map[string]any{"log.syslog.priority": int64(165), "log.syslog.facility.code": int64(20), "log.syslog.severity.code": int64(5),
				"process.name": "firewall", "process.pid": int64(1234), "log.syslog.msgid": "ID47", "message": "connection allowed", "log.syslog.format": "rfc5424"}},
		{name: "rfc3164 sshd failure", msg: `<38>Jan  2 11:59:00 bastion sshd[901]: Failed password for invalid user oracle from 198.51.100.23 port 41000 ssh2`,
			class: gateway.ClassAuth, host: "bastion", time: time.Date(2026, 1, 2, 11, 59, 0, 0, time.UTC),
			fields: map[string]any{"user.name": "oracle", "source.ip": "198.51.100.23", "source.port": int64(41000), "event.outcome": "failure", "process.pid": int64(901), "log.syslog.format": "rfc3164"}},
		{name: "rfc3164 december resolves to last year", msg: `<86>Dec 31 23:00:00 bastion sshd[5]: Accepted password for bob from 203.0.113.5 port 2222 ssh2`,
			class: gateway.ClassAuth, host: "bastion", time: time.Date(2025, 12, 31, 23, 0, 0, 0, time.UTC),
			fields: map[string]any{"user.name": "bob", "event.outcome": "success"}},
		{name: "rfc3164 pam failure", msg: `<85>Jan  2 08:00:00 srv sshd[77]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.200  user=root`,
			class: gateway.ClassAuth, host: "srv", time: time.Date(2026, 1, 2, 8, 0, 0, 0, time.UTC),
			fields: map[string]any{"user.name": "root", "source.ip": "192.0.2.200", "event.action": "authentication_failure"}},
		{name: "garbage", msg: `hello there`, wantCode: gateway.CodeInvalid},
		{name: "bad priority", msg: `<999>1 - - - - - -`, wantCode: gateway.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := NewParser().Parse([]byte(tt.msg), meta())
			if c := gateway.ErrorCode(err); c != tt.wantCode {
				t.Fatalf("code = %v, want %v (%v)", c, tt.wantCode, err)
			}
			if err != nil {
				return
			}
			if ev.Class != tt.class || ev.Host != tt.host || !ev.Time.Equal(tt.time) {
				t.Errorf("class/host/time = %q %q %v, want %q %q %v", ev.Class, ev.Host, ev.Time, tt.class, tt.host, tt.time)
			}
			for k, want := range tt.fields {
				if got := ev.Fields[k]; fmt.Sprint(got) != fmt.Sprint(want) || fmt.Sprintf("%T", got) != fmt.Sprintf("%T", want) {
					t.Errorf("%s = %v (%T), want %v (%T)", k, got, got, want, want)
				}
			}
			if string(ev.Raw) != tt.msg || ev.Sourcetype != "syslog" || ev.ID != gateway.ComputeID(ev.Source, ev.Sourcetype, ev.Raw) {
				t.Errorf("raw/sourcetype/id wrong: %q %q", ev.Raw, ev.Sourcetype)
			}
		})
	}
}

func TestReadAll(t *testing.T) {
	in := "<13>1 2026-01-01T00:00:00Z h a - - - one\n" + "40 <13>1 2026-01-01T00:00:01Z h a - - - two"
	evs, err := ReadAll(strings.NewReader(in), meta(), ingest.Limits{})
	if err != nil || len(evs) != 2 || evs[1].Fields["message"] != "two" {
		t.Fatalf("ReadAll = %d events, %v", len(evs), err)
	}
	if _, err := ReadAll(strings.NewReader(in), meta(), ingest.Limits{MaxEvents: 1}); gateway.ErrorCode(err) != gateway.CodeTooLarge {
		t.Errorf("MaxEvents not enforced: %v", err)
	}
	if _, err := ReadAll(strings.NewReader("<13>1 ok\nnot syslog\n"), meta(), ingest.Limits{}); gateway.ErrorCode(err) != gateway.CodeInvalid {
		t.Errorf("malformed message not refused: %v", err)
	}
}

// TestRealSamples parses loghub's OpenSSH and Linux syslog files, which are
// RFC 3164 lines without PRI, by prefixing a PRI as a relay would.
func TestRealSamples(t *testing.T) {
	tests := []struct {
		file     string
		wantAuth int
	}{
		{"loghub/OpenSSH_OpenSSH_2k.log", 1100},
		{"loghub/Linux_Linux_2k.log", 480},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open(ingesttest.DataFile(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			p := NewParser()
			sc := bufio.NewScanner(f)
			n, auth, bad := 0, 0, 0
			for sc.Scan() {
				n++
				ev, err := p.Parse([]byte("<38>"+sc.Text()), meta())
				if err != nil {
					bad++
					continue
				}
				if ev.Class == gateway.ClassAuth {
					auth++
					if ev.Fields["event.outcome"] == nil {
						t.Errorf("auth event without outcome: %s", ev.Raw)
					}
				}
			}
			if bad > n/100 || auth < tt.wantAuth {
				t.Errorf("%d lines: %d unparsable, %d auth (want >= %d)", n, bad, auth, tt.wantAuth)
			}
		})
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("5 <13>a<13>b\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(strings.NewReader(string(in)), 64)
		total := 0
		for i := 0; i < 10_000; i++ {
			b, err := r.Next()
			if err != nil {
				var ie *ingest.Error
				if !errors.Is(err, io.EOF) && !errors.As(err, &ie) {
					t.Fatalf("bad error %v", err)
				}
				return
			}
			if len(b) > 64 || len(b) == 0 {
				t.Fatalf("frame of %d bytes", len(b))
			}
			total += len(b)
			if total > len(in) {
				t.Fatalf("more bytes out than in")
			}
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		ev, err := NewParser().Parse(msg, meta())
		if err != nil {
			var ie *ingest.Error
			if !errors.As(err, &ie) {
				t.Fatalf("bad error %v", err)
			}
			return
		}
		if string(ev.Raw) != string(msg) || ev.Time.IsZero() {
			t.Fatalf("bad event %+v", ev)
		}
		if _, err := ev.Canonical(); err != nil {
			t.Fatalf("accepted event does not canonicalise: %v", err)
		}
	})
}

func BenchmarkReadAll(b *testing.B) {
	lines := "<38>Mar  1 11:00:00 bastion sshd[4242]: Failed password for invalid user admin from 198.51.100.7 port 40022 ssh2\n" +
		"<165>1 2026-03-01T11:00:00.003Z fw01 firewall 1234 ID47 [ex@32473 iut=\"3\"] connection allowed\n"
	body := strings.Repeat(lines, 500)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	rate := ingesttest.Rate(b)
	for b.Loop() {
		if _, err := ReadAll(strings.NewReader(body), meta(), ingest.Limits{}); err != nil {
			b.Fatal(err)
		}
	}
	rate(1000)
}
