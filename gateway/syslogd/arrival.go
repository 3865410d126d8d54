package syslogd

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync/atomic"
)

// Syslog has no retry and no request to name, so an event's occurrence is
// its arrival (see package ingest): this gateway process (a random run id,
// so a restart never reuses a key), the connection's number within the
// process, and the message's number on the connection (added by the
// syslog parser). Identical lines are therefore distinct events, in every
// connection and across restarts.
var (
	runID   = newRunID()
	connSeq atomic.Uint64
)

func newRunID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// connKey returns the occurrence key (ingest.Meta.Key) of a new connection.
func connKey() string {
	return "syslog:" + runID + ":" + strconv.FormatUint(connSeq.Add(1), 10)
}
