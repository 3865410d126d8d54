package syslog

import (
	"errors"
	"io"
	"strconv"
	"time"

	gosyslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/auto"
	"github.com/leodido/go-syslog/v4/rfc3164"
	"github.com/leodido/go-syslog/v4/rfc5424"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"github.com/ledgerguard/ledgerguard/gateway/ingest/normalize"
)

// Parser turns syslog messages into events. It holds a parsing machine and
// is not safe for concurrent use: use one per connection.
type Parser struct {
	m gosyslog.Machine
	n int
}

// NewParser returns a Parser accepting RFC 5424 and RFC 3164 messages
// (the latter also with RFC 3339 timestamps or zero-padded days, which
// rsyslog and network devices send).
func NewParser() *Parser {
	return &Parser{m: auto.NewMachine(
		auto.WithRFC3164Options(rfc3164.WithRFC3339(), rfc3164.WithLenientDay(), rfc3164.WithSecondFractions()),
		auto.WithRFC5424Options(rfc5424.WithCompliantMsg()),
	)}
}

// Parse parses one message (without framing) into an event with the
// defaults and receive time of m. Hostname, app name and time in the
// message override m's; the event's Raw is msg. A message that is neither
// RFC 5424 nor RFC 3164 is gateway.CodeInvalid, and one whose values cannot
// be stored (a timestamp outside the years 0000–9999 once in UTC) is
// gateway.CodeInvalidField; neither yields an event.
//
// Event ids: syslog has no retry, so an event's occurrence is its arrival:
// m.Key (the transport's connection key) plus the message's 0-based number
// on this Parser (every message counts, refused ones too), so identical
// lines are distinct events (see package ingest).
func (p *Parser) Parse(msg []byte, m ingest.Meta) (gateway.Event, error) {
	n := p.n
	p.n++
	parsed, err := p.m.Parse(msg)
	if err != nil || parsed == nil || !parsed.Valid() {
		if err == nil {
			err = errors.New("not a valid syslog message")
		}
		return gateway.Event{}, ingest.Wrap(gateway.CodeInvalid, proto, 0, n, "neither RFC 5424 nor RFC 3164", err)
	}
	var base *gosyslog.Base
	var sd *map[string]map[string]string
	format := "rfc3164"
	switch x := parsed.(type) {
	case *rfc5424.SyslogMessage:
		base, sd, format = &x.Base, x.StructuredData, "rfc5424"
	case *rfc3164.SyslogMessage:
		base = &x.Base
	default:
		return gateway.Event{}, ingest.Errorf(gateway.CodeInternal, proto, 0, n, "unexpected message type %T", parsed)
	}
	f := map[string]any{"log.syslog.format": format}
	if base.Priority != nil {
		f["log.syslog.priority"] = int64(*base.Priority)
		f["log.syslog.facility.code"] = int64(*base.Facility)
		f["log.syslog.severity.code"] = int64(*base.Severity)
		if s := parsed.FacilityLevel(); s != nil {
			f["log.syslog.facility.name"] = *s
		}
		if s := parsed.SeverityLevel(); s != nil {
			f["log.syslog.severity.name"] = *s
		}
	}
	app, text := "", ""
	if base.Appname != nil {
		app = *base.Appname
		f["process.name"] = app
	}
	if base.ProcID != nil {
		if pid, err := strconv.ParseInt(*base.ProcID, 10, 64); err == nil {
			f["process.pid"] = pid
		} else {
			f["log.syslog.procid"] = *base.ProcID
		}
	}
	if base.MsgID != nil {
		f["log.syslog.msgid"] = *base.MsgID
	}
	if base.Message != nil {
		text = *base.Message
		f["message"] = text
	}
	if sd != nil && len(*sd) > 0 {
		s := make(map[string]any, len(*sd))
		for id, params := range *sd {
			pm := make(map[string]any, len(params))
			for k, v := range params {
				pm[k] = v
			}
			s[id] = pm
		}
		f["log.syslog.structured_data"] = s
	}
	class := gateway.ClassOther
	if af, ok := normalize.Message(app, text); ok {
		class = gateway.ClassAuth
		for k, v := range af {
			f[k] = v
		}
	}
	if base.Hostname != nil && *base.Hostname != "" && *base.Hostname != "-" {
		m.Host = *base.Hostname
		f["host.name"] = m.Host
	}
	if m.Sourcetype == "" {
		m.Sourcetype = "syslog"
	}
	var t time.Time
	if base.Timestamp != nil {
		t = resolveYear(*base.Timestamp, m.Received)
	}
	ev := ingest.NewEvent(m.At(n), msg, t, class, f)
	if ie := ingest.Validate(proto, 0, n, ev); ie != nil {
		return gateway.Event{}, ie
	}
	return ev, nil
}

// resolveYear gives a yearless RFC 3164 time (year 0) the year that puts it
// closest before ref + 24h.
func resolveYear(t, ref time.Time) time.Time {
	if t.Year() != 0 || ref.IsZero() {
		return t.UTC()
	}
	t = t.AddDate(ref.Year(), 0, 0)
	if t.After(ref.Add(24 * time.Hour)) {
		t = t.AddDate(-1, 0, 0)
	}
	return t.UTC()
}

// ReadAll reads every message of a stream (an upload, a test) into events,
// stopping at the first framing or parse error; lim bounds the message size
// (MaxLineBytes) and count (MaxEvents). A connection handler that wants to
// skip bad messages uses Reader and Parser directly.
func ReadAll(r io.Reader, m ingest.Meta, lim ingest.Limits) ([]gateway.Event, error) {
	lim = lim.WithDefaults()
	rd := NewReader(r, lim.MaxLineBytes)
	p := NewParser()
	var events []gateway.Event
	for {
		msg, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return events, nil
		}
		if err != nil {
			return nil, err
		}
		if err := lim.CheckEvents(proto, len(events)+1, 0); err != nil {
			return nil, err
		}
		ev, err := p.Parse(msg, m)
		if err != nil {
			return nil, err
		}
		events = append(events, ev)
	}
}
