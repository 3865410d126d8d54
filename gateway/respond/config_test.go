package respond

import (
	"errors"
	"testing"

	"github.com/ledgerguard/ledgerguard/gateway/connector"
)

func TestConfigValidate(t *testing.T) {
	valid := func() Config {
		c := Config{CheckpointFile: "cp", JournalFile: "j", Actions: map[string]connector.Config{
			"isolate_host": {REST: &connector.RESTConfig{HTTPCall: connector.HTTPCall{URL: "https://edr"}}},
			"webhook":      {Webhook: &connector.WebhookConfig{Secret: "x"}},
		}}
		c.ApplyDefaults()
		return c
	}
	tests := []struct {
		name      string
		edit      func(*Config)
		wantField string
	}{
		{"valid", func(*Config) {}, ""},
		{"no checkpoint", func(c *Config) { c.CheckpointFile = "" }, "respond.checkpoint_file"},
		{"no journal", func(c *Config) { c.JournalFile = "" }, "respond.journal_file"},
		{"same files", func(c *Config) { c.JournalFile = "cp" }, "respond.journal_file"},
		{"zero workers", func(c *Config) { c.Workers = -1 }, "respond.workers"},
		{"attempts", func(c *Config) { c.Retry.Attempts = 1000 }, "respond.retry.attempts"},
		{"backoff order", func(c *Config) { c.Retry.MaxBackoff = 1 }, "respond.retry"},
		{"unknown action", func(c *Config) { c.Actions["reboot"] = connector.Config{Notify: &connector.NotifyConfig{}} }, "respond.actions.reboot"},
		{"no connector kind", func(c *Config) { c.Actions["notify"] = connector.Config{} }, "respond.actions.notify"},
		{"webhook kind elsewhere", func(c *Config) { c.Actions["block_ip"] = connector.Config{Webhook: &connector.WebhookConfig{}} }, "respond.actions.block_ip"},
		{"blank gateway id", func(c *Config) { c.GatewayIDs = []string{""} }, "respond.gateway_ids"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.edit(&c)
			err := c.Validate()
			var ce *ConfigError
			switch {
			case tt.wantField == "" && err != nil:
				t.Fatalf("Validate = %v, want nil", err)
			case tt.wantField != "" && (!errors.As(err, &ce) || ce.Field != tt.wantField):
				t.Fatalf("Validate = %v, want a ConfigError on %s", err, tt.wantField)
			}
		})
	}
}
