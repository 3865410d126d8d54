package normalize

import (
	"strings"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// isZeek reports whether obj looks like a Zeek JSON log record: Zeek's
// connection 4-tuple is flattened to "id.orig_h" etc. by its JSON writer.
func isZeek(obj map[string]any) bool {
	if _, ok := obj["id.orig_h"]; ok {
		if _, ok := obj["uid"]; ok {
			return true
		}
		if _, ok := obj["ts"]; ok {
			return true
		}
	}
	return false
}

// zeekPath returns the Zeek log name: "_path" when the writer includes it
// (zeek-json streaming logs), the Stream's #path for TSV, else inferred from
// fields that only that log has, else from the sourcetype hint.
func zeekPath(obj map[string]any, hint string) string {
	if p, ok := obj["_path"].(string); ok && p != "" {
		return p
	}
	switch {
	case has(obj, "conn_state") || has(obj, "orig_bytes") || has(obj, "history"):
		return "conn"
	case has(obj, "query") || has(obj, "qtype_name") || has(obj, "trans_id"):
		return "dns"
	case has(obj, "auth_success") || has(obj, "auth_attempts") || has(obj, "host_key"):
		return "ssh"
	}
	h := strings.ToLower(hint)
	for _, p := range []string{"conn", "dns", "ssh"} {
		if strings.HasSuffix(h, p) || strings.Contains(h, p+".log") || strings.Contains(h, ":"+p) || strings.Contains(h, "_"+p) {
			return p
		}
	}
	return ""
}

func has(obj map[string]any, k string) bool {
	_, ok := obj[k]
	return ok
}

// zeekObject maps a Zeek record (from JSON or from TSV via Stream) to ECS.
func zeekObject(obj map[string]any, hint string) Result {
	path := zeekPath(obj, hint)
	f := fieldSetter{}
	f["event.module"] = "zeek"
	if path != "" {
		f["event.dataset"] = "zeek." + path
	}
	f.str("zeek.session_id", obj["uid"])
	f.ip("source.ip", obj["id.orig_h"])
	f.port("source.port", obj["id.orig_p"])
	f.ip("destination.ip", obj["id.resp_h"])
	f.port("destination.port", obj["id.resp_p"])
	f.lower("network.transport", obj["proto"])
	r := Result{Class: gateway.ClassOther, Kind: "zeek", Time: parseTime(obj["ts"])}
	if path != "" {
		r.Kind = "zeek." + path
	}
	switch path {
	case "conn":
		r.Class = gateway.ClassFlow
		f["event.category"] = "network"
		f.lower("network.protocol", obj["service"])
		if d, ok := number(obj["duration"]); ok && d >= 0 {
			f["event.duration"] = int64(d * 1e9)
		}
		f.int("source.bytes", obj["orig_bytes"])
		f.int("destination.bytes", obj["resp_bytes"])
		f.int("source.packets", obj["orig_pkts"])
		f.int("destination.packets", obj["resp_pkts"])
		f.str("zeek.conn.state", obj["conn_state"])
		f.str("zeek.conn.history", obj["history"])
	case "dns":
		r.Class = gateway.ClassDNS
		f["event.category"] = "network"
		f["network.protocol"] = "dns"
		f.str("dns.question.name", obj["query"])
		f.str("dns.question.type", obj["qtype_name"])
		f.str("dns.question.class", obj["qclass_name"])
		f.str("dns.response_code", obj["rcode_name"])
		f.int("dns.id", obj["trans_id"])
		if a := strings_(obj["answers"]); len(a) > 0 {
			f["dns.answers.data"] = a
		}
		if b, ok := boolean(obj["rejected"]); ok {
			f["zeek.dns.rejected"] = b
		}
	case "ssh":
		r.Class = gateway.ClassAuth
		f["event.category"] = "authentication"
		f["network.protocol"] = "ssh"
		if b, ok := boolean(obj["auth_success"]); ok {
			f["event.outcome"] = outcome(b)
		} else {
			f["event.outcome"] = "unknown"
		}
		f.int("zeek.ssh.auth_attempts", obj["auth_attempts"])
		f.str("zeek.ssh.client", obj["client"])
		f.str("zeek.ssh.server", obj["server"])
		f.str("network.direction", lowerAny(obj["direction"]))
	}
	r.Fields = f
	return r
}

func outcome(ok bool) string {
	if ok {
		return "success"
	}
	return "failure"
}

func lowerAny(v any) any {
	if s, ok := v.(string); ok {
		return strings.ToLower(s)
	}
	return v
}

// strings_ returns v as a []string when it is a list of strings (JSON
// array) or a single string; other values yield nil.
func strings_(v any) []string {
	switch x := v.(type) {
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := str(e); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return x
	case string:
		if x == "" || x == "-" {
			return nil
		}
		return []string{x}
	}
	return nil
}
