package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/ledgerguard/ledgerguard/gateway"
	"github.com/ledgerguard/ledgerguard/gateway/ingest"
)

// Config is everything the HTTP adapter needs, assembled by the gateway's
// configuration (gateway/config) and validated there; New trusts it.
// Backpressure is not here: the anchorer decides it (gateway.Progress).
type Config struct {
	// Listen is the host:port of the one listener for every HTTP protocol.
	Listen string
	// TLS names the certificate and key files (both empty: plain HTTP).
	TLS TLS
	// Timeouts of the http.Server (see NewHTTPServer) and of shutdown.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	ShutdownTimeout   time.Duration
	// Limits bounds one request.
	Limits ingest.Limits
	// Credentials are the clients; tokens are compared in constant time.
	Credentials []gateway.Credential
	// HEC bounds the indexer acknowledgement bookkeeping.
	HEC HEC
	// Elasticsearch is what GET / claims.
	Elasticsearch Elasticsearch
	// LedgerProbeInterval is how often Run pings the ledger.
	LedgerProbeInterval time.Duration
	// LedgerStaleAfter is how long the ledger may go without a successful
	// contact before /readyz reports it unreachable.
	LedgerStaleAfter time.Duration
	// RequireMetricsCredential makes GET /metrics require "Authorization:
	// Bearer <token>" of a credential with the metrics scope (false: open,
	// as Prometheus exporters usually are).
	RequireMetricsCredential bool
}

// TLS names certificate files.
type TLS struct {
	CertFile string
	KeyFile  string
}

// Enabled reports whether a certificate is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" }

// HEC configures Splunk HEC indexer acknowledgement bookkeeping.
type HEC struct {
	// MaxChannels bounds the channels tracked at once.
	MaxChannels int
	// MaxAcksPerChannel bounds the unqueried ack ids of one channel.
	MaxAcksPerChannel int
	// ChannelIdleTimeout forgets a channel unused this long (Splunk's
	// maxIdleTime).
	ChannelIdleTimeout time.Duration
}

// Elasticsearch configures what GET / claims.
type Elasticsearch struct {
	ClusterName string
	ClusterUUID string
	Version     string
}

// NewHTTPServer returns the http.Server for this API with the configured
// address and timeouts; the caller serves it (with TLS when
// Config.TLS.Enabled) and shuts it down within ShutdownTimeout.
func (s *Server) NewHTTPServer() *http.Server {
	return &http.Server{
		Addr:              s.cfg.Listen,
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}
