package normalize

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/internal/ingesttest"
)

var ref = time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)

func decode(t testing.TB, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return m
}

// check compares the listed fields by value and Go type.
func check(t *testing.T, r Result, class gateway.Class, kind string, want map[string]any) {
	t.Helper()
	if r.Class != class || r.Kind != kind {
		t.Errorf("class/kind = %q/%q, want %q/%q", r.Class, r.Kind, class, kind)
	}
	for k, w := range want {
		g, ok := r.Fields[k]
		if !ok {
			t.Errorf("%s missing (fields %v)", k, r.Fields)
			continue
		}
		if fmt.Sprintf("%T %v", g, g) != fmt.Sprintf("%T %v", w, w) {
			t.Errorf("%s = %T %v, want %T %v", k, g, g, w, w)
		}
	}
}

func TestObject(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		class gateway.Class
		kind  string
		time  time.Time
		host  string
		want  map[string]any
	}{
		{"zeek conn json", `{"ts":1700000000.25,"uid":"C1","id.orig_h":"10.0.0.5","id.orig_p":51000,"id.resp_h":"10.0.0.9","id.resp_p":22,"proto":"tcp","service":"ssh","duration":1.5,"orig_bytes":100,"resp_bytes":2000,"conn_state":"SF","orig_pkts":5,"resp_pkts":6}`,
			gateway.ClassFlow, "zeek.conn", time.Unix(1700000000, 25e7).UTC(), "",
			map[string]any{"source.ip": "10.0.0.5", "source.port": int64(51000), "destination.ip": "10.0.0.9", "destination.port": int64(22), "network.transport": "tcp",
				"network.protocol": "ssh", "event.duration": int64(1.5e9), "source.bytes": int64(100), "destination.bytes": int64(2000), "zeek.conn.state": "SF", "zeek.session_id": "C1"}},
		{"zeek dns json with _path and iso ts", `{"_path":"dns","ts":"2026-01-01T00:00:00.5Z","uid":"C2","id.orig_h":"10.0.0.5","id.orig_p":5353,"id.resp_h":"10.0.0.53","id.resp_p":53,"proto":"udp","query":"evil.example","qtype_name":"TXT","rcode_name":"NXDOMAIN","answers":["a","b"]}`,
			gateway.ClassDNS, "zeek.dns", time.Date(2026, 1, 1, 0, 0, 0, 5e8, time.UTC), "",
			map[string]any{"dns.question.name": "evil.example", "dns.question.type": "TXT", "dns.response_code": "NXDOMAIN", "dns.answers.data": []string{"a", "b"}, "network.protocol": "dns"}},
		{"zeek ssh json", `{"ts":1700000000,"uid":"C3","id.orig_h":"10.0.0.7","id.orig_p":40000,"id.resp_h":"10.0.0.9","id.resp_p":22,"auth_success":false,"auth_attempts":3,"direction":"INBOUND"}`,
			gateway.ClassAuth, "zeek.ssh", time.Unix(1700000000, 0).UTC(), "",
			map[string]any{"event.outcome": "failure", "zeek.ssh.auth_attempts": int64(3), "network.direction": "inbound", "source.ip": "10.0.0.7"}},
		{"zeek ssh unknown outcome", `{"ts":1,"uid":"C4","id.orig_h":"10.0.0.7","id.orig_p":1,"id.resp_h":"10.0.0.9","id.resp_p":22,"auth_attempts":0}`,
			gateway.ClassAuth, "zeek.ssh", time.Unix(1, 0).UTC(), "", map[string]any{"event.outcome": "unknown"}},
		{"zeek other log", `{"_path":"ssl","ts":1,"uid":"C5","id.orig_h":"10.0.0.7","id.orig_p":1,"id.resp_h":"10.0.0.9","id.resp_p":443}`,
			gateway.ClassOther, "zeek.ssl", time.Unix(1, 0).UTC(), "", map[string]any{"destination.port": int64(443)}},
		{"suricata alert", `{"timestamp":"2026-01-01T10:00:00.123456+0100","flow_id":2251799813685249,"event_type":"alert","src_ip":"203.0.113.1","src_port":4444,"dest_ip":"10.0.0.2","dest_port":80,"proto":"TCP","app_proto":"http","alert":{"action":"allowed","signature_id":2100498,"signature":"GPL ATTACK_RESPONSE id check returned root","category":"Potentially Bad Traffic","severity":2},"flow":{"bytes_toserver":300,"bytes_toclient":400,"pkts_toserver":3,"pkts_toclient":4}}`,
			gateway.ClassAlert, "suricata.alert", time.Date(2026, 1, 1, 9, 0, 0, 123456000, time.UTC), "",
			map[string]any{"rule.id": int64(2100498), "rule.name": "GPL ATTACK_RESPONSE id check returned root", "rule.category": "Potentially Bad Traffic", "event.severity": int64(2),
				"event.action": "allowed", "network.transport": "tcp", "network.protocol": "http", "suricata.eve.flow_id": "2251799813685249", "source.bytes": int64(300), "event.kind": "alert"}},
		{"suricata flow ipv6 canonical", `{"timestamp":"2026-01-01T10:00:00.000000","event_type":"flow","src_ip":"fe80:0000:0000:0000:0000:0000:0000:0001","src_port":546,"dest_ip":"ff02::1:2","dest_port":547,"proto":"UDP","app_proto":"failed","flow":{"bytes_toserver":1,"bytes_toclient":2,"pkts_toserver":1,"pkts_toclient":1,"state":"new"}}`,
			gateway.ClassFlow, "suricata.flow", time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC), "",
			map[string]any{"source.ip": "fe80::1", "destination.bytes": int64(2), "suricata.eve.flow.state": "new"}},
		{"suricata dns v2", `{"timestamp":"2026-01-01T10:00:00Z","event_type":"dns","src_ip":"10.0.0.2","src_port":5000,"dest_ip":"10.0.0.53","dest_port":53,"proto":"UDP","dns":{"version":2,"type":"answer","id":7,"rcode":"NOERROR","queries":[{"rrname":"example.com","rrtype":"A"}],"answers":[{"rrname":"example.com","rrtype":"A","rdata":"93.184.216.34"}]}}`,
			gateway.ClassDNS, "suricata.dns", time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC), "",
			map[string]any{"dns.question.name": "example.com", "dns.answers.data": []string{"93.184.216.34"}, "dns.response_code": "NOERROR", "dns.id": int64(7)}},
		{"suricata dns v1", `{"timestamp":"2026-01-01T10:00:00Z","event_type":"dns","src_ip":"10.0.0.2","dest_ip":"10.0.0.53","proto":"UDP","dns":{"type":"query","id":9,"rrname":"a.test","rrtype":"AAAA"}}`,
			gateway.ClassDNS, "suricata.dns", time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC), "",
			map[string]any{"dns.question.name": "a.test", "dns.question.type": "AAAA", "dns.type": "query"}},
		{"windows 4624", `{"EventID":4624,"Channel":"Security","Hostname":"DC1.corp","@timestamp":"2026-01-01T00:00:01.5Z","TargetUserName":"alice","TargetDomainName":"CORP","IpAddress":"::ffff:10.1.1.1","IpPort":"50000","LogonType":"10"}`,
			gateway.ClassAuth, "windows.security", time.Date(2026, 1, 1, 0, 0, 1, 5e8, time.UTC), "DC1.corp",
			map[string]any{"event.code": "4624", "event.outcome": "success", "user.name": "alice", "user.domain": "CORP", "source.ip": "10.1.1.1", "source.port": int64(50000), "winlog.logon.type": "10", "host.name": "DC1.corp"}},
		{"windows 4625 placeholders", `{"EventID":"4625","Channel":"security","Hostname":"WS1","TargetUserName":"bob","IpAddress":"-","IpPort":"-","Status":"0xc000006d"}`,
			gateway.ClassAuth, "windows.security", time.Time{}, "WS1",
			map[string]any{"event.outcome": "failure", "user.name": "bob", "winlog.event_data.Status": "0xc000006d"}},
		{"windows 4648", `{"EventID":4648,"SourceName":"Microsoft-Windows-Security-Auditing","Hostname":"WS1","SubjectUserName":"bob","TargetUserName":"admin","TargetServerName":"srv2","IpAddress":"10.0.0.3","IpPort":"0"}`,
			gateway.ClassAuth, "windows.security", time.Time{}, "WS1",
			map[string]any{"user.name": "bob", "user.target.name": "admin", "destination.domain": "srv2", "source.ip": "10.0.0.3"}},
		{"windows 4672", `{"EventID":4672,"Channel":"Security","Hostname":"WS1","SubjectUserName":"bob","PrivilegeList":"SeDebugPrivilege\r\n\t\t\tSeBackupPrivilege"}`,
			gateway.ClassAuth, "windows.security", time.Time{}, "WS1",
			map[string]any{"user.name": "bob", "winlog.event_data.PrivilegeList": []string{"SeDebugPrivilege", "SeBackupPrivilege"}}},
		{"windows 4688", `{"EventID":4688,"Channel":"Security","Hostname":"WS1","TimeCreated":"2026-01-01 00:00:00.250","CommandLine":"cmd.exe /c whoami","NewProcessName":"C:\\Windows\\System32\\cmd.exe","NewProcessId":"0x1a","ProcessId":"0x10","ParentProcessName":"C:\\x.exe","SubjectUserName":"bob"}`,
			gateway.ClassProcess, "windows.security", time.Date(2026, 1, 1, 0, 0, 0, 25e7, time.UTC), "WS1",
			map[string]any{"process.command_line": "cmd.exe /c whoami", "process.pid": int64(26), "process.parent.pid": int64(16), "process.executable": `C:\Windows\System32\cmd.exe`}},
		{"windows 5156", `{"EventID":5156,"Channel":"Security","Hostname":"WS1","SourceAddress":"10.0.0.1","SourcePort":"1000","DestAddress":"10.0.0.2","DestPort":"445","Protocol":"6","ProcessID":"4"}`,
			gateway.ClassFlow, "windows.security", time.Time{}, "WS1",
			map[string]any{"network.transport": "tcp", "destination.port": int64(445), "process.pid": int64(4)}},
		{"sysmon 1", `{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"WS2","UtcTime":"2026-01-01 01:02:03.004","Image":"C:\\a.exe","CommandLine":"a.exe -x","ProcessId":"100","ParentImage":"C:\\p.exe","ParentProcessId":"50","User":"CORP\\carol","Hashes":"MD5=AB,SHA256=CD"}`,
			gateway.ClassProcess, "sysmon", time.Date(2026, 1, 1, 1, 2, 3, 4e6, time.UTC), "WS2",
			map[string]any{"process.command_line": "a.exe -x", "process.pid": int64(100), "process.parent.pid": int64(50), "user.name": "carol", "user.domain": "CORP", "process.hash.sha256": "cd", "process.hash.md5": "ab"}},
		{"sysmon 3", `{"EventID":3,"SourceName":"Microsoft-Windows-Sysmon","Hostname":"WS2","SourceIp":"10.0.0.1","SourcePort":"49152","DestinationIp":"10.0.0.2","DestinationPort":"88","Protocol":"tcp","Initiated":"true","DestinationHostname":"-"}`,
			gateway.ClassFlow, "sysmon", time.Time{}, "WS2",
			map[string]any{"destination.port": int64(88), "network.transport": "tcp", "network.direction": "egress"}},
		{"sysmon 22", `{"EventID":22,"Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"WS2","QueryName":"c2.example","QueryStatus":"0","QueryResults":"::ffff:198.51.100.1;type:  5 alias;"}`,
			gateway.ClassDNS, "sysmon", time.Time{}, "WS2",
			map[string]any{"dns.question.name": "c2.example", "dns.response_code": "NOERROR", "dns.answers.data": []string{"198.51.100.1", "type:  5 alias"}}},
		{"winlogbeat 4625", `{"@timestamp":"2026-01-01T00:00:00Z","winlog":{"event_id":4625,"channel":"Security","computer_name":"DC2","event_data":{"TargetUserName":"eve","IpAddress":"192.0.2.9","IpPort":"4000"}}}`,
			gateway.ClassAuth, "windows.security", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "DC2",
			map[string]any{"user.name": "eve", "source.ip": "192.0.2.9", "event.outcome": "failure"}},
		{"windows other channel", `{"EventID":106,"Channel":"Microsoft-Windows-TaskScheduler/Operational","SourceName":"TaskScheduler","Hostname":"WS3"}`,
			gateway.ClassOther, "windows", time.Time{}, "WS3", map[string]any{"event.code": "106", "event.provider": "TaskScheduler"}},
		{"unknown object kept", `{"msg":"hi","@timestamp":"2026-01-01T00:00:00Z","host":{"name":"h1"}}`,
			gateway.ClassOther, "", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "h1", map[string]any{"msg": "hi"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Object(decode(t, tt.in), "")
			check(t, r, tt.class, tt.kind, tt.want)
			if !r.Time.Equal(tt.time) || r.Host != tt.host {
				t.Errorf("time/host = %v %q, want %v %q", r.Time, r.Host, tt.time, tt.host)
			}
		})
	}
}

func TestMessage(t *testing.T) {
	tests := []struct {
		name, app, msg string
		ok             bool
		want           map[string]any
	}{
		{"failed password", "sshd", "Failed password for root from 198.51.100.1 port 22222 ssh2", true,
			map[string]any{"user.name": "root", "source.ip": "198.51.100.1", "source.port": int64(22222), "event.outcome": "failure", "system.auth.ssh.method": "password"}},
		{"failed invalid user", "sshd", "Failed password for invalid user admin from 198.51.100.1 port 1 ssh2", true,
			map[string]any{"user.name": "admin", "system.auth.ssh.invalid_user": true}},
		{"accepted publickey", "sshd", "Accepted publickey for deploy from 2001:db8::1 port 50000 ssh2: RSA SHA256:abc", true,
			map[string]any{"user.name": "deploy", "source.ip": "2001:db8::1", "event.outcome": "success", "system.auth.ssh.method": "publickey"}},
		{"invalid user with port", "sshd", "Invalid user test from 192.0.2.1 port 4242", true,
			map[string]any{"user.name": "test", "source.port": int64(4242), "event.action": "invalid_user"}},
		{"invalid user no port", "sshd", "Invalid user guest from 192.0.2.1", true, map[string]any{"user.name": "guest", "source.ip": "192.0.2.1"}},
		{"pam rhost name", "sshd(pam_unix)", "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=host.example.net  user=root", true,
			map[string]any{"source.domain": "host.example.net", "user.name": "root", "event.outcome": "failure"}},
		{"pam more failures", "sshd", "PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.7  user=root", true,
			map[string]any{"source.ip": "192.0.2.7"}},
		{"repeated", "sshd", "message repeated 2 times: [ Failed password for root from 192.0.2.8 port 9 ssh2]", true, map[string]any{"source.ip": "192.0.2.8"}},
		{"not sshd", "cron", "Failed password for root from 192.0.2.8 port 9 ssh2", false, nil},
		{"other sshd message", "sshd", "Connection closed by 192.0.2.8 [preauth]", false, nil},
		{"failed without from", "sshd", "Failed password for root", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ok := Message(tt.app, tt.msg)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			check(t, Result{Class: gateway.ClassAuth, Fields: f}, gateway.ClassAuth, "", tt.want)
		})
	}
}

func TestStreamZeekTSV(t *testing.T) {
	lines := []string{
		"#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-", "#path\tconn", "#open\t2026-01-01-00-00-00",
		"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\ttunnel_parents",
		"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tset[string]",
		"1700000000.000001\tCa\t10.0.0.1\t1234\t10.0.0.2\t80\ttcp\t-\t0.5\t10\t(empty)\tS0\t(empty)",
		"short\tline",
		"#close\t2026-01-01-01-00-00",
	}
	s := NewStream(ref)
	var got []string
	for _, l := range lines {
		r, skip := s.Line([]byte(l), "")
		if skip {
			got = append(got, "skip")
			continue
		}
		got = append(got, string(r.Class)+"/"+r.Kind)
		if r.Kind == "zeek.conn" {
			check(t, r, gateway.ClassFlow, "zeek.conn", map[string]any{"source.port": int64(1234), "event.duration": int64(5e8), "source.bytes": int64(10), "zeek.conn.state": "S0"})
			if _, ok := r.Fields["network.protocol"]; ok {
				t.Errorf("unset service produced network.protocol")
			}
			if _, ok := r.Fields["destination.bytes"]; ok {
				t.Errorf("empty resp_bytes produced destination.bytes")
			}
			if !r.Time.Equal(time.Unix(1700000000, 1000)) {
				t.Errorf("time = %v", r.Time)
			}
		}
	}
	want := "[skip skip skip skip skip skip skip skip flow/zeek.conn other/ skip]"
	if fmt.Sprint(got) != want {
		t.Errorf("got %v, want %s", got, want)
	}
}

func TestStreamLine(t *testing.T) {
	tests := []struct {
		name, line string
		class      gateway.Class
		kind       string
		time       time.Time
		host       string
	}{
		{"sshd 3164", "Jan  2 11:00:00 bastion sshd[1]: Failed password for root from 192.0.2.1 port 2 ssh2", gateway.ClassAuth, "sshd", time.Date(2026, 1, 2, 11, 0, 0, 0, time.UTC), "bastion"},
		{"rfc3339 stamp", "2026-01-02T11:00:00.5+00:00 bastion sshd[1]: Invalid user x from 192.0.2.1", gateway.ClassAuth, "sshd", time.Date(2026, 1, 2, 11, 0, 0, 5e8, time.UTC), "bastion"},
		{"su pam", "Jan  2 11:00:00 srv su(pam_unix)[9]: authentication failure; logname=a uid=1 euid=0 tty=pts/0 ruser=a rhost=  user=root", gateway.ClassAuth, "pam", time.Date(2026, 1, 2, 11, 0, 0, 0, time.UTC), "srv"},
		{"other syslog", "Jan  2 11:00:00 srv cron[9]: job done", gateway.ClassOther, "", time.Date(2026, 1, 2, 11, 0, 0, 0, time.UTC), "srv"},
		{"json line", `{"event_type":"flow","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","timestamp":"2026-01-01T00:00:00Z"}`, gateway.ClassFlow, "suricata.flow", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), ""},
		{"plain", "just words", gateway.ClassOther, "", time.Time{}, ""},
		{"hash not zeek", "# a comment", gateway.ClassOther, "", time.Time{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, skip := NewStream(ref).Line([]byte(tt.line), "")
			if skip || r.Class != tt.class || r.Kind != tt.kind || !r.Time.Equal(tt.time) || r.Host != tt.host {
				t.Errorf("got skip=%v %q %q %v %q, want %q %q %v %q", skip, r.Class, r.Kind, r.Time, r.Host, tt.class, tt.kind, tt.time, tt.host)
			}
		})
	}
}

func TestSyslogStamp(t *testing.T) {
	tests := []struct {
		in   string
		ref  time.Time
		want time.Time
		rest string
		ok   bool
	}{
		{"Jan  2 03:04:05 rest", ref, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "rest", true},
		{"Jan 02 03:04:05 rest", ref, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "rest", true},
		{"Jan  3 11:00:00 x", ref, time.Date(2026, 1, 3, 11, 0, 0, 0, time.UTC), "x", true},
		{"Dec 31 23:59:59 x", ref, time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC), "x", true},
		{"Foo  2 03:04:05 x", ref, time.Time{}, "", false},
		{"Jan 32 03:04:05 x", ref, time.Time{}, "", false},
		{"Jan  2 25:04:05 x", ref, time.Time{}, "", false},
		{"short", ref, time.Time{}, "", false},
	}
	for _, tt := range tests {
		got, rest, ok := SyslogStamp(tt.in, tt.ref)
		if ok != tt.ok || !got.Equal(tt.want) || (ok && rest != tt.rest) {
			t.Errorf("SyslogStamp(%q) = %v %q %v, want %v %q %v", tt.in, got, rest, ok, tt.want, tt.rest, tt.ok)
		}
	}
}

func FuzzStreamLine(f *testing.F) {
	f.Add([]byte("Jan  2 11:00:00 bastion sshd[1]: Failed password for root from 192.0.2.1 port 2 ssh2"))
	f.Fuzz(func(t *testing.T, line []byte) {
		s := NewStream(ref)
		for _, l := range strings.Split(string(line), "\n") {
			r, skip := s.Line([]byte(l), "")
			if !skip && r.Class == "" {
				t.Fatalf("empty class for %q", l)
			}
			if _, err := json.Marshal(r.Fields); err != nil {
				t.Fatalf("fields not encodable: %v", err)
			}
		}
	})
}

func FuzzObject(f *testing.F) {
	f.Add([]byte(`{"EventID":4624,"Channel":"Security","IpPort":"1"}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		d := json.NewDecoder(strings.NewReader(string(doc)))
		d.UseNumber()
		var m map[string]any
		if d.Decode(&m) != nil {
			return
		}
		r := Object(m, "")
		if r.Class == "" {
			t.Fatalf("empty class")
		}
		if _, err := json.Marshal(r.Fields); err != nil {
			t.Fatalf("fields not encodable: %v", err)
		}
	})
}

func BenchmarkObjectSuricata(b *testing.B) {
	doc := `{"timestamp":"2026-01-01T10:00:00.123456+0000","flow_id":1,"event_type":"flow","src_ip":"10.0.0.1","src_port":50000,"dest_ip":"10.0.0.2","dest_port":443,"proto":"TCP","app_proto":"tls","flow":{"pkts_toserver":10,"pkts_toclient":12,"bytes_toserver":1500,"bytes_toclient":9000,"state":"closed"}}`
	m := decode(b, doc)
	b.ReportAllocs()
	rate := ingesttest.Rate(b)
	for b.Loop() {
		Object(m, "")
	}
	rate(1)
}

func BenchmarkStreamZeekTSV(b *testing.B) {
	s := NewStream(ref)
	s.Line([]byte("#separator \\x09"), "")
	s.Line([]byte("#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tquery\tqtype_name\trcode_name"), "")
	s.Line([]byte("#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tstring\tstring"), "")
	line := []byte("1700000000.5\tCa\t10.0.0.1\t5353\t10.0.0.53\t53\tudp\texample.org\tA\tNOERROR")
	b.ReportAllocs()
	rate := ingesttest.Rate(b)
	for b.Loop() {
		s.Line(line, "")
	}
	rate(1)
}

func BenchmarkStreamSSHD(b *testing.B) {
	s := NewStream(ref)
	line := []byte("Jan  2 11:00:00 bastion sshd[4242]: Failed password for invalid user admin from 198.51.100.7 port 40022 ssh2")
	b.ReportAllocs()
	rate := ingesttest.Rate(b)
	for b.Loop() {
		s.Line(line, "")
	}
	rate(1)
}

func TestECSCategoryClassifiesUnrecognisedRecords(t *testing.T) {
	tests := []struct {
		name string
		obj  map[string]any
		want gateway.Class
	}{
		{"flat network", map[string]any{"event.category": "network", "kdd.service": "http"}, gateway.ClassFlow},
		{"nested list authentication", map[string]any{"event": map[string]any{"category": []any{"host", "authentication"}}}, gateway.ClassAuth},
		{"process", map[string]any{"event.category": "process"}, gateway.ClassProcess},
		{"dns question wins", map[string]any{"event.category": "network", "dns.question.name": "example.com"}, gateway.ClassDNS},
		{"no category", map[string]any{"message": "hello"}, gateway.ClassOther},
		{"unknown category", map[string]any{"event.category": "web"}, gateway.ClassOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Object(tt.obj, "").Class; got != tt.want {
				t.Errorf("class = %q, want %q", got, tt.want)
			}
		})
	}
}
