package normalize

import (
	"strings"

	"github.com/ledgerguard/ledgerguard/gateway"
)

const (
	chanSecurity = "security"
	chanSysmon   = "microsoft-windows-sysmon/operational"
)

// winRecord is a Windows event seen through either export layout: data holds
// the event data fields (flat in NXLog/Logstash exports, under
// winlog.event_data for Winlogbeat).
type winRecord struct {
	id      int64
	channel string // lower case
	host    string
	data    map[string]any
	obj     map[string]any
}

// winlog recognises a Windows event log record in obj.
func winlog(obj map[string]any) (winRecord, bool) {
	if w, ok := obj["winlog"].(map[string]any); ok {
		id, ok := integer(w["event_id"])
		if !ok {
			return winRecord{}, false
		}
		data, _ := w["event_data"].(map[string]any)
		if data == nil {
			data = map[string]any{}
		}
		r := winRecord{id: id, data: data, obj: obj}
		r.channel = strings.ToLower(strAny(w["channel"]))
		r.host = strAny(w["computer_name"])
		if r.host == "" {
			if h, ok := obj["host"].(map[string]any); ok {
				r.host = strAny(h["name"])
			}
		}
		if r.channel == "" && strings.Contains(strings.ToLower(strAny(w["provider_name"])), "sysmon") {
			r.channel = chanSysmon
		}
		return r, true
	}
	id, ok := integer(obj["EventID"])
	if !ok {
		return winRecord{}, false
	}
	ch := strings.ToLower(strAny(obj["Channel"]))
	src := strings.ToLower(strAny(obj["SourceName"]) + strAny(obj["ProviderName"]))
	if ch == "" && src == "" {
		return winRecord{}, false
	}
	if ch == "" {
		switch {
		case strings.Contains(src, "sysmon"):
			ch = chanSysmon
		case strings.Contains(src, "security-auditing"):
			ch = chanSecurity
		}
	}
	r := winRecord{id: id, channel: ch, data: obj, obj: obj}
	for _, k := range []string{"Hostname", "Computer", "ComputerName"} {
		if h, ok := str(obj[k]); ok {
			r.host = h
			break
		}
	}
	return r, true
}

// winTime picks the best timestamp a Windows export carries: the event's own
// (Sysmon UtcTime is when the action happened) before the collector's.
func winTime(r winRecord) any {
	for _, k := range []string{"UtcTime", "TimeCreated", "@timestamp", "EventTime"} {
		if v, ok := r.data[k]; ok {
			if t := parseTime(v); !t.IsZero() {
				return v
			}
		}
		if v, ok := r.obj[k]; ok {
			if t := parseTime(v); !t.IsZero() {
				return v
			}
		}
	}
	return nil
}

// windows maps Windows Security and Sysmon events.
func windows(obj map[string]any) (Result, bool) {
	w, ok := winlog(obj)
	if !ok {
		return Result{}, false
	}
	d := w.data
	f := fieldSetter{}
	f["event.code"] = itoa(w.id)
	f["winlog.channel"] = w.channel
	if w.host != "" {
		f["host.name"] = w.host
	}
	res := Result{Class: gateway.ClassOther, Host: w.host, Time: parseTime(winTime(w))}
	switch w.channel {
	case chanSecurity:
		res.Kind = "windows.security"
		f["event.module"] = "security"
		switch w.id {
		case 4624, 4625:
			res.Class = gateway.ClassAuth
			f["event.category"] = "authentication"
			f["event.outcome"] = outcome(w.id == 4624)
			if w.id == 4624 {
				f["event.action"] = "logged-in"
			} else {
				f["event.action"] = "logon-failed"
				f.str("winlog.event_data.Status", d["Status"])
				f.str("winlog.event_data.SubStatus", d["SubStatus"])
			}
			f.str("user.name", d["TargetUserName"])
			f.str("user.domain", d["TargetDomainName"])
			f.str("user.id", d["TargetUserSid"])
			winSourceIP(f, d["IpAddress"], d["IpPort"])
			f.str("winlog.logon.type", d["LogonType"])
			f.str("source.domain", d["WorkstationName"])
			f.str("winlog.event_data.AuthenticationPackageName", d["AuthenticationPackageName"])
		case 4648:
			res.Class = gateway.ClassAuth
			f["event.category"] = "authentication"
			f["event.action"] = "logged-in-explicit"
			f["event.outcome"] = "success"
			f.str("user.name", d["SubjectUserName"])
			f.str("user.domain", d["SubjectDomainName"])
			f.str("user.target.name", d["TargetUserName"])
			f.str("user.target.domain", d["TargetDomainName"])
			f.str("destination.domain", d["TargetServerName"])
			f.str("process.executable", d["ProcessName"])
			winSourceIP(f, d["IpAddress"], d["IpPort"])
		case 4672:
			res.Class = gateway.ClassAuth
			f["event.category"] = "authentication"
			f["event.action"] = "logged-in-special"
			f["event.outcome"] = "success"
			f.str("user.name", d["SubjectUserName"])
			f.str("user.domain", d["SubjectDomainName"])
			f.str("user.id", d["SubjectUserSid"])
			if p, ok := str(d["PrivilegeList"]); ok {
				f["winlog.event_data.PrivilegeList"] = strings.Fields(p)
			}
		case 4688:
			res.Class = gateway.ClassProcess
			f["event.category"] = "process"
			f["event.action"] = "created-process"
			f.str("process.command_line", d["CommandLine"])
			f.str("process.executable", d["NewProcessName"])
			f.int("process.pid", d["NewProcessId"])
			f.str("process.parent.executable", d["ParentProcessName"])
			f.int("process.parent.pid", d["ProcessId"])
			f.str("user.name", d["SubjectUserName"])
			f.str("user.domain", d["SubjectDomainName"])
		case 5156:
			res.Class = gateway.ClassFlow
			f["event.category"] = "network"
			f.ip("source.ip", d["SourceAddress"])
			f.port("source.port", d["SourcePort"])
			f.ip("destination.ip", d["DestAddress"])
			f.port("destination.port", d["DestPort"])
			if t := ianaProto(strAny(d["Protocol"])); t != "" {
				f["network.transport"] = t
			}
			f.str("process.executable", d["Application"])
			f.int("process.pid", firstOf(d, "ProcessID", "ProcessId"))
		}
	case chanSysmon:
		res.Kind = "sysmon"
		f["event.module"] = "sysmon"
		winUser(f, d["User"])
		f.str("process.executable", d["Image"])
		f.int("process.pid", d["ProcessId"])
		f.str("process.entity_id", d["ProcessGuid"])
		switch w.id {
		case 1:
			res.Class = gateway.ClassProcess
			f["event.category"] = "process"
			f["event.action"] = "created-process"
			f.str("process.command_line", d["CommandLine"])
			f.str("process.working_directory", d["CurrentDirectory"])
			f.str("process.parent.executable", d["ParentImage"])
			f.str("process.parent.command_line", d["ParentCommandLine"])
			f.int("process.parent.pid", d["ParentProcessId"])
			f.str("process.pe.original_file_name", d["OriginalFileName"])
			if h, ok := str(d["Hashes"]); ok {
				for _, kv := range strings.Split(h, ",") {
					k, v, ok := strings.Cut(kv, "=")
					if !ok {
						continue
					}
					switch strings.ToUpper(k) {
					case "MD5", "SHA1", "SHA256":
						f["process.hash."+strings.ToLower(k)] = strings.ToLower(v)
					}
				}
			}
		case 3:
			res.Class = gateway.ClassFlow
			f["event.category"] = "network"
			f.ip("source.ip", d["SourceIp"])
			f.port("source.port", d["SourcePort"])
			f.ip("destination.ip", d["DestinationIp"])
			f.port("destination.port", d["DestinationPort"])
			f.lower("network.transport", d["Protocol"])
			f.str("destination.domain", d["DestinationHostname"])
			if b, ok := boolean(d["Initiated"]); ok {
				if b {
					f["network.direction"] = "egress"
				} else {
					f["network.direction"] = "ingress"
				}
			}
		case 22:
			res.Class = gateway.ClassDNS
			f["event.category"] = "network"
			f["network.protocol"] = "dns"
			f.str("dns.question.name", d["QueryName"])
			if s, ok := str(d["QueryStatus"]); ok {
				if s == "0" {
					f["dns.response_code"] = "NOERROR"
				} else {
					f["sysmon.dns.status"] = s
				}
			}
			if q, ok := str(d["QueryResults"]); ok {
				var ans []string
				for _, a := range strings.Split(q, ";") {
					a = strings.TrimPrefix(strings.TrimSpace(a), "::ffff:")
					if a != "" {
						ans = append(ans, a)
					}
				}
				if len(ans) > 0 {
					f["dns.answers.data"] = ans
				}
			}
		}
	default:
		res.Kind = "windows"
		f["event.module"] = "windows"
		f.str("event.provider", firstOf(d, "SourceName", "ProviderName"))
	}
	res.Fields = f
	return res, true
}

func firstOf(d map[string]any, keys ...string) any {
	for _, k := range keys {
		if v, ok := d[k]; ok {
			return v
		}
	}
	return nil
}

// winSourceIP sets source.ip/port from Windows' IpAddress/IpPort, which use
// "-" and "0" for "not a network logon".
func winSourceIP(f fieldSetter, ip, port any) {
	f.ip("source.ip", ip)
	if n, ok := integer(port); ok && n > 0 && n <= 65535 {
		f["source.port"] = n
	}
}

// winUser splits Sysmon's "DOMAIN\user".
func winUser(f fieldSetter, v any) {
	s, ok := str(v)
	if !ok {
		return
	}
	if dom, name, ok := strings.Cut(s, `\`); ok {
		f["user.domain"] = dom
		f["user.name"] = name
		return
	}
	f["user.name"] = s
}

func ianaProto(p string) string {
	switch p {
	case "6":
		return "tcp"
	case "17":
		return "udp"
	case "1":
		return "icmp"
	case "58":
		return "ipv6-icmp"
	}
	return ""
}

func itoa(n int64) string {
	s, _ := str(n)
	return s
}
