package config

import (
	"reflect"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway/syslogd"
)

// metrics.auth: auto protects /metrics in production only; none and
// bearer say so in both modes.
func TestMetricsRequireCredential(t *testing.T) {
	tests := []struct {
		mode Mode
		auth MetricsAuth
		want bool
	}{
		{ModeDevelopment, MetricsAuthAuto, false},
		{ModeProduction, MetricsAuthAuto, true},
		{ModeDevelopment, MetricsAuthNone, false},
		{ModeProduction, MetricsAuthNone, false},
		{ModeDevelopment, MetricsAuthBearer, true},
		{ModeProduction, MetricsAuthBearer, true},
	}
	for _, tt := range tests {
		c := Default()
		c.Mode, c.Metrics.Auth = tt.mode, tt.auth
		if got := c.MetricsRequireCredential(); got != tt.want {
			t.Errorf("%s/%s: MetricsRequireCredential() = %t, want %t", tt.mode, tt.auth, got, tt.want)
		}
		if got := c.HTTPAPI().RequireMetricsCredential; got != tt.want {
			t.Errorf("%s/%s: HTTPAPI().RequireMetricsCredential = %t, want %t", tt.mode, tt.auth, got, tt.want)
		}
	}
	if got := Default().Metrics.Auth; got != MetricsAuthAuto {
		t.Errorf("default metrics.auth = %q, want auto", got)
	}
}

func TestValidateMetricsAndSyslogFairness(t *testing.T) {
	const tok = "0123456789abcdef0123456789abcdef"
	const tok2 = "fedcba9876543210fedcba9876543210"
	base := func() Config {
		c := Default()
		c.Ledger.Profile = "p.json"
		c.Syslog.AllowedNetworks = []string{"127.0.0.1/32"}
		c.Credentials = []Credential{{Name: "a", Token: tok, Scopes: []Scope{ScopeHEC}}}
		return c
	}
	scraper := Credential{Name: "prometheus", Token: tok2, Scopes: []Scope{ScopeMetrics}}
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []string
	}{
		{"metrics scope is valid", func(c *Config) { c.Credentials = append(c.Credentials, scraper) }, nil},
		{"bad auth", func(c *Config) { c.Metrics.Auth = "basic" }, []string{"metrics.auth"}},
		{"empty auth", func(c *Config) { c.Metrics.Auth = "" }, []string{"metrics.auth"}},
		{"bearer without a scraper", func(c *Config) { c.Metrics.Auth = MetricsAuthBearer }, []string{"metrics.auth"}},
		{"bearer with only a disabled scraper", func(c *Config) {
			c.Metrics.Auth = MetricsAuthBearer
			s := scraper
			s.Disabled = true
			c.Credentials = append(c.Credentials, s)
		}, []string{"metrics.auth"}},
		{"bearer with a scraper", func(c *Config) {
			c.Metrics.Auth = MetricsAuthBearer
			c.Credentials = append(c.Credentials, scraper)
		}, nil},
		// auto in production fails closed rather than refusing to start.
		{"production auto without a scraper", func(c *Config) { c.Mode = ModeProduction }, nil},
		{"per source", func(c *Config) { c.Syslog.MaxConnectionsPerSource = 0 }, []string{"syslog.max_connections_per_source"}},
		{"evict idle after", func(c *Config) { c.Syslog.EvictIdleAfter = 0 }, []string{"syslog.evict_idle_after"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.mutate(&c)
			err := c.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if got := fields(t, err); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("fields = %q, want %q (%v)", got, tt.want, err)
			}
		})
	}
}

func TestSyslogFairnessDefaultsFromSyslogd(t *testing.T) {
	d := Default().Syslog
	if d.MaxConnectionsPerSource != syslogd.DefaultMaxConnectionsPerSource || d.EvictIdleAfter != syslogd.DefaultEvictIdleAfter {
		t.Errorf("syslog fairness defaults = %d, %v; want syslogd's %d, %v", d.MaxConnectionsPerSource, d.EvictIdleAfter,
			syslogd.DefaultMaxConnectionsPerSource, syslogd.DefaultEvictIdleAfter)
	}
}

func TestMetricsAuthEnv(t *testing.T) {
	p := writeFile(t, minimal)
	got, err := LoadWith(p, env(map[string]string{"LEDGERGUARD_METRICS_AUTH": "none", "LEDGERGUARD_MODE": "production"}))
	if err != nil {
		t.Fatal(err)
	}
	if got.Metrics.Auth != MetricsAuthNone || got.MetricsRequireCredential() {
		t.Errorf("metrics.auth = %q (require %t), want none", got.Metrics.Auth, got.MetricsRequireCredential())
	}
}
