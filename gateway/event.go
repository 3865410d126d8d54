// Package gateway holds the domain of the ledgerguard gateway: the one Event
// shape every ingest protocol is normalised into, and the interfaces the
// adapters (HTTP API, store, Merkle log, ledger client, scorer, responder)
// implement, the one vocabulary of failure kinds (Code, errors.go), the
// client credentials (Credential) and anchoring progress (Progress, owned
// by gateway/anchor). It imports no adapter; gateway/cmd wires them
// together.
package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Class is the coarse kind of an event (OCSF-style category) that detection
// models and policies select on.
type Class string

// The classes the normalisers assign. Anything not recognised is ClassOther.
const (
	ClassFlow    Class = "flow"
	ClassDNS     Class = "dns"
	ClassAuth    Class = "auth"
	ClassProcess Class = "process"
	ClassAlert   Class = "alert"
	ClassOther   Class = "other"
)

// Event is one normalised telemetry record. Its canonical bytes (Canonical)
// are the Merkle leaf, so every field that is part of the evidence is here
// and nothing that changes after acknowledgement is.
//
// ID is derived from the content (see ComputeID) so a client's retry of the
// same bytes from the same source yields the same id; Seq is the position in
// the gateway's append-only log and is assigned by the store.
type Event struct {
	ID         string            `json:"id"`
	Seq        uint64            `json:"seq"`
	Received   time.Time         `json:"received"`
	Time       time.Time         `json:"time"`
	Source     string            `json:"source"`
	Sourcetype string            `json:"sourcetype"`
	Host       string            `json:"host,omitempty"`
	Index      string            `json:"index,omitempty"`
	Class      Class             `json:"class"`
	Fields     map[string]any    `json:"fields,omitempty"`
	Raw        []byte            `json:"raw"`
	Labels     map[string]string `json:"labels,omitempty"`
}

// ComputeID returns the event id: lowercase hex SHA-256 over the source,
// sourcetype and original bytes, length-prefixed so no two different inputs
// collide by concatenation.
func ComputeID(source, sourcetype string, raw []byte) string {
	h := sha256.New()
	for _, part := range [][]byte{[]byte(source), []byte(sourcetype), raw} {
		var n [8]byte
		l := uint64(len(part))
		for i := 7; i >= 0; i-- {
			n[i] = byte(l)
			l >>= 8
		}
		h.Write(n[:])
		h.Write(part)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Canonical returns the event's canonical JSON encoding: struct fields in
// declaration order, map keys sorted (encoding/json guarantees both), times
// in RFC 3339 with nanoseconds in UTC. The same Event always yields the same
// bytes, which is what makes it usable as a Merkle leaf.
func (e Event) Canonical() ([]byte, error) {
	e.Received = e.Received.UTC()
	e.Time = e.Time.UTC()
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("canonical event %s: %w", e.ID, err)
	}
	return b, nil
}
