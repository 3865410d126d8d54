package syslogd

import (
	"net"
	"strings"
	"testing"
)

// Syslog has no retry, so identical lines are distinct events in arrival
// order, on one connection and across connections (issue 10, finding 5);
// a message whose time has no canonical encoding is skipped alone.
func TestIdenticalLinesAreDistinctEvents(t *testing.T) {
	_, st, obs, addr := start(t, "127.0.0.0/8")
	line := "<38>Nov 25 10:00:00 bastion sshd[4242]: Failed password for root from 203.0.113.9 port 50022 ssh2\n"
	send := func(s string) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
		if err := conn.Close(); err != nil {
			t.Fatal(err)
		}
	}
	send(strings.Repeat(line, 5))
	waitFor(t, "5 stored events", func() bool { return st.Size() == 5 })
	send(strings.Repeat(line, 2) + octet("<34>1 9999-12-31T23:59:59-00:01 host1 app - - - after year 9999 in UTC") + line)
	// Counted after the store returns: wait for the count too.
	waitFor(t, "8 stored and counted events", func() bool { a, _ := obs.get(); return st.Size() == 8 && a == 8 })
	accepted, rejected := obs.get()
	if accepted != 8 || rejected["invalid"] != 1 {
		t.Errorf("accepted %d, rejected %v; want 8 and invalid:1", accepted, rejected)
	}
}
