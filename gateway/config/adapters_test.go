package config

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway/anchor"
	"github.com/ledgerguard/ledgerguard/gateway/httpapi"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
	"github.com/ledgerguard/ledgerguard/gateway/store"
)

// Defaults owned by other packages are read from them, not repeated.
func TestDefaultsComeFromTheirOwners(t *testing.T) {
	d := Default()
	if got, want := d.Limits, (Limits{MaxBodyBytes: ingest.DefaultMaxBodyBytes, MaxEvents: ingest.DefaultMaxEvents, MaxLineBytes: ingest.DefaultMaxLineBytes,
		MaxDepth: ingest.DefaultMaxDepth, MaxDecodeBytes: ingest.DefaultMaxDecodeBytes, MaxConcurrentDecodes: ingest.DefaultMaxConcurrentDecodes, DecodeWait: ingest.DefaultDecodeWait}); got != want {
		t.Errorf("Limits = %+v, want ingest's defaults %+v", got, want)
	}
	if d.Store.BatchMaxEvents != store.DefaultBatchMaxEvents || d.Store.BatchMaxWait != store.DefaultBatchMaxWait {
		t.Errorf("Store = %+v, want store's defaults", d.Store)
	}
	if got, want := d.AnchorBackpressure(), anchor.DefaultBackpressure; got != want {
		t.Errorf("AnchorBackpressure = %+v, want anchor's default %+v", got, want)
	}
}

func TestHTTPAPI(t *testing.T) {
	c := Default()
	c.HTTP.TLS = TLS{CertFile: "c.pem", KeyFile: "k.pem"}
	c.Credentials = []Credential{{Name: "a", Token: "t", Scopes: []Scope{ScopeHEC}}}
	c.Elasticsearch.Version = "8.0.0"
	got := c.HTTPAPI()
	want := httpapi.Config{
		Listen:            "127.0.0.1:8088",
		TLS:               httpapi.TLS{CertFile: "c.pem", KeyFile: "k.pem"},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ShutdownTimeout:   30 * time.Second,
		Limits: ingest.Limits{MaxBodyBytes: ingest.DefaultMaxBodyBytes, MaxEvents: ingest.DefaultMaxEvents, MaxLineBytes: ingest.DefaultMaxLineBytes,
			MaxDepth: ingest.DefaultMaxDepth, MaxDecodeBytes: ingest.DefaultMaxDecodeBytes, MaxConcurrentDecodes: ingest.DefaultMaxConcurrentDecodes, DecodeWait: ingest.DefaultDecodeWait},
		Credentials:         c.Credentials,
		HEC:                 httpapi.HEC{MaxChannels: 10_000, MaxAcksPerChannel: 100_000, ChannelIdleTimeout: 10 * time.Minute},
		Elasticsearch:       httpapi.Elasticsearch{ClusterName: "ledgerguard", ClusterUUID: "c0ffee00-0000-4000-8000-000000000001", Version: "8.0.0"},
		LedgerProbeInterval: 15 * time.Second,
		LedgerStaleAfter:    time.Minute,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("HTTPAPI() =\n%+v\nwant\n%+v", got, want)
	}
	got.Credentials[0].Name = "changed"
	if c.Credentials[0].Name != "a" {
		t.Error("HTTPAPI shares the credentials slice with the configuration")
	}
}

// The respond: section is kept raw, with the file's folder, and decodes
// strictly like the rest of the file.
func TestRespondSection(t *testing.T) {
	p := writeFile(t, minimal+`
respond:
  enabled: true
  journal_file: state/journal
`)
	cfg, err := LoadWith(p, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Respond.Present() || cfg.Respond.Dir != filepath.Dir(p) {
		t.Fatalf("Respond = present %v dir %q, want present in %q", cfg.Respond.Present(), cfg.Respond.Dir, filepath.Dir(p))
	}
	var got struct {
		Enabled     bool   `yaml:"enabled"`
		JournalFile string `yaml:"journal_file"`
	}
	if err := cfg.Respond.Decode(&got); err != nil || !got.Enabled || got.JournalFile != "state/journal" {
		t.Errorf("Decode = %+v, %v", got, err)
	}
	var narrow struct {
		Enabled bool `yaml:"enabled"`
	}
	if err := cfg.Respond.Decode(&narrow); err == nil {
		t.Error("Decode into a type without journal_file succeeded, want an unknown-field error")
	}
	if err := (Section{}).Decode(&narrow); err != nil || (Section{}).Present() {
		t.Errorf("absent section: Decode = %v, Present = %v; want nil, false", err, (Section{}).Present())
	}
}
