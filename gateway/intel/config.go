package intel

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config is the gateway configuration's intel: section (see
// example.yaml in this package): whether the gateway follows the shared
// indicators, the consortium keys it hashes shares with, where the sync
// keeps its journal and how often sightings are reported.
type Config struct {
	// Enabled turns the sync, the matcher (intel-match alerts) and
	// sighting reports on.
	Enabled bool `yaml:"enabled"`
	// Keys are the consortium indicator keys this member holds, each
	// secret in its own file (hex, or at least 16 raw bytes), so the
	// configuration itself holds no secret.
	Keys []KeyConfig `yaml:"keys"`
	// ActiveKey is the id of the key new shares are hashed with.
	ActiveKey string `yaml:"active_key"`
	// Checkpoint is the sync's journal (indicators, catalog and event
	// stream position); "" means intel/sync.journal in the store's
	// directory. Relative paths are relative to the configuration file.
	Checkpoint string `yaml:"checkpoint"`
	// SightingsInterval is how often aggregated sightings are reported
	// (default 10s).
	SightingsInterval time.Duration `yaml:"sightings_interval"`
	// Readers bounds concurrent indicator reads while syncing (default 16).
	Readers int `yaml:"readers"`
	// ShareIdentity is the identity of the ledger profile that TAXII POSTs
	// share as (it needs the intel or author role; the gateway's own
	// identity may only read and report sightings); "" makes TAXII
	// read-only.
	ShareIdentity string `yaml:"share_identity"`
}

// KeyConfig names one key and the file holding its secret.
type KeyConfig struct {
	ID         string `yaml:"id"`
	SecretFile string `yaml:"secret_file"`
}

// DecodeConfig decodes the intel: section with decode (unknown fields
// refused by the caller's decoder), makes relative paths relative to dir,
// applies defaults and validates an enabled section.
func DecodeConfig(decode func(any) error, dir string) (Config, error) {
	var c Config
	if err := decode(&c); err != nil {
		return Config{}, err
	}
	rel := func(p string) string {
		if p != "" && dir != "" && !filepath.IsAbs(p) {
			return filepath.Join(dir, p)
		}
		return p
	}
	c.Checkpoint = rel(c.Checkpoint)
	for i := range c.Keys {
		c.Keys[i].SecretFile = rel(c.Keys[i].SecretFile)
	}
	if c.SightingsInterval == 0 {
		c.SightingsInterval = 10 * time.Second
	}
	if c.Readers == 0 {
		c.Readers = 16
	}
	if !c.Enabled {
		return c, nil
	}
	var errs []error
	if c.SightingsInterval < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("sightings_interval %s is below 100ms", c.SightingsInterval))
	}
	if c.Readers < 1 || c.Readers > 256 {
		errs = append(errs, fmt.Errorf("readers %d must be 1..256", c.Readers))
	}
	seen := map[string]bool{}
	for i, k := range c.Keys {
		switch {
		case k.ID == "":
			errs = append(errs, fmt.Errorf("keys[%d].id is required", i))
		case seen[k.ID]:
			errs = append(errs, fmt.Errorf("keys[%d].id %q is listed twice", i, k.ID))
		case k.SecretFile == "":
			errs = append(errs, fmt.Errorf("keys[%d].secret_file is required", i))
		}
		seen[k.ID] = true
	}
	if c.ActiveKey != "" && !seen[c.ActiveKey] {
		errs = append(errs, fmt.Errorf("active_key %q is not among keys", c.ActiveKey))
	}
	if c.ActiveKey == "" && len(c.Keys) > 0 {
		errs = append(errs, errors.New("active_key is required when keys are listed"))
	}
	return c, errors.Join(errs...)
}

// LoadKeys reads every key's secret; active is the ActiveKey's (zero when
// none is configured: this gateway matches but cannot share).
func (c Config) LoadKeys() (active Key, all []Key, err error) {
	for i, kc := range c.Keys {
		k, err := ReadKey(kc.ID, kc.SecretFile)
		if err != nil {
			return Key{}, nil, fmt.Errorf("intel.keys[%d]: %w", i, err)
		}
		all = append(all, k)
		if kc.ID == c.ActiveKey {
			active = k
		}
	}
	return active, all, nil
}

// ReadKey reads the secret of key id from file, the one format the
// gateway's intel.keys[].secret_file and the CLI's --key-file share:
// surrounding white space trimmed, then hex if it decodes as hex, else the
// raw bytes; at least 16 bytes.
func ReadKey(id, file string) (Key, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return Key{}, fmt.Errorf("key %s: %w", id, err)
	}
	secret := []byte(strings.TrimSpace(string(b)))
	if h, err := hex.DecodeString(string(secret)); err == nil {
		secret = h
	}
	if len(secret) < 16 {
		return Key{}, fmt.Errorf("key %s: the secret in %s is shorter than 16 bytes", id, file)
	}
	return Key{ID: id, Secret: secret}, nil
}
