// Package normalize recognises the security log shapes the gateway cares
// most about and maps them to an event class and ECS-style field names, so
// that detection models and response policies select on one vocabulary
// whatever the shipper:
//
//   - Zeek conn, dns and ssh logs, as TSV (with #fields/#types headers, see
//     Stream) or JSON → flow, dns, auth (other Zeek logs keep their network
//     fields and the class other);
//   - Suricata eve JSON: event_type alert, flow/netflow, dns → alert, flow,
//     dns (other event types keep their network fields);
//   - Windows Security and Sysmon events as exported by NXLog/Logstash (flat
//     EventID, Channel, event data) or Winlogbeat (winlog.event_id,
//     winlog.event_data): 4624/4625/4648/4672 → auth, 4688 and Sysmon 1 →
//     process, 5156 and Sysmon 3 → flow, Sysmon 22 → dns;
//   - Linux auth/sshd syslog lines (Failed/Accepted password or publickey,
//     Invalid user, PAM authentication failure) → auth.
//
// Guarantees: the functions are pure and total. They never fail and never
// panic on any input: what is not recognised keeps the class other, with the
// decoded object (or {"message": line}) as its fields. Recognised records get
// fields named as in the Elastic Common Schema (source.ip, source.port,
// destination.ip, destination.port, network.transport, network.protocol,
// dns.question.name, user.name, event.outcome, event.code,
// process.command_line, host.name, ...) as flat dotted keys, with ports and
// counters as int64, IPs as strings, so two records of the same kind always
// carry the same types. The original bytes stay in Event.Raw; the mapping
// keeps only what detection and policies use, plus the tool's own
// identifiers (zeek.session_id, suricata.eve.flow_id) to join records back.
package normalize

import (
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
)

// Result is the outcome of normalising one record.
type Result struct {
	// Class is the event class; gateway.ClassOther when not recognised.
	Class gateway.Class
	// Kind names what was recognised, e.g. "zeek.conn", "suricata.alert",
	// "windows.security", "sysmon", "sshd"; empty when nothing was.
	Kind string
	// Fields holds the ECS-style fields (or the unrecognised object as is).
	Fields map[string]any
	// Time is the record's own time, zero if it has none or it is unreadable.
	Time time.Time
	// Host is the originating host named by the record, if any.
	Host string
}

// Object normalises one decoded JSON object (as produced by encoding/json
// with or without UseNumber). hint is the sourcetype the client gave, used
// only to break ties ("zeek", "suricata", "wineventlog", ...); detection
// relies on the object's own keys.
func Object(obj map[string]any, hint string) Result {
	if obj == nil {
		return Result{Class: gateway.ClassOther}
	}
	if isZeek(obj) {
		return zeekObject(obj, hint)
	}
	if _, ok := obj["event_type"]; ok {
		if _, ok := obj["src_ip"]; ok {
			return suricata(obj)
		}
		if _, ok := obj["flow_id"]; ok {
			return suricata(obj)
		}
	}
	if r, ok := windows(obj); ok {
		return r
	}
	// Unrecognised: keep the object, but still honour the ECS/Beats
	// conventions for time and host so time-based queries work.
	r := kept(func(key string) (any, bool) { v, ok := obj[key]; return v, ok })
	r.Fields = obj
	return r
}

// kept is Object's result for an object it does not recognise, but for
// Fields: get returns the object's member named key. It is shared by
// Object and Shallow so the two read the same members the same way.
func kept(get func(key string) (any, bool)) Result {
	r := Result{Class: ecsClass(get)}
	if ts, ok := get("@timestamp"); ok {
		r.Time = parseTime(ts)
	}
	host, _ := get("host")
	if h, ok := host.(map[string]any); ok {
		r.Host, _ = str(h["name"])
	} else if v, ok := get("host.name"); ok {
		if h, ok := str(v); ok {
			r.Host = h
		}
	}
	return r
}

// MayRecognise reports whether an object with a member named key may be
// one Object recognises (a Zeek, Suricata or Windows record): each of
// those shapes has one of these names. An object with none of them is
// kept as decoded, so a decoder may leave it undecoded (Shallow).
func MayRecognise(key []byte) bool {
	return shallowName(key) == recognisable
}

// Shallow is Object for an object that was not decoded into a map (see
// ingest.Decoder.MembersShallow): fields are its members, names distinct,
// and value decodes a member's raw value as the map would hold it. ok is
// false when Object may recognise the object (MayRecognise) or a value
// does not decode: the caller must then decode the object and call
// Object. Otherwise the Result is Object's but for Fields, which is nil:
// the caller keeps the object's canonical encoding as the event's fields.
// Only the members kept records are read by are decoded (dns.question.name,
// event.category, event, @timestamp, host, host.name).
func Shallow(fields ingest.Fields, value func(raw []byte) (any, bool)) (r Result, ok bool) {
	// at[k] is 1 + the index in fields of keptNames[k]; at[len(at)-1]
	// is 1 when a name MayRecognise takes is there. They depend on the
	// names alone, which lines of one source repeat: worked out once per
	// list of names (a switch per member, 41 of an NSL-KDD row) and kept
	// in the decoder's memo.
	at, known := fields.Memo()
	if !known {
		at = shallowAt(fields)
		fields.SetMemo(at)
	}
	if at[len(at)-1] != 0 {
		return Result{}, false
	}
	ok = true
	r = kept(func(key string) (any, bool) {
		k := keptName(key)
		if k < 0 || at[k] == 0 {
			return nil, false
		}
		v, decoded := value(fields.Raw(int(at[k]) - 1))
		if !decoded {
			ok = false
		}
		return v, decoded
	})
	if !ok {
		return Result{}, false
	}
	return r, true
}

// shallowAt is Shallow's memo for the names of fields (see Shallow).
func shallowAt(fields ingest.Fields) (at ingest.FieldsMemo) {
	for i := range fields.Len() {
		switch k := shallowName(fields.Key(i)); {
		case k == recognisable:
			at[len(at)-1] = 1
			return at
		case k >= 0:
			at[k] = int32(i + 1)
		}
	}
	return at
}

// The memo holds one index per kept name and the recognisable flag.
var _ [len(ingest.FieldsMemo{}) - len(keptNames) - 1]struct{}

// keptNames are the members kept (and ecsClass) read.
var keptNames = [...]string{"dns.question.name", "event.category", "event", "@timestamp", "host", "host.name"}

// keptName returns key's index in keptNames, -1 for none.
func keptName[K string | []byte](key K) int {
	return max(shallowName(key), -1)
}

// recognisable is shallowName's answer for a name MayRecognise takes.
const recognisable = -2

// shallowName is keptName, or recognisable for a name MayRecognise
// takes, in one switch: Shallow asks both of every member of the
// record (41 of an NSL-KDD row).
func shallowName[K string | []byte](key K) int {
	switch string(key) {
	case "id.orig_h", "event_type", "winlog", "EventID":
		return recognisable
	case "dns.question.name":
		return 0
	case "event.category":
		return 1
	case "event":
		return 2
	case "@timestamp":
		return 3
	case "host":
		return 4
	case "host.name":
		return 5
	}
	return -1
}

// Message normalises the free-text message of a syslog record whose header
// was already parsed (by the syslog package): app is the APP-NAME/TAG
// ("sshd", "sshd(pam_unix)", "su"), msg the text after "app[pid]: ". It
// recognises the sshd and PAM authentication messages; ok is false for
// anything else, and the caller keeps its own fields.
func Message(app, msg string) (fields map[string]any, ok bool) {
	return authMessage(app, msg)
}

// Event assembles the gateway event for one record: m carries the explicit
// metadata (from the request or the protocol envelope), which wins; the
// record's own host and recognised kind fill Host and Sourcetype only when
// m leaves them empty. t, when non-zero, is an explicit event time (such as
// HEC's "time") that wins over the record's own; otherwise r.Time, otherwise
// m.Received. raw is copied.
func (r Result) Event(m ingest.Meta, raw []byte, t time.Time) gateway.Event {
	if m.Host == "" {
		m.Host = r.Host
	}
	if m.Sourcetype == "" {
		m.Sourcetype = r.Kind
	}
	if t.IsZero() {
		t = r.Time
	}
	return ingest.NewEvent(m, raw, t, r.Class, r.Fields)
}

// ecsClass maps an ECS event.category (flat "event.category" key or nested
// event{category}, a string or a list) to the gateway's class, so shippers
// that already speak ECS are classified without a per-source parser. A
// record with dns.question.name is dns whatever its category says.
func ecsClass(get func(key string) (any, bool)) gateway.Class {
	if _, ok := get("dns.question.name"); ok {
		return gateway.ClassDNS
	}
	cat, ok := get("event.category")
	if !ok {
		ev, _ := get("event")
		if ev, isMap := ev.(map[string]any); isMap {
			cat, ok = ev["category"]
		}
	}
	if !ok {
		return gateway.ClassOther
	}
	var cats []string
	switch v := cat.(type) {
	case string:
		cats = []string{v}
	case []any:
		for _, c := range v {
			if s, isStr := c.(string); isStr {
				cats = append(cats, s)
			}
		}
	}
	for _, c := range cats {
		switch c {
		case "network":
			return gateway.ClassFlow
		case "authentication", "iam":
			return gateway.ClassAuth
		case "process":
			return gateway.ClassProcess
		case "intrusion_detection", "threat":
			return gateway.ClassAlert
		}
	}
	return gateway.ClassOther
}
