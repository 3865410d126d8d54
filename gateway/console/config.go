package console

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
)

// Config is the console: section of the gateway's configuration. Zero
// values take the defaults of ApplyDefaults.
type Config struct {
	// Enabled serves the console at /console/.
	Enabled bool `yaml:"enabled"`
	// Profile is the Fabric connection profile of the console's ledger
	// identity ("" = ledger.profile).
	Profile string `yaml:"profile"`
	// Identity is the enrolled identity of the profile's organisation the
	// console reads and submits as ("" = the profile's admin). The ledger's
	// access rules apply to it: an analyst may acknowledge and resolve
	// alerts, only an admin may approve responses.
	Identity string `yaml:"identity"`
	// SessionTTL is how long a sign-in lasts (default 8h).
	SessionTTL time.Duration `yaml:"session_ttl"`
	// MaxSessions bounds the in-memory session store (default 10000); the
	// oldest session is dropped when it is full.
	MaxSessions int `yaml:"max_sessions"`
	// SecureCookie marks cookies Secure (only sent over HTTPS). Default:
	// true when the gateway serves TLS (set by the caller with
	// DefaultSecure).
	SecureCookie *bool `yaml:"secure_cookie"`
	// PageSize is the number of records a list page asks the ledger for
	// (default 50, at most wire.MaxPageSize).
	PageSize int `yaml:"page_size"`
	// MaxBundleBytes is the largest evidence bundle an upload may carry
	// (default 256 MiB).
	MaxBundleBytes int64 `yaml:"max_bundle_bytes"`
	// MaxJobs bounds the verifications running at once (default 2).
	MaxJobs int `yaml:"max_jobs"`
	// SampleInterval is how often the overview's counters are sampled
	// (default 10s); the charts keep the last hour.
	SampleInterval time.Duration `yaml:"sample_interval"`
	// LedgerTimeout bounds each ledger call a page makes (default 30s).
	LedgerTimeout time.Duration `yaml:"ledger_timeout"`
}

// ApplyDefaults fills zero fields.
func (c *Config) ApplyDefaults() {
	if c.SessionTTL == 0 {
		c.SessionTTL = 8 * time.Hour
	}
	if c.MaxSessions == 0 {
		c.MaxSessions = 10000
	}
	if c.PageSize == 0 {
		c.PageSize = 50
	}
	if c.MaxBundleBytes == 0 {
		c.MaxBundleBytes = 256 << 20
	}
	if c.MaxJobs == 0 {
		c.MaxJobs = 2
	}
	if c.SampleInterval == 0 {
		c.SampleInterval = 10 * time.Second
	}
	if c.LedgerTimeout == 0 {
		c.LedgerTimeout = 30 * time.Second
	}
}

// DefaultSecure sets SecureCookie to tls unless the file set it.
func (c *Config) DefaultSecure(tls bool) {
	if c.SecureCookie == nil {
		c.SecureCookie = &tls
	}
}

// ConfigError is an invalid console setting.
type ConfigError struct {
	Field, Msg string
}

func (e *ConfigError) Error() string { return "console." + e.Field + ": " + e.Msg }

// Validate checks the settings (after ApplyDefaults).
func (c *Config) Validate() error {
	switch {
	case c.SessionTTL < time.Minute:
		return &ConfigError{"session_ttl", fmt.Sprintf("%s is shorter than a minute", c.SessionTTL)}
	case c.MaxSessions < 1:
		return &ConfigError{"max_sessions", "must be at least 1"}
	case c.PageSize < 1 || c.PageSize > wire.MaxPageSize:
		return &ConfigError{"page_size", fmt.Sprintf("%d must be 1..%d", c.PageSize, wire.MaxPageSize)}
	case c.MaxBundleBytes < 1024:
		return &ConfigError{"max_bundle_bytes", "must be at least 1024"}
	case c.MaxJobs < 1:
		return &ConfigError{"max_jobs", "must be at least 1"}
	case c.SampleInterval < 100*time.Millisecond || c.SampleInterval > 5*time.Minute:
		return &ConfigError{"sample_interval", "must be 100ms..5m"}
	case c.LedgerTimeout < time.Second:
		return &ConfigError{"ledger_timeout", "must be at least 1s"}
	}
	return nil
}

// DecodeConfig decodes the section with decode (config.Section.Decode),
// resolves a relative profile against dir (the configuration file's
// folder), applies the defaults and validates an enabled console.
func DecodeConfig(decode func(any) error, dir string) (Config, error) {
	var c Config
	if err := decode(&c); err != nil {
		return Config{}, err
	}
	if c.Profile != "" && dir != "" && !filepath.IsAbs(c.Profile) {
		c.Profile = filepath.Join(dir, c.Profile)
	}
	if c.Enabled {
		c.ApplyDefaults()
		if err := c.Validate(); err != nil {
			return Config{}, err
		}
	}
	return c, nil
}
