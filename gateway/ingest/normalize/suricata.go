package normalize

import (
	"strings"

	"github.com/ledgerguard/ledgerguard/gateway"
)

// suricata maps one Suricata eve record.
func suricata(obj map[string]any) Result {
	et, _ := obj["event_type"].(string)
	f := fieldSetter{}
	f["event.module"] = "suricata"
	f["event.dataset"] = "suricata.eve"
	if et != "" {
		f["suricata.eve.event_type"] = et
	}
	f.str("suricata.eve.flow_id", obj["flow_id"])
	f.ip("source.ip", obj["src_ip"])
	f.port("source.port", obj["src_port"])
	f.ip("destination.ip", obj["dest_ip"])
	f.port("destination.port", obj["dest_port"])
	f.lower("network.transport", obj["proto"])
	if p, ok := str(obj["app_proto"]); ok && p != "failed" {
		// "failed" means Suricata could not tell, which is not a protocol.
		f["network.protocol"] = strings.ToLower(p)
	}
	f.str("observer.ingress.interface.name", obj["in_iface"])
	r := Result{Class: gateway.ClassOther, Kind: "suricata." + et, Time: parseTime(obj["timestamp"])}
	if h, ok := str(obj["host"]); ok {
		r.Host = h
		f["host.name"] = h
	}
	switch et {
	case "alert":
		r.Class = gateway.ClassAlert
		f["event.kind"] = "alert"
		if a, ok := obj["alert"].(map[string]any); ok {
			f.int("rule.id", a["signature_id"])
			f.str("rule.name", a["signature"])
			f.str("rule.category", a["category"])
			f.int("event.severity", a["severity"])
			f.str("event.action", a["action"])
		}
		flowCounters(f, obj)
	case "flow", "netflow":
		r.Class = gateway.ClassFlow
		f["event.category"] = "network"
		flowCounters(f, obj)
	case "dns":
		r.Class = gateway.ClassDNS
		f["event.category"] = "network"
		if _, ok := f["network.protocol"]; !ok {
			f["network.protocol"] = "dns"
		}
		if d, ok := obj["dns"].(map[string]any); ok {
			suricataDNS(f, d)
		}
	}
	r.Fields = f
	return r
}

// flowCounters copies the eve flow/netflow byte and packet counters, which
// name the direction from the flow's initiator ("toserver").
func flowCounters(f fieldSetter, obj map[string]any) {
	fl, ok := obj["flow"].(map[string]any)
	if !ok {
		fl, ok = obj["netflow"].(map[string]any)
		if !ok {
			return
		}
		f.int("source.bytes", fl["bytes"])
		f.int("source.packets", fl["pkts"])
		return
	}
	f.int("source.bytes", fl["bytes_toserver"])
	f.int("destination.bytes", fl["bytes_toclient"])
	f.int("source.packets", fl["pkts_toserver"])
	f.int("destination.packets", fl["pkts_toclient"])
	f.str("suricata.eve.flow.state", fl["state"])
}

// suricataDNS handles both eve DNS layouts: version 1 (rrname at the top of
// "dns") and version 2/3 (queries[] and answers[] lists).
func suricataDNS(f fieldSetter, d map[string]any) {
	f.str("dns.type", d["type"])
	f.int("dns.id", d["id"])
	f.str("dns.response_code", d["rcode"])
	if q, ok := str(d["rrname"]); ok {
		f["dns.question.name"] = q
		f.str("dns.question.type", d["rrtype"])
	} else if qs, ok := d["queries"].([]any); ok && len(qs) > 0 {
		if q, ok := qs[0].(map[string]any); ok {
			f.str("dns.question.name", q["rrname"])
			f.str("dns.question.type", q["rrtype"])
		}
	}
	var answers []string
	if as, ok := d["answers"].([]any); ok {
		for _, a := range as {
			if m, ok := a.(map[string]any); ok {
				if s, ok := str(m["rdata"]); ok {
					answers = append(answers, s)
				}
			}
		}
	} else if s, ok := str(d["rdata"]); ok && strings.EqualFold(strAny(d["type"]), "answer") {
		answers = append(answers, s)
	}
	if len(answers) > 0 {
		f["dns.answers.data"] = answers
	}
}

func strAny(v any) string {
	s, _ := str(v)
	return s
}
