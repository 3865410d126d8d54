package respond

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ledgerguard/ledgerguard/chaincode/wire"
	"github.com/ledgerguard/ledgerguard/gateway/connector"
)

// Config is the responder's configuration, the `respond:` key of the
// gateway's YAML configuration (and of the file `ledgerguard respond
// --config` reads). Zero fields take the defaults of [DefaultConfig]
// through [Config.ApplyDefaults]; [Config.Validate] names any bad field by
// its YAML path.
type Config struct {
	// Enabled turns the responder on inside `ledgerguard gateway`; the
	// standalone `ledgerguard respond` command ignores it.
	Enabled bool `yaml:"enabled"`
	// GatewayIDs limits execution to responses of these gateways of the
	// responder's organisation; empty executes every response of the org.
	GatewayIDs []string `yaml:"gateway_ids"`
	// CheckpointFile is fabric-gateway's file checkpointer: the position
	// after the last fully handled chaincode event (required).
	CheckpointFile string `yaml:"checkpoint_file"`
	// JournalFile records started and finished executions (required).
	JournalFile string `yaml:"journal_file"`
	// StartBlock is where to start reading events when the checkpoint file
	// is empty; unset starts at the ledger's current height.
	StartBlock *uint64 `yaml:"start_block"`
	// Workers bounds the connector calls made at once (default 4). Up to
	// 8×Workers actions are admitted at once, those calling connectors
	// included: the ledger reads before each hold no worker, nor does an
	// action waiting for its outcome's commit. Connector calls are not
	// ordered across responses, even with one worker.
	Workers int `yaml:"workers"`
	// OutcomeBatch bounds the outcomes recorded in one RecordOutcomes
	// transaction (default 200, at most wire.MaxOutcomesPerTx).
	OutcomeBatch int `yaml:"outcome_batch"`
	// OutcomeSubmitters bounds the RecordOutcomes transactions in flight
	// (default 2): outcomes finished while they commit wait and go
	// together in the next one.
	OutcomeSubmitters int `yaml:"outcome_submitters"`
	// OutcomeLinger is how long a batch waits after its first outcome for
	// more, when a submitter is free (default 10ms).
	OutcomeLinger time.Duration `yaml:"outcome_linger"`
	// Timeout bounds one connector attempt (default 10s).
	Timeout time.Duration `yaml:"timeout"`
	// Retry says how often and how fast a retryable connector failure is
	// retried before the outcome is recorded as failed.
	Retry Retry `yaml:"retry"`
	// LedgerBackoff caps the wait between retries of ledger calls
	// (GetResponse, RecordOutcome) while the ledger is unavailable; those
	// are retried until they succeed or the responder stops (default 10s).
	LedgerBackoff time.Duration `yaml:"ledger_backoff"`
	// Actions maps an action type (isolate_host, mfa_challenge,
	// open_incident, block_ip, notify, webhook) to its connector. A
	// response whose action has no connector is recorded as failed.
	Actions map[string]connector.Config `yaml:"actions"`
}

// Retry bounds connector retries.
type Retry struct {
	// Attempts is the number of calls, the first included (default 3).
	Attempts int `yaml:"attempts"`
	// InitialBackoff is the wait before the second call (default 500ms);
	// it doubles per attempt up to MaxBackoff (default 10s), with jitter.
	InitialBackoff time.Duration `yaml:"initial_backoff"`
	MaxBackoff     time.Duration `yaml:"max_backoff"`
}

// DefaultConfig returns the defaults. The file paths have none.
func DefaultConfig() Config {
	return Config{
		Workers:           4,
		OutcomeBatch:      200,
		OutcomeSubmitters: 2,
		OutcomeLinger:     10 * time.Millisecond,
		Timeout:           10 * time.Second,
		Retry:             Retry{Attempts: 3, InitialBackoff: 500 * time.Millisecond, MaxBackoff: 10 * time.Second},
		LedgerBackoff:     10 * time.Second,
	}
}

// ApplyDefaults fills zero fields from DefaultConfig.
func (c *Config) ApplyDefaults() {
	d := DefaultConfig()
	if c.Workers == 0 {
		c.Workers = d.Workers
	}
	if c.Timeout == 0 {
		c.Timeout = d.Timeout
	}
	if c.OutcomeBatch == 0 {
		c.OutcomeBatch = d.OutcomeBatch
	}
	if c.OutcomeSubmitters == 0 {
		c.OutcomeSubmitters = d.OutcomeSubmitters
	}
	if c.OutcomeLinger == 0 {
		c.OutcomeLinger = d.OutcomeLinger
	}
	if c.Retry.Attempts == 0 {
		c.Retry.Attempts = d.Retry.Attempts
	}
	if c.Retry.InitialBackoff == 0 {
		c.Retry.InitialBackoff = d.Retry.InitialBackoff
	}
	if c.Retry.MaxBackoff == 0 {
		c.Retry.MaxBackoff = d.Retry.MaxBackoff
	}
	if c.LedgerBackoff == 0 {
		c.LedgerBackoff = d.LedgerBackoff
	}
}

// ResolvePaths makes relative file paths relative to dir (the folder of
// the configuration file).
func (c *Config) ResolvePaths(dir string) {
	for _, p := range []*string{&c.CheckpointFile, &c.JournalFile} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
}

// ConfigError is an invalid configuration value; Field is its YAML path
// (e.g. "respond.actions.isolate_host").
type ConfigError struct {
	Field  string
	Reason string
}

// Error implements error.
func (e *ConfigError) Error() string { return fmt.Sprintf("invalid %s: %s", e.Field, e.Reason) }

// Validate checks a configuration after ApplyDefaults. It checks the shape
// of each connector entry; building the connectors (templates, ${VAR}
// expansion) checks the rest.
func (c *Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &ConfigError{Field: "respond." + field, Reason: fmt.Sprintf(format, args...)}
	}
	if c.CheckpointFile == "" {
		return bad("checkpoint_file", "is required")
	}
	if c.JournalFile == "" {
		return bad("journal_file", "is required")
	}
	if filepath.Clean(c.CheckpointFile) == filepath.Clean(c.JournalFile) {
		return bad("journal_file", "must differ from checkpoint_file")
	}
	if c.Workers < 1 || c.Workers > 256 {
		return bad("workers", "%d must be 1..256", c.Workers)
	}
	if c.Timeout <= 0 {
		return bad("timeout", "must be positive")
	}
	if c.OutcomeBatch < 1 || c.OutcomeBatch > wire.MaxOutcomesPerTx {
		return bad("outcome_batch", "%d must be 1..%d", c.OutcomeBatch, wire.MaxOutcomesPerTx)
	}
	if c.OutcomeSubmitters < 1 || c.OutcomeSubmitters > 64 {
		return bad("outcome_submitters", "%d must be 1..64", c.OutcomeSubmitters)
	}
	if c.OutcomeLinger < 0 || c.OutcomeLinger > time.Second {
		return bad("outcome_linger", "%v must be 0..1s", c.OutcomeLinger)
	}
	if c.Retry.Attempts < 1 || c.Retry.Attempts > 100 {
		return bad("retry.attempts", "%d must be 1..100", c.Retry.Attempts)
	}
	if c.Retry.InitialBackoff <= 0 || c.Retry.MaxBackoff < c.Retry.InitialBackoff {
		return bad("retry", "initial_backoff must be positive and at most max_backoff")
	}
	if c.LedgerBackoff <= 0 {
		return bad("ledger_backoff", "must be positive")
	}
	for _, g := range c.GatewayIDs {
		if g == "" || strings.ContainsAny(g, " \t\n") {
			return bad("gateway_ids", "%q is not a gateway id", g)
		}
	}
	types := wire.ActionTypes()
	names := make([]string, 0, len(c.Actions))
	for name := range c.Actions {
		names = append(names, name)
	}
	sort.Strings(names) // report the first bad entry deterministically
	for _, name := range names {
		if !slices.Contains(types, name) {
			return bad("actions."+name, "unknown action type (known: %s)", strings.Join(types, ", "))
		}
		kind, err := c.Actions[name].Kind()
		if err != nil {
			return bad("actions."+name, "%v", err)
		}
		if kind == "webhook" && name != wire.ActionWebhook {
			return bad("actions."+name, "the webhook connector serves only the webhook action (it posts to the action's url parameter)")
		}
	}
	return nil
}

// gatewayAllowed reports whether the responder executes responses of
// gateway id g.
func (c *Config) gatewayAllowed(g string) bool {
	return len(c.GatewayIDs) == 0 || slices.Contains(c.GatewayIDs, g)
}
