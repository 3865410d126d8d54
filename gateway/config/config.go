// Package config is the gateway's configuration: one YAML file, a few
// LEDGERGUARD_* environment overrides for what operators change per
// deployment, and validation at start-up. It guarantees that a Config
// returned by Load is complete (every default applied), internally
// consistent, and safe for its mode: a production configuration never
// carries a development credential or a short token. Every validation
// failure names the offending field by its YAML path, so an operator can fix
// the file without reading code.
//
// config assembles the adapters' own settings (Config.HTTPAPI,
// Config.AnchorBackpressure) and takes each default from the package that owns it
// (store, ingest, anchor); it depends on no pipeline: a section a pipeline
// decodes itself (respond:) is kept as raw YAML in a Section.
//
// The YAML is decoded with go.yaml.in/yaml/v3 (the YAML organisation's
// maintained continuation of gopkg.in/yaml.v3) with unknown fields refused,
// so a misspelt key fails loudly instead of silently keeping a default.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/anchor"
	"github.com/ledgerguard/ledgerguard/gateway/httpapi"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"github.com/ledgerguard/ledgerguard/gateway/store"
	"github.com/ledgerguard/ledgerguard/gateway/syslogd"
)

// Mode says which safety rules apply.
type Mode string

// The two modes. Development allows the committed local-only credentials;
// production refuses them.
const (
	ModeDevelopment Mode = "development"
	ModeProduction  Mode = "production"
)

// Scope is what a credential may do (gateway.Scope).
type Scope = gateway.Scope

// The scopes a credential can hold.
const (
	ScopeHEC           = gateway.ScopeHEC
	ScopeElasticsearch = gateway.ScopeElasticsearch
	ScopeOTLP          = gateway.ScopeOTLP
	ScopeNDJSON        = gateway.ScopeNDJSON
	ScopeRead          = gateway.ScopeRead
	ScopeMetrics       = gateway.ScopeMetrics
)

// Scopes lists every valid scope.
var Scopes = gateway.Scopes

// MinProductionTokenLength is the shortest token production accepts: 32
// characters of a random token carry well over 128 bits.
const MinProductionTokenLength = 32

// DevTokens are the development credentials committed in
// network/gateway-dev.yaml. Production refuses any of them; a test keeps
// this list and that file in step.
var DevTokens = []string{
	"dev-hec-token-not-secret",
	"dev-hec-noack-token-not-secret",
	"dev-es-apikey-not-secret",
	"dev-otlp-token-not-secret",
	"dev-ndjson-token-not-secret",
	"dev-read-token-not-secret",
	"dev-metrics-token-not-secret",
	"dev-analyst-token-not-secret",
	"dev-intel-token-not-secret",
}

// Config is the whole gateway configuration.
type Config struct {
	// Mode is development (default) or production.
	Mode Mode `yaml:"mode"`
	// GatewayID names this gateway in every batch it seals (with the MSP id
	// of its ledger identity); it must never change for a given store.
	GatewayID string `yaml:"gateway_id"`

	// MemoryLimit is the Go runtime's soft memory limit (see MemoryLimit).
	MemoryLimit MemoryLimit `yaml:"memory_limit"`

	Log           Log           `yaml:"log"`
	HTTP          HTTP          `yaml:"http"`
	Limits        Limits        `yaml:"limits"`
	Syslog        Syslog        `yaml:"syslog"`
	Metrics       Metrics       `yaml:"metrics"`
	Store         Store         `yaml:"store"`
	Ledger        Ledger        `yaml:"ledger"`
	Backpressure  Backpressure  `yaml:"backpressure"`
	HEC           HEC           `yaml:"hec"`
	Elasticsearch Elasticsearch `yaml:"elasticsearch"`
	Detection     Detection     `yaml:"detection"`
	Debug         Debug         `yaml:"debug"`
	// Respond configures the responder that carries out this
	// organisation's response requests (see gateway/respond/example.yaml);
	// the respond package decodes and validates it (respond.DecodeConfig).
	Respond Section `yaml:"respond"`
	// Console configures the web console at /console/ (see the console
	// section of example.yaml); gateway/console decodes and validates it.
	Console Section `yaml:"console"`
	// Intel configures threat intelligence: the sync of shared
	// indicators, intel-match alerts and sightings (gateway/intel decodes
	// and validates it with intel.DecodeConfig; see its example.yaml).
	Intel Section `yaml:"intel"`
	// TAXII configures the TAXII 2.1 server at /taxii2/ (gateway/taxii
	// decodes and validates it with taxii.DecodeConfig).
	TAXII       Section      `yaml:"taxii"`
	Credentials []Credential `yaml:"credentials"`
}

// Section is a part of the file that its owner decodes itself, so this
// package does not depend on it: the raw YAML, and the folder of the file
// its relative paths are resolved against (set by Load when the section is
// present).
type Section struct {
	Node yaml.Node
	Dir  string
}

// UnmarshalYAML keeps the node.
func (s *Section) UnmarshalYAML(n *yaml.Node) error {
	s.Node = *n
	return nil
}

// Present reports whether the file has the section.
func (s Section) Present() bool { return s.Node.Kind != 0 }

// Decode decodes the section into v with unknown fields refused, as the
// rest of the file is; an absent section leaves v as it is.
func (s Section) Decode(v any) error {
	if !s.Present() {
		return nil
	}
	b, err := yaml.Marshal(&s.Node)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// Detection configures the ONNX models that score anchored batches and the
// alerts raised from their verdicts.
type Detection struct {
	// Enabled turns scoring and alerting on.
	Enabled bool `yaml:"enabled"`
	// ModelsDir holds models as <name>/<version>/{model.onnx,manifest.json};
	// the newest version of each is served and reloaded when it changes.
	ModelsDir string `yaml:"models_dir"`
	// Library is the ONNX Runtime shared library (make setup installs it
	// at bin/onnxruntime/libonnxruntime.so.1).
	Library string `yaml:"onnxruntime_library"`
	// ReloadInterval is how often the models folder is checked for changes.
	ReloadInterval time.Duration `yaml:"reload_interval"`
	// Strict (default true) serves only models whose exact file sha256 and
	// feature spec are registered and approved on the ledger's models
	// contract, and unloads a model once its approval is revoked. A model
	// on disk that is not approved is skipped and logged; if none is
	// approved the gateway runs with detection idle. false serves every
	// model on disk (with a warning at start-up).
	Strict bool `yaml:"strict"`
	// LedgerCheckInterval is how often strict mode re-reads the approved
	// models from the ledger (default 30s).
	LedgerCheckInterval time.Duration `yaml:"ledger_check_interval"`
	// PseudonymKeyEnv names the environment variable holding the key that
	// pseudonymises user names and private addresses before alerts reach
	// the shared ledger; empty leaves them in clear. The key never appears
	// in the file itself.
	PseudonymKeyEnv string `yaml:"pseudonym_key_env"`
}

// Log configures the structured logger.
type Log struct {
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level"`
	// Format is json (default) or text.
	Format string `yaml:"format"`
}

// TLS names certificate files. Both or neither of CertFile and KeyFile
// must be set; ClientCAFile, where supported, demands client certificates
// signed by one of its CAs.
type TLS struct {
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	ClientCAFile string `yaml:"client_ca_file"`
}

// Enabled reports whether a certificate is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" }

// HTTP configures the one HTTP listener for every HTTP protocol and the API.
type HTTP struct {
	Listen            string        `yaml:"listen"`
	TLS               TLS           `yaml:"tls"`
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	ShutdownTimeout   time.Duration `yaml:"shutdown_timeout"`
}

// Limits bounds one request (see ingest.Limits).
type Limits struct {
	MaxBodyBytes         int64 `yaml:"max_body_bytes"`
	MaxEvents            int   `yaml:"max_events"`
	MaxLineBytes         int   `yaml:"max_line_bytes"`
	MaxDepth             int   `yaml:"max_depth"`
	MaxDecodeBytes       int64 `yaml:"max_decode_bytes"`
	MaxConcurrentDecodes int   `yaml:"max_concurrent_decodes"`
	// MaxDecodingBytes bounds the estimated decoded bytes of the requests
	// being decoded and stored at once (ingest.Limits.MaxDecodingBytes);
	// 0: max_concurrent_decodes maximum-size bodies, or a quarter of the
	// memory limit in effect when that is less (see WithMemoryLimit).
	MaxDecodingBytes int64         `yaml:"max_decoding_bytes"`
	DecodeWait       time.Duration `yaml:"decode_wait"`
}

// DecodingShare is the part of the Go runtime's memory limit that requests
// being decoded and stored may hold by default: the rest is the alerter's
// read window, the store, detection and the garbage collector's headroom.
// With all of it available to requests (the ingest bench's 32 clients
// decoding at once held about 350 MB of 768 MiB), the heap's live part came
// so near the limit that the runtime collected nearly without pause.
const DecodingShare = 4

// WithMemoryLimit returns l with MaxDecodingBytes set, when it is not
// configured and there is a limit (the runtime's memory limit in bytes, as
// MemoryLimit.Apply returns it), to a DecodingShare'th of it if that is
// below the default of MaxConcurrentDecodes maximum-size bodies: a larger
// machine's limit never loosens the bound on what is weighed by its body
// (HEC raw), nor on estimates clamped to the whole budget.
func (l Limits) WithMemoryLimit(limit int64) Limits {
	if l.MaxDecodingBytes != 0 || limit <= 0 || limit == math.MaxInt64 {
		return l
	}
	d := l.Ingest().WithDefaults()
	if share, bodies := limit/DecodingShare, int64(d.MaxConcurrentDecodes)*d.MaxBodyBytes; share < bodies {
		l.MaxDecodingBytes = share
	}
	return l
}

// Ingest is the ingest parsers' limits from this section.
func (l Limits) Ingest() ingest.Limits {
	return ingest.Limits{MaxBodyBytes: l.MaxBodyBytes, MaxEvents: l.MaxEvents, MaxLineBytes: l.MaxLineBytes,
		MaxDepth: l.MaxDepth, MaxDecodeBytes: l.MaxDecodeBytes, MaxConcurrentDecodes: l.MaxConcurrentDecodes,
		MaxDecodingBytes: l.MaxDecodingBytes, DecodeWait: l.DecodeWait}
}

// Syslog configures the TCP syslog listener.
type Syslog struct {
	Enabled bool   `yaml:"enabled"`
	Listen  string `yaml:"listen"`
	// AllowedNetworks are the CIDRs clients may connect from; a connection
	// from anywhere else is closed at once. Required when enabled.
	AllowedNetworks []string `yaml:"allowed_networks"`
	// TLS, when CertFile is set, serves RFC 5425 syslog over TLS; with
	// ClientCAFile it requires a client certificate signed by that CA.
	TLS             TLS    `yaml:"tls"`
	Source          string `yaml:"source"`
	Sourcetype      string `yaml:"sourcetype"`
	Index           string `yaml:"index"`
	MaxMessageBytes int    `yaml:"max_message_bytes"`
	MaxConnections  int    `yaml:"max_connections"`
	// MaxConnectionsPerSource bounds the connections of one source (an
	// IPv4 address or an IPv6 /64), so one host cannot take every slot.
	MaxConnectionsPerSource int `yaml:"max_connections_per_source"`
	// EvictIdleAfter: when a limit is full, a new connection evicts the
	// connection idle longest if it has waited for data longer than this,
	// instead of being refused.
	EvictIdleAfter time.Duration `yaml:"evict_idle_after"`
	IdleTimeout    time.Duration `yaml:"idle_timeout"`
	FlushEvents    int           `yaml:"flush_events"`
	FlushInterval  time.Duration `yaml:"flush_interval"`
}

// MetricsAuth says whether GET /metrics requires a credential.
type MetricsAuth string

// The values of metrics.auth.
const (
	// MetricsAuthAuto (the default) is MetricsAuthBearer in production
	// and MetricsAuthNone in development.
	MetricsAuthAuto MetricsAuth = "auto"
	// MetricsAuthNone serves /metrics to anyone who reaches the listener,
	// as Prometheus exporters usually do.
	MetricsAuthNone MetricsAuth = "none"
	// MetricsAuthBearer requires "Authorization: Bearer <token>" of a
	// credential with the metrics scope (Prometheus: authorization.credentials).
	MetricsAuthBearer MetricsAuth = "bearer"
)

// Metrics configures GET /metrics, which shows model hashes, counts and
// the gateway's load: production protects it unless told otherwise.
type Metrics struct {
	// Auth is auto (default), none or bearer.
	Auth MetricsAuth `yaml:"auth"`
}

// Debug holds opt-in diagnostics, all off by default.
type Debug struct {
	// PprofListen, when set, serves net/http/pprof on this address (a
	// separate listener, never the API's): profiles show code paths and
	// memory contents, so it must be a loopback address.
	PprofListen string `yaml:"pprof_listen"`
}

// Store configures the embedded event store.
type Store struct {
	Dir            string        `yaml:"dir"`
	BatchMaxEvents int           `yaml:"batch_max_events"`
	BatchMaxWait   time.Duration `yaml:"batch_max_wait"`
	// MinFreeBytes is the free space on the store's file system below
	// which ingest is refused with 503 and the gateway does not start
	// (default store.DefaultMinFreeBytes, 256 MiB; 0 turns the guard off).
	// Ingest resumes by itself once space is freed.
	MinFreeBytes uint64 `yaml:"min_free_bytes"`
	// AckAfterSegment acknowledges an ingest request once its records are
	// fsynced in the segment file, Pebble's index fsync following off the
	// acknowledgement path (store.WithAckAfterSegment): one fsync less in
	// every acknowledgement, at the price of cutting, rather than refusing
	// to start on, damage in the last group or two before a crash. Off by
	// default.
	AckAfterSegment bool `yaml:"ack_after_segment"`
	// RecentLeavesBytes is the memory the store keeps its latest group
	// commits' records in (store.WithRecentLeaves), so the alerter scores
	// them without reading them back from the segment files (default
	// DefaultRecentLeavesBytes, lowered to an eighth of the memory limit
	// where that is less: see WithMemoryLimit; 0 turns it off). The gateway's
	// store_leaves_read_total{source} and store_leaves_read_behind_events
	// metrics show whether it holds what the alerter reads.
	RecentLeavesBytes int64 `yaml:"recent_leaves_bytes"`
}

// DefaultRecentLeavesBytes is store.recent_leaves_bytes' default: in
// the ingest bench at saturation (NSL-KDD rows, about 2.75 KB a record)
// the alerter's reads began up to 32,768 events behind the log's end for
// most of them and up to 65,536 for all, and 96 MiB (about 36,000 of
// those records) served 78-100 % of the events it read from memory. It
// replaces what the ring and the appender held before the ring held the
// appender's frames (8,192 events' canonical bytes, about 23 MB, beside
// a reused arena of up to 30 MB).
//
// Measured with it: the gateway's peak RSS in scripts/bench.sh ingest
// (768 MiB memory limit) was 652-762 MiB against 545-686 MiB for the
// previous build in the same runs, within the 1 GiB goal.
const DefaultRecentLeavesBytes = 96 << 20

// RecentLeavesShare is the part of the memory limit the default ring may
// take: 1/RecentLeavesShare (96 MiB of the bench's 768 MiB limit), so a
// gateway given less memory keeps its heap for requests and detection.
const RecentLeavesShare = 8

// WithMemoryLimit returns s with the default RecentLeavesBytes lowered to
// limit/RecentLeavesShare where that is less (limit is the runtime's
// memory limit in bytes; none, 0 or math.MaxInt64, leaves it). A value the
// file sets other than the default is kept: OverMemoryShare says when it
// exceeds that share, for the gateway to warn.
func (s Store) WithMemoryLimit(limit int64) Store {
	if s.RecentLeavesBytes != DefaultRecentLeavesBytes || limit <= 0 || limit == math.MaxInt64 {
		return s
	}
	s.RecentLeavesBytes = min(s.RecentLeavesBytes, limit/RecentLeavesShare)
	return s
}

// OverMemoryShare reports whether RecentLeavesBytes exceeds
// limit/RecentLeavesShare under a memory limit (0 or math.MaxInt64: none).
func (s Store) OverMemoryShare(limit int64) bool {
	return limit > 0 && limit != math.MaxInt64 && s.RecentLeavesBytes > limit/RecentLeavesShare
}

// Ledger configures the Fabric connection the gateway anchors through.
type Ledger struct {
	Profile   string `yaml:"profile"`
	Identity  string `yaml:"identity"`
	Channel   string `yaml:"channel"`
	Chaincode string `yaml:"chaincode"`
	// ProbeInterval is how often readiness pings the chaincode.
	ProbeInterval time.Duration `yaml:"probe_interval"`
	// StaleAfter is how long the ledger may go without a successful
	// contact before /readyz reports it unreachable.
	StaleAfter time.Duration `yaml:"stale_after"`
	Timeouts   Timeouts      `yaml:"timeouts"`
}

// maxLedgerCall bounds the stage timeouts of one submitted transaction
// together: the anchorer and the alerter each abandon an attempt after 5
// minutes (anchor.DefaultAttemptTimeout, the alerter's own bound), a
// backstop for a call that never returns, which must stay above what
// the stages may legitimately take.
const maxLedgerCall = 4*time.Minute + 30*time.Second

// Timeouts bounds each stage of a Fabric transaction (zero: the client's
// defaults, LedgerStageDefaults). Twice Endorse (raising alerts may
// endorse twice) plus Submit and CommitStatus, as applied, are at most
// maxLedgerCall.
type Timeouts struct {
	Evaluate     time.Duration `yaml:"evaluate"`
	Endorse      time.Duration `yaml:"endorse"`
	Submit       time.Duration `yaml:"submit"`
	CommitStatus time.Duration `yaml:"commit_status"`
}

// LedgerStageDefaults are the Fabric adapter's timeouts for a zero field
// (fabric.DefaultTimeouts: the config validates the totals as applied,
// and cmd/ledgerguard's TestLedgerStageDefaults keeps the two equal).
var LedgerStageDefaults = Timeouts{Evaluate: 10 * time.Second, Endorse: 30 * time.Second, Submit: 10 * time.Second, CommitStatus: 30 * time.Second}

// Applied returns t with each zero field set to its LedgerStageDefaults
// value: the timeouts the Fabric adapter applies.
func (t Timeouts) Applied() Timeouts {
	for _, f := range []struct{ v, d *time.Duration }{{&t.Evaluate, &LedgerStageDefaults.Evaluate}, {&t.Endorse, &LedgerStageDefaults.Endorse}, {&t.Submit, &LedgerStageDefaults.Submit}, {&t.CommitStatus, &LedgerStageDefaults.CommitStatus}} {
		if *f.v == 0 {
			*f.v = *f.d
		}
	}
	return t
}

// Backpressure says when ingest answers 503 instead of accepting more; the
// anchorer decides it (anchor.Backpressure, see AnchorBackpressure).
type Backpressure struct {
	// MaxUnanchoredEvents bounds stored events not yet anchored.
	MaxUnanchoredEvents uint64 `yaml:"max_unanchored_events"`
	// MaxPendingBatches bounds sealed batches waiting for the ledger.
	MaxPendingBatches int `yaml:"max_pending_batches"`
	// RetryAfter is the Retry-After a 503 carries.
	RetryAfter time.Duration `yaml:"retry_after"`
}

// HEC configures Splunk HEC indexer acknowledgement bookkeeping.
type HEC struct {
	// MaxChannels bounds the channels tracked at once.
	MaxChannels int `yaml:"max_channels"`
	// MaxAcksPerChannel bounds the unqueried ack ids of one channel.
	MaxAcksPerChannel int `yaml:"max_acks_per_channel"`
	// ChannelIdleTimeout forgets a channel unused this long (Splunk's
	// maxIdleTime).
	ChannelIdleTimeout time.Duration `yaml:"channel_idle_timeout"`
}

// Elasticsearch configures what GET / claims.
type Elasticsearch struct {
	ClusterName string `yaml:"cluster_name"`
	ClusterUUID string `yaml:"cluster_uuid"`
	Version     string `yaml:"version"`
}

// Credential is one client's secret and what it maps to
// (gateway.Credential).
type Credential = gateway.Credential

// Default returns the configuration every field of a loaded file starts
// from. The values are documented in gateway/config/example.yaml.
func Default() Config {
	return Config{
		Mode:      ModeDevelopment,
		GatewayID: "gateway-1",
		Log:       Log{Level: "info", Format: "json"},
		HTTP: HTTP{
			Listen:            "127.0.0.1:8088",
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       2 * time.Minute,
			WriteTimeout:      2 * time.Minute,
			IdleTimeout:       2 * time.Minute,
			ShutdownTimeout:   30 * time.Second,
		},
		MemoryLimit: DefaultMemoryLimit,
		Limits: Limits{MaxBodyBytes: ingest.DefaultMaxBodyBytes, MaxEvents: ingest.DefaultMaxEvents, MaxLineBytes: ingest.DefaultMaxLineBytes,
			MaxDepth: ingest.DefaultMaxDepth, MaxDecodeBytes: ingest.DefaultMaxDecodeBytes,
			MaxConcurrentDecodes: ingest.DefaultMaxConcurrentDecodes, DecodeWait: ingest.DefaultDecodeWait},
		Syslog: Syslog{
			Enabled:         true,
			Listen:          "127.0.0.1:6514",
			Source:          "syslog",
			Sourcetype:      "syslog",
			MaxMessageBytes: 64 << 10,
			MaxConnections:  256,
			IdleTimeout:     5 * time.Minute,
			FlushEvents:     500,
			FlushInterval:   200 * time.Millisecond,

			MaxConnectionsPerSource: syslogd.DefaultMaxConnectionsPerSource,
			EvictIdleAfter:          syslogd.DefaultEvictIdleAfter,
		},
		Metrics: Metrics{Auth: MetricsAuthAuto},
		Store: Store{Dir: "data", BatchMaxEvents: store.DefaultBatchMaxEvents, BatchMaxWait: store.DefaultBatchMaxWait, MinFreeBytes: store.DefaultMinFreeBytes,
			RecentLeavesBytes: DefaultRecentLeavesBytes},
		Ledger: Ledger{
			Identity:      "gateway",
			Channel:       "lgchannel",
			Chaincode:     "ledgerguard",
			ProbeInterval: 15 * time.Second,
			StaleAfter:    time.Minute,
		},
		Backpressure: Backpressure(anchor.DefaultBackpressure),
		HEC:          HEC{MaxChannels: 10_000, MaxAcksPerChannel: 100_000, ChannelIdleTimeout: 10 * time.Minute},
		Elasticsearch: Elasticsearch{
			ClusterName: "ledgerguard",
			ClusterUUID: "c0ffee00-0000-4000-8000-000000000001",
		},
		Detection: Detection{ReloadInterval: 30 * time.Second, Strict: true, LedgerCheckInterval: 30 * time.Second},
	}
}

// FieldError is a validation failure of one field, named by its YAML path
// ("credentials[2].token") or environment variable.
type FieldError struct {
	Field string
	Msg   string
}

// Error implements error.
func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// ValidationError lists every field that failed validation, so one run of
// the gateway reports all of them.
type ValidationError struct {
	Errors []*FieldError
}

// Error implements error.
func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		msgs[i] = fe.Error()
	}
	return "invalid configuration: " + strings.Join(msgs, "; ")
}

// LoadError reports a configuration file that cannot be read or decoded.
type LoadError struct {
	Path string
	Err  error
}

// Error implements error.
func (e *LoadError) Error() string { return fmt.Sprintf("config %s: %v", e.Path, e.Err) }

// Unwrap returns the cause.
func (e *LoadError) Unwrap() error { return e.Err }

// Load reads the YAML file at path over Default, applies the environment
// overrides (see Env), resolves relative paths in the file against the
// file's folder (so the file works from any working directory; paths from
// the environment stay relative to the working directory) and validates the
// result. It returns *LoadError or *ValidationError.
func Load(path string) (Config, error) {
	return LoadWith(path, os.LookupEnv)
}

// LoadWith is Load with the environment given as a lookup function, for
// tests.
func LoadWith(path string, lookup func(string) (string, bool)) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, &LoadError{Path: path, Err: err}
	}
	cfg, err := Parse(b)
	if err != nil {
		return Config{}, &LoadError{Path: path, Err: err}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return Config{}, &LoadError{Path: path, Err: err}
	}
	cfg.resolvePaths(filepath.Dir(abs))
	if cfg.Respond.Present() {
		cfg.Respond.Dir = filepath.Dir(abs)
	}
	if cfg.Console.Present() {
		cfg.Console.Dir = filepath.Dir(abs)
	}
	if cfg.Intel.Present() {
		cfg.Intel.Dir = filepath.Dir(abs)
	}
	if err := cfg.applyEnv(lookup); err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Parse decodes YAML over Default without validating it. Unknown keys are
// errors.
func Parse(b []byte) (Config, error) {
	cfg := Default()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, err
	}
	return cfg, nil
}

func (c *Config) resolvePaths(dir string) {
	for _, p := range []*string{
		&c.HTTP.TLS.CertFile, &c.HTTP.TLS.KeyFile, &c.HTTP.TLS.ClientCAFile,
		&c.Syslog.TLS.CertFile, &c.Syslog.TLS.KeyFile, &c.Syslog.TLS.ClientCAFile,
		&c.Store.Dir, &c.Ledger.Profile, &c.Detection.ModelsDir, &c.Detection.Library,
	} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
}

// Env lists the environment overrides: variable name and the YAML path it
// sets. Values are parsed as the field's type (durations as "5s").
var Env = []struct{ Var, Field string }{
	{"LEDGERGUARD_MODE", "mode"},
	{"LEDGERGUARD_GATEWAY_ID", "gateway_id"},
	{"LEDGERGUARD_LOG_LEVEL", "log.level"},
	{"LEDGERGUARD_LOG_FORMAT", "log.format"},
	{"LEDGERGUARD_LISTEN", "http.listen"},
	{"LEDGERGUARD_TLS_CERT_FILE", "http.tls.cert_file"},
	{"LEDGERGUARD_TLS_KEY_FILE", "http.tls.key_file"},
	{"LEDGERGUARD_SYSLOG_ENABLED", "syslog.enabled"},
	{"LEDGERGUARD_SYSLOG_LISTEN", "syslog.listen"},
	{"LEDGERGUARD_METRICS_AUTH", "metrics.auth"},
	{"LEDGERGUARD_STORE_DIR", "store.dir"},
	{"LEDGERGUARD_PROFILE", "ledger.profile"},
	{"LEDGERGUARD_IDENTITY", "ledger.identity"},
	{"LEDGERGUARD_CHANNEL", "ledger.channel"},
	{"LEDGERGUARD_CHAINCODE", "ledger.chaincode"},
	{"LEDGERGUARD_MAX_UNANCHORED_EVENTS", "backpressure.max_unanchored_events"},
	{"LEDGERGUARD_MAX_PENDING_BATCHES", "backpressure.max_pending_batches"},
	{"LEDGERGUARD_DETECTION_ENABLED", "detection.enabled"},
	{"LEDGERGUARD_MODELS_DIR", "detection.models_dir"},
	{"LEDGERGUARD_ORT_LIB", "detection.onnxruntime_library"},
	{"LEDGERGUARD_DETECTION_STRICT", "detection.strict"},
}

func (c *Config) applyEnv(lookup func(string) (string, bool)) error {
	var errs []*FieldError
	for _, e := range Env {
		v, ok := lookup(e.Var)
		if !ok {
			continue
		}
		if err := c.set(e.Field, v); err != nil {
			errs = append(errs, &FieldError{Field: e.Var, Msg: err.Error()})
		}
	}
	if len(errs) > 0 {
		return &ValidationError{Errors: errs}
	}
	return nil
}

// set assigns one override by YAML path.
func (c *Config) set(field, v string) error {
	str := map[string]*string{
		"mode":               (*string)(&c.Mode),
		"gateway_id":         &c.GatewayID,
		"log.level":          &c.Log.Level,
		"log.format":         &c.Log.Format,
		"http.listen":        &c.HTTP.Listen,
		"http.tls.cert_file": &c.HTTP.TLS.CertFile,
		"http.tls.key_file":  &c.HTTP.TLS.KeyFile,
		"syslog.listen":      &c.Syslog.Listen,
		"metrics.auth":       (*string)(&c.Metrics.Auth),
		"store.dir":          &c.Store.Dir,
		"ledger.profile":     &c.Ledger.Profile,
		"ledger.identity":    &c.Ledger.Identity,
		"ledger.channel":     &c.Ledger.Channel,
		"ledger.chaincode":   &c.Ledger.Chaincode,

		"detection.models_dir":          &c.Detection.ModelsDir,
		"detection.onnxruntime_library": &c.Detection.Library,
	}
	if p, ok := str[field]; ok {
		*p = v
		return nil
	}
	switch field {
	case "syslog.enabled":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not a boolean", v)
		}
		c.Syslog.Enabled = b
	case "detection.enabled":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not a boolean", v)
		}
		c.Detection.Enabled = b
	case "detection.strict":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not a boolean", v)
		}
		c.Detection.Strict = b
	case "backpressure.max_unanchored_events":
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a non-negative integer", v)
		}
		c.Backpressure.MaxUnanchoredEvents = n
	case "backpressure.max_pending_batches":
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not an integer", v)
		}
		c.Backpressure.MaxPendingBatches = n
	default:
		return fmt.Errorf("unknown field %s", field)
	}
	return nil
}

// Validate checks the whole configuration and returns *ValidationError
// naming every bad field, or nil.
func (c *Config) Validate() error {
	var errs []*FieldError
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if c.Detection.Enabled {
		if c.Detection.ModelsDir == "" {
			bad("detection.models_dir", "must be set when detection is enabled")
		} else if fi, err := os.Stat(c.Detection.ModelsDir); err != nil || !fi.IsDir() {
			bad("detection.models_dir", "must be a readable folder, got %q", c.Detection.ModelsDir)
		}
		if c.Detection.Library == "" {
			bad("detection.onnxruntime_library", "must be set when detection is enabled (make setup installs bin/onnxruntime/libonnxruntime.so.1)")
		}
		if c.Detection.ReloadInterval <= 0 {
			bad("detection.reload_interval", "must be a positive duration, got %v", c.Detection.ReloadInterval)
		}
		if c.Detection.Strict && c.Detection.LedgerCheckInterval <= 0 {
			bad("detection.ledger_check_interval", "must be a positive duration, got %v", c.Detection.LedgerCheckInterval)
		}
	}
	if c.Mode != ModeDevelopment && c.Mode != ModeProduction {
		bad("mode", "must be %q or %q, got %q", ModeDevelopment, ModeProduction, c.Mode)
	}
	if c.GatewayID == "" {
		bad("gateway_id", "must not be empty")
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		bad("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	if c.Log.Format != "json" && c.Log.Format != "text" {
		bad("log.format", "must be json or text, got %q", c.Log.Format)
	}
	checkAddr := func(field, addr string) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			bad(field, "must be host:port (e.g. 127.0.0.1:8088), got %q", addr)
			return
		}
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			bad(field, "port must be a number from 0 to 65535, got %q", port)
		}
		if host != "" && host != "localhost" {
			if _, err := netip.ParseAddr(host); err != nil {
				bad(field, "host must be an IP address or localhost, got %q", host)
			}
		}
	}
	checkTLS := func(field string, t TLS, clientCA bool) {
		if (t.CertFile == "") != (t.KeyFile == "") {
			bad(field, "cert_file and key_file must be set together")
		}
		if t.ClientCAFile != "" && !clientCA {
			bad(field+".client_ca_file", "is not supported here")
		}
		if t.ClientCAFile != "" && t.CertFile == "" {
			bad(field+".client_ca_file", "requires cert_file and key_file")
		}
		for _, f := range []struct{ name, path string }{{"cert_file", t.CertFile}, {"key_file", t.KeyFile}, {"client_ca_file", t.ClientCAFile}} {
			if f.path == "" {
				continue
			}
			if _, err := os.Stat(f.path); err != nil {
				bad(field+"."+f.name, "cannot be read: %v", err)
			}
		}
	}
	positive := func(field string, d time.Duration) {
		if d <= 0 {
			bad(field, "must be a positive duration, got %v", d)
		}
	}
	checkAddr("http.listen", c.HTTP.Listen)
	checkTLS("http.tls", c.HTTP.TLS, false)
	positive("http.read_header_timeout", c.HTTP.ReadHeaderTimeout)
	positive("http.read_timeout", c.HTTP.ReadTimeout)
	positive("http.write_timeout", c.HTTP.WriteTimeout)
	positive("http.idle_timeout", c.HTTP.IdleTimeout)
	positive("http.shutdown_timeout", c.HTTP.ShutdownTimeout)

	if c.Limits.MaxBodyBytes < 1024 {
		bad("limits.max_body_bytes", "must be at least 1024, got %d", c.Limits.MaxBodyBytes)
	}
	if c.Limits.MaxEvents < 1 {
		bad("limits.max_events", "must be at least 1, got %d", c.Limits.MaxEvents)
	}
	if c.Limits.MaxLineBytes < 256 || int64(c.Limits.MaxLineBytes) > c.Limits.MaxBodyBytes {
		bad("limits.max_line_bytes", "must be between 256 and limits.max_body_bytes, got %d", c.Limits.MaxLineBytes)
	}
	if c.Limits.MaxDepth < 1 || c.Limits.MaxDepth > 1000 {
		bad("limits.max_depth", "must be between 1 and 1000, got %d", c.Limits.MaxDepth)
	}
	if c.Limits.MaxDecodeBytes < 1<<20 {
		bad("limits.max_decode_bytes", "must be at least 1048576, got %d", c.Limits.MaxDecodeBytes)
	}
	if c.Limits.MaxConcurrentDecodes < 1 {
		bad("limits.max_concurrent_decodes", "must be at least 1, got %d", c.Limits.MaxConcurrentDecodes)
	}
	if c.Limits.MaxDecodingBytes < 0 {
		bad("limits.max_decoding_bytes", "must not be negative (0: a quarter of the memory limit), got %d", c.Limits.MaxDecodingBytes)
	}
	positive("limits.decode_wait", c.Limits.DecodeWait)
	if _, err := c.MemoryLimit.parse(); err != nil {
		bad("memory_limit", "%v", err)
	}

	if c.Syslog.Enabled {
		checkAddr("syslog.listen", c.Syslog.Listen)
		if c.Syslog.Listen == c.HTTP.Listen {
			bad("syslog.listen", "must differ from http.listen")
		}
		checkTLS("syslog.tls", c.Syslog.TLS, true)
		if len(c.Syslog.AllowedNetworks) == 0 {
			bad("syslog.allowed_networks", "must list at least one CIDR (e.g. 127.0.0.1/32): syslog has no other authentication without client certificates")
		}
		for i, n := range c.Syslog.AllowedNetworks {
			if _, err := netip.ParsePrefix(n); err != nil {
				bad(fmt.Sprintf("syslog.allowed_networks[%d]", i), "%q is not a CIDR: %v", n, err)
			}
		}
		if c.Syslog.Source == "" {
			bad("syslog.source", "must not be empty")
		}
		// RFC 5425 requires receivers to take 2048-byte messages.
		if c.Syslog.MaxMessageBytes < 2048 || c.Syslog.MaxMessageBytes > c.Limits.MaxLineBytes {
			bad("syslog.max_message_bytes", "must be between 2048 and limits.max_line_bytes, got %d", c.Syslog.MaxMessageBytes)
		}
		if c.Syslog.MaxConnections < 1 {
			bad("syslog.max_connections", "must be at least 1, got %d", c.Syslog.MaxConnections)
		}
		if c.Syslog.MaxConnectionsPerSource < 1 {
			bad("syslog.max_connections_per_source", "must be at least 1, got %d", c.Syslog.MaxConnectionsPerSource)
		}
		positive("syslog.evict_idle_after", c.Syslog.EvictIdleAfter)
		if c.Syslog.FlushEvents < 1 {
			bad("syslog.flush_events", "must be at least 1, got %d", c.Syslog.FlushEvents)
		}
		positive("syslog.idle_timeout", c.Syslog.IdleTimeout)
		positive("syslog.flush_interval", c.Syslog.FlushInterval)
	}

	if c.Store.Dir == "" {
		bad("store.dir", "must not be empty")
	}
	if c.Store.BatchMaxEvents < 1 {
		bad("store.batch_max_events", "must be at least 1, got %d", c.Store.BatchMaxEvents)
	}
	if c.Store.BatchMaxWait < time.Millisecond {
		bad("store.batch_max_wait", "must be at least 1ms, got %v", c.Store.BatchMaxWait)
	}
	if c.Store.RecentLeavesBytes < 0 {
		bad("store.recent_leaves_bytes", "must not be negative (0: off), got %d", c.Store.RecentLeavesBytes)
	}

	if c.Ledger.Profile == "" {
		bad("ledger.profile", "must name a connection profile")
	}
	for _, f := range []struct{ name, v string }{{"identity", c.Ledger.Identity}, {"channel", c.Ledger.Channel}, {"chaincode", c.Ledger.Chaincode}} {
		if f.v == "" {
			bad("ledger."+f.name, "must not be empty")
		}
	}
	positive("ledger.probe_interval", c.Ledger.ProbeInterval)
	positive("ledger.stale_after", c.Ledger.StaleAfter)
	for _, t := range []struct {
		name string
		d    time.Duration
	}{{"evaluate", c.Ledger.Timeouts.Evaluate}, {"endorse", c.Ledger.Timeouts.Endorse}, {"submit", c.Ledger.Timeouts.Submit}, {"commit_status", c.Ledger.Timeouts.CommitStatus}} {
		if t.d < 0 {
			bad("ledger.timeouts."+t.name, "must not be negative")
		}
	}
	if t := c.Ledger.Timeouts.Applied(); 2*t.Endorse+t.Submit+t.CommitStatus > maxLedgerCall {
		bad("ledger.timeouts", "2 × endorse + submit + commit_status (zero: the defaults %v, %v, %v) must total at most %v: the anchorer and the alerter abandon an attempt after 5m, and raising alerts may endorse twice; got %v",
			LedgerStageDefaults.Endorse, LedgerStageDefaults.Submit, LedgerStageDefaults.CommitStatus, maxLedgerCall, 2*t.Endorse+t.Submit+t.CommitStatus)
	}

	if c.Backpressure.MaxUnanchoredEvents < 1 {
		bad("backpressure.max_unanchored_events", "must be at least 1")
	}
	if c.Backpressure.MaxPendingBatches < 1 {
		bad("backpressure.max_pending_batches", "must be at least 1, got %d", c.Backpressure.MaxPendingBatches)
	}
	if c.Backpressure.RetryAfter < time.Second {
		bad("backpressure.retry_after", "must be at least 1s (Retry-After has whole seconds), got %v", c.Backpressure.RetryAfter)
	}
	if c.HEC.MaxChannels < 1 {
		bad("hec.max_channels", "must be at least 1")
	}
	if c.HEC.MaxAcksPerChannel < 1 {
		bad("hec.max_acks_per_channel", "must be at least 1")
	}
	positive("hec.channel_idle_timeout", c.HEC.ChannelIdleTimeout)
	if c.Elasticsearch.ClusterName == "" {
		bad("elasticsearch.cluster_name", "must not be empty")
	}

	if c.Debug.PprofListen != "" {
		host, _, err := net.SplitHostPort(c.Debug.PprofListen)
		ip, perr := netip.ParseAddr(host)
		switch {
		case err != nil:
			bad("debug.pprof_listen", "must be host:port, got %q: %v", c.Debug.PprofListen, err)
		case host != "localhost" && (perr != nil || !ip.IsLoopback()):
			bad("debug.pprof_listen", "must be a loopback address (profiles expose memory contents), got %q", c.Debug.PprofListen)
		}
	}

	switch c.Metrics.Auth {
	case MetricsAuthAuto, MetricsAuthNone:
	case MetricsAuthBearer:
		// Explicitly asked for: a /metrics nobody can scrape is a mistake.
		// (auto in production without such a credential is allowed: it
		// fails closed, and the gateway warns at start-up.)
		if !gateway.AnyHas(c.Credentials, ScopeMetrics) {
			bad("metrics.auth", "bearer requires a credential with the metrics scope")
		}
	default:
		bad("metrics.auth", "must be %q, %q or %q, got %q", MetricsAuthAuto, MetricsAuthNone, MetricsAuthBearer, c.Metrics.Auth)
	}

	errs = append(errs, c.validateCredentials()...)
	if len(errs) > 0 {
		return &ValidationError{Errors: errs}
	}
	return nil
}

func (c *Config) validateCredentials() []*FieldError {
	var errs []*FieldError
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	names := map[string]int{}
	tokens := map[string]int{}
	for i, cr := range c.Credentials {
		f := fmt.Sprintf("credentials[%d]", i)
		if cr.Name == "" {
			bad(f+".name", "must not be empty")
		} else if j, dup := names[cr.Name]; dup {
			bad(f+".name", "%q is also the name of credentials[%d]", cr.Name, j)
		} else {
			names[cr.Name] = i
		}
		label := f + ".token"
		if cr.Name != "" {
			label = fmt.Sprintf("%s.token (credential %q)", f, cr.Name)
		}
		switch {
		case cr.Token == "":
			bad(label, "must not be empty")
		case strings.TrimSpace(cr.Token) != cr.Token || strings.ContainsAny(cr.Token, " \t\r\n"):
			bad(label, "must not contain whitespace")
		}
		if j, dup := tokens[cr.Token]; dup && cr.Token != "" {
			// A shared token would make the credential a request maps to
			// depend on configuration order.
			bad(label, "is the same as the token of credentials[%d]", j)
		} else {
			tokens[cr.Token] = i
		}
		if c.Mode == ModeProduction && cr.Token != "" {
			if slices.Contains(DevTokens, cr.Token) {
				bad(label, "is a development credential from network/gateway-dev.yaml; production refuses it")
			} else if len(cr.Token) < MinProductionTokenLength {
				bad(label, "is %d characters; production requires at least %d", len(cr.Token), MinProductionTokenLength)
			}
		}
		if strings.Contains(cr.Username, ":") {
			bad(f+".username", "must not contain ':'")
		}
		if len(cr.Scopes) == 0 {
			bad(f+".scopes", "must list at least one of %v", Scopes)
		}
		for j, s := range cr.Scopes {
			if !slices.Contains(Scopes, s) {
				bad(fmt.Sprintf("%s.scopes[%d]", f, j), "unknown scope %q (want one of %v)", s, Scopes)
			}
		}
		for j, ix := range cr.Indexes {
			if ix == "" || strings.ContainsAny(ix, " \t\r\n") {
				bad(fmt.Sprintf("%s.indexes[%d]", f, j), "must be a non-empty name without whitespace")
			}
		}
		if cr.Ack && !cr.Has(ScopeHEC) {
			bad(f+".ack", "only applies to credentials with the hec scope")
		}
	}
	return errs
}

// MetricsRequireCredential reports whether GET /metrics requires a
// credential with the metrics scope: metrics.auth bearer, or auto in
// production mode.
func (c Config) MetricsRequireCredential() bool {
	return c.Metrics.Auth == MetricsAuthBearer || (c.Metrics.Auth == MetricsAuthAuto && c.Mode == ModeProduction)
}

// HTTPAPI is the HTTP adapter's settings from this configuration.
func (c Config) HTTPAPI() httpapi.Config {
	return httpapi.Config{
		Listen:              c.HTTP.Listen,
		TLS:                 httpapi.TLS{CertFile: c.HTTP.TLS.CertFile, KeyFile: c.HTTP.TLS.KeyFile},
		ReadHeaderTimeout:   c.HTTP.ReadHeaderTimeout,
		ReadTimeout:         c.HTTP.ReadTimeout,
		WriteTimeout:        c.HTTP.WriteTimeout,
		IdleTimeout:         c.HTTP.IdleTimeout,
		ShutdownTimeout:     c.HTTP.ShutdownTimeout,
		Limits:              c.Limits.Ingest(),
		Credentials:         slices.Clone(c.Credentials),
		HEC:                 httpapi.HEC{MaxChannels: c.HEC.MaxChannels, MaxAcksPerChannel: c.HEC.MaxAcksPerChannel, ChannelIdleTimeout: c.HEC.ChannelIdleTimeout},
		Elasticsearch:       httpapi.Elasticsearch{ClusterName: c.Elasticsearch.ClusterName, ClusterUUID: c.Elasticsearch.ClusterUUID, Version: c.Elasticsearch.Version},
		LedgerProbeInterval: c.Ledger.ProbeInterval,
		LedgerStaleAfter:    c.Ledger.StaleAfter,

		RequireMetricsCredential: c.MetricsRequireCredential(),
	}
}

// AnchorBackpressure is the anchorer's backpressure from this
// configuration.
func (c Config) AnchorBackpressure() anchor.Backpressure {
	return anchor.Backpressure(c.Backpressure)
}
