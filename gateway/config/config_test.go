package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// repoRoot walks up from the test's folder to the folder holding go.mod and
// gateway/.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "gateway")); err == nil {
				return dir
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("repository root not found")
		}
		dir = parent
	}
}

func noEnv(string) (string, bool) { return "", false }

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const minimal = `
ledger:
  profile: profile.json
syslog:
  allowed_networks: [127.0.0.1/32]
credentials:
  - name: hec
    token: 0123456789abcdef0123456789abcdef
    scopes: [hec]
`

// fields returns the field names of a *ValidationError, failing otherwise.
func fields(t *testing.T, err error) []string {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error = %v (%T), want *ValidationError", err, err)
	}
	var out []string
	for _, fe := range ve.Errors {
		out = append(out, fe.Field)
	}
	return out
}

func TestLoadDefaults(t *testing.T) {
	p := writeFile(t, minimal)
	got, err := LoadWith(p, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	dir := filepath.Dir(p)
	want.Ledger.Profile = filepath.Join(dir, "profile.json")
	want.Store.Dir = filepath.Join(dir, "data")
	want.Syslog.AllowedNetworks = []string{"127.0.0.1/32"}
	want.Credentials = []Credential{{Name: "hec", Token: "0123456789abcdef0123456789abcdef", Scopes: []Scope{ScopeHEC}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LoadWith(minimal) =\n%+v\nwant\n%+v", got, want)
	}
}

// The commented example must parse to exactly the defaults, so it cannot
// drift from the code.
func TestExampleIsDefaults(t *testing.T) {
	b, err := os.ReadFile("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Syslog.AllowedNetworks = []string{}
	want.Credentials = []Credential{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("example.yaml =\n%+v\nwant Default()\n%+v", got, want)
	}
}

func TestEnvOverrides(t *testing.T) {
	p := writeFile(t, minimal)
	got, err := LoadWith(p, env(map[string]string{
		"LEDGERGUARD_LISTEN":                "127.0.0.1:9999",
		"LEDGERGUARD_STORE_DIR":             "rel/store",
		"LEDGERGUARD_PROFILE":               "/abs/profile.json",
		"LEDGERGUARD_IDENTITY":              "gw2",
		"LEDGERGUARD_SYSLOG_ENABLED":        "false",
		"LEDGERGUARD_LOG_FORMAT":            "text",
		"LEDGERGUARD_MAX_PENDING_BATCHES":   "7",
		"LEDGERGUARD_MAX_UNANCHORED_EVENTS": "1000",
	}))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"http.listen", got.HTTP.Listen, "127.0.0.1:9999"},
		{"store.dir", got.Store.Dir, "rel/store"}, // env paths stay relative to the working folder
		{"ledger.profile", got.Ledger.Profile, "/abs/profile.json"},
		{"ledger.identity", got.Ledger.Identity, "gw2"},
		{"syslog.enabled", got.Syslog.Enabled, false},
		{"log.format", got.Log.Format, "text"},
		{"backpressure.max_pending_batches", got.Backpressure.MaxPendingBatches, 7},
		{"backpressure.max_unanchored_events", got.Backpressure.MaxUnanchoredEvents, uint64(1000)},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestEnvOverrideBadValue(t *testing.T) {
	p := writeFile(t, minimal)
	_, err := LoadWith(p, env(map[string]string{"LEDGERGUARD_SYSLOG_ENABLED": "maybe", "LEDGERGUARD_MAX_PENDING_BATCHES": "x"}))
	got := fields(t, err)
	want := []string{"LEDGERGUARD_SYSLOG_ENABLED", "LEDGERGUARD_MAX_PENDING_BATCHES"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fields = %v, want %v", got, want)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
	}{
		{"unknown key", "ledger:\n  profil: x\n"},
		{"bad type", "limits:\n  max_events: many\n"},
		{"bad duration", "http:\n  read_timeout: soon\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadWith(writeFile(t, tc.body), noEnv)
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error = %v (%T), want *LoadError", err, err)
			}
		})
	}
	_, err := LoadWith(filepath.Join(t.TempDir(), "absent.yaml"), noEnv)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: error = %v, want os.ErrNotExist", err)
	}
}

func TestValidate(t *testing.T) {
	const tok = "0123456789abcdef0123456789abcdef"
	base := func() Config {
		c := Default()
		c.Ledger.Profile = "p.json"
		c.Syslog.AllowedNetworks = []string{"127.0.0.1/32"}
		c.Credentials = []Credential{{Name: "a", Token: tok, Scopes: []Scope{ScopeHEC}}}
		return c
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   []string
	}{
		{"valid", func(*Config) {}, nil},
		{"mode", func(c *Config) { c.Mode = "staging" }, []string{"mode"}},
		{"listen", func(c *Config) { c.HTTP.Listen = "8088" }, []string{"http.listen"}},
		{"listen host", func(c *Config) { c.HTTP.Listen = "example.com:80" }, []string{"http.listen"}},
		{"tls half", func(c *Config) { c.HTTP.TLS.CertFile = "/nonexistent.pem" }, []string{"http.tls", "http.tls.cert_file"}},
		{"limits", func(c *Config) { c.Limits.MaxEvents = 0 }, []string{"limits.max_events"}},
		{"line over body", func(c *Config) { c.Limits.MaxBodyBytes = 4096; c.Limits.MaxLineBytes = 8192 }, []string{"limits.max_line_bytes", "syslog.max_message_bytes"}},
		{"decode limits", func(c *Config) {
			c.Limits.MaxDepth = 0
			c.Limits.MaxDecodeBytes = 10
			c.Limits.MaxConcurrentDecodes = 0
			c.Limits.DecodeWait = 0
		}, []string{"limits.max_depth", "limits.max_decode_bytes", "limits.max_concurrent_decodes", "limits.decode_wait"}},
		{"decoding bytes", func(c *Config) { c.Limits.MaxDecodingBytes = -1 }, []string{"limits.max_decoding_bytes"}},
		{"memory limit", func(c *Config) { c.MemoryLimit = "lots" }, []string{"memory_limit"}},
		{"memory limit off", func(c *Config) { c.MemoryLimit = "off" }, nil},
		{"no networks", func(c *Config) { c.Syslog.AllowedNetworks = nil }, []string{"syslog.allowed_networks"}},
		{"bad cidr", func(c *Config) { c.Syslog.AllowedNetworks = []string{"10.0.0.0/33"} }, []string{"syslog.allowed_networks[0]"}},
		{"syslog disabled skips its checks", func(c *Config) { c.Syslog.Enabled = false; c.Syslog.AllowedNetworks = nil }, nil},
		{"same port", func(c *Config) { c.Syslog.Listen = c.HTTP.Listen }, []string{"syslog.listen"}},
		{"no profile", func(c *Config) { c.Ledger.Profile = "" }, []string{"ledger.profile"}},
		{"retry after", func(c *Config) { c.Backpressure.RetryAfter = 10 * time.Millisecond }, []string{"backpressure.retry_after"}},
		{"ledger call longer than an attempt", func(c *Config) {
			c.Ledger.Timeouts.Endorse, c.Ledger.Timeouts.Submit, c.Ledger.Timeouts.CommitStatus = time.Minute, time.Minute, 3*time.Minute
		}, []string{"ledger.timeouts"}},
		{"ledger call at the bound", func(c *Config) {
			c.Ledger.Timeouts.Endorse, c.Ledger.Timeouts.Submit, c.Ledger.Timeouts.CommitStatus = 30*time.Second, 30*time.Second, 3*time.Minute
		}, nil},
		{"ledger call over the bound with the defaults", func(c *Config) { c.Ledger.Timeouts.CommitStatus = 4*time.Minute + 30*time.Second }, []string{"ledger.timeouts"}},
		{"empty token", func(c *Config) { c.Credentials[0].Token = "" }, []string{`credentials[0].token (credential "a")`}},
		{"no scopes", func(c *Config) { c.Credentials[0].Scopes = nil }, []string{"credentials[0].scopes"}},
		{"bad scope", func(c *Config) { c.Credentials[0].Scopes = []Scope{"admin"} }, []string{"credentials[0].scopes[0]"}},
		{"ack without hec", func(c *Config) { c.Credentials[0].Scopes = []Scope{ScopeRead}; c.Credentials[0].Ack = true }, []string{"credentials[0].ack"}},
		{"duplicate", func(c *Config) { c.Credentials = append(c.Credentials, c.Credentials[0]) }, []string{"credentials[1].name", `credentials[1].token (credential "a")`}},
		{"dev token in development", func(c *Config) { c.Credentials[0].Token = "dev-hec-token-not-secret" }, nil},
		{"production dev token", func(c *Config) { c.Mode = ModeProduction; c.Credentials[0].Token = "dev-hec-token-not-secret" }, []string{`credentials[0].token (credential "a")`}},
		{"production short token", func(c *Config) { c.Mode = ModeProduction; c.Credentials[0].Token = "short-but-unique" }, []string{`credentials[0].token (credential "a")`}},
		{"production long token", func(c *Config) { c.Mode = ModeProduction }, nil},
		{"strict check interval", func(c *Config) {
			c.Detection = Detection{Enabled: true, ModelsDir: t.TempDir(), Library: "lib.so", ReloadInterval: time.Second, Strict: true}
		}, []string{"detection.ledger_check_interval"}},
		{"non-strict needs no check interval", func(c *Config) {
			c.Detection = Detection{Enabled: true, ModelsDir: t.TempDir(), Library: "lib.so", ReloadInterval: time.Second}
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.mutate(&c)
			err := c.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if got := fields(t, err); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("fields = %q, want %q (%v)", got, tc.want, err)
			}
		})
	}
}

// The development file must load as it is, carry only credentials listed
// in DevTokens, and be refused whole in production.
func TestDevConfig(t *testing.T) {
	path := filepath.Join(repoRoot(t), "network", "gateway-dev.yaml")
	cfg, err := LoadWith(path, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(filepath.Dir(path), "run", "connection-org1.json"); cfg.Ledger.Profile != want {
		t.Errorf("ledger.profile = %q, want %q", cfg.Ledger.Profile, want)
	}
	if want := filepath.Join(filepath.Dir(path), "run", "gateway"); cfg.Store.Dir != want {
		t.Errorf("store.dir = %q, want %q", cfg.Store.Dir, want)
	}
	seen := map[Scope]bool{}
	for _, cr := range cfg.Credentials {
		if !slices.Contains(DevTokens, cr.Token) {
			t.Errorf("credential %q: token %q is not in DevTokens", cr.Name, cr.Token)
		}
		if !strings.Contains(cr.Token, "not-secret") {
			t.Errorf("credential %q: dev token %q must say not-secret", cr.Name, cr.Token)
		}
		for _, s := range cr.Scopes {
			seen[s] = true
		}
	}
	for _, s := range Scopes {
		if !seen[s] {
			t.Errorf("no development credential with scope %q", s)
		}
	}
	_, err = LoadWith(path, env(map[string]string{"LEDGERGUARD_MODE": "production"}))
	got := fields(t, err)
	if len(got) != len(cfg.Credentials) {
		t.Errorf("production refused fields %q, want one per credential (%d)", got, len(cfg.Credentials))
	}
	for _, f := range got {
		if !strings.HasSuffix(f, `")`) || !strings.Contains(f, ".token (credential ") {
			t.Errorf("field %q does not name the credential", f)
		}
	}
}

// Strict mode is the default and LEDGERGUARD_DETECTION_STRICT overrides it.
func TestDetectionStrictDefault(t *testing.T) {
	if d := Default().Detection; !d.Strict || d.LedgerCheckInterval != 30*time.Second {
		t.Fatalf("default detection = %+v, want strict with a 30s ledger check", d)
	}
	tests := []struct {
		yaml, env string
		want      bool
	}{
		{"detection: {enabled: true}", "", true},
		{"detection: {enabled: true, strict: false}", "", false},
		{"detection: {enabled: true, strict: false}", "true", true},
		{"detection: {enabled: true}", "false", false},
	}
	for _, tt := range tests {
		t.Run(tt.yaml+"/"+tt.env, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if tt.env != "" {
				if err := c.applyEnv(env(map[string]string{"LEDGERGUARD_DETECTION_STRICT": tt.env})); err != nil {
					t.Fatal(err)
				}
			}
			if got := c.Detection.Strict; got != tt.want {
				t.Errorf("strict = %t, want %t", got, tt.want)
			}
		})
	}
}
