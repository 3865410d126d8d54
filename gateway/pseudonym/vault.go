// Package pseudonym owns this organisation's pseudonymisation: the Vault
// that maps each keyed pseudonym (wire.Pseudonym) back to the raw value
// it stands for, kept on the gateway's own disk, and the connector wrapper
// that gives connectors the raw values again just before a call leaves.
// The shared ledger only ever sees the keyed hash.
package pseudonym

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/durable"
)

// ErrShortKey is returned by OpenVault for a key under MinKeyLen bytes.
var ErrShortKey = errors.New("pseudonym: pseudonym key must be at least 16 bytes")

var errNotMapping = errors.New("pseudonym: vault record is not a mapping")

// MinKeyLen is the shortest pseudonym key OpenVault accepts.
const MinKeyLen = 16

// Vault remembers which raw value each pseudonym stands for, so this
// organisation's responder can act on the real user or address (an MFA
// challenge needs the user name). Every new mapping is appended to a
// durable.Journal and fsynced before its pseudonym is returned, so no
// pseudonym reaches the ledger unless its mapping survives a crash. A
// failed write or fsync is fatal: the vault refuses new values from then
// on (mappings already durable still resolve). It is safe for concurrent
// use.
type Vault struct {
	key []byte

	mu      sync.Mutex
	values  map[string]string
	journal *durable.Journal
}

type entry struct {
	P string `json:"p"`
	V string `json:"v"`
}

type options struct {
	fs durable.FS
}

// Option configures OpenVault.
type Option func(*options) error

// WithFS sets the vault's file system (default durable.OS).
func WithFS(fsys durable.FS) Option {
	return func(o *options) error {
		if fsys == nil {
			return errors.New("pseudonym: nil FS")
		}
		o.fs = fsys
		return nil
	}
}

// OpenVault loads (or creates) the vault journal at path. key is the
// pseudonym key; it never leaves the gateway. A vault written by earlier
// versions (one JSON object per line, unframed) is converted once, in
// place and atomically, keeping every mapping that parses; a torn line
// (a write a crash interrupted, whose pseudonym was never used) is dropped.
func OpenVault(path string, key []byte, opts ...Option) (*Vault, error) {
	o := options{fs: durable.OS{}}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if len(key) < MinKeyLen {
		return nil, ErrShortKey
	}
	v := &Vault{key: key, values: map[string]string{}}
	j, err := durable.OpenOrConvert(o.fs, path, v.replay, convertJSONL)
	if err != nil {
		return nil, fmt.Errorf("pseudonym: open vault: %w", err)
	}
	v.journal = j
	return v, nil
}

func (v *Vault) replay(record []byte) error {
	var e entry
	if err := json.Unmarshal(record, &e); err != nil || e.P == "" {
		// The frame's checksum held: this is not a torn write.
		return errNotMapping
	}
	v.values[e.P] = e.V
	return nil
}

// convertJSONL turns the vault's former format (one JSON mapping per
// line) into journal records, one per pseudonym, in pseudonym order.
// Lines that do not parse are skipped, not ended on: the former writer
// appended after a torn line, so valid mappings can follow one, sometimes
// on the same line.
func convertJSONL(old []byte) ([][]byte, error) {
	values := map[string]string{}
	for _, line := range bytes.Split(old, []byte("\n")) {
		if e, ok := parseLegacyLine(line); ok {
			values[e.P] = e.V
		}
	}
	keys := make([]string, 0, len(values))
	for p := range values {
		keys = append(keys, p)
	}
	sort.Strings(keys)
	records := make([][]byte, 0, len(keys))
	for _, p := range keys {
		records = append(records, encode(entry{P: p, V: values[p]}))
	}
	return records, nil
}

// parseLegacyLine parses one line of the former format. A line holding a
// torn entry followed by a whole one yields the whole one.
func parseLegacyLine(line []byte) (entry, bool) {
	for at := 0; at >= 0 && at < len(line); {
		var e entry
		if json.Unmarshal(line[at:], &e) == nil && e.P != "" {
			return e, true
		}
		next := bytes.Index(line[at+1:], []byte(`{"p":`))
		if next < 0 {
			break
		}
		at += 1 + next
	}
	return entry{}, false
}

func encode(e entry) []byte {
	b, _ := json.Marshal(e) // two strings always encode
	return b
}

// Pseudonym returns wire.Pseudonym(key, value), recording the mapping
// durably the first time it is seen.
func (v *Vault) Pseudonym(value string) (string, error) {
	p := wire.Pseudonym(v.key, value)
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.values[p]; ok {
		return p, nil
	}
	if err := v.journal.Append(encode(entry{P: p, V: value})); err != nil {
		return "", fmt.Errorf("pseudonym: record in vault: %w", err)
	}
	v.values[p] = value
	return p, nil
}

// Resolve returns the raw value of a pseudonym this gateway created, or
// the input unchanged when it is not a pseudonym.
func (v *Vault) Resolve(s string) (string, bool) {
	if !strings.HasPrefix(s, wire.PseudonymPrefix) {
		return s, true
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	raw, ok := v.values[s]
	return raw, ok
}

// Close closes the journal.
func (v *Vault) Close() error { return v.journal.Close() }
