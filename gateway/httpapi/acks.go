package httpapi

import (
	"sync"
	"time"
)

// acks is Splunk HEC indexer acknowledgement: per data channel, each
// successful request gets the next ack id (from 0, per channel, as Splunk
// numbers them) and remembers the highest log sequence number it stored.
// An ack is true once the anchored tree size exceeds that sequence number,
// that is once every event of the request is in a batch anchored on the
// ledger; like Splunk, an id reported true is then forgotten, and a
// channel unused for the idle timeout is dropped. The state is in memory:
// after a restart clients re-send what was not acknowledged; a re-send on
// the same channel with the same Idempotency-Key maps to the same event ids
// and stores nothing twice (without a key it is a new occurrence).
type acks struct {
	mu          sync.Mutex
	channels    map[string]*channel
	maxChannels int
	maxPerChan  int
	idle        time.Duration
}

type channel struct {
	next    uint64
	pending map[uint64]uint64 // ack id -> highest seq of the request
	used    time.Time
}

func newAcks(maxChannels, maxPerChannel int, idle time.Duration) *acks {
	return &acks{channels: map[string]*channel{}, maxChannels: maxChannels, maxPerChan: maxPerChannel, idle: idle}
}

// room reports whether a request on ch can be given an ack id, checked
// before storing so a full table answers "server busy" rather than storing
// events it cannot acknowledge.
func (a *acks) room(ch string, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.channels[ch]
	if !ok {
		if len(a.channels) >= a.maxChannels {
			a.sweepLocked(now)
		}
		return len(a.channels) < a.maxChannels
	}
	return len(c.pending) < a.maxPerChan
}

// add assigns the next ack id of ch to a request whose highest stored seq
// is maxSeq.
func (a *acks) add(ch string, maxSeq uint64, now time.Time) uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.channels[ch]
	if !ok {
		c = &channel{pending: map[uint64]uint64{}}
		a.channels[ch] = c
	}
	id := c.next
	c.next++
	c.pending[id] = maxSeq
	c.used = now
	return id
}

// status answers one ack id of ch given the anchored tree size; a true
// answer forgets the id. Unknown ids (never issued, already reported, or of
// a forgotten channel) are false, as in Splunk.
func (a *acks) status(ch string, id, anchored uint64, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.channels[ch]
	if !ok {
		return false
	}
	c.used = now
	seq, ok := c.pending[id]
	if !ok || seq >= anchored {
		return false
	}
	delete(c.pending, id)
	return true
}

// sweep drops channels idle longer than the idle timeout.
func (a *acks) sweep(now time.Time) {
	a.mu.Lock()
	a.sweepLocked(now)
	a.mu.Unlock()
}

func (a *acks) sweepLocked(now time.Time) {
	for k, c := range a.channels {
		if now.Sub(c.used) > a.idle {
			delete(a.channels, k)
		}
	}
}
