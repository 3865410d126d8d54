package alerting

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// Vault remembers, on the gateway's own disk, which raw value each
// pseudonym stands for, so this organisation's responder can act on the
// real user or address (an MFA challenge needs the user name) while the
// shared ledger only ever holds the keyed hash. Entries are appended to a
// journal and fsynced before the pseudonym is used in an alert.
type Vault struct {
	key  []byte
	path string

	mu     sync.Mutex
	values map[string]string
	f      *os.File
}

type vaultEntry struct {
	P string `json:"p"`
	V string `json:"v"`
}

// OpenVault loads (or creates) the journal at path. key is the pseudonym
// key; it never leaves the gateway.
func OpenVault(path string, key []byte) (*Vault, error) {
	if len(key) < 16 {
		return nil, errors.New("alerting: pseudonym key must be at least 16 bytes")
	}
	v := &Vault{key: key, path: path, values: map[string]string{}}
	if f, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var e vaultEntry
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				// A torn last line from a crash: everything before it was
				// fsynced and is kept; the value will be re-recorded.
				break
			}
			v.values[e.P] = e.V
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("alerting: read vault %s: %w", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("alerting: open vault: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("alerting: open vault: %w", err)
	}
	v.f = f
	return v, nil
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
	b, err := json.Marshal(vaultEntry{P: p, V: value})
	if err != nil {
		return "", err
	}
	if _, err := v.f.Write(append(b, '\n')); err != nil {
		return "", fmt.Errorf("alerting: write vault: %w", err)
	}
	if err := v.f.Sync(); err != nil {
		return "", fmt.Errorf("alerting: fsync vault: %w", err)
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
func (v *Vault) Close() error { return v.f.Close() }
