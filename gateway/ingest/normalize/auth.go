package normalize

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// authMessage recognises sshd and PAM authentication messages. Matching is
// by fixed phrases OpenSSH and pam_unix have printed for two decades, parsed
// with string cuts rather than regular expressions (an order of magnitude
// cheaper at gateway rates, and the grammar is this small).
func authMessage(app, msg string) (map[string]any, bool) {
	msg = strings.TrimSpace(msg)
	// rsyslog's repeat compression wraps the original text.
	if strings.HasPrefix(msg, "message repeated ") {
		if i := strings.Index(msg, ": [ "); i >= 0 {
			msg = strings.TrimSuffix(msg[i+4:], "]")
			msg = strings.TrimSpace(msg)
		}
	}
	f := fieldSetter{}
	sshd := strings.HasPrefix(app, "sshd")
	switch {
	case sshd && (strings.HasPrefix(msg, "Failed ") || strings.HasPrefix(msg, "Accepted ")):
		verb, rest, _ := strings.Cut(msg, " ")
		method, rest, ok := strings.Cut(rest, " for ")
		if !ok || strings.Contains(method, " ") {
			return nil, false
		}
		invalid := false
		if r, ok := strings.CutPrefix(rest, "invalid user "); ok {
			rest, invalid = r, true
		}
		i := strings.LastIndex(rest, " from ")
		if i < 0 {
			return nil, false
		}
		user, addr := rest[:i], rest[i+6:]
		ip, port := hostPort(addr)
		if ip == "" {
			return nil, false
		}
		f["user.name"] = user
		setAddr(f, ip)
		if port >= 0 {
			f["source.port"] = port
		}
		f["system.auth.ssh.method"] = method
		if verb == "Accepted" {
			f["event.outcome"] = "success"
			f["event.action"] = "ssh_login"
		} else {
			f["event.outcome"] = "failure"
			f["event.action"] = "ssh_login"
			if invalid {
				f["system.auth.ssh.invalid_user"] = true
			}
		}
	case sshd && strings.HasPrefix(msg, "Invalid user "):
		rest := msg[len("Invalid user "):]
		i := strings.LastIndex(rest, " from ")
		if i < 0 {
			return nil, false
		}
		user, addr := rest[:i], rest[i+6:]
		ip, port := hostPort(addr)
		if ip == "" {
			return nil, false
		}
		if user != "" {
			f["user.name"] = user
		}
		setAddr(f, ip)
		if port >= 0 {
			f["source.port"] = port
		}
		f["event.outcome"] = "failure"
		f["event.action"] = "invalid_user"
		f["system.auth.ssh.invalid_user"] = true
	case strings.Contains(msg, "authentication failure; ") || strings.Contains(msg, "authentication failures; "):
		_, kvs, _ := strings.Cut(msg, "; ")
		kv := pamKV(kvs)
		if u := kv["user"]; u != "" {
			f["user.name"] = u
		} else if u := kv["ruser"]; u != "" {
			f["user.name"] = u
		}
		if h := kv["rhost"]; h != "" {
			setAddr(f, h)
		}
		f["event.outcome"] = "failure"
		f["event.action"] = "authentication_failure"
	default:
		return nil, false
	}
	f["event.category"] = "authentication"
	if app != "" {
		f["process.name"] = app
	}
	return f, true
}

// hostPort reads "IP port N[ ssh2...]" or "IP[ ...]"; port is -1 if absent.
func hostPort(s string) (string, int64) {
	ip, rest, _ := strings.Cut(s, " ")
	port := int64(-1)
	if p, ok := strings.CutPrefix(rest, "port "); ok {
		p, _, _ = strings.Cut(p, " ")
		if n, err := strconv.ParseInt(p, 10, 64); err == nil && n >= 0 && n <= 65535 {
			port = n
		}
	}
	return ip, port
}

// setAddr sets source.ip for an address and source.domain for a name
// (PAM's rhost is whatever reverse DNS said).
func setAddr(f fieldSetter, h string) {
	if a, err := netip.ParseAddr(h); err == nil {
		f["source.ip"] = a.Unmap().String()
		return
	}
	f["source.domain"] = h
}

// pamKV parses pam_unix's "logname= uid=0 euid=0 tty=ssh ruser= rhost=x user=y".
func pamKV(s string) map[string]string {
	kv := make(map[string]string, 8)
	for _, tok := range strings.Fields(s) {
		if k, v, ok := strings.Cut(tok, "="); ok {
			kv[k] = v
		}
	}
	return kv
}

var months = map[string]time.Month{
	"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6,
	"Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12,
}

// SyslogStamp parses an RFC 3164 "Mmm dd hh:mm:ss" timestamp (the day may be
// space- or zero-padded) at the start of s and returns it with the rest of s
// after the following space. The year, which the format lacks, is the one
// that puts the time closest before ref+24h; the zone is UTC. ok is false if
// s does not start with such a timestamp.
func SyslogStamp(s string, ref time.Time) (t time.Time, rest string, ok bool) {
	if len(s) < 16 || s[3] != ' ' || s[6] != ' ' || s[9] != ':' || s[12] != ':' || s[15] != ' ' {
		return time.Time{}, s, false
	}
	mon, ok := months[s[:3]]
	if !ok {
		return time.Time{}, s, false
	}
	day, err1 := strconv.Atoi(strings.TrimSpace(s[4:6]))
	hh, err2 := strconv.Atoi(s[7:9])
	mm, err3 := strconv.Atoi(s[10:12])
	ss, err4 := strconv.Atoi(s[13:15])
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, s, false
	}
	ref = ref.UTC()
	year := ref.Year()
	if ref.IsZero() {
		year = 1970
	}
	t = time.Date(year, mon, day, hh, mm, ss, 0, time.UTC)
	if !ref.IsZero() && t.After(ref.Add(24*time.Hour)) {
		t = time.Date(year-1, mon, day, hh, mm, ss, 0, time.UTC)
	}
	return t, s[16:], true
}

// syslogLine recognises a traditional syslog file line,
// "Mmm dd hh:mm:ss HOST TAG[PID]: MSG" (or with an RFC 3339 timestamp, as
// rsyslog writes with high precision), and normalises its message.
func syslogLine(line string, ref time.Time) (Result, bool) {
	t, rest, ok := SyslogStamp(line, ref)
	if !ok {
		ts, r, ok2 := strings.Cut(line, " ")
		if !ok2 {
			return Result{}, false
		}
		pt, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return Result{}, false
		}
		t, rest = pt.UTC(), r
	}
	host, rest, ok := strings.Cut(rest, " ")
	if !ok || host == "" {
		return Result{}, false
	}
	tag, msg, ok := strings.Cut(rest, ": ")
	if !ok || tag == "" || strings.Contains(tag, " ") {
		return Result{}, false
	}
	app, pid := tag, ""
	if i := strings.LastIndexByte(tag, '['); i > 0 && strings.HasSuffix(tag, "]") {
		app, pid = tag[:i], tag[i+1:len(tag)-1]
	}
	r := Result{Class: gateway.ClassOther, Time: t, Host: host}
	f, recognised := authMessage(app, msg)
	if recognised {
		r.Class = gateway.ClassAuth
		r.Kind = "sshd"
		if !strings.HasPrefix(app, "sshd") {
			r.Kind = "pam"
		}
	} else {
		f = map[string]any{"message": msg, "process.name": app}
	}
	f["host.name"] = host
	if n, err := strconv.ParseInt(pid, 10, 64); err == nil {
		f["process.pid"] = n
	}
	r.Fields = f
	return r, true
}
