package syslogd

import (
	"net"
	"net/netip"
	"sync/atomic"
	"time"
)

// Fairness: the connection slots and who may take them.
//
// Syslog over TCP has no acknowledgement and no way to say "come back
// later", so refusing a new connection loses whatever its sender had to
// say. Slots are therefore shared by two rules:
//   - per source: one IPv4 address (or IPv6 /64) holds at most perSource
//     slots, so a single host, misbehaving or compromised, cannot take them
//     all;
//   - eviction: when the limit a newcomer meets is full (its source's, or
//     the global one), the connection of that set that has waited longest
//     for data, longer than the grace period, is closed and its slot given
//     to the newcomer. Only a connection blocked in a read (or in its TLS
//     handshake) counts as waiting: nothing is unread in its socket, so
//     closing it loses nothing already sent (at most a message the sender
//     has only begun), and a connection held back by backpressure, which
//     has unread data, is never taken. A sender whose idle connection was
//     evicted reconnects on its next message, as syslog senders do after
//     any close.
// A newcomer is refused only when no connection of the full set is idle
// long enough: every slot is then in real use.

// conn is one served connection and what eviction needs to know about it.
// Read (used by the framing reader) records when data last arrived and
// whether the reader is waiting for more.
type conn struct {
	net.Conn // as accepted: a *tls.Conn when the listener is TLS

	source netip.Prefix
	remote string
	now    func() time.Time

	lastActive atomic.Int64 // unix nanos of the accept or the last read returning data
	waiting    atomic.Bool  // inside Read or the TLS handshake
	stop       atomic.Bool  // evicted or shutting down: the reader must end

	counted bool // holds a slot; guarded by Server.mu
}

func newConn(c net.Conn, source netip.Prefix, remote string, now func() time.Time) *conn {
	cn := &conn{Conn: c, source: source, remote: remote, now: now}
	cn.touch(now())
	return cn
}

func (c *conn) touch(now time.Time) { c.lastActive.Store(now.UnixNano()) }

func (c *conn) idleSince() time.Time { return time.Unix(0, c.lastActive.Load()) }

// Read reads from the connection, marking it waiting while blocked.
func (c *conn) Read(p []byte) (int, error) {
	c.waiting.Store(true)
	n, err := c.Conn.Read(p)
	c.waiting.Store(false)
	if n > 0 {
		c.touch(c.now())
	}
	return n, err
}

// stopReading ends the connection's reading (its parsed events are still
// stored): the flag for a reader about to set a new deadline, a deadline
// in the past for one already blocked.
func (c *conn) stopReading() {
	c.stop.Store(true)
	_ = c.SetReadDeadline(time.Unix(1, 0))
}

func (c *conn) stopped() bool { return c.stop.Load() }

// sourceKey is the unit the per-source limit counts: an IPv4 address, or
// the /64 of an IPv6 address (one host or LAN usually holds a whole /64,
// so counting single IPv6 addresses would not limit anything).
func sourceKey(ip netip.Addr) netip.Prefix {
	if ip.Is4() {
		return netip.PrefixFrom(ip, 32)
	}
	p, _ := ip.Prefix(64)
	return p
}

// slots is the table of connections; the Server guards it with its mutex.
type slots struct {
	max       int
	perSource int
	grace     time.Duration

	conns    map[*conn]struct{} // every running connection, evicted ones until they end
	active   int                // connections holding a slot
	bySource map[netip.Prefix]int
}

func newSlots(max, perSource int, grace time.Duration) slots {
	return slots{max: max, perSource: perSource, grace: grace,
		conns: map[*conn]struct{}{}, bySource: map[netip.Prefix]int{}}
}

// admission is what admit decided: refused names the full limit when the
// newcomer is turned away; otherwise evicted, if set, is the connection
// that gave its slot up, for the limit evictedFor.
type admission struct {
	refused    string
	evicted    *conn
	evictedFor string
}

// admit gives c a slot, evicting the longest-idle connection of the full
// set if a limit is reached, or refuses it. The caller stops the evicted
// connection's reading; its slot is released at once (the connection only
// flushes what it parsed), so no more than max connections ever read.
func (t *slots) admit(c *conn, now time.Time) admission {
	var a admission
	switch {
	case t.bySource[c.source] >= t.perSource:
		a.evictedFor = ReasonSourceLimit
		a.evicted = t.idlest(now, &c.source)
	case t.active >= t.max:
		a.evictedFor = ReasonConnectionLimit
		a.evicted = t.idlest(now, nil)
	}
	if a.evictedFor != "" && a.evicted == nil {
		return admission{refused: a.evictedFor}
	}
	if a.evicted != nil {
		t.release(a.evicted)
		a.evicted.stop.Store(true)
	}
	t.conns[c] = struct{}{}
	c.counted = true
	t.active++
	t.bySource[c.source]++
	return a
}

// idlest is the counted connection (of source, when given) waiting for
// data the longest, if longer than the grace period.
func (t *slots) idlest(now time.Time, source *netip.Prefix) *conn {
	var best *conn
	var bestAt int64
	limit := now.Add(-t.grace).UnixNano()
	for c := range t.conns {
		if !c.counted || c.stop.Load() || !c.waiting.Load() || (source != nil && c.source != *source) {
			continue
		}
		at := c.lastActive.Load()
		if at >= limit {
			continue
		}
		if best == nil || at < bestAt {
			best, bestAt = c, at
		}
	}
	return best
}

func (t *slots) release(c *conn) {
	if !c.counted {
		return
	}
	c.counted = false
	t.active--
	if t.bySource[c.source]--; t.bySource[c.source] <= 0 {
		delete(t.bySource, c.source)
	}
}

// remove forgets c once its goroutine has ended.
func (t *slots) remove(c *conn) {
	t.release(c)
	delete(t.conns, c)
}
