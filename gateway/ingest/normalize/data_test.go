package normalize

import (
	"archive/zip"
	"bufio"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/internal/ingesttest"
)

// open returns a reader over a sample file, undoing .gz and taking the one
// member of a .zip.
func open(t *testing.T, rel string) io.Reader {
	t.Helper()
	p := ingesttest.DataFile(t, rel)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	switch {
	case strings.HasSuffix(p, ".gz"):
		z, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		return z
	case strings.HasSuffix(p, ".zip"):
		st, _ := f.Stat()
		zr, err := zip.NewReader(f, st.Size())
		if err != nil || len(zr.File) == 0 {
			t.Fatalf("zip %s: %v", p, err)
		}
		r, err := zr.File[0].Open()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	return f
}

// maxRecords caps the records read per file so the suite stays fast under
// -race; the large files are homogeneous past that point.
const maxRecords = 15000

// TestRealSamples runs the normaliser over the shared real samples and
// checks that what the SOURCES.md files say is in them is recognised.
func TestRealSamples(t *testing.T) {
	tests := []struct {
		file    string
		atLeast map[string]int // class/kind -> minimum count
		maxTime int            // at most this many records without a time
	}{
		{"zeek-stratosphere/001-zeek-scenario-malicious__labeled-conn.log", map[string]int{"flow/zeek.conn": 992}, 0},
		{"zeek-stratosphere/005-zeek-scenario-malicious__dns.log", map[string]int{"dns/zeek.dns": 992}, 0},
		{"zeek-stratosphere/002-zeek-scenario-port-scanning__conn.log.gz", map[string]int{"flow/zeek.conn": 4504}, 0},
		{"zeek-stratosphere/004-zeek-scenario-ssh__ssh.log", map[string]int{"auth/zeek.ssh": 390}, 0},
		{"zeek-wrccdc2018/zeek-default_ssh.log.gz", map[string]int{"auth/zeek.ssh": 20}, 0},
		{"zeek-wrccdc2018/zeek-json_dns.json.gz", map[string]int{"dns/zeek.dns": maxRecords}, 0},
		{"suricata-eve-samples/server-2023-02-28_eve.json", map[string]int{"flow/suricata.flow": 200}, 20},
		{"suricata-eve-samples/zeus-lab-2024-12_eve.json.gz", map[string]int{"alert/suricata.alert": 3000, "dns/suricata.dns": 2000, "flow/suricata.flow": 1000}, 10},
		{"loghub/OpenSSH_OpenSSH_2k.log", map[string]int{"auth/sshd": 1100}, 0},
		{"loghub/Linux_Linux_2k.log", map[string]int{"auth/sshd": 480}, 20},
		{"windows-otrf-security-datasets/schtask_create.zip", map[string]int{"process/sysmon": 1, "process/windows.security": 1, "flow/sysmon": 1, "dns/sysmon": 1, "auth/windows.security": 1}, 1},
		{"windows-otrf-security-datasets/empire_shell_rubeus_asktgt_ptt.zip", map[string]int{"process/sysmon": 1, "flow/sysmon": 1, "auth/windows.security": 1}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			s := NewStream(ref)
			sc := bufio.NewScanner(open(t, tt.file))
			sc.Buffer(nil, 4<<20)
			counts := map[string]int{}
			noTime := 0
			for n := 0; n < maxRecords && sc.Scan(); n++ {
				r, skip := s.Line(sc.Bytes(), "")
				if skip || len(strings.TrimSpace(sc.Text())) == 0 {
					continue
				}
				counts[string(r.Class)+"/"+r.Kind]++
				if r.Time.IsZero() {
					noTime++
				}
				checkECSTypes(t, r)
			}
			if err := sc.Err(); err != nil {
				t.Fatal(err)
			}
			for k, min := range tt.atLeast {
				if counts[k] < min {
					t.Errorf("%s: %d, want at least %d (all: %v)", k, counts[k], min, counts)
				}
			}
			if noTime > tt.maxTime {
				t.Errorf("%d records without time, want at most %d", noTime, tt.maxTime)
			}
		})
	}
}

// TestRealSuricataAlertArrays reads the pretty-printed alert arrays.
func TestRealSuricataAlertArrays(t *testing.T) {
	for _, f := range []string{"first-org-conf-2015_alerts-only.json", "honeypot-2018_alerts-only.json", "wrccdc-2018_alerts-only.json", "wrccdc-2017_alerts-only.json"} {
		t.Run(f, func(t *testing.T) {
			d := json.NewDecoder(open(t, "suricata-eve-samples/"+f))
			d.UseNumber()
			var arr []map[string]any
			if err := d.Decode(&arr); err != nil {
				t.Fatal(err)
			}
			for _, obj := range arr {
				r := Object(obj, "")
				if r.Class != gateway.ClassAlert || r.Fields["rule.id"] == nil || r.Fields["source.ip"] == nil || r.Time.IsZero() {
					t.Fatalf("not mapped as an alert: %v", r.Fields)
				}
				checkECSTypes(t, r)
			}
		})
	}
}

// checkECSTypes asserts the type contract of the ECS fields.
func checkECSTypes(t *testing.T, r Result) {
	t.Helper()
	for _, k := range []string{"source.port", "destination.port", "source.bytes", "destination.bytes", "process.pid"} {
		if v, ok := r.Fields[k]; ok {
			if _, isInt := v.(int64); !isInt {
				t.Fatalf("%s is %T, want int64", k, v)
			}
		}
	}
	for _, k := range []string{"source.ip", "destination.ip", "user.name", "event.outcome", "dns.question.name", "event.code", "host.name"} {
		if v, ok := r.Fields[k]; ok {
			if _, isStr := v.(string); !isStr {
				t.Fatalf("%s is %T, want string", k, v)
			}
		}
	}
	if r.Class == gateway.ClassAuth {
		switch r.Fields["event.outcome"] {
		case "success", "failure", "unknown":
		default:
			t.Fatalf("auth without a valid event.outcome: %v", r.Fields)
		}
	}
}
